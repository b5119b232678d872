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

pub(crate) async fn init(
    State(state): State<AppState>,
    Body(req): Body<Init>,
) -> ApiResult<Json<Session>> {
    let agent_id = required("agent_id", &req.agent_id)?;
    let server_id = required("server_id", &req.server_id)?;
    let server = state.policy.server_sessions.get(server_id);
    let mode = optional(req.mode.as_deref())
        .or(server.map(|s| s.mode.as_str()))
        .unwrap_or(&state.policy.session_mode);
    let ceiling = req
        .scope_ceiling
        .or_else(|| server.map(|s| s.scope_ceiling.clone()))
        .unwrap_or_default();
    if !MODES.contains(&mode) {
        return Err(ApiError::bad_request(format!(
            "`mode` must be open, restricted or supervised, not `{mode}`"
        )));
    }
    let mut data = state.store.lock();
    if !data.agents.contains_key(agent_id) {
        return Err(ApiError::not_found("agent", agent_id));
    }
    let session = new_session(
        new_id("sess"),
        agent_id,
        "mcp",
        Some(server_id.to_owned()),
        mode,
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

pub(crate) async fn init_api(
    State(state): State<AppState>,
    Body(req): Body<InitApi>,
) -> ApiResult<Json<Session>> {
    let token = required("token", &req.token)?;
    let mut data = state.store.lock();
    let record = super::tokens::active_token(&data, token, SystemTime::now())
        .map_err(|why| ApiError::unauthorized(format!("cannot open a session: {why}")))?;
    let session_id = record.session_id.clone().unwrap_or_else(|| new_id("sess"));
    let session = new_session(
        session_id,
        &record.agent_id.clone(),
        "api",
        None,
        &state.policy.session_mode,
        Vec::new(),
    );
    data.sessions
        .insert(session.session_id.clone(), session.clone());
    Ok(Json(session))
}
