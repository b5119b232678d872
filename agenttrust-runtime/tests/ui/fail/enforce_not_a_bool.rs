use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "destructive", enforce = "no")]
fn delete_file() -> Result<(), AgentTrustError> {
    Ok(())
}

fn main() {
    let _ = delete_file();
}
