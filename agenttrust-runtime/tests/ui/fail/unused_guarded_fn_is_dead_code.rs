#![deny(dead_code)]

use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "read")]
fn never_called() -> Result<(), AgentTrustError> {
    Ok(())
}

fn main() {}
