//! The telemetry queue: undelivered events in chunks of at most [`CHUNK`]
//! behind one mutex, with the counts and flags the worker's protocol needs.
//!
//! A report takes the lock once: its two locked instructions replace a
//! channel send, a wake check and the counters' adds (about ten, each
//! dear on a busy 2-core machine). The worker takes everything queued in
//! one swap. Chunks never double, so a deep backlog costs its events and
//! nothing more (a growing `VecDeque` would briefly hold twice a
//! million-event burst).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::pipeline::QueuedEvent;

/// Events per chunk: 256 entries of 80 bytes, 20 KiB, under malloc's
/// mmap threshold.
pub(crate) const CHUNK: usize = 256;

/// What a chunk starts with when it is the only one (reports trickle):
/// a chunk grows by doubling up to [`CHUNK`], so a single event does not
/// cost a 20 KiB allocation.
const FIRST_CHUNK: usize = 16;

/// The queue shared by the reporting side and the worker.
#[derive(Default)]
pub(crate) struct EventQueue {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Queued events in order; only the last chunk is still filling.
    chunks: VecDeque<Vec<QueuedEvent>>,
    /// Accepted and not yet resolved: queued, or taken by the worker and
    /// not yet delivered or dropped.
    pending: u64,
    /// Accepted since the start (a flush waits until this many are resolved).
    accepted: u64,
    /// A flush asked the worker to send what it holds.
    flush_requested: bool,
    /// The pipeline is shutting down: the worker delivers what is queued
    /// and exits.
    closed: bool,
    /// The worker is gone (exited or dropped with its runtime): nobody
    /// will take events any more.
    worker_gone: bool,
    /// The worker waits without a timer: the next report must wake it.
    idle: bool,
}

/// What [`EventQueue::push`] did with an event.
pub(crate) enum Pushed {
    /// Queued; `wake` when the worker must be woken for it.
    Queued { wake: bool },
    /// Refused: `capacity` events are undelivered already.
    Full,
    /// Refused: the worker is gone.
    WorkerGone,
}

/// What the worker took in one [`EventQueue::take_all`].
pub(crate) struct Taken {
    /// A flush was asked for since the last take.
    pub(crate) flush_requested: bool,
    /// The pipeline is shutting down.
    pub(crate) closed: bool,
}

impl EventQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one is still
        // consistent, and a report must never panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `event` unless `capacity` events are undelivered already.
    /// The worker needs waking when this event brings the undelivered
    /// count to a multiple of `batch` (it fills a batch) or the worker is
    /// idle (no timer of its own would find the event).
    pub(crate) fn push(&self, event: QueuedEvent, capacity: u64, batch: u64) -> Pushed {
        let mut state = self.lock();
        if state.worker_gone {
            return Pushed::WorkerGone;
        }
        if state.pending >= capacity {
            return Pushed::Full;
        }
        state.pending += 1;
        state.accepted += 1;
        match state.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(event),
            last => {
                let capacity = if last.is_some() { CHUNK } else { FIRST_CHUNK };
                let mut chunk = Vec::with_capacity(capacity);
                chunk.push(event);
                state.chunks.push_back(chunk);
            }
        }
        let fills_a_batch = state.pending % batch.max(1) == 0;
        let wake = fills_a_batch || std::mem::take(&mut state.idle);
        Pushed::Queued { wake }
    }

    /// Moves every queued event to the back of `into`, and takes the
    /// flush request. Clears `idle`: a worker that takes is awake.
    pub(crate) fn take_all(&self, into: &mut TakenEvents) -> Taken {
        let mut state = self.lock();
        state.idle = false;
        into.append(&mut state.chunks);
        Taken {
            flush_requested: std::mem::take(&mut state.flush_requested),
            closed: state.closed,
        }
    }

    /// Marks the worker idle unless something waits for it (an event, a
    /// flush, the shutdown); returns whether it did. A report after this
    /// wakes the worker.
    pub(crate) fn idle_if_empty(&self) -> bool {
        let mut state = self.lock();
        let empty = state.chunks.is_empty() && !state.flush_requested && !state.closed;
        state.idle = empty;
        empty
    }

    /// Resolves `events` taken events (delivered or dropped).
    pub(crate) fn resolve(&self, events: u64) {
        let mut state = self.lock();
        state.pending = state.pending.saturating_sub(events);
    }

    /// Asks the worker to send what it holds.
    pub(crate) fn request_flush(&self) {
        self.lock().flush_requested = true;
    }

    /// Tells the worker to deliver what is queued and exit.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Marks the worker gone and moves what it never took to the back of
    /// `into`, so that the caller counts it as dropped and resolves it.
    pub(crate) fn worker_gone(&self, into: &mut TakenEvents) {
        let mut state = self.lock();
        state.worker_gone = true;
        into.append(&mut state.chunks);
    }

    /// Accepted and not yet resolved.
    pub(crate) fn pending(&self) -> u64 {
        self.lock().pending
    }

    /// Accepted since the start.
    pub(crate) fn accepted(&self) -> u64 {
        self.lock().accepted
    }
}

/// The events the worker has taken and not yet resolved, in order: the
/// queue's chunks, each consumed from its front.
#[derive(Default)]
pub(crate) struct TakenEvents {
    chunks: VecDeque<std::vec::IntoIter<QueuedEvent>>,
    len: usize,
}

impl TakenEvents {
    /// Moves `chunks` to the back, in order.
    fn append(&mut self, chunks: &mut VecDeque<Vec<QueuedEvent>>) {
        self.len += chunks.iter().map(Vec::len).sum::<usize>();
        self.chunks.extend(chunks.drain(..).map(Vec::into_iter));
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn front(&self) -> Option<&QueuedEvent> {
        self.iter().next()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &QueuedEvent> {
        self.chunks.iter().flat_map(|chunk| chunk.as_slice())
    }

    /// Drops the first `n` events (all of them if there are fewer).
    pub(crate) fn drop_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(chunk) = self.chunks.front_mut() else {
                return;
            };
            if chunk.len() <= n {
                n -= chunk.len();
                self.chunks.pop_front();
            } else {
                chunk.nth(n - 1);
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::Origin;

    fn event(duration_ms: u64) -> QueuedEvent {
        QueuedEvent {
            origin: Arc::new(Origin {
                agent_id: "a".into(),
                session_id: "s".into(),
            }),
            tool_name: "t".into(),
            error_type: None,
            duration_ms,
            at_ms: 0,
            success: true,
        }
    }

    /// Pushes with no bound and batches of `batch`: `Some(wake)` if queued.
    fn push(queue: &EventQueue, duration_ms: u64, batch: u64) -> Option<bool> {
        match queue.push(event(duration_ms), u64::MAX, batch) {
            Pushed::Queued { wake } => Some(wake),
            Pushed::Full | Pushed::WorkerGone => None,
        }
    }

    fn durations(taken: &TakenEvents) -> Vec<u64> {
        taken.iter().map(|e| e.duration_ms).collect()
    }

    /// Events cross chunk bounds in order, are consumed from the front
    /// across chunks, and the counts follow.
    #[test]
    fn events_keep_their_order_across_chunks_and_takes() {
        let queue = EventQueue::default();
        let mut taken = TakenEvents::default();
        let n = CHUNK as u64 * 2 + 7;
        for i in 0..n {
            assert!(push(&queue, i, 10).is_some());
        }
        queue.take_all(&mut taken);
        assert_eq!(taken.len(), n as usize);
        for i in n..n + 3 {
            assert!(push(&queue, i, 10).is_some());
        }
        queue.take_all(&mut taken);
        assert_eq!(durations(&taken), (0..n + 3).collect::<Vec<_>>());
        taken.drop_front(CHUNK + 1);
        assert_eq!(taken.front().map(|e| e.duration_ms), Some(CHUNK as u64 + 1));
        taken.drop_front(CHUNK - 1);
        assert_eq!(
            durations(&taken),
            (2 * CHUNK as u64..n + 3).collect::<Vec<_>>()
        );
        taken.drop_front(usize::MAX);
        assert!(taken.is_empty() && taken.front().is_none());
        assert_eq!((queue.pending(), queue.accepted()), (n + 3, n + 3));
        queue.resolve(n + 3);
        assert_eq!(queue.pending(), 0);
    }

    /// No chunk outgrows [`CHUNK`]: a backlog costs its events, not a
    /// doubled buffer.
    #[test]
    fn chunks_never_outgrow_their_bound() {
        let queue = EventQueue::default();
        for i in 0..(CHUNK as u64 * 3 + 1) {
            assert!(push(&queue, i, 10).is_some());
        }
        let state = queue.lock();
        assert_eq!(state.chunks.len(), 4);
        assert!(state.chunks.iter().all(|c| c.capacity() <= CHUNK));
    }

    /// A full queue and a gone worker refuse events without counting them
    /// as pending; a gone worker hands back what it never took.
    #[test]
    fn refused_events_are_not_pending() {
        let queue = EventQueue::default();
        assert!(matches!(queue.push(event(1), 1, 10), Pushed::Queued { .. }));
        assert!(matches!(queue.push(event(2), 1, 10), Pushed::Full));
        assert_eq!(queue.pending(), 1);
        let mut left = TakenEvents::default();
        queue.worker_gone(&mut left);
        assert_eq!(left.len(), 1);
        assert!(matches!(queue.push(event(3), 10, 10), Pushed::WorkerGone));
        assert_eq!(queue.accepted(), 1);
    }

    /// A report wakes the worker when it fills a batch or finds it idle,
    /// and only once per idle spell; a take ends the spell.
    #[test]
    fn a_report_wakes_on_a_full_batch_or_an_idle_worker() {
        let queue = EventQueue::default();
        let wakes = |queue: &EventQueue, d| push(queue, d, 3).expect("queued");
        assert_eq!(
            [wakes(&queue, 1), wakes(&queue, 2), wakes(&queue, 3)],
            [false, false, true]
        );
        assert!(
            !queue.idle_if_empty(),
            "events wait: the worker must not idle"
        );
        let mut taken = TakenEvents::default();
        queue.take_all(&mut taken);
        assert!(queue.idle_if_empty());
        assert!(wakes(&queue, 4), "the first report after idle wakes");
        assert!(!wakes(&queue, 5), "the worker is already woken");
        queue.request_flush();
        let taken_now = queue.take_all(&mut taken);
        assert!(taken_now.flush_requested && !taken_now.closed);
        queue.close();
        assert!(!queue.idle_if_empty() && queue.take_all(&mut taken).closed);
    }
}
