//! Telemetry: `POST /api/v1/telemetry/report`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// One tool-call event.
///
/// ```
/// use agenttrust_runtime::api::telemetry::TelemetryEvent;
/// let e = TelemetryEvent::tool_call("web_search", true, 12);
/// assert_eq!(e.event_type, "tool_end");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    /// `tool_end` (success) or `tool_error` (failure).
    pub event_type: String,
    /// The tool's name.
    pub tool_name: String,
    /// How long the call took.
    #[serde(default)]
    pub duration_ms: u64,
    /// Whether it succeeded (absent reads as `false`).
    #[serde(default)]
    pub success: bool,
    /// The error's type name, never its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// RFC 3339 time of the event.
    #[serde(default)]
    pub timestamp: String,
}

impl TelemetryEvent {
    /// An event for a finished tool call, stamped now.
    pub fn tool_call(tool_name: impl Into<String>, success: bool, duration_ms: u64) -> Self {
        Self {
            event_type: event_type(success).to_owned(),
            tool_name: tool_name.into(),
            duration_ms,
            success,
            error_type: None,
            timestamp: rfc3339(std::time::SystemTime::now()),
        }
    }
}

pub(crate) fn event_type(success: bool) -> &'static str {
    if success {
        "tool_end"
    } else {
        "tool_error"
    }
}

/// RFC 3339 with milliseconds and `Z`.
pub(crate) fn rfc3339(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// The body of a report.
#[derive(Debug, Serialize)]
pub(crate) struct ReportBody<'a, E: Serialize> {
    pub(crate) agent_id: &'a str,
    pub(crate) session_id: &'a str,
    pub(crate) events: &'a [E],
}

/// The gateway's answer to a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TelemetryReportResult {
    /// Whether the batch was accepted.
    #[serde(default)]
    pub accepted: bool,
    /// How many events were processed.
    #[serde(default)]
    pub events_processed: u64,
}

/// The telemetry API group; from [`AgentTrustClient::telemetry`].
///
/// Guards do not call this directly: they enqueue into the client's
/// background pipeline, which batches and retries.
#[derive(Debug, Clone, Copy)]
pub struct Telemetry<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Telemetry<'_> {
    /// `POST /api/v1/telemetry/report`, sent now.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::telemetry::TelemetryEvent;
    /// let events = [TelemetryEvent::tool_call("web_search", true, 40)];
    /// client.telemetry().report("ag_1", "sess_1", &events).await?;
    /// # Ok(()) }
    /// ```
    pub async fn report(
        &self,
        agent_id: &str,
        session_id: &str,
        events: &[TelemetryEvent],
    ) -> Result<TelemetryReportResult> {
        self.client
            .transport()
            .report(&ReportBody {
                agent_id,
                session_id,
                events,
            })
            .await
    }
}

impl crate::client::transport::Transport {
    pub(crate) async fn report<E: Serialize>(
        &self,
        body: &ReportBody<'_, E>,
    ) -> Result<TelemetryReportResult> {
        self.json(Method::POST, self.report_url(), Some(body)).await
    }
}
