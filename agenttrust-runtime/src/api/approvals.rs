//! Approvals (elevation): `GET /mcp/approvals/{id}`, `POST .../approve|deny`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// An approval request created by an elevation-required check.
///
/// ```
/// use agenttrust_runtime::api::approvals::Approval;
/// let a: Approval = serde_json::from_str(r#"{"id":"apr_1","status":"pending","decided_by":null}"#).unwrap();
/// assert_eq!(a.decided_by, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Approval {
    /// The approval id.
    #[serde(deserialize_with = "super::nullable_string")]
    pub id: String,
    /// The session of the check.
    pub session_id: Option<String>,
    /// The agent of the check.
    pub agent_id: Option<String>,
    /// The organization.
    pub org_id: Option<String>,
    /// The checked tool.
    pub action_name: Option<String>,
    /// The checked effect.
    pub action_effect: Option<String>,
    /// The checked input summary.
    pub action_input_summary: Option<String>,
    /// `pending`, `approved`, `denied` or `expired`.
    #[serde(deserialize_with = "super::nullable_string")]
    pub status: String,
    /// Creation time.
    pub created_at: Option<String>,
    /// Expiry of a pending approval.
    pub expires_at: Option<String>,
    /// Who decided; `None` until decided.
    pub decided_by: Option<String>,
}

#[derive(Serialize)]
struct DecisionBody<'a> {
    decided_by: &'a str,
}

/// The approvals API group; from [`AgentTrustClient::approvals`].
#[derive(Debug, Clone, Copy)]
pub struct Approvals<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Approvals<'_> {
    /// `GET /mcp/approvals/{approval_id}`.
    pub async fn get(&self, approval_id: &str) -> Result<Approval> {
        let t = self.client.transport();
        let url = t.url(&["mcp", "approvals", approval_id]);
        t.json(Method::GET, url, None::<&()>).await
    }

    /// `POST /mcp/approvals/{approval_id}/approve`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// client.approvals().approve("apr_1", "admin@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn approve(&self, approval_id: &str, decided_by: &str) -> Result<()> {
        self.decide(approval_id, "approve", decided_by).await
    }

    /// `POST /mcp/approvals/{approval_id}/deny`.
    pub async fn deny(&self, approval_id: &str, decided_by: &str) -> Result<()> {
        self.decide(approval_id, "deny", decided_by).await
    }

    async fn decide(&self, approval_id: &str, verb: &str, decided_by: &str) -> Result<()> {
        let t = self.client.transport();
        let url = t.url(&["mcp", "approvals", approval_id, verb]);
        t.unit(Method::POST, url, Some(&DecisionBody { decided_by }))
            .await
    }
}
