//! `POST /api/v1/agenttrust/check`: the Guardian's decision (a test rule's,
//! when one is set for the tool), logged for `GatewayHandle::checks`.

use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::guardian::{self, Check, Scripted, Verdict};
use crate::rules::{Answer, Approver};
use crate::store::{ApprovalStatus, CheckRecord};

#[derive(Deserialize)]
pub(crate) struct CheckBody {
    agent_id: String,
    action_name: String,
    #[serde(default)]
    action_effect: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    action_input_summary: Option<String>,
}

pub(crate) async fn check(
    State(state): State<AppState>,
    Body(req): Body<CheckBody>,
) -> ApiResult<Json<Verdict>> {
    let started = Instant::now();
    let check = Check {
        agent_id: required("agent_id", &req.agent_id)?,
        action_name: required("action_name", &req.action_name)?,
        action_effect: optional(req.action_effect.as_deref()),
        session_id: optional(req.session_id.as_deref()),
        summary: optional(req.action_input_summary.as_deref()),
    };
    let rule = state.rules.for_tool(check.action_name);
    let latency = state.policy.check_latency + rule.as_ref().map_or(Duration::ZERO, |r| r.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let scripted = match rule.as_ref().map(|r| &r.answer) {
        None => None,
        Some(Answer::Allow) => Some(Scripted::Allow),
        Some(Answer::Deny(reason)) => Some(Scripted::Deny(reason)),
        Some(Answer::Elevate(_)) => Some(Scripted::Elevate),
        Some(Answer::Unavailable) => {
            let error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "GUARDIAN_UNAVAILABLE",
                "the Guardian is unavailable (test rule)",
            );
            return Err(refuse(&state, &check, "unavailable", error));
        }
        Some(Answer::Status(status)) => {
            let error = match StatusCode::from_u16(*status) {
                Ok(code) => {
                    ApiError::new(code, "TEST_RULE", format!("status {status} (test rule)"))
                }
                Err(_) => ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "TEST_RULE",
                    format!("the test rule's status {status} is not an HTTP status"),
                ),
            };
            return Err(refuse(&state, &check, "status", error));
        }
    };
    let mut verdict = decide_logged(&state, &check, scripted);
    if let (Some(Answer::Elevate(approver)), Some(id)) =
        (rule.map(|r| r.answer), verdict.approval_id.as_deref())
    {
        if approver.verdict.is_some() && state.rules.schedule(id) {
            tokio::spawn(approve_later(state.clone(), id.to_owned(), approver));
        }
    }
    verdict.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Json(verdict))
}

/// The verdict on `check` (a test rule's when `scripted`), logged for
/// `GatewayHandle::checks`, audited, and notified when it created an
/// approval: what the check route and the MCP proxy share.
pub(crate) fn decide_logged(
    state: &AppState,
    check: &Check<'_>,
    scripted: Option<Scripted<'_>>,
) -> Verdict {
    let mut data = state.store.lock();
    let verdict =
        guardian::decide_with(&state.policy, &mut data, check, SystemTime::now(), scripted);
    data.log_check(record(
        check,
        verdict_outcome(&verdict),
        200,
        Some(&verdict),
    ));
    data.audit("action.check", || {
        serde_json::json!({
            "agent_id": check.agent_id, "action_name": check.action_name,
            "action_effect": check.action_effect, "session_id": check.session_id,
            "decision": verdict_outcome(&verdict), "reason": verdict.reason,
            "check_id": verdict.check_id, "approval_id": verdict.approval_id,
        })
    });
    if let (Some(notifier), Some(id), true) = (
        &state.notifier,
        verdict.approval_id.as_deref(),
        verdict.new_approval,
    ) {
        if let Some(approval) = data.approvals.get(id) {
            notifier.approval_created(approval);
        }
    }
    verdict
}

fn verdict_outcome(verdict: &Verdict) -> &'static str {
    if verdict.elevation_required {
        "elevation_required"
    } else if verdict.allowed {
        "allowed"
    } else {
        "denied"
    }
}

/// Logs a check a rule answered with an error, and returns that error.
fn refuse(state: &AppState, check: &Check<'_>, outcome: &str, error: ApiError) -> ApiError {
    let status = error.status().as_u16();
    state
        .store
        .lock()
        .log_check(record(check, outcome, status, None));
    error
}

fn record(check: &Check<'_>, outcome: &str, status: u16, verdict: Option<&Verdict>) -> CheckRecord {
    CheckRecord {
        agent_id: check.agent_id.to_owned(),
        action_name: check.action_name.to_owned(),
        action_effect: check.action_effect.map(str::to_owned),
        session_id: check.session_id.map(str::to_owned),
        summary: check.summary.map(str::to_owned),
        outcome: outcome.to_owned(),
        status,
        reason: verdict.map(|v| v.reason.clone()),
        check_id: verdict.map(|v| v.check_id.clone()),
        approval_id: verdict.and_then(|v| v.approval_id.clone()),
    }
}

/// A rule's approver deciding a new approval after its delay. One that
/// someone decided first (through the API) is left as it is.
async fn approve_later(state: AppState, approval_id: String, approver: Approver) {
    tokio::time::sleep(approver.after).await;
    let status = match approver.verdict {
        Some(true) => ApprovalStatus::Approved,
        _ => ApprovalStatus::Denied,
    };
    let decided =
        state
            .store
            .lock()
            .decide_approval(&approval_id, status, &approver.by, SystemTime::now());
    if let Err(error) = decided {
        tracing::debug!(?error, %approval_id, "test approver left the approval alone");
    }
}
