//! Approvals: get, approve, deny. A decided or expired approval cannot be
//! decided again (409).

use std::time::SystemTime;

use axum::extract::{Path, State};
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
