//! `AgentTrustGuard`: the check-then-report pattern of the product guide.

mod call;
pub(crate) mod decision;
pub(crate) mod guarded;
mod span;
mod wait;

pub use call::Call;
pub use call::Running;
pub use decision::Decision;
pub use wait::{OnElevation, DEFAULT_MAX_ELEVATION_WAIT, FIRST_POLL_INTERVAL, MAX_POLL_INTERVAL};

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use compact_str::CompactString;

use crate::api::actions::CheckPrefix;
use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};
use crate::pipeline::{FlushOutcome, Origin, QueuedEvent};
use decision::{CheckPolicy, Decided};

/// Checks tool calls with the Guardian and reports their outcome.
///
/// `Clone` is cheap; clones share the client's connection pool and telemetry
/// pipeline. Dropping a guard asks the pipeline to send what it holds, and
/// never blocks or panics.
///
/// ```no_run
/// use agenttrust_runtime::{AgentTrustClient, AgentTrustGuard, Effect};
///
/// # async fn run() -> agenttrust_runtime::Result<()> {
/// let client = AgentTrustClient::from_env()?;
/// let guard = AgentTrustGuard::builder(client, "ag_1")
///     .fail_open(false)
///     .action_effect(Effect::Read)
///     .build();
///
/// guard.check("web_search", "AI news").await?; // Err if denied
/// let start = std::time::Instant::now();
/// // ... run the tool ...
/// guard.report("web_search", true, start.elapsed().as_millis() as u64);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AgentTrustGuard {
    inner: Arc<GuardInner>,
}

struct GuardInner {
    client: AgentTrustClient,
    /// The agent and session, shared with every event this guard reports.
    origin: Arc<Origin>,
    /// The agent and session as the head of every check body, encoded once.
    check_prefix: CheckPrefix,
    block_on_deny: bool,
    fail_open: bool,
    action_effect: Option<Cow<'static, str>>,
    check_timeout: Option<Duration>,
    on_elevation: OnElevation,
}

/// Where an admitted [`Call`] sends its one report: the guard's state,
/// behind a trait object. A `Call` lives in code compiled in the user's
/// crate (a guarded fn's future, `run_sync`), and the debug info of every
/// type there is written out field by field, so a `Call` holding the
/// guard itself would describe the whole client (reqwest, hyper, tower,
/// the telemetry pipeline) in each crate with a guarded fn; the trait
/// object stops that description at one pointer.
pub(crate) trait ReportSink: Send + Sync {
    /// Enqueues one call's report (see [`AgentTrustGuard::report`]).
    fn enqueue(
        &self,
        tool: CompactString,
        success: bool,
        duration_ms: u64,
        error_type: Option<CompactString>,
    ) -> bool;
}

impl ReportSink for GuardInner {
    fn enqueue(
        &self,
        tool: CompactString,
        success: bool,
        duration_ms: u64,
        error_type: Option<CompactString>,
    ) -> bool {
        self.client.enqueue(QueuedEvent {
            origin: self.origin.clone(),
            tool_name: tool,
            error_type,
            duration_ms,
            at_ms: QueuedEvent::now_ms(),
            success,
        })
    }
}

impl std::fmt::Debug for AgentTrustGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTrustGuard")
            .field("agent_id", &self.inner.origin.agent_id)
            .field("session_id", &self.inner.origin.session_id)
            .field("block_on_deny", &self.inner.block_on_deny)
            .field("fail_open", &self.inner.fail_open)
            .field("action_effect", &self.inner.action_effect)
            .field("check_timeout", &self.inner.check_timeout)
            .field("on_elevation", &self.inner.on_elevation)
            .finish_non_exhaustive()
    }
}

/// Configures an [`AgentTrustGuard`]; from [`AgentTrustGuard::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until build() is called"]
pub struct AgentTrustGuardBuilder {
    client: AgentTrustClient,
    agent_id: Arc<str>,
    session_id: Option<Arc<str>>,
    block_on_deny: bool,
    fail_open: bool,
    action_effect: Option<Cow<'static, str>>,
    check_timeout: Option<Duration>,
    on_elevation: OnElevation,
}

impl AgentTrustGuardBuilder {
    /// The session the checks belong to (default: a random UUID).
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(Arc::from(session_id.into()));
        self
    }

    /// Whether `check` returns an error on deny or elevation (default true).
    /// With `false` the guard monitors instead of enforcing: a denial or
    /// elevation is [`Decision::WouldBlock`] (in `decide`, `check`, the
    /// call's span and events, and [`stats`](crate::AgentTrustClient::stats)),
    /// never an allow, and the call runs.
    pub fn block_on_deny(mut self, block: bool) -> Self {
        self.block_on_deny = block;
        self
    }

    /// Whether an unavailable Guardian allows the call (default false).
    /// Never applies to authentication, authorization, validation or
    /// configuration errors.
    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// The effect sent when a check names none: an [`Effect`](crate::Effect)
    /// or any string.
    pub fn action_effect(mut self, effect: impl AsRef<str>) -> Self {
        self.action_effect = Some(Cow::Owned(effect.as_ref().to_owned()));
        self
    }

    /// The deadline of one check of this guard (default: the client's
    /// [`check_timeout`](crate::AgentTrustClientBuilder::check_timeout), 3 s).
    /// When it passes the Guardian counts as unavailable: the call fails
    /// closed, or open with [`fail_open`](Self::fail_open).
    pub fn check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = Some(timeout);
        self
    }

    /// What [`run`](AgentTrustGuard::run) and `#[guarded]` calls do when
    /// the Guardian requires an elevation (default [`OnElevation::Error`]).
    /// `check` and `decide` never wait; use
    /// [`check_and_wait`](AgentTrustGuard::check_and_wait).
    pub fn on_elevation(mut self, on_elevation: OnElevation) -> Self {
        self.on_elevation = on_elevation;
        self
    }

    /// Builds the guard.
    pub fn build(self) -> AgentTrustGuard {
        let origin = Origin {
            agent_id: self.agent_id,
            session_id: self
                .session_id
                .unwrap_or_else(|| Arc::from(uuid::Uuid::new_v4().to_string())),
        };
        let inner = GuardInner {
            client: self.client,
            check_prefix: CheckPrefix::new(&origin.agent_id, &origin.session_id),
            origin: Arc::new(origin),
            block_on_deny: self.block_on_deny,
            fail_open: self.fail_open,
            action_effect: self.action_effect,
            check_timeout: self.check_timeout,
            on_elevation: self.on_elevation,
        };
        AgentTrustGuard {
            inner: Arc::new(inner),
        }
    }
}

impl AgentTrustGuard {
    /// A builder for a guard of `agent_id` using `client`.
    pub fn builder(
        client: AgentTrustClient,
        agent_id: impl Into<String>,
    ) -> AgentTrustGuardBuilder {
        AgentTrustGuardBuilder {
            client,
            agent_id: Arc::from(agent_id.into()),
            session_id: None,
            block_on_deny: true,
            fail_open: false,
            action_effect: None,
            check_timeout: None,
            on_elevation: OnElevation::Error,
        }
    }

    /// The agent id.
    pub fn agent_id(&self) -> &str {
        &self.inner.origin.agent_id
    }

    /// The session id sent with checks and telemetry.
    pub fn session_id(&self) -> &str {
        &self.inner.origin.session_id
    }

    /// What calls through [`run`](Self::run) and `#[guarded]` do when the
    /// Guardian requires an elevation.
    pub fn on_elevation(&self) -> OnElevation {
        self.inner.on_elevation
    }

    /// This guard's check deadline, when it overrides the client's.
    #[cfg(test)]
    pub(crate) fn check_timeout(&self) -> Option<Duration> {
        self.inner.check_timeout
    }

    /// The client behind the guard (for approvals, sessions, ...).
    pub fn client(&self) -> &AgentTrustClient {
        &self.inner.client
    }

    /// The span of a call of `tool`, with this guard's agent and session.
    fn span(&self, tool: &str, effect: Option<&str>, summary: Option<&str>) -> tracing::Span {
        let effect = effect.or(self.inner.action_effect.as_deref());
        let span = span::call(tool, effect, summary);
        span::record_origin(
            &span,
            &self.inner.origin.agent_id,
            &self.inner.origin.session_id,
        );
        span
    }

    /// Asks the Guardian, recording into `span`; `overrides` are a tool's.
    /// The request is built with `span` entered and the exchange polled in
    /// it, so the HTTP stack's own events belong to the call. Not `async
    /// fn`, so the future does not also keep the arguments (see
    /// [`decision::decide`]).
    fn decide_in<'a>(
        &'a self,
        span: &'a tracing::Span,
        tool: &'a str,
        summary: Option<&str>,
        effect: Option<&str>,
        overrides: Overrides,
    ) -> tracing::instrument::Instrumented<impl Future<Output = Result<Decided>> + Send + 'a> {
        use tracing::Instrument as _;
        let policy = CheckPolicy {
            fail_open: overrides.fail_open.unwrap_or(self.inner.fail_open),
            enforce: overrides.enforce.unwrap_or(self.inner.block_on_deny),
            timeout: self.inner.check_timeout,
        };
        let effect = effect.or(self.inner.action_effect.as_deref());
        let request = self.inner.check_prefix.body(tool, effect, summary);
        let _entered = span.enter();
        decision::decide(&self.inner.client, tool, request, policy, span).instrument(span.clone())
    }

    /// Checks a call and, when it may run, starts it: the [`Call`] carries
    /// the span the body runs in and reports once. Takes the guard by value
    /// so the call keeps this reference to it rather than taking one more:
    /// a reference count is memory every thread running guarded calls
    /// writes, twice per call.
    pub(crate) async fn admit(
        self,
        tool: CompactString,
        summary: Option<&str>,
        effect: Option<&str>,
        overrides: Overrides,
    ) -> Result<Call> {
        let span = self.span(&tool, effect, summary);
        let decided = self
            .decide_in(&span, &tool, summary, effect, overrides)
            .await?;
        let on_elevation = overrides.on_elevation.unwrap_or(self.inner.on_elevation);
        let waiting = wait::Waiting {
            guard: &self,
            span: &span,
            tool: &tool,
            summary,
            effect,
            overrides,
        };
        // The body starts now: at the answer, or after the wait.
        let (decision, started) = match waiting.settle(decided.decision, on_elevation) {
            wait::Settled::Now(decision) => (decision, decided.at),
            wait::Settled::Later(wait) => (wait.await?, std::time::Instant::now()),
        };
        decision.into_result()?;
        Ok(Call::new(self.inner, tool, span, started))
    }

    /// [`check_with_effect`](Self::check_with_effect), waiting up to
    /// `max_wait` (and never past the approval's expiry) when the Guardian
    /// requires an elevation: approved, the check is repeated and its
    /// decision returned; denied, `ActionDenied` with `decided_by`; not
    /// decided in time, `ElevationTimedOut`. Dropping the future stops the
    /// wait.
    ///
    /// ```no_run
    /// # async fn run(guard: agenttrust_runtime::AgentTrustGuard) -> agenttrust_runtime::Result<()> {
    /// use std::time::Duration;
    /// guard.check_and_wait("db_delete", "drop table users", "destructive", Duration::from_secs(600)).await?;
    /// // approved: run it
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`check`](Self::check), plus `ElevationTimedOut`.
    pub async fn check_and_wait(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
        max_wait: Duration,
    ) -> Result<Decision> {
        let (summary, effect) = (
            Some(summary).filter(|s| !s.is_empty()),
            Some(effect.as_ref()),
        );
        let span = self.span(tool, effect, summary);
        let overrides = Overrides::default();
        let decision = self
            .decide_in(&span, tool, summary, effect, overrides)
            .await?
            .decision;
        let waiting = wait::Waiting {
            guard: self,
            span: &span,
            tool,
            summary,
            effect,
            overrides,
        };
        let decision = match waiting.settle(decision, OnElevation::wait_at_most(max_wait)) {
            wait::Settled::Now(decision) => decision,
            wait::Settled::Later(wait) => wait.await?,
        };
        decision.into_result()
    }

    /// [`check_and_wait`](Self::check_and_wait) for synchronous code: blocks
    /// the calling thread only.
    ///
    /// # Errors
    /// As [`check_and_wait`](Self::check_and_wait).
    pub fn check_and_wait_blocking(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
        max_wait: Duration,
    ) -> Result<Decision> {
        crate::blocking::run(self.check_and_wait(tool, summary, effect, max_wait))
    }

    /// Asks the Guardian about `tool` with the default effect and returns
    /// what it decided. With `block_on_deny(false)` (monitoring mode) a
    /// denial or elevation comes back as [`Decision::WouldBlock`].
    ///
    /// The check runs in its own `agenttrust.guard` span (see
    /// [`run`](Self::run) for one span around check, body and report).
    ///
    /// # Errors
    /// `GuardianUnavailable` (unless failing open), and authentication,
    /// authorization, validation, protocol or configuration errors.
    pub async fn decide(&self, tool: &str, summary: &str) -> Result<Decision> {
        self.decide_inner(tool, summary, None).await
    }

    /// [`decide`](Self::decide) with an explicit effect.
    pub async fn decide_with_effect(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
    ) -> Result<Decision> {
        self.decide_inner(tool, summary, Some(effect.as_ref()))
            .await
    }

    async fn decide_inner(
        &self,
        tool: &str,
        summary: &str,
        effect: Option<&str>,
    ) -> Result<Decision> {
        let summary = Some(summary).filter(|s| !s.is_empty());
        let span = self.span(tool, effect, summary);
        let decided = self
            .decide_in(&span, tool, summary, effect, Overrides::default())
            .await?;
        Ok(decided.decision)
    }

    /// Checks `tool`: the [`Decision`] when the call may run
    /// ([`Allowed`](Decision::Allowed), [`FailedOpen`](Decision::FailedOpen),
    /// or in monitoring mode [`WouldBlock`](Decision::WouldBlock)); with
    /// `block_on_deny` (the default) a denial is `ActionDenied` and an
    /// elevation `ElevationRequired` with its approval id.
    ///
    /// # Errors
    /// As [`decide`](Self::decide), plus the denials above.
    pub async fn check(&self, tool: &str, summary: &str) -> Result<Decision> {
        self.decide(tool, summary).await?.into_result()
    }

    /// [`check`](Self::check) with an explicit effect.
    ///
    /// ```no_run
    /// # async fn run(guard: agenttrust_runtime::AgentTrustGuard) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::AgentTrustError;
    /// match guard.check_with_effect("db_delete", "drop table users", "destructive").await {
    ///     Ok(decision) => { /* run it; `decision.kind()` says why it may */ }
    ///     Err(AgentTrustError::ElevationRequired { approval_id, .. }) => {
    ///         guard.client().approvals().approve(&approval_id, "admin@example.com").await?;
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn check_with_effect(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
    ) -> Result<Decision> {
        self.decide_with_effect(tool, summary, effect)
            .await?
            .into_result()
    }

    /// Checks `tool`, runs `body` when it may run, and reports the outcome
    /// (`Err` is a failure, reported with the error's type name; a panic or
    /// a dropped future is reported too), all in one `agenttrust.guard`
    /// span: what [`#[guarded]`](crate::guarded) does, for code that cannot
    /// use the attribute.
    ///
    /// ```no_run
    /// # async fn run(guard: agenttrust_runtime::AgentTrustGuard) -> anyhow::Result<()> {
    /// let hits: Vec<String> = guard
    ///     .run("web_search", "AI news", async { anyhow::Ok(vec!["...".to_owned()]) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The check's error converted into `E` (the body never ran), or the
    /// body's own error.
    pub async fn run<T, E, F>(&self, tool: &str, summary: &str, body: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<AgentTrustError>,
    {
        self.run_inner(tool, summary, None, body).await
    }

    /// [`run`](Self::run) with an explicit effect.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn run_with_effect<T, E, F>(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
        body: F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<AgentTrustError>,
    {
        self.run_inner(tool, summary, Some(effect.as_ref()), body)
            .await
    }

    async fn run_inner<T, E, F>(
        &self,
        tool: &str,
        summary: &str,
        effect: Option<&str>,
        body: F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<AgentTrustError>,
    {
        let summary = Some(summary).filter(|s| !s.is_empty());
        let tool = CompactString::new(tool);
        let call = self
            .clone()
            .admit(tool, summary, effect, Overrides::default())
            .await?;
        let result = call.instrument_body(body).await;
        finish(call, &result);
        result
    }

    /// [`run`](Self::run) for synchronous code: the check blocks the calling
    /// thread, then `body` runs on it.
    ///
    /// ```no_run
    /// # fn run(guard: agenttrust_runtime::AgentTrustGuard) -> anyhow::Result<()> {
    /// let text = guard.run_blocking("read_file", "notes.txt", || {
    ///     Ok::<_, anyhow::Error>(std::fs::read_to_string("notes.txt")?)
    /// })?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_blocking<T, E>(
        &self,
        tool: &str,
        summary: &str,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<AgentTrustError>,
    {
        self.run_blocking_inner(tool, summary, None, body)
    }

    /// [`run_with_effect`](Self::run_with_effect) for synchronous code.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_with_effect_blocking<T, E>(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<AgentTrustError>,
    {
        self.run_blocking_inner(tool, summary, Some(effect.as_ref()), body)
    }

    fn run_blocking_inner<T, E>(
        &self,
        tool: &str,
        summary: &str,
        effect: Option<&str>,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<AgentTrustError>,
    {
        let summary = Some(summary).filter(|s| !s.is_empty());
        let tool = CompactString::new(tool);
        let admitted = self
            .clone()
            .admit(tool, summary, effect, Overrides::default());
        let call = crate::blocking::run(admitted)?;
        let running = call.enter();
        let result = body();
        let (success, error_type) = verdict(&result);
        running.finish_with(success, error_type);
        result
    }

    /// [`decide`](Self::decide) for synchronous code.
    pub fn decide_blocking(&self, tool: &str, summary: &str) -> Result<Decision> {
        crate::blocking::run(self.decide(tool, summary))
    }

    /// [`decide_with_effect`](Self::decide_with_effect) for synchronous code.
    pub fn decide_with_effect_blocking(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
    ) -> Result<Decision> {
        crate::blocking::run(self.decide_with_effect(tool, summary, effect))
    }

    /// [`check`](Self::check) for synchronous code.
    ///
    /// ```no_run
    /// # fn run(guard: agenttrust_runtime::AgentTrustGuard) -> agenttrust_runtime::Result<()> {
    /// guard.check_blocking("web_search", "AI news")?;
    /// # Ok(()) }
    /// ```
    pub fn check_blocking(&self, tool: &str, summary: &str) -> Result<Decision> {
        crate::blocking::run(self.check(tool, summary))
    }

    /// [`check_with_effect`](Self::check_with_effect) for synchronous code.
    pub fn check_with_effect_blocking(
        &self,
        tool: &str,
        summary: &str,
        effect: impl AsRef<str>,
    ) -> Result<Decision> {
        crate::blocking::run(self.check_with_effect(tool, summary, effect))
    }

    /// Reports a finished call. Only enqueues: no I/O, no blocking, no panic.
    /// Returns `false` when the event was dropped (queue full), which is
    /// also counted in [`TelemetryStats::dropped`](crate::TelemetryStats).
    pub fn report(&self, tool: &str, success: bool, duration_ms: u64) -> bool {
        self.inner
            .enqueue(CompactString::new(tool), success, duration_ms, None)
    }

    /// Reports a failed call with the error's type name (never its message).
    pub fn report_failure(&self, tool: &str, duration_ms: u64, error_type: &str) -> bool {
        let error_type = Some(CompactString::new(error_type));
        self.inner
            .enqueue(CompactString::new(tool), false, duration_ms, error_type)
    }

    /// Waits until every event reported before this call is delivered, or
    /// `timeout` passes.
    pub async fn flush(&self, timeout: Duration) -> FlushOutcome {
        self.inner.client.flush(timeout).await
    }

    /// [`flush`](Self::flush) for synchronous code.
    pub fn flush_blocking(&self, timeout: Duration) -> FlushOutcome {
        self.inner.client.flush_blocking(timeout)
    }
}

/// A tool's overrides of the guard's settings (the attribute's
/// `fail_open = ..` and `enforce = ..`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides {
    pub(crate) fail_open: Option<bool>,
    pub(crate) enforce: Option<bool>,
    pub(crate) on_elevation: Option<OnElevation>,
}

/// The span of a guarded call refused before any check (no runtime).
pub(crate) fn record_refusal(tool: &str, effect: Option<&str>, error: &AgentTrustError) {
    let span = span::call(tool, effect, None);
    let _entered = span.enter();
    span::record_error(&span, tool, error.code());
}

/// Reports a `Result` body: `Err` is a failure named by its type.
fn finish<T, E>(call: Call, result: &Result<T, E>) {
    let (success, error_type) = verdict(result);
    call.finish_with(success, error_type);
}

/// Whether `result` is a success, and the failure's type name.
fn verdict<T, E>(result: &Result<T, E>) -> (bool, Option<&'static str>) {
    (
        result.is_ok(),
        result.is_err().then(std::any::type_name::<E>),
    )
}

impl Drop for GuardInner {
    fn drop(&mut self) {
        // The last handle of this guard is gone: send what is queued now
        // rather than at the next timer tick (clones dropping do not, or
        // every guarded call would post its own batch). The client's own
        // drop waits, briefly and outside async code, for delivery.
        self.client.nudge_telemetry();
    }
}
