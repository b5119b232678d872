//! The runtime `#[guarded]` functions report through: a client, an agent, a
//! session and the defaults, installed once for the process or scoped to a
//! closure or task (so tests can run side by side with different runtimes).

use std::cell::RefCell;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use crate::client::{env_var, AgentTrustClient, AgentTrustClientBuilder};
use crate::error::{AgentTrustError, Result};
use crate::guard::{AgentTrustGuard, AgentTrustGuardBuilder};
use crate::pipeline::FlushOutcome;

/// How long [`shutdown`] waits for telemetry.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

thread_local! {
    static SCOPED: RefCell<Vec<Runtime>> = const { RefCell::new(Vec::new()) };
}

tokio::task_local! {
    static TASK_RUNTIME: Runtime;
}

/// What guarded functions check and report through.
///
/// `Clone` is cheap. Install one for the process with
/// [`RuntimeBuilder::install`] or [`init_from_env`]; scope one to a closure
/// with [`with_runtime`] or to a future with [`Runtime::scope`].
///
/// ```no_run
/// use agenttrust_runtime::{AgentTrustClient, Runtime};
///
/// let client = AgentTrustClient::from_env()?;
/// Runtime::builder(client, "ag_123").fail_open(false).install()?;
/// // ... call #[guarded] functions ...
/// let flushed = agenttrust_runtime::shutdown();
/// assert!(flushed.is_delivered());
/// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Runtime {
    guard: AgentTrustGuard,
    fail_open: bool,
    block_on_deny: bool,
}

/// Configures a [`Runtime`]; from [`Runtime::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until build() or install() is called"]
pub struct RuntimeBuilder {
    guard: AgentTrustGuardBuilder,
    fail_open: bool,
    block_on_deny: bool,
}

impl RuntimeBuilder {
    /// The session id sent with every check and report (default: a random UUID).
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.guard = self.guard.session_id(session_id);
        self
    }

    /// Whether guarded functions run when the Guardian is unavailable
    /// (default false). A tool's `fail_open = ...` argument overrides it.
    /// Never applies to authentication or configuration errors.
    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// The deadline of one check (default: the client's
    /// [`check_timeout`](crate::AgentTrustClientBuilder::check_timeout), 3 s).
    /// When it passes, the call fails closed, or open with
    /// [`fail_open`](Self::fail_open).
    pub fn check_timeout(mut self, timeout: Duration) -> Self {
        self.guard = self.guard.check_timeout(timeout);
        self
    }

    /// Whether a denial stops the call (default true). With `false` the
    /// runtime monitors: the body runs anyway and the decision is recorded
    /// as [`Decision::WouldBlock`](crate::Decision::WouldBlock) in the
    /// call's span, its event and [`stats`](Runtime::stats). A tool's
    /// `enforce = true | false` overrides it.
    pub fn block_on_deny(mut self, block: bool) -> Self {
        self.block_on_deny = block;
        self
    }

    /// What guarded functions do when the Guardian requires an elevation
    /// (default [`OnElevation::Error`](crate::OnElevation::Error): return
    /// `ElevationRequired`). [`OnElevation::wait`](crate::OnElevation::wait)
    /// waits for a person's decision; a tool's `on_elevation = ..` overrides
    /// it.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use agenttrust_runtime::{AgentTrustClient, OnElevation, Runtime};
    /// let client = AgentTrustClient::from_env()?;
    /// let rt = Runtime::builder(client, "ag_1")
    ///     .on_elevation(OnElevation::wait_at_most(Duration::from_secs(600)))
    ///     .build();
    /// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
    /// ```
    pub fn on_elevation(mut self, on_elevation: crate::OnElevation) -> Self {
        self.guard = self.guard.on_elevation(on_elevation);
        self
    }

    /// Builds the runtime without installing it (for [`with_runtime`] and
    /// [`Runtime::scope`]).
    pub fn build(self) -> Runtime {
        Runtime {
            guard: self
                .guard
                .fail_open(self.fail_open)
                .block_on_deny(self.block_on_deny)
                .build(),
            fail_open: self.fail_open,
            block_on_deny: self.block_on_deny,
        }
    }

    /// Builds the runtime and installs it for the whole process.
    ///
    /// # Errors
    /// [`AgentTrustError::Config`] when a runtime is already installed.
    pub fn install(self) -> Result<()> {
        self.build().install()
    }
}

impl Runtime {
    /// A builder for a runtime of `agent_id` using `client`.
    pub fn builder(client: AgentTrustClient, agent_id: impl Into<String>) -> RuntimeBuilder {
        RuntimeBuilder {
            guard: AgentTrustGuard::builder(client, agent_id),
            fail_open: false,
            block_on_deny: true,
        }
    }

    /// A builder for a runtime acting under delegation `delegation_id`:
    /// opens the delegated session (`POST /api/v1/delegations/{id}/session`)
    /// and checks every guarded call as the receiving agent in that session,
    /// so the gateway allows only what was delegated, while the delegation
    /// (and every one it was re-delegated from) is live.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::Runtime;
    /// let runtime = Runtime::from_delegation(client, "del_123").await?.build();
    /// runtime.scope(async { /* guarded calls run as the delegate */ }).await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The session request's error: the delegation unknown (`NOT_FOUND`),
    /// revoked or expired (`AUTH_DENIED`), or the gateway unreachable.
    pub async fn from_delegation(
        client: AgentTrustClient,
        delegation_id: &str,
    ) -> Result<RuntimeBuilder> {
        let session = client.delegations().init_session(delegation_id).await?;
        if session.agent_id.is_empty() || session.session_id.is_empty() {
            return Err(crate::AgentTrustError::Protocol {
                message: format!(
                    "the delegated session of `{delegation_id}` came back without its agent or session id"
                ),
            });
        }
        Ok(Self::builder(client, session.agent_id).session_id(session.session_id))
    }

    /// A runtime from the environment: `AGENTTRUST_URL` (or
    /// `AGENTTRUST_BASE_URL`), `AGENTTRUST_API_KEY`, `AGENTTRUST_AGENT_ID`
    /// (required), `AGENTTRUST_SESSION_ID`, `AGENTTRUST_FAIL_OPEN`
    /// (optional; `true`/`false`/`1`/`0`), `AGENTTRUST_CHECK_TIMEOUT`
    /// (optional; a duration such as `500ms` or `2s`), `AGENTTRUST_ON_ELEVATION`
    /// (optional; `error` or `wait`) and `AGENTTRUST_ELEVATION_WAIT` (optional,
    /// with `wait`: the bound, such as `10m`).
    ///
    /// # Errors
    /// [`AgentTrustError::Config`] naming the missing or malformed variable.
    pub fn from_env() -> Result<Runtime> {
        Self::from_lookup(env_var)
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Runtime> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let client = AgentTrustClientBuilder::from_lookup(var).build()?;
        let agent_id = var("AGENTTRUST_AGENT_ID").ok_or_else(|| {
            AgentTrustError::config(
                "AGENTTRUST_AGENT_ID is not set: init_from_env needs the id of the agent whose \
                 tools are guarded",
            )
        })?;
        let mut builder = Runtime::builder(client, agent_id);
        if let Some(session) = var("AGENTTRUST_SESSION_ID") {
            builder = builder.session_id(session);
        }
        if let Some(raw) = var("AGENTTRUST_FAIL_OPEN") {
            builder = builder.fail_open(parse_bool("AGENTTRUST_FAIL_OPEN", &raw)?);
        }
        if let Some(raw) = var("AGENTTRUST_CHECK_TIMEOUT") {
            builder = builder.check_timeout(parse_duration("AGENTTRUST_CHECK_TIMEOUT", &raw)?);
        }
        let bound = var("AGENTTRUST_ELEVATION_WAIT")
            .map(|raw| parse_duration("AGENTTRUST_ELEVATION_WAIT", &raw))
            .transpose()?;
        let on_elevation = match var("AGENTTRUST_ON_ELEVATION") {
            Some(raw) => raw.parse::<crate::OnElevation>().map_err(|_| {
                AgentTrustError::config(format!(
                    "AGENTTRUST_ON_ELEVATION must be `error` or `wait`, not `{raw}`"
                ))
            })?,
            None => crate::OnElevation::Error,
        };
        builder =
            match (on_elevation, bound) {
                (crate::OnElevation::Wait { .. }, Some(bound)) => {
                    builder.on_elevation(crate::OnElevation::wait_at_most(bound))
                }
                (_, Some(_)) => return Err(AgentTrustError::config(
                    "AGENTTRUST_ELEVATION_WAIT bounds a wait: set AGENTTRUST_ON_ELEVATION=wait too",
                )),
                (on_elevation, None) => builder.on_elevation(on_elevation),
            };
        Ok(builder.build())
    }

    /// Installs this runtime for the whole process.
    ///
    /// # Errors
    /// [`AgentTrustError::Config`] when a runtime is already installed.
    pub fn install(self) -> Result<()> {
        GLOBAL.set(self).map_err(|_| {
            AgentTrustError::config("an agenttrust runtime is already installed for this process")
        })
    }

    /// The client.
    pub fn client(&self) -> &AgentTrustClient {
        self.guard.client()
    }

    /// The guard the runtime checks and reports through.
    pub fn guard(&self) -> &AgentTrustGuard {
        &self.guard
    }

    /// The guard, owned: a guarded call's check takes it from the runtime
    /// it looked up.
    pub(crate) fn into_guard(self) -> AgentTrustGuard {
        self.guard
    }

    /// The agent id.
    pub fn agent_id(&self) -> &str {
        self.guard.agent_id()
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        self.guard.session_id()
    }

    /// The default for failing open.
    pub fn fail_open(&self) -> bool {
        self.fail_open
    }

    /// Whether denials stop calls.
    pub fn block_on_deny(&self) -> bool {
        self.block_on_deny
    }

    /// The counters of this runtime's client (shared with every guard and
    /// runtime on the same client): checks by decision, the Guardian's
    /// latency, telemetry delivery.
    ///
    /// ```no_run
    /// # fn run(rt: agenttrust_runtime::Runtime) {
    /// let stats = rt.stats();
    /// assert_eq!(stats.checks.denied + stats.checks.would_block, 0, "something was refused");
    /// # }
    /// ```
    pub fn stats(&self) -> crate::Stats {
        self.client().stats()
    }

    /// Waits for telemetry reported so far, up to `timeout`.
    pub async fn flush(&self, timeout: Duration) -> FlushOutcome {
        self.guard.flush(timeout).await
    }

    /// Runs `future` with this runtime as the current one for guarded
    /// functions it calls (on this task; spawned tasks need their own scope).
    /// The returned future does not borrow `self`, so it can be spawned.
    ///
    /// ```no_run
    /// # async fn run(rt: agenttrust_runtime::Runtime) {
    /// rt.scope(async {
    ///     // #[guarded] calls in here use `rt`
    /// }).await;
    /// tokio::spawn(rt.scope(async { /* and in here */ }));
    /// # }
    /// ```
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        TASK_RUNTIME.scope(self.clone(), future)
    }
}

fn parse_bool(name: &str, raw: &str) -> Result<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(AgentTrustError::config(format!(
            "{name} must be true or false, not `{raw}`"
        ))),
    }
}

fn parse_duration(name: &str, raw: &str) -> Result<Duration> {
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(AgentTrustError::config(format!(
            "{name} must be longer than zero"
        ))),
        Err(e) => Err(AgentTrustError::config(format!(
            "{name} must be a duration such as `500ms` or `2s`, not `{raw}`: {e}"
        ))),
    }
}

/// Builds the runtime from the environment (see [`Runtime::from_env`]) and
/// installs it for the process.
///
/// # Errors
/// [`AgentTrustError::Config`] for a missing or malformed variable or when a
/// runtime is already installed.
///
/// ```no_run
/// agenttrust_runtime::init_from_env()?;
/// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
/// ```
pub fn init_from_env() -> Result<()> {
    Runtime::from_env()?.install()
}

/// Runs `f` with `runtime` as the current one on this thread.
///
/// ```no_run
/// # fn run(rt: agenttrust_runtime::Runtime) {
/// let answer = agenttrust_runtime::with_runtime(&rt, || {
///     // #[guarded] sync calls in here use `rt`
///     42
/// });
/// assert_eq!(answer, 42);
/// # }
/// ```
pub fn with_runtime<R>(runtime: &Runtime, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            let _ = SCOPED.try_with(|s| s.borrow_mut().pop());
        }
    }
    SCOPED.with(|s| s.borrow_mut().push(runtime.clone()));
    let _pop = Pop;
    f()
}

/// The runtime guarded functions use here: the task's scope, else the
/// thread's, else the installed one.
///
/// # Errors
/// [`AgentTrustError::Config`] naming `init_from_env` when none is set.
pub fn current() -> Result<Runtime> {
    if let Ok(rt) = TASK_RUNTIME.try_with(Clone::clone) {
        return Ok(rt);
    }
    if let Some(rt) = SCOPED
        .try_with(|s| s.borrow().last().cloned())
        .ok()
        .flatten()
    {
        return Ok(rt);
    }
    GLOBAL.get().cloned().ok_or_else(|| {
        AgentTrustError::config(
            "no agenttrust runtime is installed: call agenttrust_runtime::init_from_env() (or \
             Runtime::builder(client, agent_id).install()) before calling #[guarded] functions",
        )
    })
}

/// Flushes the installed runtime's telemetry, waiting up to
/// [`DEFAULT_SHUTDOWN_TIMEOUT`]. Works from sync code and inside a tokio
/// runtime (where it blocks the calling thread). Guarded calls keep working
/// afterwards.
///
/// ```no_run
/// let outcome = agenttrust_runtime::shutdown();
/// assert!(outcome.is_delivered());
/// ```
pub fn shutdown() -> FlushOutcome {
    shutdown_within(DEFAULT_SHUTDOWN_TIMEOUT)
}

/// [`shutdown`] with an explicit deadline.
pub fn shutdown_within(timeout: Duration) -> FlushOutcome {
    match GLOBAL.get() {
        Some(rt) => rt.guard.flush_blocking(timeout),
        None => FlushOutcome::Delivered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::lookup;

    #[test]
    fn env_needs_an_agent_id_and_a_boolean_fail_open() {
        let err = Runtime::from_lookup(lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("AGENTTRUST_AGENT_ID"), "{err}");
        let err = Runtime::from_lookup(lookup(&[
            ("AGENTTRUST_AGENT_ID", "ag_1"),
            ("AGENTTRUST_FAIL_OPEN", "maybe"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("AGENTTRUST_FAIL_OPEN"), "{err}");
        let rt = Runtime::from_lookup(lookup(&[
            ("AGENTTRUST_AGENT_ID", "ag_1"),
            ("AGENTTRUST_SESSION_ID", "s_1"),
            ("AGENTTRUST_FAIL_OPEN", "TRUE"),
            ("AGENTTRUST_URL", "http://127.0.0.1:1"),
        ]))
        .unwrap();
        assert_eq!(
            (rt.agent_id(), rt.session_id(), rt.fail_open()),
            ("ag_1", "s_1", true)
        );
        assert_eq!(rt.client().base_url(), "http://127.0.0.1:1");
    }

    #[test]
    fn env_check_timeout_is_a_duration() {
        let rt = Runtime::from_lookup(lookup(&[("AGENTTRUST_AGENT_ID", "ag_1")])).unwrap();
        assert_eq!(rt.guard().check_timeout(), None);
        let rt = Runtime::from_lookup(lookup(&[
            ("AGENTTRUST_AGENT_ID", "ag_1"),
            ("AGENTTRUST_CHECK_TIMEOUT", " 750ms "),
        ]))
        .unwrap();
        assert_eq!(rt.guard().check_timeout(), Some(Duration::from_millis(750)));
        for bad in ["2", "soon", "0s"] {
            let vars: &'static [(&str, &str)] = match bad {
                "2" => &[
                    ("AGENTTRUST_AGENT_ID", "a"),
                    ("AGENTTRUST_CHECK_TIMEOUT", "2"),
                ],
                "soon" => &[
                    ("AGENTTRUST_AGENT_ID", "a"),
                    ("AGENTTRUST_CHECK_TIMEOUT", "soon"),
                ],
                _ => &[
                    ("AGENTTRUST_AGENT_ID", "a"),
                    ("AGENTTRUST_CHECK_TIMEOUT", "0s"),
                ],
            };
            let err = Runtime::from_lookup(lookup(vars)).unwrap_err();
            assert!(
                err.to_string().contains("AGENTTRUST_CHECK_TIMEOUT"),
                "{bad}: {err}"
            );
            assert_eq!(err.code(), "CONFIG_ERROR");
        }
    }

    #[test]
    fn env_on_elevation_and_its_bound() {
        use crate::OnElevation;
        let rt = |vars: &'static [(&'static str, &'static str)]| Runtime::from_lookup(lookup(vars));
        let waits = rt(&[
            ("AGENTTRUST_AGENT_ID", "a"),
            ("AGENTTRUST_ON_ELEVATION", " Wait "),
        ])
        .unwrap();
        assert_eq!(waits.guard().on_elevation(), OnElevation::wait());
        let bounded = rt(&[
            ("AGENTTRUST_AGENT_ID", "a"),
            ("AGENTTRUST_ON_ELEVATION", "wait"),
            ("AGENTTRUST_ELEVATION_WAIT", "10m"),
        ])
        .unwrap();
        assert_eq!(
            bounded.guard().on_elevation(),
            OnElevation::wait_at_most(Duration::from_secs(600))
        );
        let default = rt(&[("AGENTTRUST_AGENT_ID", "a")]).unwrap();
        assert_eq!(default.guard().on_elevation(), OnElevation::Error);
        for (vars, named) in [
            (
                &[
                    ("AGENTTRUST_AGENT_ID", "a"),
                    ("AGENTTRUST_ON_ELEVATION", "later"),
                ][..],
                "AGENTTRUST_ON_ELEVATION",
            ),
            (
                &[
                    ("AGENTTRUST_AGENT_ID", "a"),
                    ("AGENTTRUST_ELEVATION_WAIT", "1m"),
                ][..],
                "AGENTTRUST_ON_ELEVATION=wait",
            ),
            (
                &[
                    ("AGENTTRUST_AGENT_ID", "a"),
                    ("AGENTTRUST_ON_ELEVATION", "wait"),
                    ("AGENTTRUST_ELEVATION_WAIT", "soon"),
                ][..],
                "AGENTTRUST_ELEVATION_WAIT",
            ),
        ] {
            let vars: &'static [(&'static str, &'static str)] =
                Box::leak(vars.to_vec().into_boxed_slice());
            let err = rt(vars).unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
    }

    #[test]
    fn scoped_runtimes_nest_and_unwind() {
        let client = AgentTrustClient::builder().build().unwrap();
        let a = Runtime::builder(client.clone(), "a").build();
        let b = Runtime::builder(client, "b").build();
        with_runtime(&a, || {
            assert_eq!(current().unwrap().agent_id(), "a");
            with_runtime(&b, || assert_eq!(current().unwrap().agent_id(), "b"));
            assert_eq!(current().unwrap().agent_id(), "a");
        });
    }
}
