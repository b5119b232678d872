//! The AgentTrust ID client: a cheap `Clone` handle over one connection pool
//! and one telemetry pipeline.

mod builder;
mod stats;
pub(crate) mod transport;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use builder::env_var;
#[cfg(test)]
pub(crate) use builder::lookup;
pub use builder::{
    AgentTrustClientBuilder, DEFAULT_BASE_URL, DEFAULT_CHECK_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT, MAX_CHECK_RESPONSE_BYTES,
};
pub(crate) use stats::CheckCounters;
pub use stats::{CheckStats, LatencySummary, Stats};

use crate::api::a2a::A2a;
use crate::api::actions::Actions;
use crate::api::agent_cards::AgentCards;
use crate::api::agents::Agents;
use crate::api::approvals::Approvals;
use crate::api::delegations::Delegations;
use crate::api::federation::Federation;
use crate::api::mcp::Mcp;
use crate::api::sessions::Sessions;
use crate::api::streaming::Streaming;
use crate::api::telemetry::Telemetry;
use crate::api::tokens::Tokens;
use crate::api::wimse::Wimse;
use crate::blocking::BlockingClient;
use crate::error::Result;
use crate::pipeline::{FlushOutcome, Pipeline, QueuedEvent, TelemetryConfig, TelemetryStats};
use transport::Transport;

/// An AgentTrust ID client.
///
/// `Clone` is cheap (an `Arc`); every clone shares one connection pool and
/// one telemetry pipeline. The API is async (tokio); [`blocking`](Self::blocking)
/// gives the same methods for synchronous code.
///
/// ```no_run
/// use agenttrust_runtime::AgentTrustClient;
///
/// # async fn run() -> agenttrust_runtime::Result<()> {
/// let client = AgentTrustClient::builder()
///     .base_url("http://127.0.0.1:8080")
///     .api_key("sk_test_123")
///     .build()?;
/// let health = client.health().await?;
/// let agents = client.agents().list(None).await?;
/// println!("{} with {} agents", health.status, agents.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AgentTrustClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    transport: Arc<Transport>,
    pipeline: Pipeline,
    checks: CheckCounters,
}

impl std::fmt::Debug for AgentTrustClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTrustClient")
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

impl AgentTrustClient {
    /// A builder with the defaults (`http://localhost:8080`, 30 s timeout).
    pub fn builder() -> AgentTrustClientBuilder {
        AgentTrustClientBuilder::default()
    }

    /// A client from `AGENTTRUST_URL` (or `AGENTTRUST_BASE_URL`) and
    /// `AGENTTRUST_API_KEY`; empty values count as unset.
    ///
    /// # Errors
    /// [`AgentTrustError::Config`](crate::AgentTrustError::Config) when the
    /// URL is malformed or the key would go over insecure HTTP.
    ///
    /// ```no_run
    /// let client = agenttrust_runtime::AgentTrustClient::from_env()?;
    /// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        AgentTrustClientBuilder::from_env().build()
    }

    pub(crate) fn from_parts(
        transport: Arc<Transport>,
        telemetry: TelemetryConfig,
    ) -> Result<Self> {
        let pipeline = Pipeline::start(transport.clone(), telemetry)?;
        Ok(Self {
            inner: Arc::new(ClientInner {
                transport,
                pipeline,
                checks: CheckCounters::default(),
            }),
        })
    }

    #[cfg(test)]
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// Whether an API key is configured.
    pub fn has_api_key(&self) -> bool {
        self.inner.transport.has_api_key()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Agents: create, get, list, revoke.
    pub fn agents(&self) -> Agents<'_> {
        Agents { client: self }
    }

    /// Agent tokens: issue, introspect, revoke.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { client: self }
    }

    /// The Guardian's action check.
    pub fn actions(&self) -> Actions<'_> {
        Actions { client: self }
    }

    /// Direct telemetry reports (guards use the background pipeline instead).
    pub fn telemetry(&self) -> Telemetry<'_> {
        Telemetry { client: self }
    }

    /// Sessions, including the API-token bridge.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { client: self }
    }

    /// Approvals of elevation requests.
    pub fn approvals(&self) -> Approvals<'_> {
        Approvals { client: self }
    }

    /// Delegations between agents, and delegated sessions.
    pub fn delegations(&self) -> Delegations<'_> {
        Delegations { client: self }
    }

    /// Agent cards for A2A discovery.
    pub fn agent_cards(&self) -> AgentCards<'_> {
        AgentCards { client: self }
    }

    /// WIMSE workload identity tokens.
    pub fn wimse(&self) -> Wimse<'_> {
        Wimse { client: self }
    }

    /// Agent-to-agent tasks (A2A JSON-RPC).
    pub fn a2a(&self) -> A2a<'_> {
        A2a { client: self }
    }

    /// SIEM streaming destinations.
    pub fn streaming(&self) -> Streaming<'_> {
        Streaming { client: self }
    }

    /// Federation with external OIDC providers.
    pub fn federation(&self) -> Federation<'_> {
        Federation { client: self }
    }

    /// The MCP server registry and the AgentTrust MCP proxy.
    pub fn mcp(&self) -> Mcp<'_> {
        Mcp { client: self }
    }

    /// The same API for synchronous code; safe to call from plain threads
    /// and from inside a tokio runtime (it blocks the calling thread).
    ///
    /// ```no_run
    /// let client = agenttrust_runtime::AgentTrustClient::from_env()?;
    /// let health = client.blocking().health()?;
    /// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
    /// ```
    pub fn blocking(&self) -> BlockingClient {
        BlockingClient::new(self.clone())
    }

    /// Counters of the telemetry pipeline.
    pub fn telemetry_stats(&self) -> TelemetryStats {
        self.inner.pipeline.stats()
    }

    /// What this client counted since it was built: checks by decision and
    /// by error code, the Guardian's latency, telemetry delivery. Every
    /// guard and runtime built on this client (or a clone) adds to the same
    /// counters.
    ///
    /// ```
    /// let client = agenttrust_runtime::AgentTrustClient::builder().build()?;
    /// let stats = client.stats();
    /// assert_eq!(stats.checks.total(), 0);
    /// assert_eq!(stats.guardian_latency.p50, None);
    /// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.inner.checks.snapshot(self.telemetry_stats())
    }

    pub(crate) fn check_stats(&self) -> &CheckCounters {
        &self.inner.checks
    }

    /// Waits until every telemetry event queued before this call has been
    /// delivered, or `timeout` passes, and says which.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) {
    /// let outcome = client.flush(std::time::Duration::from_secs(5)).await;
    /// assert!(outcome.is_delivered());
    /// # }
    /// ```
    pub async fn flush(&self, timeout: Duration) -> FlushOutcome {
        self.inner.pipeline.flush(timeout).await
    }

    /// [`flush`](Self::flush) for synchronous code.
    pub fn flush_blocking(&self, timeout: Duration) -> FlushOutcome {
        crate::background::block_on(self.flush(timeout)).unwrap_or(FlushOutcome::TimedOut {
            pending: self.telemetry_stats().queued,
        })
    }

    pub(crate) fn enqueue(&self, event: QueuedEvent) -> bool {
        self.inner.pipeline.enqueue(event)
    }

    pub(crate) fn nudge_telemetry(&self) {
        self.inner.pipeline.nudge();
    }
}
