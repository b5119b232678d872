//! # agenttrust-gateway
//!
//! A local gateway that speaks the AgentTrust ID wire protocol (health,
//! agents, agent tokens, the Guardian's action check, telemetry, sessions
//! and approvals) with the product guide's semantics, for offline
//! development, examples, end-to-end tests and benchmarks.
//!
//! ```no_run
//! use agenttrust_gateway::{Gateway, Policy};
//!
//! # async fn run() -> std::io::Result<()> {
//! let gateway = Gateway::builder()
//!     .api_key("sk_test_local")
//!     .policy(Policy::default().deny_tool("rm_rf"))
//!     .spawn()
//!     .await?;
//! println!("listening on {}", gateway.url());
//! gateway.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Everything lives in memory (or, with [`GatewayBuilder::db`], in SQLite);
//! of the telemetry, memory keeps the newest
//! [`event_log`](GatewayBuilder::event_log) events and counts the rest.
//! Beyond the protocol it serves the read-only extension
//! `GET /api/v1/telemetry/events`, listing the telemetry events it holds
//! and counting all it received (filter with `agent_id` and `session_id`).
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

mod api;
mod error;
mod extract;
mod guardian;
mod notify;
mod policy;
mod rules;
mod siem;
mod store;
mod ui;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use policy::{
    ApprovalBinding, Drift, Manifest, ManifestError, ManifestTool, Policy, PolicyError, Unlisted,
};
pub use rules::{Approver, Rule};
pub use store::{CheckRecord, EventRecord, DEFAULT_EVENT_LOG};

/// Entry point: [`Gateway::builder`].
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// A builder: 127.0.0.1 on an ephemeral port, a random `sk_test_` key,
    /// the default policy.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: None,
            policy: Policy::default(),
            rules: BTreeMap::new(),
            default_rule: None,
            db: None,
            event_log: DEFAULT_EVENT_LOG,
        }
    }
}

/// Configures a gateway; from [`Gateway::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until spawn() is called"]
pub struct GatewayBuilder {
    listen: SocketAddr,
    api_key: Option<String>,
    policy: Policy,
    rules: BTreeMap<String, Rule>,
    default_rule: Option<Rule>,
    db: Option<std::path::PathBuf>,
    event_log: usize,
}

impl GatewayBuilder {
    /// The address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The API key every request but `/health` must carry as `X-API-Key`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The Guardian's policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Answers every check of `tool` by `rule` instead of the policy (see
    /// [`Rule`]); [`GatewayHandle::set_rule`] changes it later.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use agenttrust_gateway::{Gateway, Rule};
    /// let gateway = Gateway::builder().rule("rm_rf", Rule::deny("never")).spawn().await?;
    /// # Ok(()) }
    /// ```
    pub fn rule(mut self, tool: impl Into<String>, rule: Rule) -> Self {
        self.rules.insert(tool.into(), rule);
        self
    }

    /// The rule for tools without their own (default: none, the policy
    /// decides).
    pub fn default_rule(mut self, rule: Rule) -> Self {
        self.default_rule = Some(rule);
        self
    }

    /// Keeps agents, tokens, sessions, approvals and telemetry in the SQLite
    /// database at `path` (created when missing), so a restart on the same
    /// file finds them; without it everything lives in memory. Each write
    /// is durable before its answer is sent.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let gateway = agenttrust_gateway::Gateway::builder().db("gateway.db").spawn().await?;
    /// # Ok(()) }
    /// ```
    pub fn db(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.db = Some(path.into());
        self
    }

    /// Keeps at most `events` telemetry events in memory (default
    /// [`DEFAULT_EVENT_LOG`], at least one): the newest, for
    /// [`GatewayHandle::events`], the events route and the approvals page.
    /// Older ones are forgotten but still counted (the events route's
    /// `total`); with [`db`](Self::db) the database keeps them all. A
    /// report carrying more events than this is refused (413), whole.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let gateway = agenttrust_gateway::Gateway::builder().event_log(10_000).spawn().await?;
    /// # Ok(()) }
    /// ```
    pub fn event_log(mut self, events: usize) -> Self {
        self.event_log = events;
        self
    }

    /// Binds and serves on the current tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound, or the database cannot be used
    /// (corrupt, another program's, or of a newer schema: `InvalidData`
    /// with a message saying which; never a silent reset).
    pub async fn spawn(self) -> std::io::Result<GatewayHandle> {
        let api_key = self
            .api_key
            .unwrap_or_else(|| format!("sk_test_{}", uuid::Uuid::new_v4().simple()));
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let store = match &self.db {
            Some(path) => store::Db::open(path)
                .and_then(|db| store::Store::with_db(db, self.event_log))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?,
            None => store::Store::in_memory(self.event_log),
        };
        let rules = rules::Rules::new(self.rules, self.default_rule);
        let url = format!("http://{addr}");
        let keys = api::wimse::TokenKeys::generate().map_err(std::io::Error::other)?;
        let (router, state) = api::router(
            store,
            self.policy,
            rules,
            api_key.clone(),
            url.clone(),
            keys,
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%addr, "agenttrust gateway listening");
        Ok(GatewayHandle {
            addr,
            url,
            api_key,
            stop: Some(stop),
            task: Some(task),
            state,
        })
    }
}

/// A running gateway. Dropping it stops it (without waiting).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let gateway = agenttrust_gateway::Gateway::builder().api_key("sk_test_doc").spawn().await?;
/// assert!(gateway.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(gateway.api_key(), "sk_test_doc");
/// assert_eq!(gateway.addr().ip().to_string(), "127.0.0.1");
/// gateway.shutdown().await
/// # }
/// ```
#[derive(Debug)]
pub struct GatewayHandle {
    addr: SocketAddr,
    url: String,
    api_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    state: api::AppState,
}

impl std::fmt::Debug for api::Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl GatewayHandle {
    /// Every record the gateway holds, as JSON with sorted keys: agents,
    /// tokens (by id, never their secrets), sessions, approvals, and the
    /// number of telemetry events. Two dumps are equal exactly when nothing
    /// changed, which is how tests check that a rejected request changed
    /// nothing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
    /// assert_eq!(gateway.dump()["agents"], serde_json::json!({}));
    /// # Ok(()) }
    /// ```
    pub fn dump(&self) -> serde_json::Value {
        self.state.store.lock().dump()
    }

    /// Every check answered, oldest first (the newest 100,000 are kept).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
    /// assert!(gateway.checks().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn checks(&self) -> Vec<CheckRecord> {
        self.state.store.lock().checks.iter().cloned().collect()
    }

    /// The telemetry events the gateway keeps (the newest
    /// [`event_log`](GatewayBuilder::event_log) of them), oldest first.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
    /// assert!(gateway.events().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> Vec<EventRecord> {
        self.state
            .store
            .lock()
            .events
            .kept()
            .iter()
            .map(store::KeptEvent::record)
            .collect()
    }

    /// Answers checks of `tool` by `rule` from now on.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use agenttrust_gateway::Rule;
    /// let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
    /// gateway.set_rule("web_search", Rule::unavailable());
    /// gateway.remove_rule("web_search");
    /// # Ok(()) }
    /// ```
    pub fn set_rule(&self, tool: impl Into<String>, rule: Rule) {
        self.state.rules.set(tool.into(), Some(rule));
    }

    /// Lets the default rule (or the policy) answer `tool` again.
    pub fn remove_rule(&self, tool: &str) {
        self.state.rules.set(tool.to_owned(), None);
    }

    /// Sets (or with `None` clears) the rule for tools without their own.
    pub fn set_default_rule(&self, rule: Option<Rule>) {
        self.state.rules.set_default(rule);
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key clients must send.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Stops accepting connections, lets open requests finish, and waits.
    ///
    /// # Errors
    /// When the server failed while running.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
