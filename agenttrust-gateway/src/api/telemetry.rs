//! Telemetry: `POST /api/v1/telemetry/report`, and the local extension
//! `GET /api/v1/telemetry/events?agent_id=&session_id=&limit=` that shows
//! what arrived: `total` counts every matching event received, `kept` those
//! the gateway still holds (it keeps the newest events, see
//! `store/events.rs`), and `events` lists the kept ones, oldest first, up
//! to `limit`.

use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::http::StatusCode;
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
    let count = req.events.len();
    // More than the log keeps would push some of this report's events out
    // before they are stored (with --db) or ever shown: refused whole.
    if count > data.events.capacity() {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "a report may carry at most {} events (this gateway keeps that many); this one \
                 carries {count}",
                data.events.capacity()
            ),
        ));
    }
    let received_at = rfc3339(SystemTime::now());
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
    for event in events {
        data.events.push(event);
    }
    Ok(Json(json!({"accepted": true, "events_processed": count})))
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    agent_id: Option<String>,
    session_id: Option<String>,
    /// At most this many events in the answer (`total` and `kept` still
    /// count all); `limit=0` answers the counts alone.
    limit: Option<usize>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Json<Value> {
    let data = state.store.lock();
    let (agent, session) = (
        optional(query.agent_id.as_deref()),
        optional(query.session_id.as_deref()),
    );
    let total = data.events.received(agent, session);
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut kept = 0;
    let mut events: Vec<&EventRecord> = Vec::new();
    let matching = data.events.kept().iter().filter(|e| {
        agent.is_none_or(|a| e.agent_id == a) && session.is_none_or(|s| e.session_id == s)
    });
    for event in matching {
        kept += 1;
        if events.len() < limit {
            events.push(event);
        }
    }
    Json(json!({"total": total, "kept": kept, "events": events}))
}
