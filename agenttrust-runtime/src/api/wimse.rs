//! WIMSE workload identity: `POST /api/v1/agents/{id}/challenge`,
//! `POST /api/v1/wimse/token` (with or without a proof of possession) and
//! `POST /api/v1/wimse/verify` (PROTOCOL.md §2.1, §17).

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};

/// A single-use nonce to sign for a proof of possession.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Challenge {
    /// The nonce.
    #[serde(deserialize_with = "super::nullable_string")]
    pub nonce: String,
    /// Until when it may be used.
    pub expires_at: Option<String>,
}

/// A proof of possession: the agent's Ed25519 signature over
/// `pop-v1:<nonce>:<agent_id>:<audience joined by ,>:<ts>`, base64url
/// without padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proof {
    /// The challenge's nonce.
    pub nonce: String,
    /// When it was signed, in Unix seconds.
    pub ts: u64,
    /// The signature.
    pub signature: String,
}

/// A workload token request.
///
/// ```
/// use agenttrust_runtime::api::wimse::WimseTokenRequest;
/// let request = WimseTokenRequest::new("ag_1").service_name("billing").audience(["payments"]);
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["audience"][0], "payments");
/// assert!(body.get("proof").is_none() && body.get("ttl_seconds").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WimseTokenRequest {
    /// The agent.
    pub agent_id: String,
    /// The service the workload runs as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Its environment (`prod`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// Who the token is for (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// A proof of possession of the agent's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
}

impl WimseTokenRequest {
    /// A request for `agent_id`'s workload token.
    pub fn new(agent_id: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            service_name: None,
            environment: None,
            ttl_seconds: None,
            audience: Vec::new(),
            proof: None,
        }
    }

    /// Sets the service name.
    #[must_use]
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets the environment.
    #[must_use]
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn ttl_seconds(mut self, ttl_seconds: u64) -> Self {
        self.ttl_seconds = Some(ttl_seconds);
        self
    }

    /// Sets the audience.
    #[must_use]
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// Attaches a proof of possession.
    #[must_use]
    pub fn proof(mut self, proof: Proof) -> Self {
        self.proof = Some(proof);
        self
    }
}

/// An issued workload token.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WimseToken {
    /// The JWT.
    #[serde(deserialize_with = "super::nullable_string")]
    pub token: String,
    /// The workload's SPIFFE-style id (`spiffe://ati/ag_1`).
    #[serde(deserialize_with = "super::nullable_string")]
    pub workload_id: String,
    /// Its trust domain.
    #[serde(deserialize_with = "super::nullable_string")]
    pub trust_domain: String,
    /// When it expires.
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for WimseToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WimseToken")
            .field("token", &"<redacted>")
            .field("workload_id", &self.workload_id)
            .field("trust_domain", &self.trust_domain)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl WimseToken {
    /// The headers a downstream service reads: `Authorization: Bearer
    /// <token>` (the signed JWT it verifies), `X-WIMSE-Workload-ID` and
    /// `X-WIMSE-Trust-Domain`.
    ///
    /// ```
    /// use agenttrust_runtime::api::wimse::WimseToken;
    /// let token: WimseToken = serde_json::from_str(
    ///     r#"{"token": "eyJ.x.y", "workload_id": "spiffe://ati/ag_1", "trust_domain": "ati"}"#,
    /// ).unwrap();
    /// let headers = token.downstream_headers().unwrap();
    /// assert_eq!(headers["authorization"], "Bearer eyJ.x.y");
    /// assert_eq!(headers["x-wimse-workload-id"], "spiffe://ati/ag_1");
    /// ```
    ///
    /// # Errors
    /// `CONFIG_ERROR` when a value cannot be a header (a control character).
    pub fn downstream_headers(&self) -> Result<HeaderMap> {
        let value = |text: &str| {
            HeaderValue::from_str(text).map_err(|_| {
                AgentTrustError::config("a WIMSE token field is not a valid header value")
            })
        };
        let mut bearer = value(&format!("Bearer {}", self.token))?;
        bearer.set_sensitive(true);
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(AUTHORIZATION, bearer);
        headers.insert("x-wimse-workload-id", value(&self.workload_id)?);
        headers.insert("x-wimse-trust-domain", value(&self.trust_domain)?);
        Ok(headers)
    }
}

/// What `verify` says about a workload token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WimseVerification {
    /// Whether it verifies (signature, expiry, trust domain, agent active).
    pub valid: bool,
    /// Its agent.
    pub agent_id: Option<String>,
    /// Its workload id.
    pub workload_id: Option<String>,
    /// Its trust domain.
    pub trust_domain: Option<String>,
    /// Its agent's capabilities.
    #[serde(deserialize_with = "super::nullable_vec")]
    pub capabilities: Vec<String>,
    /// Why it does not verify.
    pub reason: Option<String>,
}

#[derive(Serialize)]
struct VerifyBody<'a> {
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_domain_filter: Option<&'a str>,
}

/// The WIMSE API group; from [`AgentTrustClient::wimse`].
#[derive(Debug, Clone, Copy)]
pub struct Wimse<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Wimse<'_> {
    /// `POST /api/v1/agents/{agent_id}/challenge` (no body).
    pub async fn challenge(&self, agent_id: &str) -> Result<Challenge> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agents", agent_id, "challenge"]);
        t.json(Method::POST, url, None::<&()>).await
    }

    /// `POST /api/v1/wimse/token`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::wimse::WimseTokenRequest;
    /// let token = client.wimse().issue_token(&WimseTokenRequest::new("ag_1")).await?;
    /// let answer = reqwest::Client::new()
    ///     .get("https://billing.internal/api")
    ///     .headers(token.downstream_headers()?)
    ///     .send()
    ///     .await;
    /// # let _ = answer; Ok(()) }
    /// ```
    pub async fn issue_token(&self, request: &WimseTokenRequest) -> Result<WimseToken> {
        let t = self.client.transport();
        t.json(
            Method::POST,
            t.url(&["api", "v1", "wimse", "token"]),
            Some(request),
        )
        .await
    }

    /// `POST /api/v1/wimse/verify`.
    pub async fn verify(
        &self,
        token: &str,
        trust_domain_filter: Option<&str>,
    ) -> Result<WimseVerification> {
        let t = self.client.transport();
        let body = VerifyBody {
            token,
            trust_domain_filter,
        };
        t.json(
            Method::POST,
            t.url(&["api", "v1", "wimse", "verify"]),
            Some(&body),
        )
        .await
    }

    /// A token bound to the agent's key: asks a challenge, signs it with
    /// `key` (the private half of the `public_key` the agent was registered
    /// with) and sends the proof (feature `wimse`).
    ///
    /// # Errors
    /// As [`challenge`](Self::challenge) and [`issue_token`](Self::issue_token);
    /// `AUTH_FAILED` when the gateway refuses the proof.
    #[cfg(feature = "wimse")]
    pub async fn issue_token_with_proof(
        &self,
        request: &WimseTokenRequest,
        key: &crate::AgentKey,
    ) -> Result<WimseToken> {
        let challenge = self.challenge(&request.agent_id).await?;
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let proof = key.sign_proof(&challenge.nonce, &request.agent_id, &request.audience, ts);
        self.issue_token(&request.clone().proof(proof)).await
    }
}
