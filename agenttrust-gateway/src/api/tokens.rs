//! Opaque `at_` agent tokens: issue, introspect, revoke.

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{after, new_id, rfc3339, Token, ORG_ID};

#[derive(Deserialize)]
pub(crate) struct Issue {
    agent_id: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    scope: Option<Vec<String>>,
    #[serde(default)]
    ttl: Option<u64>,
    #[serde(default)]
    session_id: Option<String>,
}

pub(crate) async fn issue(
    State(state): State<AppState>,
    Body(req): Body<Issue>,
) -> ApiResult<Json<Value>> {
    let agent_id = required("agent_id", &req.agent_id)?;
    let scopes = req.scopes.or(req.scope).unwrap_or_default();
    let ttl = Duration::from_secs(req.ttl.filter(|t| *t > 0).unwrap_or(300));
    let mut data = state.store.lock();
    data.active_agent(agent_id)?;
    let session_id = optional(req.session_id.as_deref());
    if let Some(session_id) = session_id {
        // A token may only be bound to an existing session of its own agent.
        if !data.sessions.contains_key(session_id) {
            return Err(ApiError::not_found("session", session_id));
        }
        if data.session_of_another(session_id, agent_id) {
            return Err(ApiError::forbidden(format!(
                "session `{session_id}` belongs to another agent; a token for `{agent_id}` \
                 cannot be bound to it"
            )));
        }
    }
    let now = SystemTime::now();
    let token = Token {
        id: new_id("tok"),
        agent_id: agent_id.to_owned(),
        scopes,
        session_id: session_id.map(str::to_owned),
        issued_at: now,
        expires_at: after(now, ttl),
        revoked: false,
    };
    let secret = format!("at_{}", uuid::Uuid::new_v4().simple());
    let body = json!({
        "token": secret,
        "agent_id": token.agent_id,
        "scopes": token.scopes,
        "audience": [],
        "issued_at": rfc3339(token.issued_at),
        "expires_at": rfc3339(token.expires_at),
        "token_id": token.id,
        "session_id": token.session_id,
    });
    data.tokens.insert(secret, token);
    Ok(Json(body))
}

#[derive(Deserialize)]
pub(crate) struct Introspect {
    token: String,
    #[serde(default)]
    required_scopes: Option<Vec<String>>,
}

/// Whether `token` is usable now: known, not revoked, not expired, agent active.
pub(crate) fn active_token<'a>(
    data: &'a crate::store::Data,
    token: &str,
    now: SystemTime,
) -> Result<&'a Token, &'static str> {
    let record = data.tokens.get(token).ok_or("unknown token")?;
    if record.revoked {
        return Err("token revoked");
    }
    if now >= record.expires_at {
        return Err("token expired");
    }
    match data.agents.get(&record.agent_id) {
        Some(agent) if agent.is_active() => Ok(record),
        _ => Err("agent not active"),
    }
}

pub(crate) async fn introspect(
    State(state): State<AppState>,
    Body(req): Body<Introspect>,
) -> ApiResult<Json<Value>> {
    let token = required("token", &req.token)?;
    let data = state.store.lock();
    let answer = match active_token(&data, token, SystemTime::now()) {
        Ok(record) => {
            let missing: Vec<&String> = req
                .required_scopes
                .iter()
                .flatten()
                .filter(|s| !record.scopes.contains(s))
                .collect();
            let active = missing.is_empty();
            json!({
                "active": active,
                "agent_id": record.agent_id,
                "org_id": ORG_ID,
                "scopes": record.scopes,
                "expires_at": rfc3339(record.expires_at),
                "reasoning": if active { "token valid".to_owned() } else { format!("missing scopes {missing:?}") },
                "guard_tier": "fast",
                "confidence": 1.0,
                "latency_ms": 0,
            })
        }
        Err(why) => {
            json!({"active": false, "reasoning": why, "guard_tier": "fast", "confidence": 1.0, "latency_ms": 0})
        }
    };
    Ok(Json(answer))
}

#[derive(Deserialize)]
pub(crate) struct Revoke {
    token: String,
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Body(req): Body<Revoke>,
) -> ApiResult<Json<Value>> {
    let token = required("token", &req.token)?;
    let mut data = state.store.lock();
    let record = data
        .tokens
        .get_mut(token)
        .ok_or_else(|| ApiError::not_found("token", "at_…"))?;
    record.revoked = true;
    let agent_id = record.agent_id.clone();
    // The token itself is a credential: the event names its agent only.
    data.audit("token.revoked", || json!({ "agent_id": agent_id }));
    Ok(Json(json!({"success": true})))
}
