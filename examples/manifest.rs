//! `cargo run --example manifest`: the tool manifest of the examples, as
//! JSON: every `#[guarded]` function's name, effect and location, collected
//! at compile time. This is the list to hand a security team.

// The other examples, linked in so their guarded tools register here.
#[path = "mcp_server.rs"]
#[allow(dead_code)]
mod mcp_server;
#[path = "quickstart.rs"]
#[allow(dead_code)]
mod quickstart;
#[path = "rig_tools.rs"]
#[allow(dead_code)]
mod rig_tools;

fn main() -> Result<(), serde_json::Error> {
    let manifest = serde_json::json!({
        "tools": agenttrust_runtime::tools(),
        "capabilities": agenttrust_runtime::tool_capabilities(),
    });
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    Ok(())
}
