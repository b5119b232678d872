use agenttrust_runtime::{guarded, AgentTrustError};

// A typo of a synonym ("delete") and of an effect ("mutating").
#[guarded(effect = "delet")]
fn remove(path: &str) -> Result<(), AgentTrustError> {
    let _ = path;
    Ok(())
}

#[guarded(effect = "mutatng")]
fn write(path: &str) -> Result<(), AgentTrustError> {
    let _ = path;
    Ok(())
}

fn main() {
    let _ = remove("x");
    let _ = write("x");
}
