//! An MCP server (rmcp) whose file tools are guarded by AgentTrust ID.
//!
//! `cargo run --example mcp_server -- <sandbox folder>` serves over stdio.
//! With `AGENTTRUST_URL`, `AGENTTRUST_API_KEY` and `AGENTTRUST_AGENT_ID` set
//! it checks against that gateway; with none of them set it starts an
//! embedded local gateway, registers an agent, and says so on stderr and in
//! the server's MCP instructions; a partial configuration is an error
//! (logging goes to stderr: stdout is MCP's).
//!
//! `#[guarded]` goes above `#[tool]`: it then fills in the MCP annotations
//! `tools/list` publishes from the effect (`read` → `readOnlyHint`,
//! `destructive` → `destructiveHint`) and keeps the doc comment as the
//! description. The tool's name and input schema are what `#[tool]` makes of
//! the signature. (Below `#[tool]` it guards the call the same way, but
//! publishes no annotations: `#[tool]` has already run.)

use std::path::{Component, Path, PathBuf};

use agenttrust_runtime::guarded;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde::Deserialize;

/// Arguments naming one file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PathArgs {
    /// The file's path, relative to the sandbox folder.
    pub path: String,
}

/// Arguments of a write.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WriteArgs {
    /// The file's path, relative to the sandbox folder.
    pub path: String,
    /// The text to write.
    pub contents: String,
}

/// File tools confined to one sandbox folder.
#[derive(Debug, Clone)]
pub struct FileServer {
    root: PathBuf,
    /// Said to MCP clients after the instructions (the embedded-gateway notice).
    notice: Option<String>,
    tool_router: ToolRouter<Self>,
}

impl FileServer {
    /// Adds `notice` to the instructions the server gives MCP clients.
    #[must_use]
    pub fn with_notice(mut self, notice: impl Into<String>) -> Self {
        self.notice = Some(notice.into());
        self
    }
}

fn text(s: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(s)])
}

fn outside(relative: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "`{relative}` is not a path inside the sandbox"
    ))])
}

fn io_error(e: &std::io::Error) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!("I/O error: {e}"))])
}

#[tool_router]
impl FileServer {
    /// A server for the files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            notice: None,
            tool_router: Self::tool_router(),
        }
    }

    /// The sandboxed path of `relative`, or `None` for anything that leaves it.
    fn resolve(&self, relative: &str) -> Option<PathBuf> {
        let path = Path::new(relative);
        let inside = path.components().all(|c| matches!(c, Component::Normal(_)));
        (inside && !relative.is_empty()).then(|| self.root.join(path))
    }

    /// Read a text file from the sandbox.
    #[guarded(effect = "read", summary = args.path)]
    #[tool]
    async fn read_file(
        &self,
        Parameters(args): Parameters<PathArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(path) = self.resolve(&args.path) else {
            return Ok(outside(&args.path));
        };
        Ok(match tokio::fs::read_to_string(&path).await {
            Ok(contents) => text(contents),
            Err(e) => io_error(&e),
        })
    }

    /// Write a text file into the sandbox, replacing it if it exists.
    #[guarded(effect = "mutating", summary = args.path, on_deny = agenttrust_runtime::rmcp::tool_error)]
    #[tool]
    async fn write_file(
        &self,
        Parameters(args): Parameters<WriteArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(path) = self.resolve(&args.path) else {
            return Ok(outside(&args.path));
        };
        Ok(
            match tokio::fs::write(&path, args.contents.as_bytes()).await {
                Ok(()) => text(format!(
                    "wrote {} bytes to {}",
                    args.contents.len(),
                    args.path
                )),
                Err(e) => io_error(&e),
            },
        )
    }

    /// Delete a file from the sandbox. Needs a human's approval.
    #[guarded(effect = "destructive", summary = args.path, on_deny = agenttrust_runtime::rmcp::tool_error)]
    #[tool]
    async fn delete_file(
        &self,
        Parameters(args): Parameters<PathArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some(path) = self.resolve(&args.path) else {
            return Ok(outside(&args.path));
        };
        Ok(match tokio::fs::remove_file(&path).await {
            Ok(()) => text(format!("deleted {}", args.path)),
            Err(e) => io_error(&e),
        })
    }

    // A sync tool: rmcp calls it inline on its async dispatch path, and the
    // guard's blocking check then moves the worker's other tasks elsewhere
    // (`block_in_place`) rather than stalling them. (Doc comments are what
    // the model reads, so notes like this one are plain comments.)
    /// List the files in the sandbox.
    #[guarded(effect = "read")]
    #[tool]
    fn list_files(&self) -> Result<CallToolResult, ErrorData> {
        let mut names: Vec<String> = std::fs::read_dir(&self.root)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(text(names.join("\n")))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FileServer {
    fn get_info(&self) -> ServerConfig {
        let mut instructions = INSTRUCTIONS.to_owned();
        if let Some(notice) = &self.notice {
            instructions.push(' ');
            instructions.push_str(notice);
        }
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(instructions)
    }
}

/// What the server tells MCP clients (and so the model) about itself.
const INSTRUCTIONS: &str = "File tools confined to one sandbox folder. Every call is checked \
    by AgentTrust ID first; deleting a file needs a human's approval, and a refused call says \
    which approval to ask for.";

#[allow(dead_code)] // the tests include this file as a module and use the server only
#[tokio::main]
async fn main() -> Result<std::process::ExitCode, Box<dyn std::error::Error>> {
    use rmcp::ServiceExt;

    let root = std::env::args()
        .nth(1)
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let required = [
        "AGENTTRUST_URL",
        "AGENTTRUST_API_KEY",
        "AGENTTRUST_AGENT_ID",
    ];
    let configured = match agenttrust::configured_from_env(&required) {
        Ok(configured) => configured,
        Err(message) => {
            eprintln!("mcp_server: {message}");
            return Ok(std::process::ExitCode::from(2));
        }
    };
    let mut server = FileServer::new(root.clone());
    let _gateway = if configured {
        if let Err(e) = agenttrust_runtime::init_from_env() {
            eprintln!("mcp_server: {e}");
            return Ok(std::process::ExitCode::from(2));
        }
        None
    } else {
        let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
        let client = agenttrust_runtime::AgentTrustClient::builder()
            .base_url(gateway.url())
            .api_key(gateway.api_key())
            .build()?;
        let request = agenttrust_runtime::api::agents::CreateAgentRequest::new("mcp-file-server");
        let agent = client.agents().create(&request).await?;
        agenttrust_runtime::Runtime::builder(client, agent.id).install()?;
        let notice = format!(
            "No AgentTrust gateway is configured: checks go to an embedded local \
                 development gateway at {} (set {} to use a real one).",
            gateway.url(),
            required.join(", ")
        );
        eprintln!("mcp_server: {notice} API key: {}", gateway.api_key());
        server = server.with_notice(notice);
        Some(gateway)
    };
    eprintln!("mcp_server: serving {} over stdio", root.display());
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    let _ = tokio::task::spawn_blocking(agenttrust_runtime::shutdown).await;
    Ok(std::process::ExitCode::SUCCESS)
}
