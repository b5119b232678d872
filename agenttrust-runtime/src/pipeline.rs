//! The telemetry pipeline: one background worker per client that drains a
//! bounded queue into batched `POST /api/v1/telemetry/report` calls.
//!
//! `report()` only counts and enqueues (no I/O, no lock held across I/O,
//! defect D2); the worker batches, retries transient failures with backoff
//! while keeping the events (D3), and flushes on a timer so nothing waits
//! longer than the flush interval.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::api::telemetry::{event_type, ReportBody};
use crate::background;
use crate::client::transport::Transport;
use crate::error::Result;

/// The most events one report carries (PROTOCOL.md §19.3).
pub const MAX_BATCH: usize = 10;

/// Settings of a client's telemetry pipeline.
///
/// ```
/// use std::time::Duration;
/// use agenttrust_runtime::TelemetryConfig;
///
/// let config = TelemetryConfig::default()
///     .capacity(1_000)
///     .flush_interval(Duration::from_millis(200));
/// assert_eq!(config.get_capacity(), 1_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    capacity: usize,
    flush_interval: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    drop_timeout: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            capacity: 65_536,
            flush_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            drop_timeout: Duration::from_secs(2),
        }
    }
}

impl TelemetryConfig {
    /// How many undelivered events are kept (queued or being retried);
    /// beyond it new events are dropped and counted. Default 65,536.
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The longest an event waits for a full batch. Default 1 s.
    #[must_use]
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// The first and the largest wait between retries of a failed post.
    /// Default 100 ms doubling up to 5 s.
    #[must_use]
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// How long dropping the last client handle (outside an async context)
    /// waits for queued events, and how long the worker keeps retrying
    /// after that. Default 2 s.
    #[must_use]
    pub fn drop_timeout(mut self, timeout: Duration) -> Self {
        self.drop_timeout = timeout;
        self
    }

    /// The configured capacity.
    pub fn get_capacity(&self) -> usize {
        self.capacity
    }
}

/// Counters of a client's telemetry pipeline.
///
/// ```no_run
/// # fn run(client: agenttrust_runtime::AgentTrustClient) {
/// let stats = client.telemetry_stats();
/// println!("{} sent, {} dropped", stats.sent, stats.dropped);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TelemetryStats {
    /// Events accepted and not yet delivered (queued or being retried).
    pub queued: u64,
    /// Events delivered to the gateway.
    pub sent: u64,
    /// Events lost: refused at a full queue, rejected by the gateway, or
    /// still undelivered when the worker gave up at shutdown.
    pub dropped: u64,
    /// Report posts that failed (each may be retried).
    pub failed_posts: u64,
}

/// What a flush achieved before its deadline.
///
/// ```
/// use agenttrust_runtime::FlushOutcome;
/// assert!(FlushOutcome::Delivered.is_delivered());
/// assert!(!FlushOutcome::TimedOut { pending: 3 }.is_delivered());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a flush may time out; check whether everything was delivered"]
pub enum FlushOutcome {
    /// Everything queued before the flush was handled (delivered, or
    /// rejected by the gateway and counted as dropped).
    Delivered,
    /// The deadline passed first.
    TimedOut {
        /// Events still undelivered when the deadline passed.
        pending: u64,
    },
}

impl FlushOutcome {
    /// Whether everything queued before the flush was handled.
    pub fn is_delivered(self) -> bool {
        matches!(self, FlushOutcome::Delivered)
    }
}

/// One tool-call event waiting in the queue.
pub(crate) struct QueuedEvent {
    pub(crate) agent_id: Arc<str>,
    pub(crate) session_id: Arc<str>,
    pub(crate) tool_name: Cow<'static, str>,
    pub(crate) success: bool,
    pub(crate) duration_ms: u64,
    pub(crate) error_type: Option<Cow<'static, str>>,
    pub(crate) at: SystemTime,
}

enum Message {
    Event(QueuedEvent),
    Flush,
}

#[derive(Default)]
struct Counters {
    pending: AtomicU64,
    accepted: AtomicU64,
    sent: AtomicU64,
    dropped: AtomicU64,
    failed_posts: AtomicU64,
}

/// The client side of the pipeline: cheap to enqueue into, shut down on drop.
pub(crate) struct Pipeline {
    tx: Option<mpsc::UnboundedSender<Message>>,
    counters: Arc<Counters>,
    resolved: watch::Receiver<u64>,
    capacity: u64,
    exited: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    drop_timeout: Duration,
}

impl Pipeline {
    /// Starts the worker on the background runtime.
    pub(crate) fn start(transport: Arc<Transport>, config: TelemetryConfig) -> Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (resolved_tx, resolved) = watch::channel(0);
        let (exited_tx, exited) = std::sync::mpsc::channel();
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            transport,
            rx,
            counters: counters.clone(),
            resolved: resolved_tx,
            resolved_count: 0,
            config: config.clone(),
            buffer: VecDeque::new(),
            oldest: None,
            flush_requested: false,
            closed_at: None,
        };
        background::handle()?.spawn(async move {
            worker.run().await;
            let _ = exited_tx.send(());
        });
        Ok(Self {
            tx: Some(tx),
            counters,
            resolved,
            capacity: config.capacity as u64,
            exited: std::sync::Mutex::new(exited),
            drop_timeout: config.drop_timeout,
        })
    }

    /// Enqueues an event; returns `false` (and counts it dropped) when the
    /// queue is full or the worker is gone. Never blocks, never does I/O.
    pub(crate) fn enqueue(&self, event: QueuedEvent) -> bool {
        let c = &self.counters;
        if c.pending.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            c.pending.fetch_sub(1, Ordering::AcqRel);
            c.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        c.accepted.fetch_add(1, Ordering::AcqRel);
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(Message::Event(event)).is_ok());
        if !sent {
            // The worker is gone: the event is lost, and counted.
            c.pending.fetch_sub(1, Ordering::AcqRel);
            c.dropped.fetch_add(1, Ordering::Relaxed);
            c.accepted.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }

    /// Asks the worker to send what it holds now, without waiting.
    pub(crate) fn nudge(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Message::Flush);
        }
    }

    /// Waits until everything accepted before this call is handled, or the
    /// deadline passes.
    pub(crate) async fn flush(&self, timeout: Duration) -> FlushOutcome {
        let target = self.counters.accepted.load(Ordering::Acquire);
        self.nudge();
        let mut resolved = self.resolved.clone();
        let reached = tokio::time::timeout(timeout, async {
            resolved.wait_for(|done| *done >= target).await.is_ok()
        })
        .await;
        match reached {
            Ok(true) => FlushOutcome::Delivered,
            // The worker exited: whatever it did not handle is lost and counted.
            Ok(false) if *self.resolved.borrow() >= target => FlushOutcome::Delivered,
            _ => FlushOutcome::TimedOut {
                pending: target.saturating_sub(*self.resolved.borrow()),
            },
        }
    }

    pub(crate) fn stats(&self) -> TelemetryStats {
        let c = &self.counters;
        TelemetryStats {
            queued: c.pending.load(Ordering::Acquire),
            sent: c.sent.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed_posts: c.failed_posts.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Closing the channel tells the worker to deliver what it holds and exit.
        drop(self.tx.take());
        // Outside an async context, give it a bounded moment so a program that
        // just returns from main does not lose its last events. Inside one,
        // never block: the worker carries on by itself on the I/O runtime.
        if self.counters.pending.load(Ordering::Acquire) > 0 && !background::in_async_context() {
            if let Ok(exited) = self.exited.get_mut() {
                let _ = exited.recv_timeout(self.drop_timeout);
            }
        }
    }
}

/// The wire form of one event, borrowed from the queue.
#[derive(Serialize)]
struct WireEvent<'a> {
    event_type: &'static str,
    tool_name: &'a str,
    duration_ms: u64,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    #[serde(serialize_with = "rfc3339_in_place")]
    timestamp: SystemTime,
}

/// Writes the RFC 3339 time straight into the JSON, without a `String`.
fn rfc3339_in_place<S: serde::Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*time))
}

struct Worker {
    transport: Arc<Transport>,
    rx: mpsc::UnboundedReceiver<Message>,
    counters: Arc<Counters>,
    resolved: watch::Sender<u64>,
    resolved_count: u64,
    config: TelemetryConfig,
    buffer: VecDeque<QueuedEvent>,
    oldest: Option<Instant>,
    flush_requested: bool,
    closed_at: Option<Instant>,
}

enum PostResult {
    Delivered,
    Retry,
    Rejected,
}

impl Worker {
    async fn run(mut self) {
        let mut backoff = self.config.initial_backoff;
        loop {
            self.drain_channel();
            if self.buffer.is_empty() {
                self.flush_requested = false;
                if self.closed_at.is_some() {
                    return;
                }
                match self.rx.recv().await {
                    Some(message) => self.accept(message),
                    None => self.closed_at = Some(Instant::now()),
                }
                continue;
            }
            if !self.batch_due() {
                let deadline =
                    self.oldest.unwrap_or_else(Instant::now) + self.config.flush_interval;
                tokio::select! {
                    message = self.rx.recv() => match message {
                        Some(message) => self.accept(message),
                        None => self.closed_at = Some(Instant::now()),
                    },
                    () = tokio::time::sleep_until(deadline.into()) => {}
                }
                continue;
            }
            match self.post_batch().await {
                PostResult::Delivered | PostResult::Rejected => {
                    backoff = self.config.initial_backoff
                }
                PostResult::Retry => {
                    if self.gave_up() {
                        self.drop_all();
                        return;
                    }
                    self.wait_backoff(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }

    fn accept(&mut self, message: Message) {
        match message {
            Message::Event(event) => {
                if self.buffer.is_empty() {
                    self.oldest = Some(Instant::now());
                }
                self.buffer.push_back(event);
            }
            Message::Flush => self.flush_requested = true,
        }
    }

    fn drain_channel(&mut self) {
        while self.closed_at.is_none() {
            match self.rx.try_recv() {
                Ok(message) => self.accept(message),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.closed_at = Some(Instant::now());
                }
            }
        }
    }

    fn batch_due(&self) -> bool {
        self.buffer.len() >= MAX_BATCH
            || self.flush_requested
            || self.closed_at.is_some()
            || self
                .oldest
                .is_some_and(|t| t.elapsed() >= self.config.flush_interval)
    }

    fn gave_up(&self) -> bool {
        self.closed_at
            .is_some_and(|t| t.elapsed() >= self.config.drop_timeout)
    }

    /// Waits out a retry backoff while still taking in new events.
    async fn wait_backoff(&mut self, backoff: Duration) {
        let until = tokio::time::Instant::now() + backoff;
        loop {
            tokio::select! {
                message = self.rx.recv(), if self.closed_at.is_none() => match message {
                    Some(message) => self.accept(message),
                    None => self.closed_at = Some(Instant::now()),
                },
                () = tokio::time::sleep_until(until) => return,
            }
        }
    }

    /// Posts the longest run of up to [`MAX_BATCH`] events at the front of
    /// the queue that share an agent and session.
    async fn post_batch(&mut self) -> PostResult {
        let first = &self.buffer[0];
        let (agent_id, session_id) = (first.agent_id.clone(), first.session_id.clone());
        let len = self
            .buffer
            .iter()
            .take(MAX_BATCH)
            .take_while(|e| e.agent_id == agent_id && e.session_id == session_id)
            .count();
        let events: Vec<WireEvent<'_>> = self
            .buffer
            .iter()
            .take(len)
            .map(|e| WireEvent {
                event_type: event_type(e.success),
                tool_name: &e.tool_name,
                duration_ms: e.duration_ms,
                success: e.success,
                error_type: e.error_type.as_deref(),
                timestamp: e.at,
            })
            .collect();
        let body = ReportBody {
            agent_id: &agent_id,
            session_id: &session_id,
            events: &events,
        };
        let outcome = self.transport.report(&body).await;
        drop(events);
        match outcome {
            Ok(_) => {
                self.counters.sent.fetch_add(len as u64, Ordering::Relaxed);
                self.resolve(len);
                PostResult::Delivered
            }
            Err(error) if error.is_unavailable() => {
                self.counters.failed_posts.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%error, events = len, "telemetry post failed; will retry");
                PostResult::Retry
            }
            Err(error) => {
                self.counters.failed_posts.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .dropped
                    .fetch_add(len as u64, Ordering::Relaxed);
                tracing::warn!(%error, events = len, "gateway rejected telemetry; events dropped");
                self.resolve(len);
                PostResult::Rejected
            }
        }
    }

    fn resolve(&mut self, len: usize) {
        self.buffer.drain(..len);
        self.oldest = if self.buffer.is_empty() {
            None
        } else {
            self.oldest
        };
        self.counters
            .pending
            .fetch_sub(len as u64, Ordering::AcqRel);
        self.resolved_count += len as u64;
        self.resolved.send_replace(self.resolved_count);
    }

    fn drop_all(&mut self) {
        let len = self.buffer.len();
        self.counters
            .dropped
            .fetch_add(len as u64, Ordering::Relaxed);
        tracing::warn!(
            events = len,
            "telemetry undelivered at shutdown; events dropped"
        );
        self.resolve(len);
    }
}
