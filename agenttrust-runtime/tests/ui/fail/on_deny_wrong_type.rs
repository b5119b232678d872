use agenttrust_runtime::{guarded, AgentTrustError};

#[derive(Debug)]
struct ToolError;

fn to_string(error: AgentTrustError) -> String {
    error.to_string()
}

#[guarded(effect = "read", on_deny = to_string)]
fn search(query: &str) -> Result<String, ToolError> {
    Ok(query.to_uppercase())
}

fn main() {
    let _ = search("x");
}
