//! Sessions: MCP init/get and the API-token bridge.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{new_id, new_session, Session};

#[derive(Deserialize)]
pub(crate) struct Init {
    agent_id: String,
    server_id: String,
    /// Local extension: the session's mode (default: the policy's).
    #[serde(default)]
    mode: Option<String>,
    /// Local extension: the restricted session's ceiling (tool names or capabilities).
    #[serde(default)]
    scope_ceiling: Option<Vec<String>>,
}

const MODES: [&str; 3] = ["open", "restricted", "supervised"];

/// The mode and ceiling of a new session for `server_id`: the policy's, or
/// the request's where it only narrows them. A request may pick the
/// policy's mode or, from `open`, a stricter one; under a `restricted`
/// policy its ceiling must be a subset of the policy's. Widening is 403.
fn session_terms(
    state: &AppState,
    server_id: &str,
    mode: Option<&str>,
    ceiling: Option<Vec<String>>,
) -> ApiResult<(String, Vec<String>)> {
    let server = state.policy.server_sessions.get(server_id);
    let policy_mode = server.map_or(state.policy.session_mode.as_str(), |s| s.mode.as_str());
    let policy_ceiling = server.map(|s| s.scope_ceiling.clone()).unwrap_or_default();
    let mode = mode.unwrap_or(policy_mode);
    if !MODES.contains(&mode) {
        return Err(ApiError::bad_request(format!(
            "`mode` must be open, restricted or supervised, not `{mode}`"
        )));
    }
    if mode != policy_mode && policy_mode != "open" {
        return Err(ApiError::forbidden(format!(
            "sessions for `{server_id}` are {policy_mode} by policy; a request may not make one {mode}"
        )));
    }
    let ceiling = match ceiling {
        None => policy_ceiling,
        Some(asked) if policy_mode == "restricted" => {
            if let Some(extra) = asked.iter().find(|c| !policy_ceiling.contains(c)) {
                return Err(ApiError::forbidden(format!(
                    "`{extra}` is outside the scope ceiling the policy sets for `{server_id}`"
                )));
            }
            asked
        }
        Some(asked) => asked,
    };
    Ok((mode.to_owned(), ceiling))
}

pub(crate) async fn init(
    State(state): State<AppState>,
    Body(req): Body<Init>,
) -> ApiResult<Json<Session>> {
    let agent_id = required("agent_id", &req.agent_id)?;
    let server_id = required("server_id", &req.server_id)?;
    let (mode, ceiling) = session_terms(
        &state,
        server_id,
        optional(req.mode.as_deref()),
        req.scope_ceiling,
    )?;
    let mut data = state.store.lock();
    match data.agents.get(agent_id) {
        None => return Err(ApiError::not_found("agent", agent_id)),
        Some(agent) if !agent.is_active() => {
            return Err(ApiError::forbidden(format!(
                "agent `{agent_id}` is {} and may not open sessions",
                agent.status
            )))
        }
        Some(_) => {}
    }
    let session = new_session(
        new_id("sess"),
        agent_id,
        "mcp",
        Some(server_id.to_owned()),
        &mode,
        ceiling,
    );
    data.sessions
        .insert(session.session_id.clone(), session.clone());
    Ok(Json(session))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> ApiResult<Json<Session>> {
    let data = state.store.lock();
    data.sessions
        .get(&session_id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("session", &session_id))
}

#[derive(Deserialize)]
pub(crate) struct InitApi {
    token: String,
}

/// The session of an API token: the one it is bound to, returned unchanged;
/// a token bound to none gets a new session and is bound to it, so asking
/// again returns the same session.
pub(crate) async fn init_api(
    State(state): State<AppState>,
    Body(req): Body<InitApi>,
) -> ApiResult<Json<Session>> {
    let token = required("token", &req.token)?;
    let mut data = state.store.lock();
    let record = super::tokens::active_token(&data, token, SystemTime::now())
        .map_err(|why| ApiError::unauthorized(format!("cannot open a session: {why}")))?;
    let agent_id = record.agent_id.clone();
    if let Some(bound) = record.session_id.clone() {
        if data.session_of_another(&bound, &agent_id) {
            return Err(ApiError::forbidden(format!(
                "the token's session `{bound}` belongs to another agent"
            )));
        }
        return data
            .sessions
            .get(&bound)
            .cloned()
            .map(Json)
            .ok_or_else(|| ApiError::not_found("session", &bound));
    }
    let session = new_session(
        new_id("sess"),
        &agent_id,
        "api",
        None,
        &state.policy.session_mode,
        Vec::new(),
    );
    if let Some(record) = data.tokens.get_mut(token) {
        record.session_id = Some(session.session_id.clone());
    }
    data.sessions
        .insert(session.session_id.clone(), session.clone());
    Ok(Json(session))
}
