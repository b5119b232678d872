//! Federation with external OIDC providers (PROTOCOL.md §12): providers,
//! federation tokens (issue, verify, introspect, revoke) and federated
//! sessions.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::sessions::Session;
use crate::client::AgentTrustClient;
use crate::error::Result;

/// A provider to register. The local gateway also takes the provider's
/// keys (`jwks` inline or `jwks_path`, a local file) and the `audience` its
/// tokens carry; the real gateway fetches the keys itself.
///
/// ```
/// use agenttrust_runtime::api::federation::RegisterProviderRequest;
/// let request = RegisterProviderRequest::new("https://idp.example", "Example IdP").trust_level("high");
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body, serde_json::json!({"issuer": "https://idp.example", "name": "Example IdP", "trust_level": "high"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterProviderRequest {
    /// The issuer (`iss`) of its tokens.
    pub issuer: String,
    /// A name.
    pub name: String,
    /// `standard` (the gateway's default), `high`, `low`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_level: Option<String>,
    /// The provider's JWKS (local gateway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// A local file with the provider's JWKS (local gateway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_path: Option<String>,
    /// The `aud` its tokens carry (local gateway; default `agenttrust`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

impl RegisterProviderRequest {
    /// A provider for `issuer`.
    pub fn new(issuer: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            name: name.into(),
            trust_level: None,
            jwks: None,
            jwks_path: None,
            audience: None,
        }
    }

    /// Sets the trust level.
    #[must_use]
    pub fn trust_level(mut self, level: impl Into<String>) -> Self {
        self.trust_level = Some(level.into());
        self
    }

    /// Gives the provider's keys inline.
    #[must_use]
    pub fn jwks(mut self, jwks: serde_json::Value) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// Gives a local file holding the provider's keys.
    #[must_use]
    pub fn jwks_path(mut self, path: impl Into<String>) -> Self {
        self.jwks_path = Some(path.into());
        self
    }

    /// Sets the audience its tokens carry.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

/// A registered provider (`{"provider": {..}}` or bare).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Provider {
    /// Its id.
    pub id: String,
    /// Its organization.
    pub org_id: Option<String>,
    /// Its issuer.
    pub issuer: String,
    /// Its name.
    pub name: String,
    /// Where its keys are.
    pub jwks_uri: Option<String>,
    /// Its trust level.
    pub trust_level: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// Created.
    pub created_at: Option<String>,
}

#[derive(Deserialize)]
struct ProviderWire {
    #[serde(default, deserialize_with = "super::nullable_string")]
    id: String,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default, deserialize_with = "super::nullable_string")]
    issuer: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    name: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    trust_level: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w: ProviderWire = super::wrapped_or_bare(d, "provider")?;
        Ok(Provider {
            id: w.id,
            org_id: w.org_id,
            issuer: w.issuer,
            name: w.name,
            jwks_uri: w.jwks_uri,
            trust_level: w.trust_level,
            status: w.status,
            created_at: w.created_at,
        })
    }
}

struct ProviderList(Vec<Provider>);

impl<'de> Deserialize<'de> for ProviderList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        super::list_wrapped_or_bare::<D, Provider>(d, "providers").map(ProviderList)
    }
}

/// A federation token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueFederationTokenRequest {
    /// The agent.
    pub agent_id: String,
    /// Who it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// Its scopes (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Lifetime in seconds (the wire field is `ttl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

impl IssueFederationTokenRequest {
    /// A token for `agent_id`.
    pub fn new(agent_id: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            audience: None,
            scopes: Vec::new(),
            ttl: None,
        }
    }
}

/// An issued federation token (`id_token`, `idToken` or `token`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FederationToken {
    /// The token.
    pub token: String,
    /// Seconds it lasts.
    pub expires_in: Option<u64>,
    /// When it expires.
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for FederationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl<'de> Deserialize<'de> for FederationToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default, rename = "idToken")]
            id_token_camel: Option<String>,
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
            #[serde(default)]
            expires_at: Option<String>,
        }
        let w = Wire::deserialize(d)?;
        let token = [w.id_token, w.id_token_camel, w.token]
            .into_iter()
            .flatten()
            .find(|t| !t.is_empty())
            .ok_or_else(|| serde::de::Error::custom("no `id_token`, `idToken` or `token`"))?;
        Ok(FederationToken {
            token,
            expires_in: w.expires_in,
            expires_at: w.expires_at,
        })
    }
}

/// What verify and introspect say about a token (`valid` or `active`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenVerification {
    /// Whether it verifies.
    pub valid: bool,
    /// Its agent.
    pub agent_id: Option<String>,
    /// Its issuer.
    pub issuer: Option<String>,
    /// When it expires.
    pub expires_at: Option<String>,
    /// Why it does not verify.
    pub error: Option<String>,
}

impl<'de> Deserialize<'de> for TokenVerification {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            valid: Option<bool>,
            #[serde(default)]
            active: Option<bool>,
            #[serde(default)]
            agent_id: Option<String>,
            #[serde(default)]
            issuer: Option<String>,
            #[serde(default)]
            expires_at: Option<String>,
            #[serde(default)]
            error: Option<String>,
        }
        let w = Wire::deserialize(d)?;
        let valid = w
            .active
            .or(w.valid)
            .ok_or_else(|| serde::de::Error::custom("neither `valid` nor `active`"))?;
        Ok(TokenVerification {
            valid,
            agent_id: w.agent_id,
            issuer: w.issuer,
            expires_at: w.expires_at,
            error: w.error,
        })
    }
}

#[derive(Serialize)]
struct TokenBody<'a> {
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_hint: Option<&'a str>,
}

/// The federation API group; from [`AgentTrustClient::federation`].
#[derive(Debug, Clone, Copy)]
pub struct Federation<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Federation<'_> {
    fn url(&self, segments: &[&str]) -> url::Url {
        let mut all = vec!["api", "v1", "federation"];
        all.extend_from_slice(segments);
        self.client.transport().url(&all)
    }

    /// `POST /api/v1/federation/providers`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient, jwks: serde_json::Value, id_token: &str) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::federation::RegisterProviderRequest;
    /// let federation = client.federation();
    /// federation.register_provider(&RegisterProviderRequest::new("https://idp.example", "IdP").jwks(jwks)).await?;
    /// let session = federation.init_session(id_token, None).await?;
    /// println!("{} via {:?}", session.agent_id, session.issuer);
    /// # Ok(()) }
    /// ```
    pub async fn register_provider(&self, request: &RegisterProviderRequest) -> Result<Provider> {
        let t = self.client.transport();
        t.json(Method::POST, self.url(&["providers"]), Some(request))
            .await
    }

    /// `GET /api/v1/federation/providers`.
    pub async fn list_providers(&self) -> Result<Vec<Provider>> {
        let t = self.client.transport();
        let list: ProviderList = t
            .json(Method::GET, self.url(&["providers"]), None::<&()>)
            .await?;
        Ok(list.0)
    }

    /// `DELETE /api/v1/federation/providers/{id}`.
    pub async fn delete_provider(&self, provider_id: &str) -> Result<()> {
        let t = self.client.transport();
        t.unit(
            Method::DELETE,
            self.url(&["providers", provider_id]),
            None::<&()>,
        )
        .await
    }

    /// `POST /api/v1/federation/tokens/issue`.
    pub async fn issue_token(
        &self,
        request: &IssueFederationTokenRequest,
    ) -> Result<FederationToken> {
        let t = self.client.transport();
        t.json(Method::POST, self.url(&["tokens", "issue"]), Some(request))
            .await
    }

    /// `POST /api/v1/federation/tokens/verify`.
    pub async fn verify_token(
        &self,
        token: &str,
        issuer_hint: Option<&str>,
    ) -> Result<TokenVerification> {
        self.check_token("verify", token, issuer_hint).await
    }

    /// `POST /api/v1/federation/tokens/introspect` (the Python SDK's path).
    pub async fn introspect_token(
        &self,
        token: &str,
        issuer_hint: Option<&str>,
    ) -> Result<TokenVerification> {
        self.check_token("introspect", token, issuer_hint).await
    }

    async fn check_token(
        &self,
        endpoint: &str,
        token: &str,
        issuer_hint: Option<&str>,
    ) -> Result<TokenVerification> {
        let t = self.client.transport();
        let body = TokenBody { token, issuer_hint };
        t.json(Method::POST, self.url(&["tokens", endpoint]), Some(&body))
            .await
    }

    /// `POST /api/v1/federation/tokens/revoke`.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        let t = self.client.transport();
        let body = TokenBody {
            token,
            issuer_hint: None,
        };
        t.unit(Method::POST, self.url(&["tokens", "revoke"]), Some(&body))
            .await
    }

    /// `POST /api/v1/federation/sessions/init`: a session for the token's
    /// agent, with the provider, issuer and trust level.
    pub async fn init_session(&self, token: &str, issuer_hint: Option<&str>) -> Result<Session> {
        let t = self.client.transport();
        let body = TokenBody { token, issuer_hint };
        t.json(Method::POST, self.url(&["sessions", "init"]), Some(&body))
            .await
    }
}
