use std::future::Future;
use std::pin::Pin;

use agenttrust_runtime::{guarded, AgentTrustError};

async fn fetch(x: u32) -> Result<u32, AgentTrustError> {
    Ok(x)
}

// The future is made by another fn, not written in the body: the guard has
// no async block to run inside.
#[guarded(effect = "read")]
fn pinned(x: u32) -> Pin<Box<dyn Future<Output = Result<u32, AgentTrustError>> + Send>> {
    let fut = fetch(x);
    Box::pin(fut)
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[guarded(effect = "read")]
fn aliased(x: u32) -> BoxFuture<'static, Result<u32, AgentTrustError>> {
    Box::pin(fetch(x))
}

fn main() {
    let _ = pinned(1);
    let _ = aliased(1);
}
