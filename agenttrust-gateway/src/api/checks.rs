//! `POST /api/v1/agenttrust/check`: the Guardian's decision.

use std::time::{Instant, SystemTime};

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::AppState;
use crate::error::ApiResult;
use crate::extract::{optional, required, Body};
use crate::guardian::{self, Check, Verdict};

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
    if !state.policy.check_latency.is_zero() {
        tokio::time::sleep(state.policy.check_latency).await;
    }
    let mut verdict = {
        let mut data = state.store.lock();
        guardian::decide(&state.policy, &mut data, &check, SystemTime::now())
    };
    verdict.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Json(verdict))
}
