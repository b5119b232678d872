//! Telemetry: `POST /api/v1/telemetry/report`, and the local extension
//! `GET /api/v1/telemetry/events?agent_id=&session_id=&limit=` that shows
//! what arrived: `total` counts every matching event received, `kept` those
//! the gateway still holds (it keeps the newest events, see
//! `store/events.rs`), and `events` lists the kept ones, oldest first, up
//! to `limit`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{decode, optional, required, RawBody};
use crate::store::{rfc3339, EventRecord, KeptEvent, Origin};

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
    event_type: Option<EventType>,
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

/// The event type of a successful or a failed call, when a report gives none.
fn event_type(success: bool) -> &'static str {
    if success {
        TOOL_END
    } else {
        TOOL_ERROR
    }
}

const TOOL_END: &str = "tool_end";
const TOOL_ERROR: &str = "tool_error";

/// An event's type, read without allocating when it is one of the two
/// every SDK sends.
struct EventType(Cow<'static, str>);

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = EventType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event type string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<EventType, E> {
                Ok(EventType(match text {
                    TOOL_END => Cow::Borrowed(TOOL_END),
                    TOOL_ERROR => Cow::Borrowed(TOOL_ERROR),
                    other => Cow::Owned(other.to_owned()),
                }))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// Decodes and stores the report on tokio's blocking pool, not on the
/// runtime's workers: a report of 500 events is about 0.3 ms of decoding
/// and storing (measured against the release binary), and with `--db` a
/// write to SQLite; on a worker, every check that arrived meanwhile waited
/// for it (the benchmark's gateway has one worker), so a client that
/// reports made the checks of every client slower.
pub(crate) async fn report(
    State(state): State<AppState>,
    RawBody(bytes): RawBody,
) -> ApiResult<Json<Value>> {
    tokio::task::spawn_blocking(move || store_report(&state, decode(&bytes)?))
        .await
        .unwrap_or_else(|_| {
            // Only a panic gets here; the connection still gets an answer.
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "the gateway failed while storing the report",
            ))
        })
}

fn store_report(state: &AppState, req: Report) -> ApiResult<Json<Value>> {
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
    let origin = Arc::new(Origin {
        agent_id: agent_id.to_owned(),
        session_id: session_id.to_owned(),
        received_at: rfc3339(SystemTime::now()),
    });
    let events = req.events.into_iter().map(|e| {
        let success = e.success.unwrap_or(false);
        KeptEvent {
            origin: origin.clone(),
            event_type: e
                .event_type
                .map(|t| t.0)
                .filter(|t| !t.is_empty())
                .unwrap_or(Cow::Borrowed(event_type(success))),
            tool_name: e.tool_name,
            duration_ms: e.duration_ms.unwrap_or(0),
            success,
            error_type: e.error_type.filter(|t| !t.is_empty()),
            timestamp: e.timestamp,
        }
    });
    data.events.push_report(&origin, events);
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
    let mut events: Vec<EventRecord> = Vec::new();
    let matching = data.events.kept().iter().filter(|e| {
        agent.is_none_or(|a| e.agent_id() == a) && session.is_none_or(|s| e.session_id() == s)
    });
    for event in matching {
        kept += 1;
        if events.len() < limit {
            events.push(event.record());
        }
    }
    Json(json!({"total": total, "kept": kept, "events": events}))
}
