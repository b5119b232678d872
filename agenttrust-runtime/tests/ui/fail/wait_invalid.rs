use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "destructive", on_elevation = "wait", wait = "ten minutes")]
fn delete_file() -> Result<(), AgentTrustError> {
    Ok(())
}

#[guarded(effect = "destructive", wait = "10m")]
fn drop_table() -> Result<(), AgentTrustError> {
    Ok(())
}

#[guarded(effect = "destructive", on_elevation = "later")]
fn truncate() -> Result<(), AgentTrustError> {
    Ok(())
}

fn main() {
    let _ = delete_file();
    let _ = drop_table();
    let _ = truncate();
}
