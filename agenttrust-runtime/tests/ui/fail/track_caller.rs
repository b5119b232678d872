use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "read")]
#[track_caller]
fn where_am_i() -> Result<u32, AgentTrustError> {
    Ok(std::panic::Location::caller().line())
}

fn main() {
    let _ = where_am_i();
}
