use agenttrust_runtime::{guarded, AgentTrustError};

struct Files;

#[guarded(effect = "read")]
impl Files {
    fn read(&self) -> Result<(), AgentTrustError> {
        Ok(())
    }
}

fn main() {
    let _ = Files.read();
}
