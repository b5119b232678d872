//! # agenttrust-runtime
//!
//! AgentTrust ID for Rust agents: an async-native, wire-compatible client,
//! a guard that never blocks on telemetry, and (through the re-exported
//! `#[guarded]` attribute) one-line guarding of tool functions.
//!
//! ```no_run
//! use agenttrust_runtime::{AgentTrustClient, AgentTrustGuard, Effect};
//!
//! # async fn run() -> agenttrust_runtime::Result<()> {
//! let client = AgentTrustClient::from_env()?;
//! let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
//! guard.check_with_effect("delete_file", "/tmp/x", Effect::Destructive).await?;
//! guard.report("delete_file", true, 3);
//! client.flush(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! The async API needs a tokio runtime; [`AgentTrustClient::blocking`] and
//! the guard's `*_blocking` methods serve synchronous code, from plain
//! threads or from inside a runtime, without panicking.
#![deny(missing_docs)]

pub mod api;
mod background;
mod blocking;
mod client;
mod decision;
mod effect;
mod error;
mod guard;
mod pipeline;
mod runtime;
mod summary;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use blocking::{
    BlockingActions, BlockingAgents, BlockingApprovals, BlockingClient, BlockingSessions,
    BlockingTelemetry, BlockingTokens,
};
pub use client::{AgentTrustClient, AgentTrustClientBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT};
pub use decision::Decision;
pub use effect::{Effect, UnknownEffect};
pub use error::{AgentTrustError, BoxError, Result};
pub use guard::{AgentTrustGuard, AgentTrustGuardBuilder};
pub use pipeline::{FlushOutcome, TelemetryConfig, TelemetryStats, MAX_BATCH};
pub use runtime::{
    current, init_from_env, shutdown, shutdown_within, with_runtime, Runtime, RuntimeBuilder,
    DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use summary::{truncate_summary, MAX_SUMMARY_CHARS};

/// Guards a tool function with an AgentTrust ID check; see the crate docs.
pub use agenttrust_macros::guarded;
