//! Approvals: get, approve, deny. A decided or expired approval cannot be
//! decided again (409). Plus a local extension, `GET /mcp/approvals`, that
//! lists them (newest first) for people and tools that decide them.

use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, Body};
use crate::store::{Approval, ApprovalStatus};

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(approval_id): Path<String>,
) -> ApiResult<Json<Approval>> {
    let mut data = state.store.lock();
    let approval = data
        .approvals
        .get_mut(&approval_id)
        .ok_or_else(|| ApiError::not_found("approval", &approval_id))?;
    approval.refresh(SystemTime::now());
    Ok(Json(approval.clone()))
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    /// `pending`, `approved`, `denied`, `expired`, or absent/`all`.
    status: Option<String>,
    agent_id: Option<String>,
}

/// `GET /mcp/approvals?status=&agent_id=`: the approvals, newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Vec<Approval>>> {
    let status = match optional(query.status.as_deref()) {
        None | Some("all") => None,
        Some(s @ ("pending" | "approved" | "denied" | "expired")) => Some(s),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status must be pending, approved, denied, expired or all, not `{other}`"
            )))
        }
    };
    let now = SystemTime::now();
    let mut data = state.store.lock();
    let mut approvals: Vec<Approval> = data
        .approvals
        .values_mut()
        .map(|a| {
            a.refresh(now);
            a.clone()
        })
        .filter(|a| optional(query.agent_id.as_deref()).is_none_or(|id| a.agent_id == id))
        .filter(|a| {
            status.is_none_or(|s| {
                serde_json::to_value(a.status)
                    .ok()
                    .as_ref()
                    .and_then(|v| v.as_str())
                    == Some(s)
            })
        })
        .collect();
    approvals.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(Json(approvals))
}

#[derive(Deserialize, Default)]
pub(crate) struct Decision {
    #[serde(default)]
    decided_by: Option<String>,
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(approval_id): Path<String>,
    Body(req): Body<Decision>,
) -> ApiResult<Json<Approval>> {
    decide(&state, &approval_id, req, ApprovalStatus::Approved)
}

pub(crate) async fn deny(
    State(state): State<AppState>,
    Path(approval_id): Path<String>,
    Body(req): Body<Decision>,
) -> ApiResult<Json<Approval>> {
    decide(&state, &approval_id, req, ApprovalStatus::Denied)
}

fn decide(
    state: &AppState,
    approval_id: &str,
    req: Decision,
    status: ApprovalStatus,
) -> ApiResult<Json<Approval>> {
    let decided_by = optional(req.decided_by.as_deref()).unwrap_or("anonymous");
    let mut data = state.store.lock();
    data.decide_approval(approval_id, status, decided_by, SystemTime::now())
        .map(Json)
}
