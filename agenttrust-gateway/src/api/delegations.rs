//! Delegations: one agent grants part of its capabilities to another, for
//! a while, possibly re-delegating a grant it received; a delegated session
//! acts under it.

use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{after, new_id, new_session, rfc3339, Data, Delegation, Session, ORG_ID};

/// A delegation's lifetime when the request gives none (PROTOCOL.md §11).
const DEFAULT_TTL_SECS: u64 = 3600;
/// The longest lifetime a delegation may ask for: 30 days.
const MAX_TTL_SECS: u64 = 30 * 86_400;
/// The longest chain of re-delegations (the root counts as one).
const MAX_CHAIN: usize = 8;

#[derive(Deserialize)]
pub(crate) struct Create {
    from_agent_id: String,
    to_agent_id: String,
    scope: Vec<String>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
    #[serde(default)]
    restrictions: Option<Value>,
    #[serde(default)]
    parent_delegation_id: Option<String>,
}

/// What the grantor holds: its capabilities, or for a re-delegation the
/// parent's scope (with the chain so far and the parent's expiry).
struct Grant {
    scope: Vec<String>,
    chain: Vec<String>,
    expires: Option<(SystemTime, String)>,
}

fn grant_of(data: &Data, req: &Create, from: &str, now: SystemTime) -> ApiResult<Grant> {
    let agent = data.active_agent(from)?;
    let Some(parent_id) = optional(req.parent_delegation_id.as_deref()) else {
        return Ok(Grant {
            scope: agent.capabilities.clone(),
            chain: Vec::new(),
            expires: None,
        });
    };
    let parent = data
        .delegations
        .get(parent_id)
        .ok_or_else(|| ApiError::not_found("delegation", parent_id))?;
    if let Some(why) = data.delegation_refusal(parent_id, now) {
        return Err(ApiError::forbidden(format!(
            "cannot re-delegate `{parent_id}`: {why}"
        )));
    }
    if parent.to_agent_id != from {
        return Err(ApiError::forbidden(format!(
            "delegation `{parent_id}` was granted to `{}`, not to `{from}`",
            parent.to_agent_id
        )));
    }
    let mut chain = parent.delegation_chain.clone();
    chain.push(parent.id.clone());
    if chain.len() >= MAX_CHAIN {
        return Err(ApiError::bad_request(format!(
            "a delegation chain may be at most {MAX_CHAIN} long"
        )));
    }
    Ok(Grant {
        scope: parent.scope.clone(),
        chain,
        expires: Some((parent.expires, parent.expires_at.clone())),
    })
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Body(req): Body<Create>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let from = required("from_agent_id", &req.from_agent_id)?.to_owned();
    let to = required("to_agent_id", &req.to_agent_id)?.to_owned();
    if from == to {
        return Err(ApiError::bad_request(
            "an agent cannot delegate to itself (`from_agent_id` = `to_agent_id`)",
        ));
    }
    if req.scope.is_empty() || req.scope.iter().any(|s| s.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "`scope` must list at least one capability, none of them empty",
        ));
    }
    let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
    if ttl == 0 || ttl > MAX_TTL_SECS {
        return Err(ApiError::bad_request(format!(
            "`ttl_seconds` must be between 1 and {MAX_TTL_SECS}"
        )));
    }
    if req.restrictions.as_ref().is_some_and(|r| !r.is_object()) {
        return Err(ApiError::bad_request(
            "`restrictions` must be a JSON object",
        ));
    }
    let now = SystemTime::now();
    let mut data = state.store.lock();
    let grant = grant_of(&data, &req, &from, now)?;
    data.active_agent(&to)?;
    if let Some(extra) = req.scope.iter().find(|s| !grant.scope.contains(s)) {
        let held = if grant.chain.is_empty() {
            "the granting agent's capabilities"
        } else {
            "the parent delegation's scope"
        };
        return Err(ApiError::bad_request(format!(
            "scope must narrow what is delegated: `{extra}` is not among {held}"
        )));
    }
    let expires = after(now, Duration::from_secs(ttl));
    if let Some((parent_expires, parent_at)) = &grant.expires {
        if expires > *parent_expires {
            return Err(ApiError::bad_request(format!(
                "`ttl_seconds` reaches past the parent delegation's expiry ({parent_at})"
            )));
        }
    }
    let mut scope: Vec<String> = Vec::with_capacity(req.scope.len());
    for capability in req.scope {
        if !scope.contains(&capability) {
            scope.push(capability);
        }
    }
    let delegation = Delegation {
        id: new_id("del"),
        from_agent_id: from,
        to_agent_id: to,
        org_id: ORG_ID.to_owned(),
        scope,
        restrictions: req.restrictions,
        parent_delegation_id: grant.chain.last().cloned(),
        delegation_chain: grant.chain,
        expires_at: rfc3339(expires),
        created_at: rfc3339(now),
        revoked_at: None,
        expires,
    };
    data.delegations
        .insert(delegation.id.clone(), delegation.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "delegation": delegation })),
    ))
}

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    let data = state.store.lock();
    let mut delegations: Vec<&Delegation> = data.delegations.values().collect();
    delegations.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    Json(json!({ "delegations": delegations }))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Delegation>> {
    let data = state.store.lock();
    data.delegations
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("delegation", &id))
}

/// Revokes the delegation and every delegation re-delegated from it, at
/// once. Revoking a revoked one changes nothing.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut data = state.store.lock();
    if !data.delegations.contains_key(&id) {
        return Err(ApiError::not_found("delegation", &id));
    }
    let now = rfc3339(SystemTime::now());
    let mut revoked = Vec::new();
    for delegation in data.delegations.values_mut() {
        let affected = delegation.id == id || delegation.delegation_chain.contains(&id);
        if affected && delegation.revoked_at.is_none() {
            delegation.revoked_at = Some(now.clone());
            revoked.push(delegation.id.clone());
        }
    }
    if !revoked.is_empty() {
        revoked.sort();
        data.audit(
            "delegation.revoked",
            || json!({"delegation_id": id, "revoked": revoked}),
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A session for the receiving agent that acts under the delegation: its
/// checks are allowed only within the delegated scope, while the chain is
/// live.
pub(crate) async fn init_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Session>> {
    let mut data = state.store.lock();
    let delegation = data
        .delegations
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("delegation", &id))?;
    if let Some(why) = data.delegation_refusal(&id, SystemTime::now()) {
        return Err(ApiError::forbidden(format!(
            "cannot open a delegated session: {why}"
        )));
    }
    let mut session = new_session(
        new_id("sess"),
        &delegation.to_agent_id,
        "a2a",
        None,
        "restricted",
        delegation.scope.clone(),
    );
    session.delegation_id = Some(delegation.id);
    data.sessions
        .insert(session.session_id.clone(), session.clone());
    Ok(Json(session))
}
