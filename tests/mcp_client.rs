//! `GuardedClient`: an agent's calls to an external MCP server (the
//! `mcp_server` example, in process, behind a recorder of every request it
//! receives), checked by the local gateway's Guardian first.

#[path = "../examples/mcp_server.rs"]
#[allow(dead_code)]
mod mcp_server;

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenttrust_gateway::{Gateway, GatewayHandle, Policy, Rule};
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::rmcp::{GuardedClient, GuardedClientBuilder, McpCallError, WithRuntime};
use agenttrust_runtime::{AgentTrustError, Effect, Runtime};
use mcp_server::FileServer;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ErrorData, RoleClient, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value};

/// A server handler that records the name of every `tools/call` it gets.
#[derive(Clone)]
struct Recording<S> {
    inner: S,
    calls: Arc<Mutex<Vec<String>>>,
}

impl<S: ServerHandler> ServerHandler for Recording<S> {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        self.inner.get_info()
    }

    async fn list_tools(
        &self,
        request: Option<rmcp::model::PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        self.inner.list_tools(request, context).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        self.calls.lock().unwrap().push(request.name.to_string());
        self.inner.call_tool(request, context).await
    }
}

/// The agent's side (a gateway with `policy`, the agent's runtime) and the
/// server's (its own gateway that allows everything, so the only checks
/// that decide anything here are the client's).
struct Setup {
    world: common::World,
    runtime: Runtime,
    client: GuardedClient,
    calls: Arc<Mutex<Vec<String>>>,
    /// The file server's folder, removed on drop.
    dir: tempfile::TempDir,
    _server_gateway: GatewayHandle,
    _service: RunningService<RoleClient, ()>,
}

impl Setup {
    async fn new(
        name: &str,
        policy: Policy,
        configure: impl FnOnce(GuardedClientBuilder) -> GuardedClientBuilder,
    ) -> Setup {
        let world = common::World::new(policy, &[]).await;
        let server_gateway = Gateway::builder()
            .default_rule(Rule::allow())
            .spawn()
            .await
            .unwrap();
        let server_client = common::client(server_gateway.url(), server_gateway.api_key());
        let server_agent = server_client
            .agents()
            .create(&CreateAgentRequest::new("file-server"))
            .await
            .unwrap();
        let server_runtime = Runtime::builder(server_client, server_agent.id).build();
        let dir = tempfile::Builder::new()
            .prefix(&format!("agenttrust-mcp-client-{name}-"))
            .tempdir()
            .unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let server = Recording {
            inner: WithRuntime::new(FileServer::new(dir.path()), server_runtime),
            calls: calls.clone(),
        };
        let (server_io, client_io) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        let service = ().serve(client_io).await.expect("client connects");
        let runtime = world.runtime();
        let builder = GuardedClient::builder(service.peer().clone(), runtime.guard().clone())
            .server_name("files");
        Setup {
            client: configure(builder).build(),
            world,
            runtime,
            calls,
            dir,
            _server_gateway: server_gateway,
            _service: service,
        }
    }

    /// The names `list_tools` returns, sorted.
    async fn listed(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .client
            .list_tools()
            .await
            .unwrap()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        names
    }

    /// What the server received.
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// `(tool, effect)` of every check the agent's gateway answered.
    fn checks(&self) -> Vec<(String, Option<String>)> {
        self.world
            .gateway
            .checks()
            .into_iter()
            .map(|c| (c.action_name, c.action_effect))
            .collect()
    }

    /// `(tool, success, error_type)` of the agent's reports, once delivered.
    async fn reports(&self) -> Vec<(String, bool, Option<String>)> {
        assert!(self
            .runtime
            .flush(Duration::from_secs(10))
            .await
            .is_delivered());
        self.world
            .events(self.runtime.session_id())
            .await
            .iter()
            .map(|e| {
                (
                    e["tool_name"].as_str().unwrap().to_owned(),
                    e["success"].as_bool().unwrap(),
                    e["error_type"].as_str().map(str::to_owned),
                )
            })
            .collect()
    }
}

fn call(name: &'static str, args: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(args.as_object().cloned().unwrap_or_default())
}

fn text_of(result: &CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn check(tool: &str, effect: &str) -> (String, Option<String>) {
    (tool.to_owned(), Some(effect.to_owned()))
}

#[tokio::test]
async fn an_allowed_call_is_checked_with_the_annotated_effect_and_forwarded_once() {
    let setup = Setup::new("allowed", Policy::default(), |b| b).await;
    let wrote = setup
        .client
        .call_tool_with_summary(
            call("write_file", json!({"path": "a.txt", "contents": "hi"})),
            "a.txt",
        )
        .await
        .unwrap();
    assert_eq!(wrote.is_error, Some(false), "{wrote:?}");
    let read = setup
        .client
        .call_tool(call("read_file", json!({"path": "a.txt"})))
        .await
        .unwrap();
    assert_eq!(text_of(&read), "hi");

    assert_eq!(setup.calls(), ["write_file", "read_file"]);
    assert_eq!(
        setup.checks(),
        [
            check("files.write_file", "mutating"),
            check("files.read_file", "read")
        ]
    );
    let summaries: Vec<Option<String>> = setup
        .world
        .gateway
        .checks()
        .into_iter()
        .map(|c| c.summary)
        .collect();
    assert_eq!(summaries, [Some("a.txt".to_owned()), None]);
    assert_eq!(
        setup.reports().await,
        [
            ("files.write_file".to_owned(), true, None),
            ("files.read_file".to_owned(), true, None)
        ]
    );
    assert_eq!(
        setup.client.effect_of("delete_file"),
        Some(Effect::Destructive)
    );
    assert_eq!(setup.client.effect_of("list_files"), Some(Effect::Read));
}

#[tokio::test]
async fn a_denied_call_never_reaches_the_server() {
    let policy = Policy::default().deny_tool("files.write_file");
    let setup = Setup::new("denied", policy, |b| b).await;
    let refused = setup
        .client
        .call_tool(call(
            "write_file",
            json!({"path": "a.txt", "contents": "x"}),
        ))
        .await
        .unwrap_err();
    match refused.refusal() {
        Some(AgentTrustError::ActionDenied { message, .. }) => {
            assert!(message.contains("deny list"), "{message}");
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    assert!(
        setup.calls().is_empty(),
        "the server saw {:?}",
        setup.calls()
    );
    assert!(!setup.dir.path().join("a.txt").exists());
    assert!(
        setup.reports().await.is_empty(),
        "a refused call reports nothing"
    );
}

#[tokio::test]
async fn a_denial_can_come_back_as_a_tool_result_the_model_reads() {
    let policy = Policy::default().deny_tool("files.write_file");
    let setup = Setup::new("as-result", policy, |b| b.denials_as_tool_results(true)).await;
    let result = setup
        .client
        .call_tool(call(
            "write_file",
            json!({"path": "a.txt", "contents": "x"}),
        ))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(text_of(&result).contains("denied"), "{}", text_of(&result));
    assert_eq!(result.structured_content.unwrap()["code"], "ACTION_DENIED");
    assert!(setup.calls().is_empty());
}

#[tokio::test]
async fn the_guardian_down_fails_closed_and_the_server_sees_nothing() {
    let setup = Setup::new("down", Policy::default(), |b| {
        b.denials_as_tool_results(true)
    })
    .await;
    setup
        .world
        .gateway
        .set_rule("files.read_file", Rule::unavailable());
    let refused = setup
        .client
        .call_tool(call("read_file", json!({"path": "a.txt"})))
        .await
        .unwrap_err();
    assert!(
        refused
            .refusal()
            .is_some_and(AgentTrustError::is_unavailable),
        "{refused:?}: an outage is an error, never a tool result or a forwarded call"
    );
    assert!(setup.calls().is_empty());
}

#[tokio::test]
async fn an_elevation_is_approved_and_the_retry_is_forwarded() {
    let setup = Setup::new("elevation", Policy::default(), |b| b).await;
    std::fs::write(setup.dir.path().join("old.txt"), "x").unwrap();
    let refused = setup
        .client
        .call_tool(call("delete_file", json!({"path": "old.txt"})))
        .await
        .unwrap_err();
    let Some(AgentTrustError::ElevationRequired { approval_id, .. }) = refused.refusal() else {
        panic!("expected an elevation, got {refused:?}");
    };
    assert!(setup.calls().is_empty());
    setup
        .world
        .client
        .approvals()
        .approve(approval_id, "ops@example.com")
        .await
        .unwrap();
    let deleted = setup
        .client
        .call_tool(call("delete_file", json!({"path": "old.txt"})))
        .await
        .unwrap();
    assert_eq!(text_of(&deleted), "deleted old.txt");
    assert_eq!(setup.calls(), ["delete_file"]);
    assert!(!setup.dir.path().join("old.txt").exists());
    assert_eq!(
        setup.checks(),
        [
            check("files.delete_file", "destructive"),
            check("files.delete_file", "destructive")
        ]
    );
}

#[tokio::test]
async fn server_side_errors_are_reported_as_failures() {
    let setup = Setup::new("errors", Policy::default(), |b| b).await;
    let missing = setup
        .client
        .call_tool(call("read_file", json!({"path": "missing.txt"})))
        .await
        .unwrap();
    assert_eq!(missing.is_error, Some(true));
    let unknown = setup
        .client
        .call_tool(call("format_disk", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(unknown, McpCallError::Mcp(_)), "{unknown:?}");
    assert_eq!(setup.calls(), ["read_file", "format_disk"]);
    assert_eq!(
        setup.checks(),
        [
            check("files.read_file", "read"),
            // Not listed by the server: the unannotated effect.
            check("files.format_disk", "mutating")
        ]
    );
    assert_eq!(
        setup.reports().await,
        [
            (
                "files.read_file".to_owned(),
                false,
                Some("rmcp::CallToolResult(is_error)".to_owned())
            ),
            (
                "files.format_disk".to_owned(),
                false,
                Some("rmcp::ErrorData".to_owned())
            )
        ]
    );
}

#[tokio::test]
async fn a_users_effect_overrides_the_servers_annotations() {
    let setup = Setup::new("override", Policy::default(), |b| {
        b.effect("write_file", Effect::Destructive)
            .unannotated_effect(Effect::Destructive)
    })
    .await;
    let refused = setup
        .client
        .call_tool(call(
            "write_file",
            json!({"path": "a.txt", "contents": "x"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        refused.refusal().map(AgentTrustError::code),
        Some("ELEVATION_REQUIRED")
    );
    let refused = setup
        .client
        .call_tool(call("format_disk", json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        refused.refusal().map(AgentTrustError::code),
        Some("ELEVATION_REQUIRED")
    );
    assert!(setup.calls().is_empty());
    assert_eq!(
        setup.checks(),
        [
            check("files.write_file", "destructive"),
            check("files.format_disk", "destructive")
        ]
    );
}

#[tokio::test]
async fn list_tools_can_hide_what_the_guardian_denies() {
    let policy = Policy::default().deny_tool("files.write_file");
    let all = Setup::new("list-all", policy.clone(), |b| b).await;
    let names = all.listed().await;
    assert_eq!(
        names,
        ["delete_file", "list_files", "read_file", "write_file"]
    );
    assert!(all.checks().is_empty(), "a plain listing checks nothing");

    let filtered = Setup::new("list-allowed", policy, |b| b.hide_denied_tools(true)).await;
    let names = filtered.listed().await;
    // delete_file needs an approval: still listed, since it can run once approved.
    assert_eq!(names, ["delete_file", "list_files", "read_file"]);
    assert!(filtered.calls().is_empty());
}
