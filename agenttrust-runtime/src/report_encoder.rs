//! The JSON of one telemetry report, written straight from the pipeline's
//! queued events into one buffer: the body [`ReportBody`] of
//! [`TelemetryEvent`]s would serialize to (a test holds the two equal),
//! without serde's per-field machinery, with each second's RFC 3339
//! text formatted once per batch rather than once per event, and each tool
//! name escaped once per run of events that share it (a busy tool's batch
//! is mostly one name).
//!
//! [`ReportBody`]: crate::api::telemetry::ReportBody
//! [`TelemetryEvent`]: crate::api::telemetry::TelemetryEvent

use std::time::{Duration, SystemTime};

use crate::api::telemetry::event_type;
use crate::pipeline::{Origin, QueuedEvent};

/// About 150 bytes an event: room enough that the buffer grows only once.
const EVENT_BYTES: usize = 160;

/// The body of a report of `events` (`count` of them), all of `origin`.
pub(crate) fn encode<'a>(
    origin: &Origin,
    count: usize,
    events: impl Iterator<Item = &'a QueuedEvent>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        96 + origin.agent_id.len() + origin.session_id.len() + EVENT_BYTES * count,
    );
    out.extend_from_slice(br#"{"agent_id":"#);
    json(&mut out, &*origin.agent_id);
    out.extend_from_slice(br#","session_id":"#);
    json(&mut out, &*origin.session_id);
    out.extend_from_slice(br#","events":["#);
    let mut clock = Clock::default();
    let mut tool = Escaped::default();
    for (i, event) in events.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"event_type":""#);
        out.extend_from_slice(event_type(event.success).as_bytes());
        out.extend_from_slice(br#"","tool_name":"#);
        tool.write(&mut out, &event.tool_name);
        out.extend_from_slice(br#","duration_ms":"#);
        json(&mut out, &event.duration_ms);
        out.extend_from_slice(if event.success {
            br#","success":true"#.as_slice()
        } else {
            br#","success":false"#.as_slice()
        });
        if let Some(error_type) = &event.error_type {
            out.extend_from_slice(br#","error_type":"#);
            json(&mut out, &**error_type);
        }
        out.extend_from_slice(br#","timestamp":""#);
        clock.write(&mut out, event.at_ms);
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"]}");
    out
}

/// Appends `value` as JSON (serde_json escapes strings and formats numbers).
fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // A string or an integer written into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A string's JSON text, kept for the next event with the same string.
#[derive(Default)]
struct Escaped {
    raw: String,
    json: Vec<u8>,
}

impl Escaped {
    fn write(&mut self, out: &mut Vec<u8>, value: &str) {
        if self.json.is_empty() || self.raw != value {
            self.raw.clear();
            self.raw.push_str(value);
            self.json.clear();
            json(&mut self.json, value);
        }
        out.extend_from_slice(&self.json);
    }
}

/// RFC 3339 times with milliseconds (`2026-12-01T18:03:33.123Z`): the text
/// up to the second is formatted by humantime once per second seen.
#[derive(Default)]
struct Clock {
    second: Option<u64>,
    /// `YYYY-MM-DDTHH:MM:SS.` of `second`.
    head: Vec<u8>,
}

impl Clock {
    fn write(&mut self, out: &mut Vec<u8>, at_ms: u64) {
        let (second, millis) = (at_ms / 1000, at_ms % 1000);
        if self.second != Some(second) {
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(second);
            let text = humantime::format_rfc3339_millis(time).to_string();
            // Everything before the milliseconds and the `Z`.
            self.head = text.as_bytes()[..text.len() - 4].to_vec();
            self.second = Some(second);
        }
        out.extend_from_slice(&self.head);
        // Three digits, then the zone.
        let digits = [
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
            b'Z',
        ];
        out.extend_from_slice(&digits);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use compact_str::CompactString;

    use super::encode;
    use crate::api::telemetry::{event_type, rfc3339, ReportBody, TelemetryEvent};
    use crate::pipeline::{Origin, QueuedEvent};

    fn queued(origin: &Arc<Origin>, tool: &str, success: bool, at_ms: u64) -> QueuedEvent {
        QueuedEvent {
            origin: origin.clone(),
            tool_name: CompactString::new(tool),
            error_type: (!success).then_some(CompactString::const_new("io::Error")),
            duration_ms: at_ms % 977,
            at_ms,
            success,
        }
    }

    /// What serde writes for the same events (the public event type).
    fn serialized(origin: &Origin, events: &[QueuedEvent]) -> serde_json::Value {
        let events: Vec<TelemetryEvent> = events
            .iter()
            .map(|e| TelemetryEvent {
                event_type: event_type(e.success).to_owned(),
                tool_name: e.tool_name.to_string(),
                duration_ms: e.duration_ms,
                success: e.success,
                error_type: e.error_type.as_deref().map(str::to_owned),
                timestamp: rfc3339(
                    std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(e.at_ms),
                ),
            })
            .collect();
        serde_json::to_value(ReportBody {
            agent_id: &origin.agent_id,
            session_id: &origin.session_id,
            events: &events,
        })
        .unwrap()
    }

    #[test]
    fn the_encoded_report_is_what_serde_writes() {
        let origin = Arc::new(Origin {
            agent_id: Arc::from("ag_\"1\""),
            session_id: Arc::from("sess\n1"),
        });
        // Within one second, across seconds, a day and a year, millisecond 0 and 999.
        let times = [
            1_764_612_213_000,
            1_764_612_213_007,
            1_764_612_213_999,
            1_764_612_214_050,
            1_764_633_599_999,
            1_764_633_600_000,
            1_767_225_599_999,
            1_767_225_600_000,
            0,
        ];
        // Runs of one name, a name seen before, and the empty name (each
        // run's name is escaped once and reused).
        let (a, b) = ("a <\"é\">", "b");
        let tools = [a, a, a, b, b, a, "", "", b];
        let events: Vec<QueuedEvent> = times
            .iter()
            .zip(tools)
            .enumerate()
            .map(|(i, (t, tool))| queued(&origin, tool, i % 3 != 0, *t))
            .collect();
        let encoded: serde_json::Value =
            serde_json::from_slice(&encode(&origin, events.len(), events.iter())).unwrap();
        assert_eq!(encoded, serialized(&origin, &events));
        let empty: serde_json::Value =
            serde_json::from_slice(&encode(&origin, 0, [].iter())).unwrap();
        assert_eq!(empty, serialized(&origin, &[]));
    }
}
