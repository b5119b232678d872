//! The toolkit's own I/O runtime: one small tokio runtime, started on first
//! use, that drives the telemetry workers and the blocking facade's requests
//! whatever runtime (or none) the caller is in.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime, RuntimeFlavor};

use crate::error::{AgentTrustError, Result};

static BACKGROUND: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The background runtime's handle, starting it on first use.
pub(crate) fn handle() -> Result<Handle> {
    let runtime = BACKGROUND.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("agenttrust-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(AgentTrustError::config(format!(
            "could not start the agenttrust I/O runtime: {e}"
        ))),
    }
}

/// Runs `future` to completion on the calling thread, with its I/O and timers
/// driven by the background runtime.
///
/// Unlike `Runtime::block_on` this does not panic inside a tokio runtime
/// (defect D5 of the official SDK): the future's resources belong to the
/// background runtime, so blocking this thread cannot starve them. On a
/// worker of a multi-thread tokio runtime it blocks through
/// `block_in_place`, so the worker's other tasks move to another thread
/// instead of stalling (a sync tool called inline by an async server such
/// as rmcp). On a current-thread runtime that is impossible, and the call
/// blocks that runtime's thread for its duration.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let handle = handle()?;
    let run = move || {
        let _entered = handle.enter();
        futures_executor::block_on(future)
    };
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => Ok(tokio::task::block_in_place(run)),
        _ => Ok(run()),
    }
}

/// Whether the calling thread is inside a tokio runtime (where blocking for
/// long would stall other tasks).
pub(crate) fn in_async_context() -> bool {
    Handle::try_current().is_ok()
}
