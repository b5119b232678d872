//! SIEM destinations (PROTOCOL.md §13): `/api/v1/siem/destinations`, with
//! each destination's delivery log and a test delivery. Deliveries
//! themselves are `crate::siem`'s.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{required, Body};
use crate::siem::TYPES;
use crate::store::{new_id, rfc3339, Destination, ORG_ID};

const DEFAULT_BATCH: u32 = 100;
const MAX_BATCH: u32 = 1000;
const DEFAULT_FLUSH_SECS: u32 = 5;
const MAX_FLUSH_SECS: u32 = 3600;

#[derive(Deserialize)]
pub(crate) struct Create {
    name: String,
    destination_type: String,
    endpoint_url: String,
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    batch_size: Option<u32>,
    #[serde(default)]
    flush_interval_seconds: Option<u32>,
    #[serde(default)]
    filter_event_types: Option<Vec<String>>,
}

/// Absent fields stay as they are.
#[derive(Deserialize)]
pub(crate) struct Update {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    endpoint_url: Option<String>,
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    is_active: Option<bool>,
    #[serde(default)]
    batch_size: Option<u32>,
    #[serde(default)]
    flush_interval_seconds: Option<u32>,
    #[serde(default)]
    filter_event_types: Option<Vec<String>>,
}

/// The destination as answers show it: never its `auth_token`.
fn shown(d: &Destination) -> Value {
    let mut value = json!(d);
    if let Some(map) = value.as_object_mut() {
        map.remove("auth_token");
        map.insert("has_auth_token".into(), d.auth_token.is_some().into());
    }
    value
}

fn check_url(url: &str) -> ApiResult<()> {
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "`endpoint_url` must be an http:// or https:// URL, not `{url}`"
        ))),
    }
}

fn check_range(key: &str, value: u32, max: u32) -> ApiResult<u32> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request(format!(
            "`{key}` must be between 1 and {max}"
        )))
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Body(req): Body<Create>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = required("name", &req.name)?;
    let kind = required("destination_type", &req.destination_type)?;
    if !TYPES.contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "`destination_type` must be one of {}, not `{kind}`",
            TYPES.join(", ")
        )));
    }
    let url = required("endpoint_url", &req.endpoint_url)?;
    check_url(url)?;
    let now = rfc3339(SystemTime::now());
    let destination = Destination {
        id: new_id("siem"),
        org_id: ORG_ID.to_owned(),
        name: name.to_owned(),
        destination_type: kind.to_owned(),
        endpoint_url: url.to_owned(),
        auth_token: req.auth_token.filter(|t| !t.is_empty()),
        is_active: true,
        batch_size: check_range(
            "batch_size",
            req.batch_size.unwrap_or(DEFAULT_BATCH),
            MAX_BATCH,
        )?,
        flush_interval_seconds: check_range(
            "flush_interval_seconds",
            req.flush_interval_seconds.unwrap_or(DEFAULT_FLUSH_SECS),
            MAX_FLUSH_SECS,
        )?,
        filter_event_types: req.filter_event_types,
        created_at: now.clone(),
        updated_at: now,
    };
    let answer = shown(&destination);
    state
        .store
        .lock()
        .destinations
        .insert(destination.id.clone(), destination);
    Ok((StatusCode::CREATED, Json(answer)))
}

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    let data = state.store.lock();
    let mut destinations: Vec<&Destination> = data.destinations.values().collect();
    destinations.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let shown: Vec<Value> = destinations.into_iter().map(shown).collect();
    Json(json!({"total": shown.len(), "destinations": shown}))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let data = state.store.lock();
    data.destinations
        .get(&id)
        .map(|d| Json(shown(d)))
        .ok_or_else(|| ApiError::not_found("SIEM destination", &id))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(req): Body<Update>,
) -> ApiResult<Json<Value>> {
    // Validate everything before changing anything.
    if let Some(url) = &req.endpoint_url {
        check_url(url)?;
    }
    if let Some(name) = &req.name {
        required("name", name)?;
    }
    let batch = req
        .batch_size
        .map(|b| check_range("batch_size", b, MAX_BATCH))
        .transpose()?;
    let flush = req
        .flush_interval_seconds
        .map(|f| check_range("flush_interval_seconds", f, MAX_FLUSH_SECS))
        .transpose()?;
    let mut data = state.store.lock();
    let destination = data
        .destinations
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("SIEM destination", &id))?;
    if let Some(name) = req.name {
        destination.name = name;
    }
    if let Some(url) = req.endpoint_url {
        destination.endpoint_url = url;
    }
    if let Some(token) = req.auth_token {
        destination.auth_token = Some(token).filter(|t| !t.is_empty());
    }
    if let Some(active) = req.is_active {
        destination.is_active = active;
    }
    if let Some(batch) = batch {
        destination.batch_size = batch;
    }
    if let Some(flush) = flush {
        destination.flush_interval_seconds = flush;
    }
    if let Some(types) = req.filter_event_types {
        destination.filter_event_types = Some(types);
    }
    destination.updated_at = rfc3339(SystemTime::now());
    Ok(Json(shown(destination)))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut data = state.store.lock();
    data.destinations
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("SIEM destination", &id))?;
    data.deliveries.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log, newest first.
pub(crate) async fn logs(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let data = state.store.lock();
    if !data.destinations.contains_key(&id) {
        return Err(ApiError::not_found("SIEM destination", &id));
    }
    let logs: Vec<Value> = data
        .deliveries
        .get(&id)
        .map(|log| log.iter().rev().map(|d| json!(d)).collect())
        .unwrap_or_default();
    Ok(Json(json!({"total": logs.len(), "logs": logs})))
}

/// Sends one `siem.test` event now, whatever the filter, and answers how
/// it went (also in the delivery log).
pub(crate) async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let destination = state
        .store
        .lock()
        .destinations
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("SIEM destination", &id))?;
    let event = json!({
        "id": new_id("evt"), "type": "siem.test", "time": rfc3339(SystemTime::now()),
        "org_id": ORG_ID, "message": "AgentTrust gateway test event",
    });
    let delivery = crate::siem::deliver(state.clone(), destination, vec![event]).await;
    Ok(Json(json!({
        "success": delivery.status == "success",
        "status_code": delivery.status_code,
        "error_message": delivery.error_message,
    })))
}
