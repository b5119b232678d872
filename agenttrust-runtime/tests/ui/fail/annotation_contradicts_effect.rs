// An MCP annotation written on rmcp's `#[tool]` that contradicts the
// effect is an error on the annotation, saying how to fix it.
use agenttrust_runtime::guarded;
use rmcp::model::CallToolResult;
use rmcp::{tool, ErrorData};

pub struct Server;

impl Server {
    #[guarded(effect = "destructive")]
    #[tool(annotations(read_only_hint = true))]
    pub async fn delete_all(&self) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![]))
    }

    #[guarded(effect = "mutating")]
    #[tool(annotations(title = "Rename", destructive_hint = true))]
    pub async fn rename(&self) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![]))
    }

    #[guarded(effect = "read")]
    #[tool(annotations(read_only_hint = false))]
    pub fn peek(&self) -> Result<CallToolResult, ErrorData> {
        Ok(CallToolResult::success(vec![]))
    }
}

fn main() {}
