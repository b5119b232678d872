//! Telemetry: `POST /api/v1/telemetry/report`, and the local extension
//! `GET /api/v1/telemetry/events?agent_id=&session_id=&limit=` that shows
//! exactly what arrived.

use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{rfc3339, EventRecord};

#[derive(Deserialize)]
pub(crate) struct Report {
    agent_id: String,
    #[serde(default)]
    session_id: Option<String>,
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    event_type: Option<String>,
    tool_name: String,
    #[serde(default)]
    duration_ms: Option<u64>,
    /// Go omits `false`: absent reads as false.
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

pub(crate) async fn report(
    State(state): State<AppState>,
    Body(req): Body<Report>,
) -> ApiResult<Json<Value>> {
    let agent_id = required("agent_id", &req.agent_id)?;
    let session_id = optional(req.session_id.as_deref()).unwrap_or_default();
    let mut data = state.store.lock();
    if !data.agents.contains_key(agent_id) {
        return Err(ApiError::not_found("agent", agent_id));
    }
    if data.session_of_another(session_id, agent_id) {
        return Err(ApiError::forbidden(format!(
            "session `{session_id}` belongs to another agent; `{agent_id}` may not report into it"
        )));
    }
    let received_at = rfc3339(SystemTime::now());
    let count = req.events.len();
    let events = req.events.into_iter().map(|e| {
        let success = e.success.unwrap_or(false);
        EventRecord {
            agent_id: agent_id.to_owned(),
            session_id: session_id.to_owned(),
            event_type: e
                .event_type
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| if success { "tool_end" } else { "tool_error" }.to_owned()),
            tool_name: e.tool_name,
            duration_ms: e.duration_ms.unwrap_or(0),
            success,
            error_type: e.error_type.filter(|t| !t.is_empty()),
            timestamp: e.timestamp.unwrap_or_else(|| received_at.clone()),
            received_at: received_at.clone(),
        }
    });
    data.events.extend(events);
    Ok(Json(json!({"accepted": true, "events_processed": count})))
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    agent_id: Option<String>,
    session_id: Option<String>,
    /// At most this many events in the answer (`total` still counts all);
    /// `limit=0` answers the count alone.
    limit: Option<usize>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Json<Value> {
    let data = state.store.lock();
    let matching = data
        .events
        .iter()
        .filter(|e| optional(query.agent_id.as_deref()).is_none_or(|a| e.agent_id == a))
        .filter(|e| optional(query.session_id.as_deref()).is_none_or(|s| e.session_id == s));
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut total = 0;
    let mut events: Vec<&EventRecord> = Vec::new();
    for event in matching {
        total += 1;
        if events.len() < limit {
            events.push(event);
        }
    }
    Json(json!({"total": total, "events": events}))
}
