//! Agent tokens: `POST /api/v1/agent-tokens/{issue,introspect,revoke}`.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// The body of `POST /api/v1/agent-tokens/issue`.
///
/// ```
/// use agenttrust_runtime::api::tokens::IssueTokenRequest;
/// let req = IssueTokenRequest::new("ag_1", ["files:read"]).session_id("sess_1");
/// assert_eq!(req.ttl, 300);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueTokenRequest {
    /// The agent the token is for.
    pub agent_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Lifetime in seconds (default 300).
    pub ttl: u64,
    /// Binds the token to an AgentTrust session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl IssueTokenRequest {
    /// A request for `agent_id` with `scopes`, 300 s lifetime.
    pub fn new<I, S>(agent_id: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            agent_id: agent_id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            ttl: 300,
            session_id: None,
        }
    }

    /// Binds the token to a session.
    #[must_use]
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
}

/// An issued opaque `at_` token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssuedToken {
    /// The token (`token`, or the legacy `agent_token`).
    pub token: String,
    /// The agent it belongs to.
    pub agent_id: String,
    /// Its scopes (`scopes`, or `scope`).
    pub scopes: Vec<String>,
    /// Its audience.
    pub audience: Vec<String>,
    /// Issue time.
    pub issued_at: Option<String>,
    /// Expiry time.
    pub expires_at: Option<String>,
    /// The token's id (`token_id`, or `id`).
    pub token_id: Option<String>,
}

#[derive(Deserialize)]
struct IssuedTokenWire {
    token: Option<String>,
    agent_token: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default, deserialize_with = "super::nullable_vec")]
    scopes: Vec<String>,
    #[serde(default, deserialize_with = "super::nullable_vec")]
    scope: Vec<String>,
    #[serde(default, deserialize_with = "super::nullable_vec")]
    audience: Vec<String>,
    issued_at: Option<String>,
    expires_at: Option<String>,
    token_id: Option<String>,
    id: Option<String>,
}

impl<'de> Deserialize<'de> for IssuedToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = IssuedTokenWire::deserialize(d)?;
        let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Ok(IssuedToken {
            token: non_empty(&w.token)
                .or_else(|| non_empty(&w.agent_token))
                .unwrap_or_default(),
            agent_id: w.agent_id.unwrap_or_default(),
            scopes: if w.scopes.is_empty() {
                w.scope
            } else {
                w.scopes
            },
            audience: w.audience,
            issued_at: w.issued_at,
            expires_at: w.expires_at,
            token_id: non_empty(&w.token_id).or_else(|| non_empty(&w.id)),
        })
    }
}

/// The body of `POST /api/v1/agent-tokens/introspect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntrospectTokenRequest {
    /// The token to introspect.
    pub token: String,
    /// The resource it is about to be used on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Scopes the token must hold.
    pub required_scopes: Vec<String>,
}

impl IntrospectTokenRequest {
    /// Introspects `token` with no target and no required scopes.
    ///
    /// ```
    /// let req = agenttrust_runtime::api::tokens::IntrospectTokenRequest::new("at_1");
    /// assert!(req.required_scopes.is_empty());
    /// ```
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            ..Self::default()
        }
    }
}

/// The introspection answer; `active: false` is a normal answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TokenIntrospection {
    /// Whether the token is valid for the request.
    #[serde(default)]
    pub active: bool,
    /// The token's agent.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The agent's organization.
    #[serde(default)]
    pub org_id: Option<String>,
    /// The token's scopes.
    #[serde(default, deserialize_with = "super::nullable_vec")]
    pub scopes: Vec<String>,
    /// Expiry time.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The Guardian's reasoning.
    #[serde(default)]
    pub reasoning: Option<String>,
    /// `fast`, `spot` or `deep`.
    #[serde(default)]
    pub guard_tier: Option<String>,
    /// Confidence 0..1.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Decision latency.
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

#[derive(Serialize)]
struct RevokeTokenBody<'a> {
    token: &'a str,
    reason: &'a str,
}

/// The tokens API group; from [`AgentTrustClient::tokens`].
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Tokens<'_> {
    /// `POST /api/v1/agent-tokens/issue`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::tokens::IssueTokenRequest;
    /// let token = client.tokens().issue(&IssueTokenRequest::new("ag_1", ["files:read"])).await?;
    /// assert!(token.token.starts_with("at_"));
    /// # Ok(()) }
    /// ```
    pub async fn issue(&self, request: &IssueTokenRequest) -> Result<IssuedToken> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agent-tokens", "issue"]);
        t.json(Method::POST, url, Some(request)).await
    }

    /// `POST /api/v1/agent-tokens/introspect`.
    pub async fn introspect(&self, request: &IntrospectTokenRequest) -> Result<TokenIntrospection> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agent-tokens", "introspect"]);
        t.json(Method::POST, url, Some(request)).await
    }

    /// `POST /api/v1/agent-tokens/revoke`.
    pub async fn revoke(&self, token: &str, reason: &str) -> Result<()> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agent-tokens", "revoke"]);
        t.unit(Method::POST, url, Some(&RevokeTokenBody { token, reason }))
            .await
    }
}
