// A syntax error in a guarded body is rustc's own error on the user's
// token, once, with nothing from the attribute around it (the attribute
// does not parse the body: it moves its tokens).
use agenttrust_runtime::guarded;

#[derive(Debug)]
struct ToolError;

impl From<agenttrust_runtime::AgentTrustError> for ToolError {
    fn from(_: agenttrust_runtime::AgentTrustError) -> Self {
        ToolError
    }
}

#[guarded(effect = "read")]
fn sync_tool(x: u32) -> Result<u32, ToolError> {
    let y = ;
    Ok(x + y)
}

#[guarded(effect = "read")]
async fn async_tool(x: u32) -> Result<u32, ToolError> {
    Ok(x + )
}

fn main() {
    let _ = sync_tool(1);
    let _ = async_tool(1);
}
