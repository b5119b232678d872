//! The MCP server registry (`/mcp/servers`) and the AgentTrust MCP proxy
//! (`POST /mcp/{server_id}`, PROTOCOL.md §14). A JSON-RPC `error` from the
//! proxy is `AgentTrustError::Rpc` (`code()` `MCP_ERROR_<code>`), never a
//! result (the official SDKs return it as one).

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};

/// A registered MCP server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct McpServer {
    /// Its id.
    #[serde(deserialize_with = "super::nullable_string")]
    pub id: String,
    /// Its name.
    #[serde(deserialize_with = "super::nullable_string")]
    pub name: String,
    /// Its endpoint.
    #[serde(deserialize_with = "super::nullable_string")]
    pub url: String,
    /// Its tools or capabilities.
    #[serde(deserialize_with = "super::nullable_vec")]
    pub capabilities: Vec<String>,
    /// Its organization.
    pub org_id: Option<String>,
    /// Registered at.
    pub created_at: Option<String>,
}

struct ServerList(Vec<McpServer>);

impl<'de> Deserialize<'de> for ServerList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        super::list_wrapped_or_bare::<D, McpServer>(d, "servers").map(ServerList)
    }
}

#[derive(Serialize)]
struct RegisterBody<'a> {
    name: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    capabilities: &'a [String],
}

/// The MCP API group; from [`AgentTrustClient::mcp`].
#[derive(Debug, Clone, Copy)]
pub struct Mcp<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Mcp<'_> {
    /// `POST /mcp/servers`.
    pub async fn register_server(
        &self,
        name: &str,
        url: &str,
        capabilities: &[String],
    ) -> Result<McpServer> {
        let t = self.client.transport();
        let body = RegisterBody {
            name,
            url,
            capabilities,
        };
        t.json(Method::POST, t.url(&["mcp", "servers"]), Some(&body))
            .await
    }

    /// `GET /mcp/servers`.
    pub async fn list_servers(&self) -> Result<Vec<McpServer>> {
        let t = self.client.transport();
        let list: ServerList = t
            .json(Method::GET, t.url(&["mcp", "servers"]), None::<&()>)
            .await?;
        Ok(list.0)
    }

    /// `GET /mcp/servers/{server_id}`.
    pub async fn get_server(&self, server_id: &str) -> Result<McpServer> {
        let t = self.client.transport();
        t.json(
            Method::GET,
            t.url(&["mcp", "servers", server_id]),
            None::<&()>,
        )
        .await
    }

    /// `DELETE /mcp/servers/{server_id}`.
    pub async fn remove_server(&self, server_id: &str) -> Result<()> {
        let t = self.client.transport();
        t.unit(
            Method::DELETE,
            t.url(&["mcp", "servers", server_id]),
            None::<&()>,
        )
        .await
    }

    /// `POST /mcp/{server_id}`: one JSON-RPC request through the proxy as
    /// `agent_id` (`X-Agent-ID`), in `session_id` when given
    /// (`X-Session-ID`); the `result`, or the `error` as
    /// `AgentTrustError::Rpc`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// let params = serde_json::json!({"name": "read_file", "arguments": {"path": "a.txt"}});
    /// let result = client.mcp().call_tool("mcp_1", "ag_1", "tools/call", Some(params), None).await?;
    /// println!("{result}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `CONFIG_ERROR` for an empty `agent_id` (never sent); the proxy's
    /// JSON-RPC error (`MCP_ERROR_-32001` for a refusal, with the guide's
    /// code and any approval id in `data`); HTTP errors as usual.
    pub async fn call_tool(
        &self,
        server_id: &str,
        agent_id: &str,
        method: &str,
        params: Option<Value>,
        session_id: Option<&str>,
    ) -> Result<Value> {
        if agent_id.is_empty() {
            return Err(AgentTrustError::config(
                "the MCP proxy needs the calling agent's id",
            ));
        }
        let mut headers = vec![("X-Agent-ID", agent_id)];
        if let Some(session) = session_id.filter(|s| !s.is_empty()) {
            headers.push(("X-Session-ID", session));
        }
        let url = self.client.transport().url(&["mcp", server_id]);
        super::jsonrpc::call_with_headers(
            self.client,
            url,
            json!(1),
            method,
            params.as_ref(),
            "MCP",
            &headers,
        )
        .await
    }
}
