//! The telemetry log: the newest events, a bounded number of them, and
//! exact counts of every event received.
//!
//! A gateway lives as long as a development session, or a benchmark's
//! millions of reports: keeping every event in memory grew it without bound
//! (about 3 GB after 3.4 million reports), so any holder of the API key
//! could exhaust its memory, and each doubling of the log copied all of it
//! under the store's lock, stalling every check. The log keeps the newest
//! [`capacity`](EventLog::capacity) events; the counts stay exact, so
//! `GET /api/v1/telemetry/events` still says how many arrived. With
//! `--db` the database keeps every event (see `sqlite.rs`).

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::EventRecord;

/// The newest telemetry events kept in memory by default.
pub const DEFAULT_EVENT_LOG: usize = 100_000;

/// Who sent one report and when it arrived: shared by the report's events
/// (a report carries hundreds while calls stream in) instead of copied
/// into each of them.
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) agent_id: String,
    pub(crate) session_id: String,
    pub(crate) received_at: String,
}

/// One kept event: an [`EventRecord`] whose report's fields are shared
/// ([`Origin`]), whose usual event types are not allocated, and whose
/// timestamp, when the report gave none, is its `received_at`.
#[derive(Debug)]
pub(crate) struct KeptEvent {
    pub(crate) origin: Arc<Origin>,
    pub(crate) event_type: Cow<'static, str>,
    pub(crate) tool_name: String,
    pub(crate) duration_ms: u64,
    pub(crate) success: bool,
    pub(crate) error_type: Option<String>,
    /// `None`: the report gave no timestamp.
    pub(crate) timestamp: Option<String>,
}

impl KeptEvent {
    pub(crate) fn agent_id(&self) -> &str {
        &self.origin.agent_id
    }

    pub(crate) fn session_id(&self) -> &str {
        &self.origin.session_id
    }

    /// The event as the gateway's API shows it.
    pub(crate) fn record(&self) -> EventRecord {
        EventRecord {
            agent_id: self.origin.agent_id.clone(),
            session_id: self.origin.session_id.clone(),
            event_type: self.event_type.clone().into_owned(),
            tool_name: self.tool_name.clone(),
            duration_ms: self.duration_ms,
            success: self.success,
            error_type: self.error_type.clone(),
            timestamp: self
                .timestamp
                .clone()
                .unwrap_or_else(|| self.origin.received_at.clone()),
            received_at: self.origin.received_at.clone(),
        }
    }
}

impl From<EventRecord> for KeptEvent {
    fn from(record: EventRecord) -> Self {
        Self {
            origin: Arc::new(Origin {
                agent_id: record.agent_id,
                session_id: record.session_id,
                received_at: record.received_at,
            }),
            event_type: Cow::Owned(record.event_type),
            tool_name: record.tool_name,
            duration_ms: record.duration_ms,
            success: record.success,
            error_type: record.error_type,
            timestamp: Some(record.timestamp),
        }
    }
}

/// The newest events and the counts of all of them.
#[derive(Debug)]
pub(crate) struct EventLog {
    capacity: usize,
    /// The newest events, oldest first.
    kept: VecDeque<KeptEvent>,
    /// Every event received, kept or not, by agent, then session: nested
    /// so that counting a report looks its pair up by reference.
    received: HashMap<String, HashMap<String, u64>>,
    /// The sum of `received`, kept apart so that the whole count (which
    /// the database compares with what it wrote) costs nothing.
    total: u64,
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new(DEFAULT_EVENT_LOG)
    }
}

impl EventLog {
    /// An empty log keeping at most `capacity` events (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            kept: VecDeque::new(),
            received: HashMap::new(),
            total: 0,
        }
    }

    /// How many events are kept at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts `event` and keeps it, forgetting the oldest kept one when full.
    pub(crate) fn push(&mut self, event: EventRecord) {
        self.count(&event.agent_id, &event.session_id, 1);
        self.keep(event.into());
    }

    /// Counts and keeps one report's `events`, all from `origin`: one count
    /// for the report, not one (and two key copies) per event.
    pub(crate) fn push_report(
        &mut self,
        origin: &Arc<Origin>,
        events: impl ExactSizeIterator<Item = KeptEvent>,
    ) {
        self.count(&origin.agent_id, &origin.session_id, events.len() as u64);
        for event in events {
            debug_assert!(Arc::ptr_eq(&event.origin, origin));
            self.keep(event);
        }
    }

    fn count(&mut self, agent: &str, session: &str, n: u64) {
        let sessions = match self.received.get_mut(agent) {
            Some(sessions) => sessions,
            None => self.received.entry(agent.to_owned()).or_default(),
        };
        match sessions.get_mut(session) {
            Some(count) => *count += n,
            None => {
                sessions.insert(session.to_owned(), n);
            }
        }
        self.total += n;
    }

    fn keep(&mut self, event: KeptEvent) {
        if self.kept.len() == self.capacity {
            self.kept.pop_front();
        }
        self.kept.push_back(event);
    }

    /// The kept events, oldest first.
    pub(crate) fn kept(&self) -> &VecDeque<KeptEvent> {
        &self.kept
    }

    /// How many events were received of `agent` (all agents when `None`)
    /// in `session` (all sessions when `None`), kept or not.
    pub(crate) fn received(&self, agent: Option<&str>, session: Option<&str>) -> u64 {
        if agent.is_none() && session.is_none() {
            return self.total;
        }
        self.received
            .iter()
            .filter(|(a, _)| agent.is_none_or(|x| *a == x))
            .flat_map(|(_, sessions)| sessions.iter())
            .filter(|(s, _)| session.is_none_or(|x| *s == x))
            .map(|(_, n)| n)
            .sum()
    }

    /// The newest `n` kept events, oldest first (fewer when fewer are kept).
    pub(crate) fn newest(&self, n: usize) -> impl Iterator<Item = &KeptEvent> {
        self.kept.iter().skip(self.kept.len().saturating_sub(n))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use super::{EventLog, KeptEvent, Origin};
    use crate::store::EventRecord;

    fn event(agent: &str, session: &str, n: u64) -> EventRecord {
        EventRecord {
            agent_id: agent.into(),
            session_id: session.into(),
            event_type: "tool_end".into(),
            tool_name: format!("t{n}"),
            duration_ms: n,
            success: true,
            error_type: None,
            timestamp: String::new(),
            received_at: String::new(),
        }
    }

    #[test]
    fn keeps_the_newest_and_counts_every_event() {
        let mut log = EventLog::new(3);
        for n in 0..5 {
            log.push(event("a", if n < 2 { "s1" } else { "s2" }, n));
        }
        log.push(event("b", "s3", 5));
        let kept: Vec<u64> = log.kept().iter().map(|e| e.duration_ms).collect();
        assert_eq!(kept, [3, 4, 5]);
        assert_eq!(log.received(None, None), 6);
        assert_eq!(log.received(Some("a"), None), 5);
        assert_eq!(log.received(Some("a"), Some("s1")), 2);
        assert_eq!(log.received(None, Some("s3")), 1);
        assert_eq!(log.received(Some("b"), Some("s1")), 0);
        let newest: Vec<u64> = log.newest(2).map(|e| e.duration_ms).collect();
        assert_eq!(newest, [4, 5]);
        assert_eq!(log.newest(10).count(), 3);
    }

    #[test]
    fn a_report_is_counted_once_and_its_events_share_its_origin() {
        let mut log = EventLog::new(10);
        log.push(event("a", "s1", 0));
        let origin = Arc::new(Origin {
            agent_id: "a".into(),
            session_id: "s1".into(),
            received_at: "2026-12-04T09:00:00.000Z".into(),
        });
        let kept = |n: u64, timestamp: Option<&str>| KeptEvent {
            origin: origin.clone(),
            event_type: Cow::Borrowed("tool_end"),
            tool_name: format!("t{n}"),
            duration_ms: n,
            success: true,
            error_type: None,
            timestamp: timestamp.map(str::to_owned),
        };
        let report = [kept(1, Some("2026-01-01T00:00:00Z")), kept(2, None)];
        log.push_report(&origin, report.into_iter());
        assert_eq!(log.received(Some("a"), Some("s1")), 3);
        assert_eq!(log.received(None, None), 3);
        assert_eq!(
            Arc::strong_count(&origin),
            3,
            "the report's two events share it"
        );
        let records: Vec<EventRecord> = log.kept().iter().map(KeptEvent::record).collect();
        assert_eq!(
            records[0],
            event("a", "s1", 0),
            "a pushed record reads back the same"
        );
        assert_eq!(records[1].timestamp, "2026-01-01T00:00:00Z");
        assert_eq!(
            records[2].timestamp, "2026-12-04T09:00:00.000Z",
            "without a timestamp, the report's arrival"
        );
        assert_eq!(
            (records[2].agent_id.as_str(), records[2].session_id.as_str()),
            ("a", "s1")
        );
        assert_eq!(records[2].received_at, "2026-12-04T09:00:00.000Z");
    }

    #[test]
    fn a_capacity_of_zero_keeps_one() {
        let mut log = EventLog::new(0);
        log.push(event("a", "", 1));
        log.push(event("a", "", 2));
        assert_eq!(log.capacity(), 1);
        assert_eq!(log.kept().len(), 1);
        assert_eq!(log.received(None, None), 2);
    }
}
