use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "read", efect = "read", retries = 3)]
fn search() -> Result<(), AgentTrustError> {
    Ok(())
}

fn main() {
    let _ = search();
}
