use agenttrust_runtime::{guarded, AgentTrustError};

trait Tool {
    #[guarded(effect = "read")]
    fn call(&self) -> Result<(), AgentTrustError>;
}

fn main() {}
