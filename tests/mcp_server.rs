//! The guarded rmcp server of `examples/mcp_server.rs`, driven by a real
//! rmcp client over an in-process duplex, against the local gateway.

#[path = "../examples/mcp_server.rs"]
#[allow(dead_code)]
mod mcp_server;

mod common;

use std::time::{Duration, Instant};

use agenttrust_gateway::Policy;
use agenttrust_runtime::rmcp::WithRuntime;
use mcp_server::FileServer;
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

/// The same tools, signatures and docs without `#[guarded]`: what
/// `tools/list` must publish for the guarded server too.
mod plain {
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::handler::server::wrapper::Parameters;
    use rmcp::model::{CallToolResult, ServerCapabilities, ServerConfig};
    use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler};

    use super::mcp_server::{PathArgs, WriteArgs};

    #[derive(Debug, Clone)]
    pub struct PlainFileServer {
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl PlainFileServer {
        pub fn new() -> Self {
            Self {
                tool_router: Self::tool_router(),
            }
        }

        /// Read a text file from the sandbox.
        #[tool]
        async fn read_file(
            &self,
            Parameters(_args): Parameters<PathArgs>,
        ) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![]))
        }

        /// Write a text file into the sandbox, replacing it if it exists.
        #[tool]
        async fn write_file(
            &self,
            Parameters(_args): Parameters<WriteArgs>,
        ) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![]))
        }

        /// Delete a file from the sandbox. Needs a human's approval.
        #[tool]
        async fn delete_file(
            &self,
            Parameters(_args): Parameters<PathArgs>,
        ) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![]))
        }

        /// List the files in the sandbox.
        #[tool]
        fn list_files(&self) -> Result<CallToolResult, ErrorData> {
            Ok(CallToolResult::success(vec![]))
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for PlainFileServer {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }
}

/// One tool per effect and per way of writing the attributes, for what
/// `tools/list` publishes.
mod annotated {
    use agenttrust_runtime::guarded;
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::model::{CallToolResult, ServerCapabilities, ServerConfig};
    use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler};

    type Answer = Result<CallToolResult, ErrorData>;

    fn done() -> Answer {
        Ok(CallToolResult::success(vec![]))
    }

    #[derive(Debug, Clone)]
    pub struct Annotated {
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl Annotated {
        pub fn new() -> Self {
            Self {
                tool_router: Self::tool_router(),
            }
        }

        /// Reads.
        #[guarded(effect = "read")]
        #[tool]
        async fn reads(&self) -> Answer {
            done()
        }

        /// Changes.
        #[guarded(effect = "mutating")]
        #[tool]
        async fn changes(&self) -> Answer {
            done()
        }

        /// Destroys.
        #[guarded(effect = "destructive")]
        #[tool]
        fn destroys(&self) -> Answer {
            done()
        }

        /// Administers.
        #[guarded(effect = "admin")]
        #[rmcp::tool]
        async fn administers(&self) -> Answer {
            done()
        }

        /// Its own name, title and hints.
        #[guarded(effect = "destructive")]
        #[tool(
            name = "wipe",
            annotations(
                title = "Wipe",
                destructive_hint = true,
                idempotent_hint = true,
                open_world_hint = false
            )
        )]
        async fn wipe_everything(&self) -> Answer {
            done()
        }

        /// A doc comment
        /// of two lines.
        #[guarded(effect = "read")]
        #[tool]
        #[allow(clippy::unused_async)]
        async fn documented(&self) -> Answer {
            done()
        }

        /// Not guarded.
        #[tool]
        async fn plain(&self) -> Answer {
            done()
        }

        #[tool(description = "Guarded below `#[tool]`.")]
        #[guarded(effect = "destructive")]
        async fn below(&self) -> Answer {
            done()
        }

        /// Opted out.
        #[guarded(effect = "destructive", mcp_annotations = false)]
        #[tool]
        async fn opted_out(&self) -> Answer {
            done()
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for Annotated {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }
}

async fn connect<S: rmcp::ServerHandler>(server: S) -> RunningService<RoleClient, ()> {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client connects")
}

/// A new, empty folder for a file server, removed when dropped.
fn sandbox(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("agenttrust-mcp-{name}-"))
        .tempdir()
        .unwrap()
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

/// Name, description and input schema: what a model sees of a tool.
fn published(tools: &[Tool]) -> Vec<Value> {
    let mut tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
        .collect();
    tools.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    tools
}

#[tokio::test]
async fn tools_list_is_the_same_with_and_without_guarded() {
    let sandbox_dir = sandbox("list");
    let guarded = connect(FileServer::new(sandbox_dir.path())).await;
    let plain = connect(plain::PlainFileServer::new()).await;
    let guarded_tools = published(&guarded.list_all_tools().await.unwrap());
    let plain_tools = published(&plain.list_all_tools().await.unwrap());
    assert_eq!(guarded_tools.len(), 4);
    assert_eq!(guarded_tools, plain_tools);
    assert!(
        guarded_tools[0]["input_schema"]["properties"]["path"].is_object(),
        "{}",
        guarded_tools[0]
    );
}

#[tokio::test]
async fn tools_list_carries_the_annotations_of_each_effect() {
    let client = connect(annotated::Annotated::new()).await;
    let tools = client.list_all_tools().await.unwrap();
    let listed: std::collections::BTreeMap<String, (Value, Value)> = tools
        .iter()
        .map(|t| {
            let t = serde_json::to_value(t).unwrap();
            let name = t["name"].as_str().unwrap().to_owned();
            (name, (t["annotations"].clone(), t["description"].clone()))
        })
        .collect();
    let expected = [
        ("reads", json!({"readOnlyHint": true}), json!("Reads.")),
        (
            "changes",
            json!({"readOnlyHint": false, "destructiveHint": false}),
            json!("Changes."),
        ),
        (
            "destroys",
            json!({"readOnlyHint": false, "destructiveHint": true}),
            json!("Destroys."),
        ),
        (
            "administers",
            json!({"readOnlyHint": false, "destructiveHint": true}),
            json!("Administers."),
        ),
        (
            "wipe",
            json!({"title": "Wipe", "readOnlyHint": false, "destructiveHint": true,
                   "idempotentHint": true, "openWorldHint": false}),
            json!("Its own name, title and hints."),
        ),
        (
            "documented",
            json!({"readOnlyHint": true}),
            json!("A doc comment\nof two lines."),
        ),
        ("plain", Value::Null, json!("Not guarded.")),
        ("below", Value::Null, json!("Guarded below `#[tool]`.")),
        ("opted_out", Value::Null, json!("Opted out.")),
    ];
    assert_eq!(listed.len(), expected.len(), "{listed:?}");
    for (name, annotations, description) in expected {
        let (got_annotations, got_description) = &listed[name];
        assert_eq!(got_annotations, &annotations, "{name}");
        assert_eq!(got_description, &description, "{name}");
    }
}

#[tokio::test]
async fn the_guard_checks_the_name_mcp_clients_call() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = connect(WithRuntime::new(
        annotated::Annotated::new(),
        world.runtime(),
    ))
    .await;
    let refused = client.call_tool(call("wipe", json!({}))).await.unwrap_err();
    assert!(
        refused.to_string().contains("requires approval"),
        "{refused}"
    );
    let checks = world.gateway.checks();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].action_name, "wipe");
    assert_eq!(checks[0].action_effect.as_deref(), Some("destructive"));
    let entry = agenttrust_runtime::tools()
        .into_iter()
        .find(|t| t.function == "wipe_everything")
        .expect("in the manifest");
    assert_eq!((entry.name, entry.effect), ("wipe", Some("destructive")));
}

#[tokio::test]
async fn the_example_server_publishes_its_effects() {
    let sandbox_dir = sandbox("annotations");
    let client = connect(FileServer::new(sandbox_dir.path())).await;
    let mut hints: Vec<(String, Value)> = client
        .list_all_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                serde_json::to_value(&t.annotations).unwrap(),
            )
        })
        .collect();
    hints.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        hints,
        [
            (
                "delete_file".to_owned(),
                json!({"readOnlyHint": false, "destructiveHint": true})
            ),
            ("list_files".to_owned(), json!({"readOnlyHint": true})),
            ("read_file".to_owned(), json!({"readOnlyHint": true})),
            (
                "write_file".to_owned(),
                json!({"readOnlyHint": false, "destructiveHint": false})
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_calls_work_destructive_needs_approval_and_telemetry_arrives() {
    let world = common::World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    let dir = sandbox("flow");
    let client = connect(WithRuntime::new(FileServer::new(dir.path()), rt.clone())).await;

    let wrote = client
        .call_tool(call(
            "write_file",
            json!({"path": "a.txt", "contents": "hello"}),
        ))
        .await
        .unwrap();
    assert_eq!(wrote.is_error, Some(false), "{wrote:?}");
    let read = client
        .call_tool(call("read_file", json!({"path": "a.txt"})))
        .await
        .unwrap();
    assert_eq!(text_of(&read), "hello");
    let listed = client
        .call_tool(call("list_files", json!({})))
        .await
        .unwrap();
    assert_eq!(text_of(&listed), "a.txt");

    let refused = client
        .call_tool(call("delete_file", json!({"path": "a.txt"})))
        .await
        .unwrap();
    assert_eq!(
        refused.is_error,
        Some(true),
        "a tool error the model can read, not a protocol error"
    );
    assert!(
        text_of(&refused).contains("approve"),
        "{}",
        text_of(&refused)
    );
    let structured = refused.structured_content.clone().unwrap();
    assert_eq!(structured["code"], "ELEVATION_REQUIRED");
    let approval_id = structured["approval_id"].as_str().unwrap().to_owned();
    assert!(dir.path().join("a.txt").exists(), "the body did not run");

    world
        .client
        .approvals()
        .approve(&approval_id, "ops@example.com")
        .await
        .unwrap();
    let deleted = client
        .call_tool(call("delete_file", json!({"path": "a.txt"})))
        .await
        .unwrap();
    assert_eq!(text_of(&deleted), "deleted a.txt");
    assert!(!dir.path().join("a.txt").exists());

    assert!(rt.flush(Duration::from_secs(10)).await.is_delivered());
    let events = world.events(rt.session_id()).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["tool_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["write_file", "read_file", "list_files", "delete_file"]
    );
    let checks = world
        .client
        .sessions()
        .get_session(rt.session_id())
        .await
        .unwrap();
    assert_eq!(
        checks.total_calls, 5,
        "four allowed calls and one elevation"
    );
}

#[tokio::test]
async fn a_read_denial_is_a_protocol_error_by_default() {
    let world = common::World::new(Policy::default().deny_tool("read_file"), &[]).await;
    let rt = world.runtime();
    let sandbox_dir = sandbox("deny");
    let client = connect(WithRuntime::new(
        FileServer::new(sandbox_dir.path()),
        rt.clone(),
    ))
    .await;
    let err = client
        .call_tool(call("read_file", json!({"path": "a.txt"})))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("deny list"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_sync_tool_with_a_slow_check_does_not_stall_the_server_worker() {
    let world = common::World::new(
        Policy::default().check_latency(Duration::from_millis(400)),
        &[],
    )
    .await;
    let rt = world.runtime();
    let sandbox_dir = sandbox("sync");
    let client = std::sync::Arc::new(
        connect(WithRuntime::new(
            FileServer::new(sandbox_dir.path()),
            rt.clone(),
        ))
        .await,
    );
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.call_tool(call("list_files", json!({}))).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // With one runtime worker, a blocked sync tool would hold this ping too.
    let started = Instant::now();
    let tools = client.list_all_tools().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(tools.len(), 4);
    assert!(
        waited < Duration::from_millis(300),
        "tools/list waited {waited:?} behind a sync tool's check"
    );
    assert!(slow.await.unwrap().is_ok());
}
