//! Agent cards (A2A discovery): `POST/GET /api/v1/agents/{id}/card`,
//! `PUT /api/v1/agents/{id}/card/publish` and the public
//! `GET /a2a/agents/{id}/agent.json` (PROTOCOL.md §15).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// The AgentTrust extension URI in a card's `capabilities.extensions`.
pub const TRUST_EXTENSION: &str = "https://agenttrust.id/ext/trust/v1";

/// An A2A v1.0 agent card. Every field is optional when decoding; camelCase
/// on the wire, snake_case accepted too.
///
/// ```
/// use agenttrust_runtime::api::agent_cards::AgentCard;
/// let card: AgentCard = serde_json::from_str(r#"{
///     "name": "planner", "url": "https://old.example/a2a",
///     "capabilities": {"push_notifications": true, "extensions": [
///         {"uri": "https://agenttrust.id/ext/trust/v1", "params": {"ati_trust_score": 0.9, "ati_guardian_tier": "fast"}}
///     ]}
/// }"#).unwrap();
/// assert_eq!(card.primary_url(), Some("https://old.example/a2a"));
/// assert!(card.capabilities.push_notifications);
/// assert_eq!(card.trust().unwrap().score, 0.9);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentCard {
    /// The agent's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The card's version.
    pub version: String,
    /// Its endpoints; the first is the primary one.
    #[serde(alias = "supported_interfaces")]
    pub supported_interfaces: Vec<AgentInterface>,
    /// The legacy (pre-v1.0) endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who provides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<AgentProvider>,
    /// What it supports.
    pub capabilities: AgentCapabilities,
    /// Security schemes by name (`{"type": "http", "scheme": "bearer"}`, ...).
    #[serde(alias = "security_schemes")]
    pub security_schemes: serde_json::Map<String, serde_json::Value>,
    /// Which schemes a caller must satisfy.
    #[serde(alias = "security_requirements", skip_serializing_if = "Vec::is_empty")]
    pub security_requirements: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Input MIME types.
    #[serde(alias = "default_input_modes")]
    pub default_input_modes: Vec<String>,
    /// Output MIME types.
    #[serde(alias = "default_output_modes")]
    pub default_output_modes: Vec<String>,
    /// Its skills.
    pub skills: Vec<AgentSkill>,
    /// Detached JWS signatures over the card.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<serde_json::Value>,
    /// Documentation.
    #[serde(alias = "documentation_url", skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// An icon.
    #[serde(alias = "icon_url", skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

/// One endpoint of an agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentInterface {
    /// Where.
    pub url: String,
    /// `JSONRPC`, `GRPC` or `HTTP+JSON`.
    #[serde(alias = "protocol_binding")]
    pub protocol_binding: String,
    /// The A2A version.
    #[serde(alias = "protocol_version")]
    pub protocol_version: String,
    /// A tenant, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// The organization behind an agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentProvider {
    /// Its name.
    pub organization: String,
    /// Its site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What an agent supports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentCapabilities {
    /// Streaming answers.
    pub streaming: bool,
    /// Push notifications.
    #[serde(alias = "push_notifications")]
    pub push_notifications: bool,
    /// Protocol extensions (the AgentTrust trust extension among them).
    pub extensions: Vec<AgentExtension>,
    /// Whether an extended card exists.
    #[serde(alias = "extended_agent_card")]
    pub extended_agent_card: bool,
}

/// One protocol extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentExtension {
    /// Its URI.
    pub uri: String,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a caller must understand it.
    pub required: bool,
    /// Its parameters.
    pub params: serde_json::Value,
}

/// One skill of an agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AgentSkill {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Example requests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Input MIME types, when not the card's.
    #[serde(alias = "input_modes", skip_serializing_if = "Vec::is_empty")]
    pub input_modes: Vec<String>,
    /// Output MIME types, when not the card's.
    #[serde(alias = "output_modes", skip_serializing_if = "Vec::is_empty")]
    pub output_modes: Vec<String>,
}

/// The AgentTrust trust extension's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustParams {
    /// `ati_trust_score` (0 when absent).
    pub score: f64,
    /// `ati_guardian_tier`.
    pub guardian_tier: Option<String>,
    /// `ati_agent_key`: the agent's Ed25519 public key as a JWK. Verify the
    /// card's `signatures` before trusting it.
    pub agent_key: Option<serde_json::Value>,
}

impl AgentCard {
    /// The primary endpoint: the first interface's URL, else the legacy `url`.
    pub fn primary_url(&self) -> Option<&str> {
        self.supported_interfaces
            .first()
            .map(|i| i.url.as_str())
            .filter(|u| !u.is_empty())
            .or(self.url.as_deref())
    }

    /// The AgentTrust trust extension's parameters, if the card has it.
    pub fn trust(&self) -> Option<TrustParams> {
        let extension = self
            .capabilities
            .extensions
            .iter()
            .find(|e| e.uri == TRUST_EXTENSION)?;
        let params = &extension.params;
        Some(TrustParams {
            score: params["ati_trust_score"].as_f64().unwrap_or(0.0),
            guardian_tier: params["ati_guardian_tier"].as_str().map(str::to_owned),
            agent_key: params
                .get("ati_agent_key")
                .filter(|k| k.is_object())
                .cloned(),
        })
    }
}

/// The agent cards API group; from [`AgentTrustClient::agent_cards`].
#[derive(Debug, Clone, Copy)]
pub struct AgentCards<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl AgentCards<'_> {
    /// `POST /api/v1/agents/{agent_id}/card`: generates (or regenerates)
    /// the card from the agent record.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// let cards = client.agent_cards();
    /// cards.generate("ag_1").await?;
    /// cards.publish("ag_1").await?;
    /// let card = cards.get_public("ag_1").await?; // sent without the API key
    /// println!("{} at {:?}", card.name, card.primary_url());
    /// # Ok(()) }
    /// ```
    pub async fn generate(&self, agent_id: &str) -> Result<AgentCard> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agents", agent_id, "card"]);
        t.json(Method::POST, url, None::<&()>).await
    }

    /// `GET /api/v1/agents/{agent_id}/card`.
    pub async fn get(&self, agent_id: &str) -> Result<AgentCard> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agents", agent_id, "card"]);
        t.json(Method::GET, url, None::<&()>).await
    }

    /// `PUT /api/v1/agents/{agent_id}/card/publish`: makes it public.
    pub async fn publish(&self, agent_id: &str) -> Result<AgentCard> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agents", agent_id, "card", "publish"]);
        t.json(Method::PUT, url, None::<&()>).await
    }

    /// `GET /a2a/agents/{agent_id}/agent.json`: the public card. Sent
    /// without the API key, which the route does not need.
    pub async fn get_public(&self, agent_id: &str) -> Result<AgentCard> {
        let t = self.client.transport();
        t.public_json(t.url(&["a2a", "agents", agent_id, "agent.json"]))
            .await
    }
}
