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

use std::collections::{HashMap, VecDeque};

use super::EventRecord;

/// The newest telemetry events kept in memory by default.
pub const DEFAULT_EVENT_LOG: usize = 100_000;

/// The newest events and the counts of all of them.
#[derive(Debug)]
pub(crate) struct EventLog {
    capacity: usize,
    /// The newest events, oldest first.
    kept: VecDeque<EventRecord>,
    /// Every event received, kept or not, by (agent, session).
    received: HashMap<(String, String), u64>,
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
        *self
            .received
            .entry((event.agent_id.clone(), event.session_id.clone()))
            .or_default() += 1;
        if self.kept.len() == self.capacity {
            self.kept.pop_front();
        }
        self.kept.push_back(event);
        self.total += 1;
    }

    /// The kept events, oldest first.
    pub(crate) fn kept(&self) -> &VecDeque<EventRecord> {
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
            .filter(|((a, s), _)| agent.is_none_or(|x| a == x) && session.is_none_or(|x| s == x))
            .map(|(_, n)| n)
            .sum()
    }

    /// The newest `n` kept events, oldest first (fewer when fewer are kept).
    pub(crate) fn newest(&self, n: usize) -> impl Iterator<Item = &EventRecord> {
        self.kept.iter().skip(self.kept.len().saturating_sub(n))
    }
}

#[cfg(test)]
mod tests {
    use super::EventLog;
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
    fn a_capacity_of_zero_keeps_one() {
        let mut log = EventLog::new(0);
        log.push(event("a", "", 1));
        log.push(event("a", "", 2));
        assert_eq!(log.capacity(), 1);
        assert_eq!(log.kept().len(), 1);
        assert_eq!(log.received(None, None), 2);
    }
}
