//! The toolkit's own I/O runtime: one small tokio runtime, started on first
//! use, that drives the telemetry workers and the blocking facade's requests
//! whatever runtime (or none) the caller is in.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

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
/// background runtime, so blocking this thread cannot starve them. It does
/// block the calling thread, which is what a blocking call means.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let handle = handle()?;
    let _entered = handle.enter();
    Ok(futures_executor::block_on(future))
}

/// Whether the calling thread is inside a tokio runtime (where blocking for
/// long would stall other tasks).
pub(crate) fn in_async_context() -> bool {
    Handle::try_current().is_ok()
}
