#![deny(unused_variables, unused_mut)]

use agenttrust_runtime::{guarded, AgentTrustError};

// An async fn with the default options is emitted as a fn returning the
// guarded future; its arguments are moved into the body as an `async fn`
// lowers them, so rustc still reports, on the user's names, an argument
// the body never uses and a `mut` it never needs.
#[guarded(effect = "read")]
pub async fn reads(path: String, mut limit: u32) -> Result<(), AgentTrustError> {
    Ok(())
}

fn main() {}
