//! The blocking facade: the async client's methods for synchronous code.
//!
//! Each call runs the async request on the calling thread with its I/O
//! driven by the toolkit's background runtime, so it works from plain
//! threads and does not panic inside a tokio runtime (defect D5 of the
//! official SDK). Inside a runtime it blocks that worker thread for the
//! duration of the request, as any blocking call would.

use std::future::Future;

use crate::api::a2a::{LegacyTask, Task};
use crate::api::actions::{ActionCheckRequest, ActionCheckResult};
use crate::api::agent_cards::AgentCard;
use crate::api::agents::{Agent, CreateAgentRequest};
use crate::api::approvals::Approval;
use crate::api::delegations::{CreateDelegationRequest, Delegation};
use crate::api::federation::{
    FederationToken, IssueFederationTokenRequest, Provider, RegisterProviderRequest,
    TokenVerification,
};
use crate::api::health::Health;
use crate::api::mcp::McpServer;
use crate::api::sessions::Session;
use crate::api::streaming::{
    CreateDestinationRequest, DeliveryRecord, Destination, TestDelivery, UpdateDestinationRequest,
};
use crate::api::telemetry::{TelemetryEvent, TelemetryReportResult};
use crate::api::tokens::{
    IntrospectTokenRequest, IssueTokenRequest, IssuedToken, TokenIntrospection,
};
use crate::api::wimse::{Challenge, WimseToken, WimseTokenRequest, WimseVerification};
use crate::background;
use crate::client::AgentTrustClient;
use crate::error::Result;

pub(crate) fn run<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    background::block_on(future).and_then(|result| result)
}

/// The blocking form of [`AgentTrustClient`]; from [`AgentTrustClient::blocking`].
///
/// ```no_run
/// use agenttrust_runtime::{AgentTrustClient, api::agents::CreateAgentRequest};
///
/// let client = AgentTrustClient::from_env()?.blocking();
/// let agent = client.agents().create(&CreateAgentRequest::new("bot"))?;
/// client.approvals().approve("apr_1", "admin@example.com")?;
/// # Ok::<(), agenttrust_runtime::AgentTrustError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingClient {
    client: AgentTrustClient,
}

impl BlockingClient {
    /// Wraps an async client (sharing its pool and pipeline).
    pub fn new(client: AgentTrustClient) -> Self {
        Self { client }
    }

    /// The async client behind this facade.
    pub fn async_client(&self) -> &AgentTrustClient {
        &self.client
    }

    /// `GET /health`.
    pub fn health(&self) -> Result<Health> {
        run(self.client.health())
    }

    /// Agents: create, get, list, revoke.
    pub fn agents(&self) -> BlockingAgents<'_> {
        BlockingAgents {
            client: &self.client,
        }
    }

    /// Agent tokens: issue, introspect, revoke.
    pub fn tokens(&self) -> BlockingTokens<'_> {
        BlockingTokens {
            client: &self.client,
        }
    }

    /// The Guardian's action check.
    pub fn actions(&self) -> BlockingActions<'_> {
        BlockingActions {
            client: &self.client,
        }
    }

    /// Direct telemetry reports.
    pub fn telemetry(&self) -> BlockingTelemetry<'_> {
        BlockingTelemetry {
            client: &self.client,
        }
    }

    /// Sessions, including the API-token bridge.
    pub fn sessions(&self) -> BlockingSessions<'_> {
        BlockingSessions {
            client: &self.client,
        }
    }

    /// Approvals of elevation requests.
    pub fn approvals(&self) -> BlockingApprovals<'_> {
        BlockingApprovals {
            client: &self.client,
        }
    }

    /// Delegations between agents, and delegated sessions.
    pub fn delegations(&self) -> BlockingDelegations<'_> {
        BlockingDelegations {
            client: &self.client,
        }
    }

    /// Agent cards for A2A discovery.
    pub fn agent_cards(&self) -> BlockingAgentCards<'_> {
        BlockingAgentCards {
            client: &self.client,
        }
    }

    /// WIMSE workload identity tokens.
    pub fn wimse(&self) -> BlockingWimse<'_> {
        BlockingWimse {
            client: &self.client,
        }
    }

    /// Agent-to-agent tasks (A2A JSON-RPC).
    pub fn a2a(&self) -> BlockingA2a<'_> {
        BlockingA2a {
            client: &self.client,
        }
    }

    /// SIEM streaming destinations.
    pub fn streaming(&self) -> BlockingStreaming<'_> {
        BlockingStreaming {
            client: &self.client,
        }
    }

    /// Federation with external OIDC providers.
    pub fn federation(&self) -> BlockingFederation<'_> {
        BlockingFederation {
            client: &self.client,
        }
    }

    /// The MCP server registry and the AgentTrust MCP proxy.
    pub fn mcp(&self) -> BlockingMcp<'_> {
        BlockingMcp {
            client: &self.client,
        }
    }
}

/// Blocking agents API; see [`Agents`](crate::api::agents::Agents).
#[derive(Debug, Clone, Copy)]
pub struct BlockingAgents<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingAgents<'_> {
    /// `POST /api/v1/agents`.
    pub fn create(&self, request: &CreateAgentRequest) -> Result<Agent> {
        run(self.client.agents().create(request))
    }
    /// `GET /api/v1/agents/{agent_id}`.
    pub fn get(&self, agent_id: &str) -> Result<Agent> {
        run(self.client.agents().get(agent_id))
    }
    /// `GET /api/v1/agents[?org_id=]`.
    pub fn list(&self, org_id: Option<&str>) -> Result<Vec<Agent>> {
        run(self.client.agents().list(org_id))
    }
    /// `POST /api/v1/agents/{agent_id}/revoke`.
    pub fn revoke(&self, agent_id: &str, reason: &str) -> Result<()> {
        run(self.client.agents().revoke(agent_id, reason))
    }
}

/// Blocking tokens API; see [`Tokens`](crate::api::tokens::Tokens).
#[derive(Debug, Clone, Copy)]
pub struct BlockingTokens<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingTokens<'_> {
    /// `POST /api/v1/agent-tokens/issue`.
    pub fn issue(&self, request: &IssueTokenRequest) -> Result<IssuedToken> {
        run(self.client.tokens().issue(request))
    }
    /// `POST /api/v1/agent-tokens/introspect`.
    pub fn introspect(&self, request: &IntrospectTokenRequest) -> Result<TokenIntrospection> {
        run(self.client.tokens().introspect(request))
    }
    /// `POST /api/v1/agent-tokens/revoke`.
    pub fn revoke(&self, token: &str, reason: &str) -> Result<()> {
        run(self.client.tokens().revoke(token, reason))
    }
}

/// Blocking actions API; see [`Actions`](crate::api::actions::Actions).
#[derive(Debug, Clone, Copy)]
pub struct BlockingActions<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingActions<'_> {
    /// `POST /api/v1/agenttrust/check`.
    pub fn check(&self, request: &ActionCheckRequest<'_>) -> Result<ActionCheckResult> {
        run(self.client.actions().check(request))
    }
}

/// Blocking telemetry API; see [`Telemetry`](crate::api::telemetry::Telemetry).
#[derive(Debug, Clone, Copy)]
pub struct BlockingTelemetry<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingTelemetry<'_> {
    /// `POST /api/v1/telemetry/report`, sent now.
    pub fn report(
        &self,
        agent_id: &str,
        session_id: &str,
        events: &[TelemetryEvent],
    ) -> Result<TelemetryReportResult> {
        run(self.client.telemetry().report(agent_id, session_id, events))
    }
}

/// Blocking sessions API; see [`Sessions`](crate::api::sessions::Sessions).
#[derive(Debug, Clone, Copy)]
pub struct BlockingSessions<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingSessions<'_> {
    /// `POST /mcp/sessions/init`.
    pub fn init_session(&self, agent_id: &str, server_id: &str) -> Result<Session> {
        run(self.client.sessions().init_session(agent_id, server_id))
    }
    /// `GET /mcp/sessions/{session_id}`.
    pub fn get_session(&self, session_id: &str) -> Result<Session> {
        run(self.client.sessions().get_session(session_id))
    }
    /// `POST /api/v1/agenttrust/api-sessions/init`.
    pub fn init_api_session(&self, token: &str) -> Result<Session> {
        run(self.client.sessions().init_api_session(token))
    }
}

/// Blocking approvals API; see [`Approvals`](crate::api::approvals::Approvals).
#[derive(Debug, Clone, Copy)]
pub struct BlockingApprovals<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingApprovals<'_> {
    /// `GET /mcp/approvals/{approval_id}`.
    pub fn get(&self, approval_id: &str) -> Result<Approval> {
        run(self.client.approvals().get(approval_id))
    }
    /// `POST /mcp/approvals/{approval_id}/approve`.
    pub fn approve(&self, approval_id: &str, decided_by: &str) -> Result<()> {
        run(self.client.approvals().approve(approval_id, decided_by))
    }
    /// `POST /mcp/approvals/{approval_id}/deny`.
    pub fn deny(&self, approval_id: &str, decided_by: &str) -> Result<()> {
        run(self.client.approvals().deny(approval_id, decided_by))
    }
}

/// Blocking delegations API; see [`Delegations`](crate::api::delegations::Delegations).
#[derive(Debug, Clone, Copy)]
pub struct BlockingDelegations<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingDelegations<'_> {
    /// `POST /api/v1/delegations`.
    pub fn create(&self, request: &CreateDelegationRequest) -> Result<Delegation> {
        run(self.client.delegations().create(request))
    }
    /// `GET /api/v1/delegations/{delegation_id}`.
    pub fn get(&self, delegation_id: &str) -> Result<Delegation> {
        run(self.client.delegations().get(delegation_id))
    }
    /// `GET /api/v1/delegations`.
    pub fn list(&self) -> Result<Vec<Delegation>> {
        run(self.client.delegations().list())
    }
    /// `DELETE /api/v1/delegations/{delegation_id}`.
    pub fn revoke(&self, delegation_id: &str) -> Result<()> {
        run(self.client.delegations().revoke(delegation_id))
    }
    /// `POST /api/v1/delegations/{delegation_id}/session`.
    pub fn init_session(&self, delegation_id: &str) -> Result<Session> {
        run(self.client.delegations().init_session(delegation_id))
    }
}

/// Blocking agent cards API; see [`AgentCards`](crate::api::agent_cards::AgentCards).
#[derive(Debug, Clone, Copy)]
pub struct BlockingAgentCards<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingAgentCards<'_> {
    /// `POST /api/v1/agents/{agent_id}/card`.
    pub fn generate(&self, agent_id: &str) -> Result<AgentCard> {
        run(self.client.agent_cards().generate(agent_id))
    }
    /// `GET /api/v1/agents/{agent_id}/card`.
    pub fn get(&self, agent_id: &str) -> Result<AgentCard> {
        run(self.client.agent_cards().get(agent_id))
    }
    /// `PUT /api/v1/agents/{agent_id}/card/publish`.
    pub fn publish(&self, agent_id: &str) -> Result<AgentCard> {
        run(self.client.agent_cards().publish(agent_id))
    }
    /// `GET /a2a/agents/{agent_id}/agent.json`, without the API key.
    pub fn get_public(&self, agent_id: &str) -> Result<AgentCard> {
        run(self.client.agent_cards().get_public(agent_id))
    }
}

/// Blocking WIMSE API; see [`Wimse`](crate::api::wimse::Wimse).
#[derive(Debug, Clone, Copy)]
pub struct BlockingWimse<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingWimse<'_> {
    /// `POST /api/v1/agents/{agent_id}/challenge`.
    pub fn challenge(&self, agent_id: &str) -> Result<Challenge> {
        run(self.client.wimse().challenge(agent_id))
    }
    /// `POST /api/v1/wimse/token`.
    pub fn issue_token(&self, request: &WimseTokenRequest) -> Result<WimseToken> {
        run(self.client.wimse().issue_token(request))
    }
    /// `POST /api/v1/wimse/verify`.
    pub fn verify(
        &self,
        token: &str,
        trust_domain_filter: Option<&str>,
    ) -> Result<WimseVerification> {
        run(self.client.wimse().verify(token, trust_domain_filter))
    }
    /// A challenge, signed with `key`, and the token it earns (feature `wimse`).
    #[cfg(feature = "wimse")]
    pub fn issue_token_with_proof(
        &self,
        request: &WimseTokenRequest,
        key: &crate::AgentKey,
    ) -> Result<WimseToken> {
        run(self.client.wimse().issue_token_with_proof(request, key))
    }
}

/// Blocking A2A API; see [`A2a`](crate::api::a2a::A2a).
#[derive(Debug, Clone, Copy)]
pub struct BlockingA2a<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingA2a<'_> {
    /// `message/send` (A2A v1.0).
    pub fn send_message(
        &self,
        agent_id: &str,
        text: &str,
        message_id: Option<&str>,
        task_id: Option<&str>,
    ) -> Result<Task> {
        run(self
            .client
            .a2a()
            .send_message(agent_id, text, message_id, task_id))
    }
    /// `tasks/send` (v0.3).
    pub fn send_task(
        &self,
        source_agent_id: &str,
        target_agent_id: &str,
        message: serde_json::Value,
    ) -> Result<LegacyTask> {
        run(self
            .client
            .a2a()
            .send_task(source_agent_id, target_agent_id, message))
    }
    /// `tasks/get`.
    pub fn get_task(&self, task_id: &str) -> Result<LegacyTask> {
        run(self.client.a2a().get_task(task_id))
    }
    /// `tasks/cancel`.
    pub fn cancel_task(&self, task_id: &str) -> Result<LegacyTask> {
        run(self.client.a2a().cancel_task(task_id))
    }
    /// `tasks/list`.
    pub fn list_tasks(&self, limit: u32) -> Result<Vec<LegacyTask>> {
        run(self.client.a2a().list_tasks(limit))
    }
}

/// Blocking SIEM streaming API; see [`Streaming`](crate::api::streaming::Streaming).
#[derive(Debug, Clone, Copy)]
pub struct BlockingStreaming<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingStreaming<'_> {
    /// `POST /api/v1/siem/destinations`.
    pub fn create(&self, request: &CreateDestinationRequest) -> Result<Destination> {
        run(self.client.streaming().create(request))
    }
    /// `GET /api/v1/siem/destinations`.
    pub fn list(&self) -> Result<Vec<Destination>> {
        run(self.client.streaming().list())
    }
    /// `GET /api/v1/siem/destinations/{id}`.
    pub fn get(&self, destination_id: &str) -> Result<Destination> {
        run(self.client.streaming().get(destination_id))
    }
    /// `PUT /api/v1/siem/destinations/{id}`.
    pub fn update(
        &self,
        destination_id: &str,
        request: &UpdateDestinationRequest,
    ) -> Result<Destination> {
        run(self.client.streaming().update(destination_id, request))
    }
    /// `DELETE /api/v1/siem/destinations/{id}`.
    pub fn delete(&self, destination_id: &str) -> Result<()> {
        run(self.client.streaming().delete(destination_id))
    }
    /// `GET /api/v1/siem/destinations/{id}/logs`.
    pub fn delivery_log(&self, destination_id: &str) -> Result<Vec<DeliveryRecord>> {
        run(self.client.streaming().delivery_log(destination_id))
    }
    /// `POST /api/v1/siem/destinations/{id}/test`.
    pub fn test(&self, destination_id: &str) -> Result<TestDelivery> {
        run(self.client.streaming().test(destination_id))
    }
}

/// Blocking federation API; see [`Federation`](crate::api::federation::Federation).
#[derive(Debug, Clone, Copy)]
pub struct BlockingFederation<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingFederation<'_> {
    /// `POST /api/v1/federation/providers`.
    pub fn register_provider(&self, request: &RegisterProviderRequest) -> Result<Provider> {
        run(self.client.federation().register_provider(request))
    }
    /// `GET /api/v1/federation/providers`.
    pub fn list_providers(&self) -> Result<Vec<Provider>> {
        run(self.client.federation().list_providers())
    }
    /// `DELETE /api/v1/federation/providers/{id}`.
    pub fn delete_provider(&self, provider_id: &str) -> Result<()> {
        run(self.client.federation().delete_provider(provider_id))
    }
    /// `POST /api/v1/federation/tokens/issue`.
    pub fn issue_token(&self, request: &IssueFederationTokenRequest) -> Result<FederationToken> {
        run(self.client.federation().issue_token(request))
    }
    /// `POST /api/v1/federation/tokens/verify`.
    pub fn verify_token(
        &self,
        token: &str,
        issuer_hint: Option<&str>,
    ) -> Result<TokenVerification> {
        run(self.client.federation().verify_token(token, issuer_hint))
    }
    /// `POST /api/v1/federation/tokens/introspect`.
    pub fn introspect_token(
        &self,
        token: &str,
        issuer_hint: Option<&str>,
    ) -> Result<TokenVerification> {
        run(self
            .client
            .federation()
            .introspect_token(token, issuer_hint))
    }
    /// `POST /api/v1/federation/tokens/revoke`.
    pub fn revoke_token(&self, token: &str) -> Result<()> {
        run(self.client.federation().revoke_token(token))
    }
    /// `POST /api/v1/federation/sessions/init`.
    pub fn init_session(&self, token: &str, issuer_hint: Option<&str>) -> Result<Session> {
        run(self.client.federation().init_session(token, issuer_hint))
    }
}

/// Blocking MCP API; see [`Mcp`](crate::api::mcp::Mcp).
#[derive(Debug, Clone, Copy)]
pub struct BlockingMcp<'a> {
    client: &'a AgentTrustClient,
}

impl BlockingMcp<'_> {
    /// `POST /mcp/servers`.
    pub fn register_server(
        &self,
        name: &str,
        url: &str,
        capabilities: &[String],
    ) -> Result<McpServer> {
        run(self.client.mcp().register_server(name, url, capabilities))
    }
    /// `GET /mcp/servers`.
    pub fn list_servers(&self) -> Result<Vec<McpServer>> {
        run(self.client.mcp().list_servers())
    }
    /// `GET /mcp/servers/{server_id}`.
    pub fn get_server(&self, server_id: &str) -> Result<McpServer> {
        run(self.client.mcp().get_server(server_id))
    }
    /// `DELETE /mcp/servers/{server_id}`.
    pub fn remove_server(&self, server_id: &str) -> Result<()> {
        run(self.client.mcp().remove_server(server_id))
    }
    /// `POST /mcp/{server_id}`.
    pub fn call_tool(
        &self,
        server_id: &str,
        agent_id: &str,
        method: &str,
        params: Option<serde_json::Value>,
        session_id: Option<&str>,
    ) -> Result<serde_json::Value> {
        run(self
            .client
            .mcp()
            .call_tool(server_id, agent_id, method, params, session_id))
    }
}
