use agenttrust_runtime::guarded;

#[derive(Debug)]
struct ToolError;

#[guarded(effect = "read")]
fn search(query: &str) -> Result<String, ToolError> {
    Ok(query.to_uppercase())
}

fn main() {
    let _ = search("x");
}
