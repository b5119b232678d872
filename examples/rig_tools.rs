//! rig tools (`rig-core` 0.44) guarded by AgentTrust ID, dispatched the way
//! an agent dispatches them: by name, with JSON arguments, through rig's
//! erased tool interface. No language model is needed.
//!
//! `cargo run --example rig_tools` (embedded local gateway unless
//! `AGENTTRUST_URL`, `AGENTTRUST_API_KEY` and `AGENTTRUST_AGENT_ID` are set).
//!
//! On `Tool::call`, `#[guarded]` takes the tool name from `Self::NAME`; a
//! denial becomes rig's `ToolExecutionError` (a refusal with the guide's
//! code and text telling the model why), through the `rig` feature.

use agenttrust_runtime::guarded;
use rig_core::completion::ToolDefinition;
use rig_core::tool::{ErasedTool, Tool, ToolContext, ToolExecutionError, ToolResult};
use serde::Deserialize;
use serde_json::json;

/// Arguments of a search.
#[derive(Debug, Deserialize)]
pub struct SearchArgs {
    /// What to look for.
    pub query: String,
}

/// Searches a small in-memory corpus.
#[derive(Debug, Default)]
pub struct WebSearch;

impl Tool for WebSearch {
    const NAME: &'static str = "web_search";
    type Args = SearchArgs;
    type Output = Vec<String>;
    type Error = ToolExecutionError;

    fn description(&self) -> String {
        "Search the web for pages about a topic.".to_owned()
    }

    fn parameters(&self) -> serde_json::Value {
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
    }

    #[guarded(effect = "read", summary = args.query)]
    async fn call(
        &self,
        _context: &mut ToolContext,
        args: SearchArgs,
    ) -> Result<Vec<String>, ToolExecutionError> {
        Ok(vec![format!("https://example.com/search?q={}", args.query)])
    }
}

/// Arguments naming a record.
#[derive(Debug, Deserialize)]
pub struct RecordArgs {
    /// The record's id.
    pub id: u64,
}

/// Deletes a customer record: destructive, so a human approves first.
#[derive(Debug, Default)]
pub struct DeleteRecord;

impl Tool for DeleteRecord {
    const NAME: &'static str = "delete_record";
    type Args = RecordArgs;
    type Output = String;
    type Error = ToolExecutionError;

    fn description(&self) -> String {
        "Delete a customer record by id.".to_owned()
    }

    fn parameters(&self) -> serde_json::Value {
        json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]})
    }

    #[guarded(effect = "destructive")]
    async fn call(
        &self,
        _context: &mut ToolContext,
        args: RecordArgs,
    ) -> Result<String, ToolExecutionError> {
        Ok(format!("record {} deleted", args.id))
    }
}

/// The agent's tools, called by name with JSON arguments as a model's tool
/// call arrives.
pub struct Toolbox {
    tools: Vec<(ToolDefinition, Box<dyn ErasedTool>)>,
}

fn entry<T: Tool + 'static>(tool: T) -> (ToolDefinition, Box<dyn ErasedTool>) {
    (rig_core::tool::tool_definition(&tool), Box::new(tool))
}

impl Toolbox {
    /// The example's tools.
    pub fn new() -> Self {
        Self {
            tools: vec![entry(WebSearch), entry(DeleteRecord)],
        }
    }

    /// What a model is shown.
    pub fn definitions(&self) -> Vec<ToolDefinition> {
        self.tools
            .iter()
            .map(|(definition, _)| definition.clone())
            .collect()
    }

    /// Runs the tool `name` on raw JSON arguments.
    pub async fn call(&self, name: &str, arguments: &str) -> Option<ToolResult> {
        let (_, tool) = self.tools.iter().find(|(_, t)| t.name() == name)?;
        let mut context = ToolContext::default();
        Some(tool.execute(arguments.to_owned(), &mut context).await)
    }
}

impl Default for Toolbox {
    fn default() -> Self {
        Self::new()
    }
}

/// The approval a refusal asks a human for: the guard puts it in the
/// error's code-bearing message, `elevation required (approval <id>): ...`.
pub fn approval_id(refusal: &ToolExecutionError) -> Option<String> {
    if refusal.code() != Some("ELEVATION_REQUIRED") {
        return None;
    }
    let rest = refusal.message().split("(approval ").nth(1)?;
    Some(rest.split(')').next()?.to_owned())
}

#[allow(dead_code)] // the tests include this file as a module
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_gateway, client) = match agenttrust_runtime::init_from_env() {
        Ok(()) => (None, agenttrust_runtime::current()?.client().clone()),
        Err(_) => {
            let gateway = agenttrust_gateway::Gateway::builder().spawn().await?;
            let client = agenttrust_runtime::AgentTrustClient::builder()
                .base_url(gateway.url())
                .api_key(gateway.api_key())
                .build()?;
            let request = agenttrust_runtime::api::agents::CreateAgentRequest::new("rig-agent");
            let agent = client.agents().create(&request).await?;
            agenttrust_runtime::Runtime::builder(client.clone(), agent.id).install()?;
            (Some(gateway), client)
        }
    };
    let toolbox = Toolbox::new();
    for definition in toolbox.definitions() {
        println!("tool {}: {}", definition.name, definition.description);
    }
    let show = |result: Option<ToolResult>| match result {
        Some(r) if r.is_success() => format!(
            "ok: {}",
            serde_json::to_string(r.output()).unwrap_or_default()
        ),
        Some(r) => format!(
            "{}: {}",
            r.status_name(),
            r.output().as_text().unwrap_or_default()
        ),
        None => "no such tool".to_owned(),
    };
    println!(
        "web_search    -> {}",
        show(toolbox.call("web_search", r#"{"query":"rust"}"#).await)
    );
    let refused = toolbox.call("delete_record", r#"{"id":7}"#).await;
    let approval = refused
        .as_ref()
        .and_then(|r| r.refusal())
        .and_then(approval_id);
    println!("delete_record -> {}", show(refused));
    if let Some(id) = approval {
        client
            .approvals()
            .approve(&id, "rig-example@example.com")
            .await?;
        println!(
            "approved {id}; retry -> {}",
            show(toolbox.call("delete_record", r#"{"id":7}"#).await)
        );
    }
    let _ = tokio::task::spawn_blocking(agenttrust_runtime::shutdown).await;
    Ok(())
}
