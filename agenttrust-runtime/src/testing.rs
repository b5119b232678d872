//! A real Guardian on loopback for your own tests (feature `testing`).
//!
//! [`TestGuardian`] starts the local gateway (`agenttrust-gateway`) on an
//! ephemeral 127.0.0.1 port, on a runtime of its own, registers an agent,
//! and hands you a ready [`Runtime`] for
//! [`scope`](TestGuardian::scope) / [`in_scope`](TestGuardian::in_scope):
//! nothing is installed globally, so tests run in parallel in one binary,
//! each against its own Guardian, with `#[test]` and `#[tokio::test]` of
//! either flavour. Rules script the Guardian's answer per tool
//! ([`Rule`]); assertions read what was checked and reported.
//!
//! Add it as a dev-dependency only, so release builds never contain the
//! gateway:
//!
//! ```toml
//! [dev-dependencies]
//! agenttrust-runtime = { version = "0.1", features = ["testing"] }
//! ```
//!
//! ```
//! use agenttrust_runtime::testing::{Rule, TestGuardian};
//! use agenttrust_runtime::{guarded, AgentTrustError};
//!
//! #[guarded(effect = "destructive", summary = path)]
//! fn delete_file(path: &str) -> Result<(), AgentTrustError> {
//!     Ok(())
//! }
//!
//! // In a #[test]:
//! let guardian = TestGuardian::builder().rule("delete_file", Rule::deny("read-only disk")).start_blocking();
//! let denied = guardian.in_scope(|| delete_file("/etc/passwd")).unwrap_err();
//! assert_eq!(denied.code(), "ACTION_DENIED");
//! let check = guardian.assert_checked("delete_file");
//! assert_eq!(check.summary.as_deref(), Some("/etc/passwd"));
//! assert!(guardian.events_blocking().is_empty(), "a denied call runs nothing");
//! ```

use std::future::Future;
use std::time::Duration;

use agenttrust_gateway::{Gateway, GatewayBuilder, GatewayHandle};

use crate::api::agents::CreateAgentRequest;
use crate::client::AgentTrustClient;
use crate::guard::AgentTrustGuard;
use crate::runtime::{with_runtime, Runtime};

pub use agenttrust_gateway::{Approver, CheckRecord, EventRecord, Policy, Rule};

/// How long [`TestGuardian::events`] waits for telemetry.
const FLUSH: Duration = Duration::from_secs(5);

/// A Guardian of your own for one test. Dropping it stops the gateway.
///
/// ```
/// use agenttrust_runtime::testing::{Rule, TestGuardian};
/// use agenttrust_runtime::guarded;
///
/// #[guarded(effect = "read", summary = query)]
/// async fn search(query: &str) -> anyhow::Result<usize> {
///     Ok(query.len())
/// }
///
/// // In a #[tokio::test] (either flavour):
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let guardian = TestGuardian::start().await;
/// assert_eq!(guardian.scope(search("rust")).await.unwrap(), 4);
/// guardian.set_rule("search", Rule::unavailable());
/// let error = guardian.scope(search("rust")).await.unwrap_err();
/// let error = error.downcast_ref::<agenttrust_runtime::AgentTrustError>().unwrap();
/// assert_eq!(error.code(), "GUARDIAN_UNAVAILABLE");
/// let events = guardian.events().await;
/// assert_eq!(events.len(), 1, "only the allowed call ran");
/// assert!(events[0].success);
/// # }
/// ```
pub struct TestGuardian {
    runtime: Runtime,
    gateway: Option<GatewayHandle>,
    io: Option<tokio::runtime::Runtime>,
}

/// How long a dropped guardian waits for its telemetry, then its gateway.
const DROP_WAIT: Duration = Duration::from_secs(2);

impl std::fmt::Debug for TestGuardian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestGuardian")
            .field("url", &self.url())
            .field("agent_id", &self.agent_id())
            .finish_non_exhaustive()
    }
}

/// Configures a [`TestGuardian`]; from [`TestGuardian::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until start() or start_blocking() is called"]
pub struct TestGuardianBuilder {
    gateway: GatewayBuilder,
    fail_open: bool,
    block_on_deny: bool,
    check_timeout: Option<Duration>,
    on_elevation: crate::OnElevation,
}

impl TestGuardianBuilder {
    /// Answers checks of `tool` by `rule` (tools without a rule are allowed).
    pub fn rule(mut self, tool: impl Into<String>, rule: Rule) -> Self {
        self.gateway = self.gateway.rule(tool, rule);
        self
    }

    /// The rule for tools without their own (default: [`Rule::allow`]).
    pub fn default_rule(mut self, rule: Rule) -> Self {
        self.gateway = self.gateway.default_rule(rule);
        self
    }

    /// The runtime's `fail_open` (default false).
    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// The runtime's `block_on_deny` (default true; false: monitoring mode).
    pub fn block_on_deny(mut self, block: bool) -> Self {
        self.block_on_deny = block;
        self
    }

    /// The gateway's policy, for what rules leave to it: the elevation
    /// window, approval expiry, and tools without a rule when a
    /// [`default_rule`](Self::default_rule) other than allow is not set.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.gateway = self.gateway.policy(policy);
        self
    }

    /// The runtime's [`on_elevation`](crate::RuntimeBuilder::on_elevation)
    /// (default `Error`).
    pub fn on_elevation(mut self, on_elevation: crate::OnElevation) -> Self {
        self.on_elevation = on_elevation;
        self
    }

    /// The runtime's check deadline (default 3 s).
    pub fn check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = Some(timeout);
        self
    }

    /// Starts the Guardian from async code.
    ///
    /// # Panics
    /// When no loopback port can be bound or the gateway does not answer:
    /// the test cannot run.
    pub async fn start(self) -> TestGuardian {
        let (io, task) = self.spawn_gateway();
        let gateway = task
            .await
            .unwrap_or_else(|e| panic!("the test Guardian's task failed: {e}"))
            .unwrap_or_else(|e| panic!("the test Guardian could not listen on 127.0.0.1: {e}"));
        let client = client_of(&gateway);
        let agent = client
            .agents()
            .create(&CreateAgentRequest::new("test-agent"))
            .await
            .unwrap_or_else(|e| panic!("the test Guardian refused to register its agent: {e}"));
        self.finish(io, gateway, client, agent.id)
    }

    /// Starts the Guardian from sync code (a `#[test]`); also works inside
    /// a tokio runtime.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn start_blocking(self) -> TestGuardian {
        let (io, task) = self.spawn_gateway();
        let gateway = futures_executor::block_on(task)
            .unwrap_or_else(|e| panic!("the test Guardian's task failed: {e}"))
            .unwrap_or_else(|e| panic!("the test Guardian could not listen on 127.0.0.1: {e}"));
        let client = client_of(&gateway);
        let agent = client
            .blocking()
            .agents()
            .create(&CreateAgentRequest::new("test-agent"))
            .unwrap_or_else(|e| panic!("the test Guardian refused to register its agent: {e}"));
        self.finish(io, gateway, client, agent.id)
    }

    /// The gateway runs on a runtime of its own, so a test that blocks its
    /// thread (a sync guarded call in a current-thread test) cannot stall it.
    fn spawn_gateway(
        &self,
    ) -> (
        tokio::runtime::Runtime,
        tokio::task::JoinHandle<std::io::Result<GatewayHandle>>,
    ) {
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("agenttrust-test-guardian")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("could not start the test Guardian's runtime: {e}"));
        let task = io.spawn(self.gateway.clone().spawn());
        (io, task)
    }

    fn finish(
        self,
        io: tokio::runtime::Runtime,
        gateway: GatewayHandle,
        client: AgentTrustClient,
        agent_id: String,
    ) -> TestGuardian {
        let mut runtime = Runtime::builder(client, agent_id)
            .session_id(format!("test_{}", uuid::Uuid::new_v4().simple()))
            .fail_open(self.fail_open)
            .block_on_deny(self.block_on_deny)
            .on_elevation(self.on_elevation);
        if let Some(timeout) = self.check_timeout {
            runtime = runtime.check_timeout(timeout);
        }
        TestGuardian {
            runtime: runtime.build(),
            gateway: Some(gateway),
            io: Some(io),
        }
    }
}

fn client_of(gateway: &GatewayHandle) -> AgentTrustClient {
    AgentTrustClient::builder()
        .base_url(gateway.url())
        .api_key(gateway.api_key())
        .build()
        .unwrap_or_else(|e| panic!("could not build a client for the test Guardian: {e}"))
}

impl TestGuardian {
    /// A builder: every tool allowed, failing closed, enforcing.
    pub fn builder() -> TestGuardianBuilder {
        TestGuardianBuilder {
            gateway: Gateway::builder().default_rule(Rule::allow()),
            fail_open: false,
            block_on_deny: true,
            check_timeout: None,
            on_elevation: crate::OnElevation::Error,
        }
    }

    /// [`builder`](Self::builder)`.start()`: every tool allowed.
    pub async fn start() -> TestGuardian {
        Self::builder().start().await
    }

    /// [`builder`](Self::builder)`.start_blocking()`: every tool allowed.
    pub fn start_blocking() -> TestGuardian {
        Self::builder().start_blocking()
    }

    fn gateway(&self) -> &GatewayHandle {
        self.gateway
            .as_ref()
            .expect("the gateway lives as long as the TestGuardian")
    }

    /// The runtime guarded functions should use: pass it to
    /// [`Runtime::scope`] or [`with_runtime`], or use
    /// [`scope`](Self::scope) and [`in_scope`](Self::in_scope).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The runtime's client (for approvals, raw checks, [`stats`](AgentTrustClient::stats)).
    pub fn client(&self) -> &AgentTrustClient {
        self.runtime.client()
    }

    /// The runtime's guard, for code using [`AgentTrustGuard`] directly.
    pub fn guard(&self) -> &AgentTrustGuard {
        self.runtime.guard()
    }

    /// The registered agent's id.
    pub fn agent_id(&self) -> &str {
        self.runtime.agent_id()
    }

    /// The gateway's base URL.
    pub fn url(&self) -> &str {
        self.gateway().url()
    }

    /// The gateway's API key.
    pub fn api_key(&self) -> &str {
        self.gateway().api_key()
    }

    /// Runs `future` with this Guardian's runtime (see [`Runtime::scope`]).
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        self.runtime.scope(future)
    }

    /// Runs `f` with this Guardian's runtime on this thread (see [`with_runtime`]).
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        with_runtime(&self.runtime, f)
    }

    /// Answers checks of `tool` by `rule` from now on.
    pub fn set_rule(&self, tool: impl Into<String>, rule: Rule) {
        self.gateway().set_rule(tool, rule);
    }

    /// Lets the default rule answer `tool` again.
    pub fn remove_rule(&self, tool: &str) {
        self.gateway().remove_rule(tool);
    }

    /// Every check the Guardian answered, oldest first.
    pub fn checks(&self) -> Vec<CheckRecord> {
        self.gateway().checks()
    }

    /// The checks of `tool`, oldest first.
    pub fn checks_of(&self, tool: &str) -> Vec<CheckRecord> {
        let mut checks = self.checks();
        checks.retain(|c| c.action_name == tool);
        checks
    }

    /// The last check of `tool`.
    ///
    /// # Panics
    /// When `tool` was never checked, listing the tools that were.
    #[track_caller]
    pub fn assert_checked(&self, tool: &str) -> CheckRecord {
        let checks = self.checks();
        match checks.iter().rev().find(|c| c.action_name == tool) {
            Some(check) => check.clone(),
            None => panic!(
                "`{tool}` was never checked; checked: {:?}",
                checks.iter().map(|c| &c.action_name).collect::<Vec<_>>()
            ),
        }
    }

    /// Asserts that `tool` was never checked.
    ///
    /// # Panics
    /// When it was.
    #[track_caller]
    pub fn assert_not_checked(&self, tool: &str) {
        let count = self.checks_of(tool).len();
        assert!(count == 0, "`{tool}` was checked {count} time(s)");
    }

    /// Every telemetry event received, oldest first, once what the runtime
    /// queued before this call is delivered.
    ///
    /// # Panics
    /// When delivery takes longer than 5 s.
    pub async fn events(&self) -> Vec<EventRecord> {
        let outcome = self.runtime.flush(FLUSH).await;
        assert!(
            outcome.is_delivered(),
            "telemetry was not delivered within {FLUSH:?}: {outcome:?}"
        );
        self.gateway().events()
    }

    /// [`events`](Self::events) for sync code.
    ///
    /// # Panics
    /// As [`events`](Self::events).
    pub fn events_blocking(&self) -> Vec<EventRecord> {
        let outcome = self.runtime.guard().flush_blocking(FLUSH);
        assert!(
            outcome.is_delivered(),
            "telemetry was not delivered within {FLUSH:?}: {outcome:?}"
        );
        self.gateway().events()
    }
}

/// Delivers the telemetry still queued, stops the gateway (its port is
/// closed when `drop` returns), and shuts its runtime down without the
/// panic a plain runtime drop causes inside async code.
impl Drop for TestGuardian {
    fn drop(&mut self) {
        let _ = self.runtime.guard().flush_blocking(DROP_WAIT);
        if let (Some(gateway), Some(io)) = (self.gateway.take(), self.io.as_ref()) {
            let (stopped, wait) = std::sync::mpsc::channel();
            io.spawn(async move {
                let _ = gateway.shutdown().await;
                let _ = stopped.send(());
            });
            let _ = wait.recv_timeout(DROP_WAIT);
        }
        if let Some(io) = self.io.take() {
            io.shutdown_background();
        }
    }
}
