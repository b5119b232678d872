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
//! let flushed = client.flush(std::time::Duration::from_secs(5)).await;
//! assert!(flushed.is_delivered());
//! # Ok(()) }
//! ```
//!
//! The async API needs a tokio runtime; [`AgentTrustClient::blocking`] and
//! the guard's `*_blocking` methods serve synchronous code, from plain
//! threads or from inside a runtime, without panicking.
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings), allow(dead_code, unused_variables))))]

/// The crate README's Rust blocks, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "wimse")]
mod agent_key;
pub mod api;
mod background;
mod blocking;
mod client;
mod effect;
mod error;
mod event_queue;
mod guard;
mod integrations;
#[cfg(feature = "manifest")]
mod manifest;
mod pipeline;
mod report_encoder;
mod runtime;
mod summary;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "wimse")]
pub use agent_key::AgentKey;
pub use blocking::{
    BlockingA2a, BlockingActions, BlockingAgentCards, BlockingAgents, BlockingApprovals,
    BlockingClient, BlockingDelegations, BlockingFederation, BlockingMcp, BlockingSessions,
    BlockingStreaming, BlockingTelemetry, BlockingTokens, BlockingWimse,
};
pub use client::{
    AgentTrustClient, AgentTrustClientBuilder, CheckStats, LatencySummary, Stats, DEFAULT_BASE_URL,
    DEFAULT_CHECK_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, MAX_CHECK_RESPONSE_BYTES,
};
pub use effect::{Effect, UnknownEffect};
pub use error::{AgentTrustError, BoxError, Result};
pub use guard::Decision;
pub use guard::{
    AgentTrustGuard, AgentTrustGuardBuilder, OnElevation, DEFAULT_MAX_ELEVATION_WAIT,
    FIRST_POLL_INTERVAL, MAX_POLL_INTERVAL,
};
#[cfg(feature = "manifest")]
pub use manifest::{tool_capabilities, tools, ToolInfo};
pub use pipeline::{
    FlushOutcome, TelemetryConfig, TelemetryStats, DEFAULT_BACKLOG_BATCH, DEFAULT_CAPACITY,
    MAX_BATCH, QUEUED_EVENT_BYTES,
};
pub use runtime::{
    current, init_from_env, shutdown, shutdown_within, with_runtime, Runtime, RuntimeBuilder,
    DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use summary::{truncate_summary, MAX_SUMMARY_CHARS};

#[cfg(feature = "rig")]
pub use integrations::rig;
#[cfg(feature = "rmcp")]
pub use integrations::rmcp;

/// Guards a tool function: the Guardian is asked first, the body runs only
/// when allowed and is timed, and the outcome is reported in the background.
///
/// ```no_run
/// use agenttrust_runtime::{guarded, AgentTrustError};
///
/// #[derive(Debug)]
/// enum ToolError { Denied(AgentTrustError), Io(std::io::Error) }
/// impl From<AgentTrustError> for ToolError {
///     fn from(e: AgentTrustError) -> Self { ToolError::Denied(e) }
/// }
///
/// #[guarded(effect = "destructive")]
/// fn delete_file(path: &str) -> Result<(), ToolError> {
///     std::fs::remove_file(path).map_err(ToolError::Io)
/// }
///
/// #[guarded(effect = "read", name = "web_search", summary = query)]
/// async fn search(query: String) -> anyhow::Result<Vec<String>> {
///     Ok(vec![query])
/// }
///
/// fn main() -> Result<(), AgentTrustError> {
///     agenttrust_runtime::init_from_env()?;
///     match delete_file("/tmp/x") {
///         Err(ToolError::Denied(e)) => eprintln!("not allowed: {e} ({})", e.code()),
///         other => println!("{other:?}"),
///     }
///     let flushed = agenttrust_runtime::shutdown();
///     assert!(flushed.is_delivered());
///     Ok(())
/// }
/// ```
///
/// # Arguments
/// - `effect = "read" | "mutating" | "destructive" | "admin"`: checked at
///   compile time. Omitted: no effect is sent and the gateway classifies
///   the tool by its name.
/// - `name = "..."` or a constant path such as `Self::NAME`: the tool name
///   (default: the `name` of an rmcp `#[tool(name = "..")]` below, else the
///   function's name).
/// - `summary = <expr>`: an expression over the arguments whose `Display`
///   output is sent as the input summary, cut to 200 characters. Without
///   it nothing about the inputs is sent.
/// - `on_deny = path`: `fn(AgentTrustError) -> E` for error types that
///   cannot implement `From<AgentTrustError>`.
/// - `success_if = path`: `fn(&R) -> bool` deciding success for a return
///   type that is not a `Result`.
/// - `fail_open = true | false`: per-tool override of the runtime default.
/// - `enforce = true | false`: per-tool override of the runtime's
///   `block_on_deny`. `false` monitors the tool: it runs whatever the
///   Guardian says, and a denial is recorded as
///   [`Decision::WouldBlock`] (span, event,
///   [`stats`](crate::AgentTrustClient::stats)), for rolling out one tool at
///   a time.
/// - `on_elevation = "error" | "wait"`: per-tool override of the runtime's
///   [`on_elevation`](crate::RuntimeBuilder::on_elevation). `"wait"` waits
///   for a person's decision on an elevation, then runs (approved) or
///   returns `ActionDenied` (denied) or `ElevationTimedOut` (undecided).
/// - `wait = "10m"`: with `on_elevation = "wait"`, the longest wait (a
///   humantime duration, checked at compile time).
/// - `mcp_annotations = false`: leave an rmcp `#[tool]` below untouched
///   (see "MCP annotations").
/// - `crate = "path"`: where this crate is, when renamed or re-exported.
///
/// # MCP annotations
/// Above rmcp's `#[tool]`, the attribute fills in the annotations
/// `tools/list` publishes, so an MCP host sees what the Guardian sees:
///
/// | effect | `readOnlyHint` | `destructiveHint` |
/// |---|---|---|
/// | `read` | `true` | (not set: meaningless for a read-only tool) |
/// | `mutating` | `false` | `false` |
/// | `destructive`, `admin` | `false` | `true` |
///
/// `idempotentHint` and `openWorldHint` are not implied by an effect and
/// are never set; write them in `#[tool(annotations(..))]` and they are
/// kept, with any `title`. A hint you wrote that agrees with the effect
/// stays; one that contradicts it (`read_only_hint = true` on a destructive
/// tool) is a compile error on it, saying how to fix it. The doc comment
/// becomes the tool's `description` explicitly, so it survives other
/// attributes after `#[tool]` (which rmcp 3.11 alone would drop it for).
///
/// ```
/// use agenttrust_runtime::guarded;
/// use rmcp::tool;
///
/// struct Files;
///
/// impl Files {
///     /// Delete a file. Published with `readOnlyHint: false, destructiveHint: true`.
///     #[guarded(effect = "destructive")]
///     #[tool(annotations(idempotent_hint = true))]
///     async fn delete_file(&self) -> anyhow::Result<String> {
///         Ok("deleted".to_owned())
///     }
/// }
/// let tool = Files::delete_file_tool_attr();
/// let hints = tool.annotations.unwrap();
/// assert_eq!((hints.read_only_hint, hints.destructive_hint), (Some(false), Some(true)));
/// assert_eq!(hints.idempotent_hint, Some(true));
/// assert_eq!(tool.description.as_deref(), Some("Delete a file. Published with `readOnlyHint: false, destructiveHint: true`."));
/// ```
///
/// Only this order works: below `#[tool]`, `#[guarded]` still guards the
/// call, but rmcp has already made the tool's metadata, so no annotations
/// are added (and rmcp drops a doc comment that another attribute
/// follows: give `description` in `#[tool(..)]`).
///
/// # What the function does
/// 1. Asks the Guardian through the current [`Runtime`] (awaited in async
///    functions, blocking in sync ones; see [`current`]). A denial, a
///    required elevation, an unavailable Guardian (unless failing open), an
///    authentication or configuration error, or no runtime at all, returns
///    early with the error converted into the function's error type; the
///    body never runs and nothing is reported.
/// 2. Runs the body once, unchanged, and times it. Check and body run in
///    one `agenttrust.guard` tracing span (fields in the README's
///    "Tracing and OpenTelemetry" section), a child of the current span.
/// 3. Enqueues one report: success decided by the return value (`Ok` of a
///    `Result`), with the error's type name (never its message) on failure.
///    A panic is reported as a failure (`error_type: "panic"`) and resumes;
///    an async call dropped before it finishes is reported as `"cancelled"`.
///
/// The function keeps its signature, generics, attributes and docs, so it
/// drops into tool registries unchanged. One exception, invisible to
/// callers: an `async fn` with no `on_deny` or `success_if`, no attribute
/// macro below `#[guarded]`, and (with a `summary`) no pattern among its
/// arguments, becomes `fn ..(same arguments) -> impl Future<Output = R>`
/// returning the guarded future itself (one state machine per fn instead
/// of two, for a much cheaper build; the README's "Performance" has the
/// figures). Callers `.await` it as before; it captures the same lifetimes
/// and generics as the `async fn` (in callers of any edition), is `Send`
/// when the body is, satisfies a trait's `async fn` or
/// `-> impl Future + Send`, does nothing until polled (a `summary` is
/// computed at the first poll), and holds every argument until the call
/// ends (an unused `_permit` too), matching patterns at the first poll.
/// Rustdoc shows that signature, and clippy's pedantic `missing_errors_doc`
/// (which reads an `async` body) no longer fires on it. It works on free
/// functions, methods with any receiver, trait-impl methods (native
/// `async fn` in traits and `#[async_trait]`), and functions returning
/// `Box::pin(async move { .. })`.
///
/// A fn returning a future is guarded when the future is written in its
/// body (`async move { .. }` or `Box::pin(async move { .. })` at the end);
/// a future made elsewhere (`Box::pin(fut)`, `.boxed()`) is a compile
/// error saying so. `const fn`, `extern` fns and `#[track_caller]` (the body
/// runs inside the guard, so the caller's location would be lost) are
/// compile errors too. The `summary` expression is evaluated into a
/// `String` in a statement of its own before the check, so a lock guard it
/// reads through is released before any `.await`.
///
/// A `Result` whose `Ok` value reports failure itself, rmcp's
/// `CallToolResult` with `is_error` set (feature `rmcp`) or a nested
/// `Result`, is reported as a failure.
///
/// # Sync functions inside async code
/// A sync guarded function blocks its thread for the check. Called from a
/// tokio worker it does not panic, but it occupies that worker for a round
/// trip; prefer `async fn` for tools called from async code.
pub use agenttrust_macros::guarded;
