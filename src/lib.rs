//! The root package of the agenttrust workspace: examples and end-to-end
//! tests, and the one helper they share.
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

/// The README's Rust blocks, compiled and run as doctests (warnings denied).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

use serde_json::Value;

/// Every environment variable the runtime reads.
pub const AGENTTRUST_VARS: [&str; 9] = [
    "AGENTTRUST_URL",
    "AGENTTRUST_BASE_URL",
    "AGENTTRUST_API_KEY",
    "AGENTTRUST_AGENT_ID",
    "AGENTTRUST_SESSION_ID",
    "AGENTTRUST_FAIL_OPEN",
    "AGENTTRUST_CHECK_TIMEOUT",
    "AGENTTRUST_ON_ELEVATION",
    "AGENTTRUST_ELEVATION_WAIT",
];

/// How an example finds its gateway, from the environment:
/// `Ok(false)` when none of the AgentTrust variables is set (run with an
/// embedded local gateway), `Ok(true)` when every one of `required` is set,
/// and an error naming the missing ones for a partial configuration, which
/// must never silently fall back to an embedded gateway. `AGENTTRUST_URL`
/// is also satisfied by `AGENTTRUST_BASE_URL`; empty values count as unset.
///
/// # Errors
/// A message naming what is set and what is missing.
///
/// ```
/// let lookup = |name: &str| (name == "AGENTTRUST_URL").then(|| "http://127.0.0.1:8080".to_owned());
/// let err = agenttrust::configured(&["AGENTTRUST_URL", "AGENTTRUST_API_KEY"], lookup).unwrap_err();
/// assert!(err.contains("AGENTTRUST_API_KEY"));
/// assert_eq!(agenttrust::configured(&["AGENTTRUST_URL"], |_| None), Ok(false));
/// ```
pub fn configured(
    required: &[&str],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<bool, String> {
    let set = |name: &str| lookup(name).is_some_and(|v| !v.trim().is_empty());
    let present: Vec<&str> = AGENTTRUST_VARS.iter().copied().filter(|n| set(n)).collect();
    if present.is_empty() {
        return Ok(false);
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|n| !(set(n) || (*n == "AGENTTRUST_URL" && set("AGENTTRUST_BASE_URL"))))
        .collect();
    if missing.is_empty() {
        Ok(true)
    } else {
        Err(format!(
            "incomplete AgentTrust configuration: {} set but {} missing; set all of {} to use a \
             gateway, or none of them for an embedded local one",
            present.join(", "),
            missing.join(", "),
            required.join(", ")
        ))
    }
}

/// [`configured`] over the process environment.
///
/// # Errors
/// As [`configured`].
pub fn configured_from_env(required: &[&str]) -> Result<bool, String> {
    configured(required, |name| std::env::var(name).ok())
}

/// The gateway an example talks to: `AGENTTRUST_URL` (or
/// `AGENTTRUST_BASE_URL`) and `AGENTTRUST_API_KEY` when both are set, else
/// a local gateway started here on an ephemeral port (returned, so it lives
/// as long as the caller keeps it). A partial configuration is an error.
///
/// # Errors
/// As [`configured`], and when the embedded gateway cannot bind.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (url, key, embedded) = agenttrust::example_gateway().await?;
/// println!("{url} (embedded: {})", embedded.is_some());
/// # Ok(()) }
/// ```
pub async fn example_gateway(
) -> Result<(String, String, Option<agenttrust_gateway::GatewayHandle>), Box<dyn std::error::Error>>
{
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if configured_from_env(&["AGENTTRUST_URL", "AGENTTRUST_API_KEY"])? {
        let url = var("AGENTTRUST_URL")
            .or_else(|| var("AGENTTRUST_BASE_URL"))
            .unwrap_or_default();
        return Ok((url, var("AGENTTRUST_API_KEY").unwrap_or_default(), None));
    }
    let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
    let (url, key) = (gateway.url().to_owned(), gateway.api_key().to_owned());
    Ok((url, key, Some(gateway)))
}

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

/// The pending approvals of `agent_id` on a local `agenttrust-gateway`,
/// newest first, through its extension `GET /mcp/approvals` (the
/// AgentTrust ID protocol has no listing; a real gateway's dashboard shows
/// them).
///
/// # Errors
/// Transport errors and non-2xx answers.
///
/// ```no_run
/// # async fn run() -> Result<(), reqwest::Error> {
/// for approval in agenttrust::pending_approvals("http://127.0.0.1:8080", "sk_test", "ag_1").await? {
///     println!("{} wants {}", approval["agent_id"], approval["action_name"]);
/// }
/// # Ok(()) }
/// ```
pub async fn pending_approvals(
    base_url: &str,
    api_key: &str,
    agent_id: &str,
) -> Result<Vec<Value>, reqwest::Error> {
    let body: Value = reqwest::Client::new()
        .get(format!("{base_url}/mcp/approvals"))
        .header("X-API-Key", api_key)
        .query(&[("status", "pending"), ("agent_id", agent_id)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body.as_array().cloned().unwrap_or_default())
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
