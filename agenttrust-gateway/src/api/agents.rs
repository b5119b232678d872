//! Agents: create, get, list, revoke.

use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{new_id, rfc3339, Agent, ORG_ID};

#[derive(Deserialize)]
pub(crate) struct CreateAgent {
    name: String,
    #[serde(default)]
    framework: Option<String>,
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    public_key: Option<String>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Body(req): Body<CreateAgent>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    let name = required("name", &req.name)?;
    let mut data = state.store.lock();
    if data.agents.values().any(|a| a.name == name) {
        return Err(ApiError::conflict(format!(
            "an agent named `{name}` already exists"
        )));
    }
    let agent = Agent {
        id: new_id("ag"),
        name: name.to_owned(),
        org_id: ORG_ID.to_owned(),
        framework: optional(req.framework.as_deref())
            .unwrap_or("custom")
            .to_owned(),
        status: "active".to_owned(),
        capabilities: req.capabilities.unwrap_or_default(),
        metadata: req.metadata.unwrap_or_default(),
        public_key: req.public_key.filter(|k| !k.is_empty()),
        created_at: rfc3339(SystemTime::now()),
    };
    data.agents.insert(agent.id.clone(), agent.clone());
    Ok((StatusCode::CREATED, Json(agent)))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Agent>> {
    let data = state.store.lock();
    data.agents
        .get(&agent_id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("agent", &agent_id))
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    org_id: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Json<Value> {
    let data = state.store.lock();
    let mut agents: Vec<&Agent> = data
        .agents
        .values()
        .filter(|a| optional(query.org_id.as_deref()).is_none_or(|org| a.org_id == org))
        .collect();
    agents.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Json(json!({ "agents": agents }))
}

#[derive(Deserialize, Default)]
pub(crate) struct RevokeAgent {
    #[serde(default)]
    reason: Option<String>,
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    Body(req): Body<RevokeAgent>,
) -> ApiResult<Json<Value>> {
    let mut data = state.store.lock();
    let agent = data
        .agents
        .get_mut(&agent_id)
        .ok_or_else(|| ApiError::not_found("agent", &agent_id))?;
    agent.status = "revoked".to_owned();
    for token in data.tokens.values_mut().filter(|t| t.agent_id == agent_id) {
        token.revoked = true;
    }
    let reason = optional(req.reason.as_deref()).unwrap_or("manual_revocation");
    data.audit(
        "agent.revoked",
        || json!({"agent_id": agent_id, "reason": reason}),
    );
    Ok(Json(
        json!({"success": true, "agent_id": agent_id, "reason": reason}),
    ))
}
