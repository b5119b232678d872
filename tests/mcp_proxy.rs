//! The AgentTrust MCP proxy end to end: a real rmcp server on MCP's
//! streamable HTTP transport, registered with the local gateway; our client
//! calls its tools through `POST /mcp/{server_id}`, and only what the
//! Guardian allows reaches it.

mod common;

use std::sync::{Arc, Mutex};

use agenttrust_gateway::Policy;
use agenttrust_runtime::AgentTrustError;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde_json::{json, Value};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Text {
    text: String,
}

/// An upstream that records every tool it runs.
#[derive(Clone)]
struct Upstream {
    ran: Arc<Mutex<Vec<String>>>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Upstream {
    fn new(ran: Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            ran,
            tool_router: Self::tool_router(),
        }
    }

    /// Echoes its text.
    #[tool]
    async fn echo(&self, Parameters(args): Parameters<Text>) -> Result<CallToolResult, ErrorData> {
        self.ran.lock().unwrap().push("echo".into());
        Ok(CallToolResult::success(vec![ContentBlock::text(args.text)]))
    }

    /// Deletes everything.
    #[tool]
    async fn delete_everything(&self) -> Result<CallToolResult, ErrorData> {
        self.ran.lock().unwrap().push("delete_everything".into());
        Ok(CallToolResult::success(vec![ContentBlock::text("gone")]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Upstream {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

async fn upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let ran = Arc::new(Mutex::new(Vec::new()));
    let factory = ran.clone();
    let service = StreamableHttpService::new(
        move || Ok(Upstream::new(factory.clone())),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, ran)
}

fn rpc_error(error: AgentTrustError) -> (i64, String, Value) {
    match error {
        AgentTrustError::Rpc {
            rpc_code,
            code,
            data,
            ..
        } => (rpc_code, code, data.map(|d| *d).unwrap_or_default()),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_what_the_guardian_allows_reaches_the_upstream() {
    let world = common::World::new(Policy::default().deny_tool("wipe"), &[]).await;
    let (url, ran) = upstream().await;
    let mcp = world.client.mcp();
    let server = mcp
        .register_server("upstream", &url, &["echo".to_owned()])
        .await
        .unwrap();
    assert_eq!(mcp.get_server(&server.id).await.unwrap().url, url);
    assert_eq!(mcp.list_servers().await.unwrap().len(), 1);
    let agent = world.agent_id.clone();
    let call = |tool: &str, arguments: Value| json!({"name": tool, "arguments": arguments});

    let echoed = mcp
        .call_tool(
            &server.id,
            &agent,
            "tools/call",
            Some(call("echo", json!({"text": "hi"}))),
            Some("sess_proxy"),
        )
        .await
        .unwrap();
    assert_eq!(echoed["content"][0]["text"], "hi");
    assert_eq!(*ran.lock().unwrap(), ["echo"]);
    let checks = world.gateway.checks();
    assert_eq!(
        (
            checks[0].action_name.as_str(),
            checks[0].session_id.as_deref()
        ),
        ("echo", Some("sess_proxy"))
    );

    // Denied: a typed error, and the upstream ran nothing.
    let (code, name, data) = rpc_error(
        mcp.call_tool(
            &server.id,
            &agent,
            "tools/call",
            Some(call("wipe", json!({}))),
            None,
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        (code, name.as_str(), data["code"].clone()),
        (-32001, "MCP_ERROR_-32001", json!("ACTION_DENIED"))
    );
    // Destructive by its name: an approval, then the retry is forwarded.
    let (_, _, data) = rpc_error(
        mcp.call_tool(
            &server.id,
            &agent,
            "tools/call",
            Some(call("delete_everything", json!({}))),
            None,
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(data["code"], "ELEVATION_REQUIRED");
    assert_eq!(
        *ran.lock().unwrap(),
        ["echo"],
        "refused calls never reached the upstream"
    );
    world
        .client
        .approvals()
        .approve(data["approval_id"].as_str().unwrap(), "ops")
        .await
        .unwrap();
    let gone = mcp
        .call_tool(
            &server.id,
            &agent,
            "tools/call",
            Some(call("delete_everything", json!({}))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(gone["content"][0]["text"], "gone");
    assert_eq!(*ran.lock().unwrap(), ["echo", "delete_everything"]);

    // The upstream's own JSON-RPC error comes back typed, not as a result.
    let (code, _, _) = rpc_error(
        mcp.call_tool(
            &server.id,
            &agent,
            "tools/call",
            Some(call("no_such_tool", json!({}))),
            None,
        )
        .await
        .unwrap_err(),
    );
    assert!(code < 0, "{code}");
    // Only tools/call is proxied; the agent id is required.
    let (code, _, _) = rpc_error(
        mcp.call_tool(&server.id, &agent, "tools/list", None, None)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, -32601);
    assert_eq!(
        mcp.call_tool(&server.id, "", "tools/call", None, None)
            .await
            .unwrap_err()
            .code(),
        "CONFIG_ERROR"
    );
    let raw = reqwest::Client::new()
        .post(format!("{}/mcp/{}", world.gateway.url(), server.id))
        .header("X-API-Key", world.gateway.api_key())
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call("echo", json!({"text": "x"}))}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400, "no X-Agent-ID");
    assert_eq!(
        mcp.call_tool("mcp_nope", &agent, "tools/call", None, None)
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );

    // An unreachable upstream is an error, not a result.
    let dead = mcp
        .register_server("dead", "http://127.0.0.1:9/mcp", &[])
        .await
        .unwrap();
    let (code, _, _) = rpc_error(
        mcp.call_tool(
            &dead.id,
            &agent,
            "tools/call",
            Some(call("echo", json!({"text": "x"}))),
            None,
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, -32002);
    mcp.remove_server(&dead.id).await.unwrap();
    assert_eq!(
        mcp.get_server(&dead.id).await.unwrap_err().code(),
        "NOT_FOUND"
    );
    assert_eq!(
        mcp.register_server("tls", "https://upstream.example/mcp", &[])
            .await
            .unwrap_err()
            .code(),
        "VALIDATION_ERROR"
    );
}
