use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "destroy")]
fn delete_file(path: &str) -> Result<(), AgentTrustError> {
    let _ = path;
    Ok(())
}

fn main() {
    // Still type-checks: the function is emitted next to the error.
    let _: Result<(), AgentTrustError> = delete_file("/tmp/x");
}
