use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "read")]
extern "C" fn answer() -> Result<u8, AgentTrustError> {
    Ok(42)
}

fn main() {
    let _ = answer();
}
