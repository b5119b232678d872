//! `cargo build --examples && cargo run --example mcp_client`
//!
//! The agent's side of MCP: this program starts the `mcp_server` example as
//! a child process, speaks MCP to it over stdio through rmcp, and calls its
//! tools through [`GuardedClient`], so the Guardian checks each call before
//! it leaves the agent, with the effect the server's `tools/list`
//! annotations declare.
//!
//! With nothing configured it starts an embedded local gateway (with
//! `AGENTTRUST_URL` and `AGENTTRUST_API_KEY` set, it uses that one), and
//! hands the server the same gateway and agent: the server guards its tools
//! too, and one approval then covers the agent's check and the server's (an
//! approval covers the same agent and tool within the elevation window).
//! `cargo run --example mcp_client -- <path to mcp_server>` picks the
//! server binary; by default it is the one next to this example.

use std::path::PathBuf;
use std::time::Duration;

use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::rmcp::GuardedClient;
use agenttrust_runtime::{AgentTrustClient, AgentTrustError, Runtime};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::TokioChildProcess;
use rmcp::ServiceExt;
use serde_json::json;

fn call(name: &'static str, args: serde_json::Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(args.as_object().cloned().unwrap_or_default())
}

/// The first text block of a tool result.
fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}

/// The server binary: the first argument, else `mcp_server` next to this
/// example.
fn server_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::args_os().nth(1) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(format!("mcp_server{}", std::env::consts::EXE_SUFFIX));
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it first (`cargo build --example mcp_server`) or pass its path",
            path.display()
        ))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = server_binary()?;
    let (url, key, embedded) = agenttrust::example_gateway().await?;
    println!(
        "gateway: {url}{}",
        if embedded.is_some() {
            " (embedded)"
        } else {
            ""
        }
    );
    let client = AgentTrustClient::builder()
        .base_url(&url)
        .api_key(&key)
        .build()?;
    let agent = client
        .agents()
        .create(&CreateAgentRequest::new(format!(
            "mcp-client-{}",
            std::process::id()
        )))
        .await?;
    let runtime = Runtime::builder(client.clone(), agent.id.clone()).build();

    // The server: a child speaking MCP on its stdin and stdout, checking
    // its own tools with the same gateway and agent.
    // Its files go to a scratch folder, removed when this ends.
    let sandbox = tempfile::Builder::new()
        .prefix("agenttrust-mcp-client-")
        .tempdir()?;
    let mut command = tokio::process::Command::new(&server);
    command
        .arg(sandbox.path())
        .env("AGENTTRUST_URL", &url)
        .env("AGENTTRUST_API_KEY", &key)
        .env("AGENTTRUST_AGENT_ID", &agent.id)
        .env_remove("AGENTTRUST_SESSION_ID");
    let service = ().serve(TokioChildProcess::new(command)?).await?;
    println!("server:  {} (over stdio)\n", server.display());

    let files = GuardedClient::builder(service.peer().clone(), runtime.guard().clone()).build();
    println!("tools, with the effect each is checked with:");
    for tool in files.list_tools().await? {
        let effect = files.effect_of(&tool.name).map_or("?", |e| e.as_str());
        println!("  {:<12} {effect}", tool.name);
    }
    println!();

    let wrote = files
        .call_tool(call(
            "write_file",
            json!({"path": "notes.txt", "contents": "hello"}),
        ))
        .await?;
    println!("write_file(notes.txt)  -> {}", text_of(&wrote));
    let read = files
        .call_tool(call("read_file", json!({"path": "notes.txt"})))
        .await?;
    println!("read_file(notes.txt)   -> {}", text_of(&read));

    // Destructive: refused until a person approves. Here the program
    // approves, standing in for the person (the gateway's /ui page or
    // `agenttrust-gateway approvals approve ID`).
    let delete = || files.call_tool(call("delete_file", json!({"path": "notes.txt"})));
    match delete().await {
        Err(e) => match e.refusal() {
            Some(AgentTrustError::ElevationRequired { approval_id, .. }) => {
                println!("delete_file(notes.txt) -> needs approval {approval_id} (the server saw nothing)");
                client
                    .approvals()
                    .approve(approval_id, "ops@example.com")
                    .await?;
                println!("                          approved by ops@example.com");
                println!("delete_file(notes.txt) -> {}", text_of(&delete().await?));
            }
            _ => return Err(e.into()),
        },
        Ok(result) => println!("delete_file(notes.txt) -> {}", text_of(&result)),
    }

    let flushed = runtime.flush(Duration::from_secs(5)).await;
    println!("\ntelemetry: {flushed:?}");
    if let Ok(events) = agenttrust::gateway_events(&url, &key, Some(runtime.session_id())).await {
        for e in events {
            println!(
                "  {:<11} success={}",
                e["tool_name"].as_str().unwrap_or("?"),
                e["success"]
            );
        }
    }
    service.cancel().await?;
    if let Some(gateway) = embedded {
        gateway.shutdown().await?;
    }
    Ok(())
}
