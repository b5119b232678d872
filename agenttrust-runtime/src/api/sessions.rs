//! Sessions: `POST /mcp/sessions/init`, `GET /mcp/sessions/{id}` and the
//! API-token bridge `POST /api/v1/agenttrust/api-sessions/init`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// An AgentTrust session; every field but the ids is optional on the wire.
///
/// ```
/// use agenttrust_runtime::api::sessions::Session;
/// let s: Session = serde_json::from_str(r#"{"session_id":"s1","agent_id":"a1","source":"api"}"#).unwrap();
/// assert_eq!(s.org_id, "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// The session id.
    #[serde(deserialize_with = "super::nullable_string")]
    pub session_id: String,
    /// The agent it belongs to.
    #[serde(deserialize_with = "super::nullable_string")]
    pub agent_id: String,
    /// The organization (absent from API, delegated and federated sessions).
    #[serde(deserialize_with = "super::nullable_string")]
    pub org_id: String,
    /// `mcp`, `api`, `a2a` or `federation`.
    pub source: Option<String>,
    /// The MCP server of an MCP session.
    pub server_id: Option<String>,
    /// The delegation of a delegated session.
    pub delegation_id: Option<String>,
    /// The provider of a federated session.
    pub provider_id: Option<String>,
    /// The issuer of a federated session.
    pub issuer: Option<String>,
    /// The trust level of a federated session.
    pub trust_level: Option<String>,
    /// `open`, `restricted`, `supervised` (or others; an open string).
    pub mode: Option<String>,
    /// Actions allowed in this session.
    #[serde(deserialize_with = "super::nullable_vec")]
    pub allowed_actions: Vec<String>,
    /// With `restricted`, calls are limited to this ceiling.
    #[serde(deserialize_with = "super::nullable_vec")]
    pub scope_ceiling: Vec<String>,
    /// Calls checked in this session.
    pub total_calls: u64,
    /// Read calls.
    pub read_calls: u64,
    /// Write calls.
    pub write_calls: u64,
    /// Denied calls.
    pub denied_calls: u64,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last activity.
    pub last_activity_at: Option<String>,
}

#[derive(Serialize)]
struct InitBody<'a> {
    agent_id: &'a str,
    server_id: &'a str,
}

#[derive(Serialize)]
struct ApiInitBody<'a> {
    token: &'a str,
}

/// The sessions API group; from [`AgentTrustClient::sessions`].
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Sessions<'_> {
    /// `POST /mcp/sessions/init`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// let session = client.sessions().init_session("ag_1", "files").await?;
    /// println!("{}", session.session_id);
    /// # Ok(()) }
    /// ```
    pub async fn init_session(&self, agent_id: &str, server_id: &str) -> Result<Session> {
        let t = self.client.transport();
        let url = t.url(&["mcp", "sessions", "init"]);
        t.json(
            Method::POST,
            url,
            Some(&InitBody {
                agent_id,
                server_id,
            }),
        )
        .await
    }

    /// `GET /mcp/sessions/{session_id}`.
    pub async fn get_session(&self, session_id: &str) -> Result<Session> {
        let t = self.client.transport();
        let url = t.url(&["mcp", "sessions", session_id]);
        t.json(Method::GET, url, None::<&()>).await
    }

    /// `POST /api/v1/agenttrust/api-sessions/init`: turns an issued agent
    /// token into a session (missing from the official Rust SDK).
    pub async fn init_api_session(&self, token: &str) -> Result<Session> {
        let t = self.client.transport();
        let url = t.url(&["api", "v1", "agenttrust", "api-sessions", "init"]);
        t.json(Method::POST, url, Some(&ApiInitBody { token }))
            .await
    }
}
