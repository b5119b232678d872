//! Agents: `POST /api/v1/agents`, `GET /api/v1/agents[/{id}]`, `POST .../{id}/revoke`.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// The body of `POST /api/v1/agents`.
///
/// `public_key` is optional: this toolkit does not generate key pairs, so an
/// agent that needs WIMSE proof-of-possession brings its own PEM.
///
/// ```
/// use agenttrust_runtime::api::agents::CreateAgentRequest;
///
/// let req = CreateAgentRequest::new("research-bot").capabilities(["web:search"]);
/// assert_eq!(req.framework, "custom");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateAgentRequest {
    /// Unique within the organization.
    pub name: String,
    /// `openai`, `anthropic`, `langchain`, ..., default `custom`.
    pub framework: String,
    /// Capabilities such as `files:read`.
    pub capabilities: Vec<String>,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The owning organization, when the key spans several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// The agent's Ed25519 public key as SPKI PEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl Default for CreateAgentRequest {
    fn default() -> Self {
        Self {
            name: String::new(),
            framework: "custom".to_owned(),
            capabilities: Vec::new(),
            metadata: serde_json::Map::new(),
            org_id: None,
            public_key: None,
        }
    }
}

impl CreateAgentRequest {
    /// A request for an agent called `name`, framework `custom`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Sets the capabilities.
    #[must_use]
    pub fn capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the framework.
    #[must_use]
    pub fn framework(mut self, framework: impl Into<String>) -> Self {
        self.framework = framework.into();
        self
    }
}

/// An agent record; every field is optional on the wire.
///
/// ```
/// use agenttrust_runtime::api::agents::Agent;
///
/// let a: Agent = serde_json::from_str(r#"{"agent":{"id":"ag_1","name":"bot"}}"#).unwrap();
/// assert_eq!((a.id.as_str(), a.status.as_str()), ("ag_1", "active"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Agent {
    /// The agent id.
    pub id: String,
    /// The agent name.
    pub name: String,
    /// The owning organization.
    pub org_id: String,
    /// The framework it was registered with.
    pub framework: String,
    /// `active`, `suspended` or `revoked` (`active` when the gateway sends none).
    pub status: String,
    /// Its capabilities.
    pub capabilities: Vec<String>,
    /// Its metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Its public key (PEM), if registered.
    pub public_key: Option<String>,
    /// When it was created.
    pub created_at: Option<String>,
}

#[derive(Deserialize)]
struct AgentWire {
    #[serde(default, deserialize_with = "super::nullable_string")]
    id: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    name: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    org_id: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    framework: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    status: String,
    #[serde(default, deserialize_with = "super::nullable_vec")]
    capabilities: Vec<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

impl From<AgentWire> for Agent {
    fn from(w: AgentWire) -> Self {
        Agent {
            id: w.id,
            name: w.name,
            org_id: w.org_id,
            framework: w.framework,
            status: if w.status.is_empty() {
                "active".to_owned()
            } else {
                w.status
            },
            capabilities: w.capabilities,
            metadata: w.metadata.unwrap_or_default(),
            public_key: w.public_key.filter(|k| !k.is_empty()),
            created_at: w.created_at,
        }
    }
}

impl<'de> Deserialize<'de> for Agent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::wrapped_or_bare::<D, AgentWire>(d, "agent").map(Agent::from)
    }
}

struct AgentList(Vec<Agent>);

impl<'de> Deserialize<'de> for AgentList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::list_wrapped_or_bare::<D, Agent>(d, "agents").map(AgentList)
    }
}

#[derive(Serialize)]
struct RevokeBody<'a> {
    reason: &'a str,
}

/// The agents API group; from [`AgentTrustClient::agents`].
#[derive(Debug, Clone, Copy)]
pub struct Agents<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Agents<'_> {
    /// `POST /api/v1/agents`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::agents::CreateAgentRequest;
    /// let agent = client.agents().create(&CreateAgentRequest::new("bot")).await?;
    /// println!("{}", agent.id);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateAgentRequest) -> Result<Agent> {
        let t = self.client.transport();
        t.json(Method::POST, t.url(&["api", "v1", "agents"]), Some(request))
            .await
    }

    /// `GET /api/v1/agents/{agent_id}`.
    pub async fn get(&self, agent_id: &str) -> Result<Agent> {
        let t = self.client.transport();
        t.json(
            Method::GET,
            t.url(&["api", "v1", "agents", agent_id]),
            None::<&()>,
        )
        .await
    }

    /// `GET /api/v1/agents[?org_id=]`.
    pub async fn list(&self, org_id: Option<&str>) -> Result<Vec<Agent>> {
        let t = self.client.transport();
        let mut url = t.url(&["api", "v1", "agents"]);
        if let Some(org) = org_id {
            url.query_pairs_mut().append_pair("org_id", org);
        }
        let list: AgentList = t.json(Method::GET, url, None::<&()>).await?;
        Ok(list.0)
    }

    /// `POST /api/v1/agents/{agent_id}/revoke`: immediate and irreversible.
    pub async fn revoke(&self, agent_id: &str, reason: &str) -> Result<()> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agents", agent_id, "revoke"]);
        t.unit(Method::POST, url, Some(&RevokeBody { reason }))
            .await
    }
}
