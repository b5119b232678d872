use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "read", name = "a", effect = "admin")]
fn search() -> Result<(), AgentTrustError> {
    Ok(())
}

fn main() {
    let _ = search();
}
