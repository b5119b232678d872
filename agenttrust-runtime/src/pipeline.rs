//! The telemetry pipeline: one background worker per client that drains a
//! bounded queue into batched `POST /api/v1/telemetry/report` calls.
//!
//! `report()` only counts and enqueues (no I/O, no lock held across I/O,
//! defect D2: one short lock of the [`EventQueue`]); the worker batches,
//! retries transient failures with backoff while keeping the events (D3),
//! and flushes on a timer so nothing waits longer than the flush interval.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use compact_str::CompactString;
use reqwest::Method;
use tokio::sync::{watch, Notify};
use tokio::time::Sleep;

use crate::background;
use crate::client::transport::Transport;
use crate::error::Result;
use crate::event_queue::{EventQueue, Pushed, TakenEvents};
use crate::report_encoder;

/// The most events one report carries while the queue is short (the
/// official guards' batch, PROTOCOL.md §19.3).
pub const MAX_BATCH: usize = 10;

/// The default bound of undelivered events: 2^20 (1,048,576), so a burst of
/// a million reports is kept whole even when the worker sends nothing
/// during it. An event takes about [`QUEUED_EVENT_BYTES`] bytes while queued
/// (plus its tool name when that is neither `'static` nor within 24 bytes)
/// and about 81 bytes of memory in the queue's chunks (the benchmark
/// measures about 77 MiB for 1,000,000 queued events; the README's
/// Performance section has its latest figure), so a full queue holds
/// about 81 MiB.
pub const DEFAULT_CAPACITY: usize = 1 << 20;

/// What a queued event costs in memory, not counting a tool name or error
/// type owned by the event.
pub const QUEUED_EVENT_BYTES: usize = std::mem::size_of::<QueuedEvent>();

/// The most events one report carries while reports stream in or pile up
/// (see [`TelemetryConfig::backlog_batch`]). PROTOCOL.md allows batches of
/// more than ten; 500 events are about 60 KB of JSON.
pub const DEFAULT_BACKLOG_BATCH: usize = 500;

/// A batch whose oldest event waited less than this before the batch was
/// full doubles the next batch (reports stream in: more than about two
/// hundred a second at ten per batch). A post costs the gateway ~35-55 µs
/// besides its events: with 50 ms rather than 10 a busy client's batches
/// grow until a post goes out every 50-200 ms, which gained about a point
/// of throughput at one caller in the benchmark's decomposition.
const STREAMING_FILL: Duration = Duration::from_millis(50);

/// A full batch whose oldest event waited longer than this halves the next
/// one, and so does a batch sent before it was full (the stream slowed).
/// Four times [`STREAMING_FILL`], so a steady stream settles on one size
/// instead of doubling and halving in turn.
const TRICKLING_FILL: Duration = Duration::from_millis(200);

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
    backlog_batch: usize,
    flush_interval: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    drop_timeout: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            backlog_batch: DEFAULT_BACKLOG_BATCH,
            flush_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            drop_timeout: Duration::from_secs(2),
        }
    }
}

impl TelemetryConfig {
    /// How many undelivered events are kept (queued or being retried);
    /// beyond it new events are dropped, counted, and logged once per
    /// outage. Default [`DEFAULT_CAPACITY`] (1,048,576, about 81 MiB when full).
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The most events one report carries (default
    /// [`DEFAULT_BACKLOG_BATCH`]); at least [`MAX_BATCH`]. Reports carry ten
    /// events while calls trickle in; while they stream (a batch of ten
    /// fills in under 50 ms) each full batch whose oldest event waited less
    /// than 50 ms doubles the next, up to this bound, so a busy client posts
    /// a report every 50-200 ms instead of one per ten calls; a batch sent
    /// before it filled, or that took over 200 ms to fill, halves it again.
    /// A backlog deeper than the bound is sent in batches of the bound. The
    /// flush interval still bounds every event's wait. Lower it
    /// for a gateway that limits the size of a report; [`MAX_BATCH`] keeps
    /// every report at ten events.
    #[must_use]
    pub fn backlog_batch(mut self, events: usize) -> Self {
        self.backlog_batch = events.max(MAX_BATCH);
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
    /// Report posts the gateway accepted; `sent / posts` is the mean batch.
    pub posts: u64,
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

/// Who reports: one agent and session, shared by all of a guard's events.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) agent_id: Arc<str>,
    pub(crate) session_id: Arc<str>,
}

/// One tool-call event waiting in the queue, kept small: a million of them
/// are what a burst may leave queued.
pub(crate) struct QueuedEvent {
    pub(crate) origin: Arc<Origin>,
    /// A name of up to 24 bytes is kept inline, a longer `'static` one (the
    /// attribute's) by reference, so neither the attribute nor a
    /// hand-written `report("tool", ..)` allocates a copy that the worker's
    /// thread then frees.
    pub(crate) tool_name: CompactString,
    pub(crate) error_type: Option<CompactString>,
    pub(crate) duration_ms: u64,
    /// Milliseconds since the Unix epoch.
    pub(crate) at_ms: u64,
    pub(crate) success: bool,
}

impl QueuedEvent {
    /// Milliseconds since the Unix epoch, now.
    pub(crate) fn now_ms() -> u64 {
        // Runs on every report: seconds and milliseconds apart stay in
        // u64 arithmetic (`as_millis` is a u128 to convert back).
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| {
                d.as_secs()
                    .saturating_mul(1000)
                    .saturating_add(u64::from(d.subsec_millis()))
            })
    }
}

/// What the client side and the worker share.
#[derive(Default)]
struct Shared {
    /// The queued events, with the pending and accepted counts and the
    /// worker's idle, flush and shutdown flags.
    queue: EventQueue,
    sent: AtomicU64,
    dropped: AtomicU64,
    failed_posts: AtomicU64,
    posts: AtomicU64,
    /// Set at the first drop of an outage (logged once), cleared when a
    /// post succeeds again.
    dropping: AtomicBool,
    /// Wakes the worker. A report fires it only when it fills a batch, or
    /// when it is the first event while the worker is idle (see
    /// [`Pipeline::enqueue`]); everything else waits for the worker's own
    /// timer, so a stream of reports costs one cross-thread wake per batch,
    /// not one per report.
    wake: Notify,
    /// How often a report woke the worker (tests pin one wake per batch).
    report_wakes: AtomicU64,
    /// The worker's current batch size: a report that brings the
    /// undelivered count to a multiple of it wakes the worker.
    batch: AtomicU64,
}

/// The client side of the pipeline: cheap to enqueue into, shut down on drop.
pub(crate) struct Pipeline {
    shared: Arc<Shared>,
    resolved: watch::Receiver<u64>,
    capacity: u64,
    exited: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    drop_timeout: Duration,
}

impl Pipeline {
    /// Starts the worker on the background runtime.
    pub(crate) fn start(transport: Arc<Transport>, config: TelemetryConfig) -> Result<Self> {
        let (resolved_tx, resolved) = watch::channel(0);
        let (exited_tx, exited) = std::sync::mpsc::channel();
        let shared = Arc::new(Shared {
            batch: AtomicU64::new(MAX_BATCH as u64),
            ..Shared::default()
        });
        let worker = Worker {
            transport,
            shared: shared.clone(),
            resolved: resolved_tx,
            resolved_count: 0,
            config: config.clone(),
            buffer: TakenEvents::default(),
            batch: MAX_BATCH,
            deadline: None,
            flush_requested: false,
            closed_at: None,
        };
        background::handle()?.spawn(async move {
            worker.run().await;
            let _ = exited_tx.send(());
        });
        Ok(Self {
            shared,
            resolved,
            capacity: config.capacity as u64,
            exited: std::sync::Mutex::new(exited),
            drop_timeout: config.drop_timeout,
        })
    }

    /// Enqueues an event; returns `false` (and counts it dropped) when the
    /// queue is full or the worker is gone. Never blocks, never does I/O,
    /// and wakes the worker only when this event fills a batch or is the
    /// first one while the worker is idle.
    pub(crate) fn enqueue(&self, event: QueuedEvent) -> bool {
        let c = &self.shared;
        let batch = c.batch.load(Ordering::Relaxed);
        match c.queue.push(event, self.capacity, batch) {
            Pushed::Queued { wake } => {
                if wake {
                    c.report_wakes.fetch_add(1, Ordering::Relaxed);
                    c.wake.notify_one();
                }
                true
            }
            Pushed::Full => {
                c.dropped.fetch_add(1, Ordering::Relaxed);
                if !c.dropping.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        capacity = self.capacity,
                        "telemetry queue full (the gateway is not taking reports); dropping \
                         events until it does"
                    );
                }
                false
            }
            Pushed::WorkerGone => {
                // The worker is gone: the event is lost, and counted.
                c.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Asks the worker to send what it holds now, without waiting.
    pub(crate) fn nudge(&self) {
        self.shared.queue.request_flush();
        self.shared.wake.notify_one();
    }

    /// Waits until everything accepted before this call is handled, or the
    /// deadline passes.
    pub(crate) async fn flush(&self, timeout: Duration) -> FlushOutcome {
        let target = self.shared.queue.accepted();
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

    /// How often a report woke the worker.
    #[cfg(test)]
    pub(crate) fn report_wakes(&self) -> u64 {
        self.shared.report_wakes.load(Ordering::Relaxed)
    }

    pub(crate) fn stats(&self) -> TelemetryStats {
        let c = &self.shared;
        TelemetryStats {
            queued: c.queue.pending(),
            sent: c.sent.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed_posts: c.failed_posts.load(Ordering::Relaxed),
            posts: c.posts.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Closing the queue tells the worker to deliver what it holds and exit.
        self.shared.queue.close();
        self.shared.wake.notify_one();
        // Outside an async context, give it a bounded moment so a program that
        // just returns from main does not lose its last events. Inside one,
        // never block: the worker carries on by itself on the I/O runtime.
        if self.shared.queue.pending() > 0 && !background::in_async_context() {
            if let Ok(exited) = self.exited.get_mut() {
                let _ = exited.recv_timeout(self.drop_timeout);
            }
        }
    }
}

/// Sleeps on the worker's one timer until `deadline`, or until a report,
/// a flush or the shutdown wakes it.
async fn sleep_until_woken(shared: &Shared, mut timer: Pin<&mut Sleep>, deadline: Instant) {
    timer.as_mut().reset(deadline.into());
    tokio::select! {
        () = shared.wake.notified() => {}
        () = timer => {}
    }
}

struct Worker {
    transport: Arc<Transport>,
    shared: Arc<Shared>,
    resolved: watch::Sender<u64>,
    resolved_count: u64,
    config: TelemetryConfig,
    /// What the worker took from the queue and has not resolved yet.
    buffer: TakenEvents,
    /// How many events make a batch due: [`MAX_BATCH`], grown while
    /// reports stream in (see [`TelemetryConfig::backlog_batch`]).
    batch: usize,
    /// When what waits now (buffered, or still in the channel) must be
    /// posted; `None` while idle.
    deadline: Option<Instant>,
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
        // One timer, re-armed per batch (never one per event).
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        loop {
            self.take_queued();
            if self.buffer.is_empty() {
                self.flush_requested = false;
                if self.closed_at.is_some() {
                    return;
                }
                self.wait_for_events(timer.as_mut()).await;
                continue;
            }
            let deadline = *self
                .deadline
                .get_or_insert_with(|| Instant::now() + self.config.flush_interval);
            if !self.batch_due() {
                sleep_until_woken(&self.shared, timer.as_mut(), deadline).await;
                continue;
            }
            let full = self.buffer.len() >= self.batch;
            let oldest_waited = self.oldest_wait();
            match self.post_batch().await {
                PostResult::Delivered | PostResult::Rejected => {
                    backoff = self.config.initial_backoff;
                    self.resize_batch(full, oldest_waited);
                    if self.buffer.is_empty() {
                        // Whatever comes next arrives from now on: one
                        // interval from now is soon enough for all of it.
                        self.deadline = Some(Instant::now() + self.config.flush_interval);
                    }
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

    /// With nothing buffered: sleeps until the current deadline (events
    /// that arrive meanwhile do not wake it, the timer finds them), or,
    /// with no deadline left, parks until a report wakes it.
    async fn wait_for_events(&mut self, timer: Pin<&mut Sleep>) {
        if let Some(deadline) = self.deadline.filter(|d| *d > Instant::now()) {
            sleep_until_woken(&self.shared, timer, deadline).await;
            return;
        }
        // Idle, unless something came in since the last take: then a
        // report sees `idle` set under the queue's lock and wakes the
        // worker (a wake before the wait below is kept as a permit).
        self.deadline = None;
        if self.shared.queue.idle_if_empty() {
            self.shared.wake.notified().await;
        }
    }

    /// Takes everything queued into the buffer, with the flush request
    /// and the shutdown.
    fn take_queued(&mut self) {
        let taken = self.shared.queue.take_all(&mut self.buffer);
        self.flush_requested |= taken.flush_requested;
        if taken.closed {
            self.closed_at.get_or_insert_with(Instant::now);
        }
    }

    /// How many events the next post carries at most: the current batch
    /// size, or `backlog_batch` while more than that wait.
    fn batch_limit(&self) -> usize {
        if self.buffer.len() > self.config.backlog_batch {
            self.config.backlog_batch
        } else {
            self.batch
        }
    }

    /// How long the oldest buffered event has waited (millisecond
    /// resolution: events carry their time as Unix milliseconds).
    fn oldest_wait(&self) -> Duration {
        let oldest = self.buffer.front().map_or(0, |e| e.at_ms);
        Duration::from_millis(QueuedEvent::now_ms().saturating_sub(oldest))
    }

    /// Doubles the batch while full batches fill faster than
    /// [`STREAMING_FILL`], halves it when one went out before it filled or
    /// filled slower than [`TRICKLING_FILL`]: a stream of reports costs a
    /// post per 50-200 ms (more only at the bound), a trickle keeps the
    /// official batch of ten.
    fn resize_batch(&mut self, full: bool, oldest_waited: Duration) {
        let batch = if full && oldest_waited < STREAMING_FILL {
            (self.batch * 2).min(self.config.backlog_batch)
        } else if !full || oldest_waited > TRICKLING_FILL {
            (self.batch / 2).max(MAX_BATCH)
        } else {
            self.batch
        };
        if batch != self.batch {
            self.batch = batch;
            self.shared.batch.store(batch as u64, Ordering::Relaxed);
        }
    }

    fn batch_due(&self) -> bool {
        self.buffer.len() >= self.batch
            || self.flush_requested
            || self.closed_at.is_some()
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn gave_up(&self) -> bool {
        self.closed_at
            .is_some_and(|t| t.elapsed() >= self.config.drop_timeout)
    }

    /// Waits out a retry backoff. New events wait in the channel (the
    /// queue); only the batch being retried is held here.
    async fn wait_backoff(&mut self, backoff: Duration) {
        tokio::time::sleep(backoff).await;
        self.take_queued();
    }

    /// Posts the longest run of events at the front of the buffer that share
    /// an agent and session.
    async fn post_batch(&mut self) -> PostResult {
        let Some(first) = self.buffer.front() else {
            return PostResult::Delivered;
        };
        let origin = first.origin.clone();
        let len = self
            .buffer
            .iter()
            .take(self.batch_limit())
            .take_while(|e| Arc::ptr_eq(&e.origin, &origin) || e.origin == origin)
            .count();
        let bytes = report_encoder::encode(&origin, len, self.buffer.iter().take(len));
        // The answer's body says nothing the worker needs: a 2xx is a delivery.
        let t = &self.transport;
        let outcome = t
            .send_bytes(Method::POST, t.report_url(), Some(bytes), t.options(), &[])
            .await;
        match outcome {
            Ok(_) => {
                self.shared.sent.fetch_add(len as u64, Ordering::Relaxed);
                self.shared.posts.fetch_add(1, Ordering::Relaxed);
                if self.shared.dropping.swap(false, Ordering::AcqRel) {
                    tracing::warn!(
                        dropped_so_far = self.shared.dropped.load(Ordering::Relaxed),
                        "telemetry delivery resumed"
                    );
                }
                self.resolve(len);
                PostResult::Delivered
            }
            Err(error) if error.is_unavailable() => {
                self.shared.failed_posts.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%error, events = len, "telemetry post failed; will retry");
                PostResult::Retry
            }
            Err(error) => {
                self.shared.failed_posts.fetch_add(1, Ordering::Relaxed);
                self.shared.dropped.fetch_add(len as u64, Ordering::Relaxed);
                tracing::warn!(%error, events = len, "gateway rejected telemetry; events dropped");
                self.resolve(len);
                PostResult::Rejected
            }
        }
    }

    fn resolve(&mut self, len: usize) {
        self.buffer.drop_front(len);
        self.shared.queue.resolve(len as u64);
        self.resolved_count += len as u64;
        self.resolved.send_replace(self.resolved_count);
    }

    /// Gives up at shutdown: the batch and whatever still waits in the
    /// queue are dropped and counted.
    fn drop_all(&mut self) {
        self.take_queued();
        let len = self.drop_held();
        tracing::warn!(
            events = len,
            "telemetry undelivered at shutdown; events dropped"
        );
    }

    /// Counts everything the worker holds as dropped and resolves it;
    /// returns how many events that was.
    fn drop_held(&mut self) -> usize {
        let len = self.buffer.len();
        self.shared.dropped.fetch_add(len as u64, Ordering::Relaxed);
        self.resolve(len);
        len
    }
}

impl Drop for Worker {
    /// The worker ends by returning (everything resolved) or by being
    /// dropped without returning (a panic while it posts, or its task torn
    /// down): then what it held or never took is lost, and counted, and
    /// later reports are refused and counted too, so that the queue does
    /// not fill up with events nobody will send.
    fn drop(&mut self) {
        self.shared.queue.worker_gone(&mut self.buffer);
        if !self.buffer.is_empty() {
            self.drop_held();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::{AgentTrustClient, AgentTrustGuard, TelemetryConfig};

    async fn client(server: &MockServer, config: TelemetryConfig) -> AgentTrustClient {
        Mock::given(method("POST"))
            .and(path("/api/v1/telemetry/report"))
            .respond_with(ResponseTemplate::new(200))
            .mount(server)
            .await;
        AgentTrustClient::builder()
            .base_url(server.uri())
            .api_key("k")
            .telemetry(config)
            .build()
            .unwrap()
    }

    /// The events of each report the server received, in order.
    async fn received_reports(server: &MockServer) -> Vec<Vec<serde_json::Value>> {
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                body["events"].as_array().unwrap().clone()
            })
            .collect()
    }

    /// The number of events in each report the server received, in order.
    async fn batch_sizes(server: &MockServer) -> Vec<usize> {
        received_reports(server)
            .await
            .iter()
            .map(Vec::len)
            .collect()
    }

    fn flushing_every(interval: Duration) -> TelemetryConfig {
        TelemetryConfig::default().flush_interval(interval)
    }

    /// The worker sleeps through the reports of a batch: the report that
    /// fills it wakes the worker, the others wait for it (the first one
    /// wakes it from idle). Batches are held at ten so that the count of
    /// batches does not depend on how fast the reports came.
    #[tokio::test]
    async fn reports_wake_the_worker_once_per_batch_not_once_per_event() {
        let server = MockServer::start().await;
        let config = flushing_every(Duration::from_secs(60)).backlog_batch(super::MAX_BATCH);
        let client = client(&server, config).await;
        let guard = AgentTrustGuard::builder(client.clone(), "agent").build();
        for i in 0..95 {
            assert!(guard.report("tool", true, i));
            // Let the worker run between reports, as between real calls.
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while client.telemetry_stats().sent < 90 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let stats = client.telemetry_stats();
        // Nine full batches went without a flush; five wait for the timer.
        assert_eq!((stats.sent, stats.queued), (90, 5));
        let wakes = client.pipeline().report_wakes();
        assert!((9..=19).contains(&wakes), "{wakes} wakes for 95 reports");
    }

    /// An idle worker (no timer armed) is woken by the first report, so
    /// the flush interval still bounds its wait.
    #[tokio::test]
    async fn the_first_report_after_idle_is_sent_within_the_flush_interval() {
        let server = MockServer::start().await;
        let client = client(&server, flushing_every(Duration::from_millis(100))).await;
        let guard = AgentTrustGuard::builder(client.clone(), "agent").build();
        for round in 1..=3u64 {
            assert!(guard.report("tool", true, 1));
            let start = std::time::Instant::now();
            while client.telemetry_stats().sent < round && start.elapsed() < Duration::from_secs(5)
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(client.telemetry_stats().sent, round);
            // Long enough for the worker's own timer to end and go idle.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A stream of reports grows the batches (fewer posts), and the wake
    /// condition follows the batch size: still about one wake per batch.
    #[tokio::test]
    async fn a_stream_of_reports_grows_the_batches_up_to_the_bound() {
        let server = MockServer::start().await;
        let config = flushing_every(Duration::from_secs(60)).backlog_batch(80);
        let client = client(&server, config).await;
        let guard = AgentTrustGuard::builder(client.clone(), "agent").build();
        let reports = 2_000u64;
        for i in 0..reports {
            assert!(guard.report("tool", true, i));
            if i % 10 == 9 {
                // About ten thousand reports a second: a stream the worker
                // keeps up with, so no backlog forms.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        assert!(client.flush(Duration::from_secs(10)).await.is_delivered());
        let sizes = batch_sizes(&server).await;
        assert_eq!(sizes.iter().sum::<usize>() as u64, reports);
        assert_eq!(client.telemetry_stats().posts, sizes.len() as u64);
        assert_eq!(sizes[0], 10, "the first batch is the official ten");
        assert!(sizes.iter().all(|n| *n <= 80), "{sizes:?}");
        assert!(
            sizes.len() < 2_000 / 10 / 2,
            "{} posts for {reports} streamed reports: {sizes:?}",
            sizes.len()
        );
        let wakes = client.pipeline().report_wakes();
        assert!(
            wakes <= 2 * sizes.len() as u64 + 1,
            "{wakes} wakes for {} batches",
            sizes.len()
        );
    }

    /// A reported name arrives as given, whether it is kept inline (up to
    /// 24 bytes) or not, a two-byte character across that bound included,
    /// and so does a failure's error type.
    #[tokio::test]
    async fn reported_names_arrive_as_given_short_or_long() {
        let server = MockServer::start().await;
        let client = client(&server, flushing_every(Duration::from_secs(60))).await;
        let guard = AgentTrustGuard::builder(client.clone(), "agent").build();
        let names = [
            "t".to_owned(),
            "x".repeat(24),
            "x".repeat(25),
            format!("{}é", "x".repeat(23)),
            "a tool whose name is well over twenty-four bytes".to_owned(),
        ];
        for name in &names {
            assert!(guard.report(name, true, 1));
        }
        let error_type = "std::io::Error, a type name over 24 bytes";
        assert!(guard.report_failure(&names[0], 2, error_type));
        assert!(client.flush(Duration::from_secs(10)).await.is_delivered());
        let events: Vec<serde_json::Value> = received_reports(&server)
            .await
            .into_iter()
            .flatten()
            .collect();
        let received: Vec<&str> = events
            .iter()
            .map(|e| e["tool_name"].as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
        expected.push(&names[0]);
        assert_eq!(received, expected);
        assert_eq!(events[5]["error_type"], error_type);
    }

    /// The sizes of the reports that `reports` reports, one every
    /// `interval`, went out in (the flush interval out of the way).
    async fn batches_of_reports_every(interval: Duration, reports: u64) -> Vec<usize> {
        let server = MockServer::start().await;
        let client = client(&server, flushing_every(Duration::from_secs(60))).await;
        let guard = AgentTrustGuard::builder(client.clone(), "agent").build();
        for i in 0..reports {
            assert!(guard.report("tool", true, i));
            tokio::time::sleep(interval).await;
        }
        assert!(client.flush(Duration::from_secs(10)).await.is_delivered());
        batch_sizes(&server).await
    }

    /// A steady few hundred reports a second (2 ms apart, a batch of ten
    /// in about 20 ms) is a stream: the batches grow, so such a client
    /// posts every 50-200 ms, not every 20 ms.
    #[tokio::test]
    async fn a_few_hundred_reports_a_second_grow_the_batches() {
        let sizes = batches_of_reports_every(Duration::from_millis(2), 150).await;
        assert_eq!(sizes.iter().sum::<usize>(), 150);
        assert_eq!(sizes[0], 10, "the first batch is the official ten");
        assert!(sizes.iter().any(|n| *n >= 20), "{sizes:?}");
    }

    /// Reports that trickle in (10 ms apart, so a batch of ten takes about
    /// 90 ms: slower than the 50 ms that doubles a batch, faster than the
    /// 200 ms that halves it) keep the official batch of ten.
    #[tokio::test]
    async fn a_trickle_of_reports_keeps_batches_of_ten() {
        let sizes = batches_of_reports_every(Duration::from_millis(10), 30).await;
        assert_eq!(sizes, [10, 10, 10]);
    }
}
