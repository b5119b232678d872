//! Delegations: `POST/GET /api/v1/delegations`, `GET/DELETE
//! /api/v1/delegations/{id}` and the delegated-session bridge
//! `POST /api/v1/delegations/{id}/session` (PROTOCOL.md §11).

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::sessions::Session;
use crate::client::AgentTrustClient;
use crate::error::Result;

/// A delegation to create: `from_agent_id` grants `scope` (a subset of its
/// capabilities, or of the parent delegation's scope) to `to_agent_id`.
///
/// ```
/// use agenttrust_runtime::api::delegations::CreateDelegationRequest;
/// let request = CreateDelegationRequest::new("ag_planner", "ag_worker", ["files:read"])
///     .ttl_seconds(600)
///     .restrictions(serde_json::json!({"paths": ["/srv/reports"]}));
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["scope"][0], "files:read");
/// assert!(body.get("parent_delegation_id").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateDelegationRequest {
    /// The granting agent.
    pub from_agent_id: String,
    /// The receiving agent.
    pub to_agent_id: String,
    /// What is delegated (capabilities or tool names).
    pub scope: Vec<String>,
    /// Lifetime in seconds (the gateway's default, an hour, when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// Free-form restrictions, for example `{"paths": [..]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<serde_json::Value>,
    /// The delegation this one re-delegates (a chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_delegation_id: Option<String>,
}

impl CreateDelegationRequest {
    /// A delegation of `scope` from one agent to another.
    pub fn new<I, S>(
        from_agent_id: impl Into<String>,
        to_agent_id: impl Into<String>,
        scope: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            from_agent_id: from_agent_id.into(),
            to_agent_id: to_agent_id.into(),
            scope: scope.into_iter().map(Into::into).collect(),
            ttl_seconds: None,
            restrictions: None,
            parent_delegation_id: None,
        }
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn ttl_seconds(mut self, ttl_seconds: u64) -> Self {
        self.ttl_seconds = Some(ttl_seconds);
        self
    }

    /// Sets the restrictions.
    #[must_use]
    pub fn restrictions(mut self, restrictions: serde_json::Value) -> Self {
        self.restrictions = Some(restrictions);
        self
    }

    /// Re-delegates `parent_delegation_id` (which must have been granted to
    /// `from_agent_id`).
    #[must_use]
    pub fn parent(mut self, parent_delegation_id: impl Into<String>) -> Self {
        self.parent_delegation_id = Some(parent_delegation_id.into());
        self
    }
}

/// A delegation as the gateway returns it (`{"delegation": {..}}` or bare).
///
/// ```
/// use agenttrust_runtime::api::delegations::Delegation;
/// let d: Delegation = serde_json::from_str(
///     r#"{"delegation": {"id": "del_1", "from_agent_id": "a", "to_agent_id": "b", "scope": ["x"]}}"#,
/// ).unwrap();
/// assert_eq!((d.id.as_str(), d.delegation_chain.len()), ("del_1", 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delegation {
    /// Its id.
    pub id: String,
    /// The granting agent.
    pub from_agent_id: String,
    /// The receiving agent.
    pub to_agent_id: String,
    /// The organization, when the gateway says.
    pub org_id: Option<String>,
    /// What is delegated.
    pub scope: Vec<String>,
    /// Free-form restrictions.
    pub restrictions: Option<serde_json::Value>,
    /// The parent delegation of a re-delegation.
    pub parent_delegation_id: Option<String>,
    /// The ancestor delegations' ids, root first.
    pub delegation_chain: Vec<String>,
    /// When it expires.
    pub expires_at: Option<String>,
    /// When it was created.
    pub created_at: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

#[derive(Deserialize)]
struct DelegationWire {
    #[serde(default, deserialize_with = "super::nullable_string")]
    id: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    from_agent_id: String,
    #[serde(default, deserialize_with = "super::nullable_string")]
    to_agent_id: String,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default, deserialize_with = "super::nullable_vec")]
    scope: Vec<String>,
    #[serde(default)]
    restrictions: Option<serde_json::Value>,
    #[serde(default)]
    parent_delegation_id: Option<String>,
    #[serde(default, deserialize_with = "super::nullable_vec")]
    delegation_chain: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    revoked_at: Option<String>,
}

impl<'de> Deserialize<'de> for Delegation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w: DelegationWire = super::wrapped_or_bare(d, "delegation")?;
        let present = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(Delegation {
            id: w.id,
            from_agent_id: w.from_agent_id,
            to_agent_id: w.to_agent_id,
            org_id: present(w.org_id),
            scope: w.scope,
            restrictions: w.restrictions.filter(|r| !r.is_null()),
            parent_delegation_id: present(w.parent_delegation_id),
            delegation_chain: w.delegation_chain,
            expires_at: present(w.expires_at),
            created_at: present(w.created_at),
            revoked_at: present(w.revoked_at),
        })
    }
}

struct DelegationList(Vec<Delegation>);

impl<'de> Deserialize<'de> for DelegationList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        super::list_wrapped_or_bare::<D, Delegation>(d, "delegations").map(DelegationList)
    }
}

/// The delegations API group; from [`AgentTrustClient::delegations`].
#[derive(Debug, Clone, Copy)]
pub struct Delegations<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Delegations<'_> {
    /// `POST /api/v1/delegations`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::delegations::CreateDelegationRequest;
    /// let request = CreateDelegationRequest::new("ag_planner", "ag_worker", ["files:read"]);
    /// let delegation = client.delegations().create(&request).await?;
    /// let session = client.delegations().init_session(&delegation.id).await?;
    /// println!("{} acts in {}", session.agent_id, session.session_id);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateDelegationRequest) -> Result<Delegation> {
        let t = self.client.transport();
        t.json(
            Method::POST,
            t.url(&["api", "v1", "delegations"]),
            Some(request),
        )
        .await
    }

    /// `GET /api/v1/delegations/{delegation_id}`.
    pub async fn get(&self, delegation_id: &str) -> Result<Delegation> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "delegations", delegation_id]);
        t.json(Method::GET, url, None::<&()>).await
    }

    /// `GET /api/v1/delegations`.
    pub async fn list(&self) -> Result<Vec<Delegation>> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "delegations"]);
        let list: DelegationList = t.json(Method::GET, url, None::<&()>).await?;
        Ok(list.0)
    }

    /// `DELETE /api/v1/delegations/{delegation_id}`: at once, and for every
    /// delegation re-delegated from it.
    pub async fn revoke(&self, delegation_id: &str) -> Result<()> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "delegations", delegation_id]);
        t.unit(Method::DELETE, url, None::<&()>).await
    }

    /// `POST /api/v1/delegations/{delegation_id}/session`: a session in
    /// which the receiving agent acts under the delegation.
    pub async fn init_session(&self, delegation_id: &str) -> Result<Session> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "delegations", delegation_id, "session"]);
        t.json(Method::POST, url, None::<&()>).await
    }
}
