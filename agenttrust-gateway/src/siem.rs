//! SIEM streaming: the gateway's audit events (checks with their decisions,
//! approval decisions, revocations), batched per active destination and
//! POSTed as generic webhook JSON or Splunk HEC, with retries, and each
//! batch's outcome in the destination's delivery log.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::api::Shared;
use crate::store::{new_id, rfc3339, Data, Delivery, Destination, DELIVERY_LOG};

/// Audit events waiting for the worker; beyond it new ones are dropped
/// (logged), never waited for.
pub(crate) const QUEUE: usize = 16_384;
/// Posts per batch before it is logged as failed.
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How often partial batches are looked at.
const TICK: Duration = Duration::from_millis(100);
/// The destination types and their wire format.
pub(crate) const TYPES: [&str; 3] = ["webhook", "splunk", "splunk_hec"];

/// A destination's pending events and when the oldest arrived.
struct Pending {
    events: Vec<Value>,
    since: Instant,
}

/// Receives committed audit events and delivers them until the gateway's
/// state is gone.
pub(crate) async fn run(mut events: mpsc::Receiver<Value>, state: Weak<Shared>) {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                let Some(state) = state.upgrade() else { break };
                let destinations = active_destinations(&state);
                for destination in destinations.iter().filter(|d| wants(d, &event)) {
                    let batch = pending.entry(destination.id.clone()).or_insert_with(|| Pending {
                        events: Vec::new(),
                        since: Instant::now(),
                    });
                    batch.events.push(event.clone());
                    if batch.events.len() >= destination.batch_size as usize {
                        let batch = std::mem::take(&mut batch.events);
                        pending.remove(&destination.id);
                        tokio::spawn(deliver(state.clone(), destination.clone(), batch));
                    }
                }
            }
            // Partial batches are the only reason to wake: an idle worker
            // (no destination, or nothing pending) sleeps until an event.
            _ = tick.tick(), if !pending.is_empty() => {
                let Some(state) = state.upgrade() else { break };
                let destinations: HashMap<String, Destination> = active_destinations(&state)
                    .into_iter()
                    .map(|d| (d.id.clone(), d))
                    .collect();
                // A deleted or deactivated destination's events go with it.
                pending.retain(|id, _| destinations.contains_key(id));
                let due: Vec<String> = pending
                    .iter()
                    .filter(|(id, p)| {
                        let interval = u64::from(destinations[*id].flush_interval_seconds);
                        p.since.elapsed() >= Duration::from_secs(interval)
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in due {
                    if let Some(batch) = pending.remove(&id) {
                        tokio::spawn(deliver(state.clone(), destinations[&id].clone(), batch.events));
                    }
                }
            }
        }
    }
}

fn active_destinations(state: &Shared) -> Vec<Destination> {
    let data = state.store.lock();
    data.destinations
        .values()
        .filter(|d| d.is_active)
        .cloned()
        .collect()
}

/// Whether `destination` streams this event's type.
fn wants(destination: &Destination, event: &Value) -> bool {
    let kind = event["type"].as_str().unwrap_or_default();
    destination
        .filter_event_types
        .as_ref()
        .is_none_or(|types| types.iter().any(|t| t == kind))
}

/// The request body and content type for `destination_type`.
fn body(destination_type: &str, events: &[Value]) -> (String, &'static str) {
    if destination_type == "webhook" {
        let body = json!({"source": "agenttrust-gateway", "events": events});
        (body.to_string(), "application/json")
    } else {
        // Splunk HEC: one event object per line.
        let lines: Vec<String> = events
            .iter()
            .map(|event| {
                let time = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                json!({
                    "time": time, "host": "agenttrust-gateway", "source": "agenttrust",
                    "sourcetype": "agenttrust:audit", "event": event,
                })
                .to_string()
            })
            .collect();
        (lines.join("\n"), "application/json")
    }
}

/// Posts one batch with retries; the outcome goes into the delivery log.
pub(crate) async fn deliver(
    state: Arc<Shared>,
    destination: Destination,
    events: Vec<Value>,
) -> Delivery {
    let (body, content_type) = body(&destination.destination_type, &events);
    // One client per gateway: its connections live on the gateway's runtime.
    let http = state.siem_http.get_or_init(crate::notify::webhook_client);
    let mut backoff = FIRST_BACKOFF;
    let mut outcome = (None, None);
    let mut attempts = 0;
    for attempt in 1..=ATTEMPTS {
        attempts = attempt;
        let mut request = http
            .post(&destination.endpoint_url)
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(token) = destination.auth_token.as_deref().filter(|t| !t.is_empty()) {
            let scheme = if destination.destination_type == "webhook" {
                "Bearer"
            } else {
                "Splunk"
            };
            request = request.header("authorization", format!("{scheme} {token}"));
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                outcome = (Some(response.status().as_u16()), None);
                break;
            }
            Ok(response) => {
                outcome = (
                    Some(response.status().as_u16()),
                    Some(format!("HTTP {}", response.status())),
                );
            }
            Err(e) => outcome = (None, Some(e.to_string())),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 4;
        }
    }
    let (status_code, error_message) = outcome;
    let delivery = Delivery {
        id: new_id("dlv"),
        destination_id: destination.id.clone(),
        batch_size: events.len(),
        status: if error_message.is_none() {
            "success"
        } else {
            "failed"
        },
        status_code,
        error_message,
        attempts,
        delivered_at: rfc3339(SystemTime::now()),
    };
    if delivery.status == "failed" {
        tracing::warn!(destination = %destination.id, events = events.len(), "SIEM batch not delivered");
    }
    record(&mut state.store.lock(), delivery.clone());
    delivery
}

/// Appends to the destination's log, forgetting the oldest beyond the bound.
fn record(data: &mut Data, delivery: Delivery) {
    if !data.destinations.contains_key(&delivery.destination_id) {
        return;
    }
    let log = data
        .deliveries
        .entry(delivery.destination_id.clone())
        .or_default();
    if log.len() == DELIVERY_LOG {
        log.pop_front();
    }
    log.push_back(delivery);
}
