//! The root package of the agenttrust workspace: examples and end-to-end
//! tests, and the one helper they share.
#![deny(missing_docs)]

use serde_json::Value;

/// Reads the telemetry events a local `agenttrust-gateway` stored, through
/// its read-only extension `GET /api/v1/telemetry/events` (not part of the
/// AgentTrust ID protocol, so not in the protocol client), filtered by
/// session when one is given.
///
/// # Errors
/// Transport errors and non-2xx answers.
///
/// ```no_run
/// # async fn run() -> Result<(), reqwest::Error> {
/// let events = agenttrust::gateway_events("http://127.0.0.1:8080", "sk_test", Some("sess_1")).await?;
/// println!("{} events", events.len());
/// # Ok(()) }
/// ```
pub async fn gateway_events(
    base_url: &str,
    api_key: &str,
    session_id: Option<&str>,
) -> Result<Vec<Value>, reqwest::Error> {
    let mut request = reqwest::Client::new()
        .get(format!("{base_url}/api/v1/telemetry/events"))
        .header("X-API-Key", api_key);
    if let Some(session) = session_id {
        request = request.query(&[("session_id", session)]);
    }
    let body: Value = request.send().await?.error_for_status()?.json().await?;
    Ok(body["events"].as_array().cloned().unwrap_or_default())
}

/// How many telemetry events a local `agenttrust-gateway` stored for
/// `session_id`, without transferring them (`limit=0`).
///
/// # Errors
/// Transport errors and non-2xx answers.
///
/// ```no_run
/// # async fn run() -> Result<(), reqwest::Error> {
/// let n = agenttrust::gateway_event_count("http://127.0.0.1:8080", "sk_test", "sess_1").await?;
/// println!("{n} events");
/// # Ok(()) }
/// ```
pub async fn gateway_event_count(
    base_url: &str,
    api_key: &str,
    session_id: &str,
) -> Result<u64, reqwest::Error> {
    let body: Value = reqwest::Client::new()
        .get(format!("{base_url}/api/v1/telemetry/events"))
        .header("X-API-Key", api_key)
        .query(&[("session_id", session_id), ("limit", "0")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["total"].as_u64().unwrap_or(0))
}
