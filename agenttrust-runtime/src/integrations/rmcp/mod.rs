//! rmcp (the official Rust MCP SDK): denials as protocol errors or as tool
//! results the model can read, tools run with a chosen runtime
//! ([`WithRuntime`]), and the calls an agent makes to other MCP servers
//! checked first ([`GuardedClient`]).
//!
//! ```
//! use agenttrust_runtime::guarded;
//! use rmcp::model::{CallToolResult, ContentBlock};
//! use rmcp::ErrorData;
//!
//! // A denial becomes a protocol error (`From<AgentTrustError> for ErrorData`):
//! #[guarded(effect = "read")]
//! async fn list_files() -> Result<CallToolResult, ErrorData> {
//!     Ok(CallToolResult::success(vec![ContentBlock::text("a.txt")]))
//! }
//!
//! // ... or a tool result with `is_error` set, which MCP recommends, so the
//! // model reads why (and, for an elevation, the approval to ask for):
//! #[guarded(effect = "destructive", on_deny = agenttrust_runtime::rmcp::tool_error)]
//! async fn delete_file() -> Result<CallToolResult, ErrorData> {
//!     Ok(CallToolResult::success(vec![ContentBlock::text("deleted")]))
//! }
//! ```

mod client;

pub use client::{GuardedClient, GuardedClientBuilder, McpCallError};

use rmcp::model::{CallToolResult, ContentBlock, ErrorCode};
use rmcp::ErrorData;
use serde_json::{json, Value};

use crate::__private::{FromOnDeny, GuardedReturn, InBandFailure};
use crate::error::AgentTrustError;

/// The JSON-RPC error code of a refused tool call (implementation-defined
/// server error range).
pub const REFUSED: ErrorCode = ErrorCode(-32001);

/// `{"code": "ELEVATION_REQUIRED", "approval_id": ...}`: the machine-readable
/// part of a denial, carried as error data and as structured content.
fn details(error: &AgentTrustError) -> Value {
    let mut details = json!({ "code": error.code() });
    if let Some(id) = error.approval_id() {
        details["approval_id"] = json!(id);
    }
    if let AgentTrustError::ActionDenied {
        check_id: Some(id), ..
    } = error
    {
        details["check_id"] = json!(id);
    }
    details
}

/// A denial as a JSON-RPC protocol error, code [`REFUSED`], with the guide's
/// code and any approval id in `data`.
impl From<AgentTrustError> for ErrorData {
    fn from(error: AgentTrustError) -> Self {
        let data = details(&error);
        ErrorData::new(REFUSED, error.to_string(), Some(data))
    }
}

/// A denial as a tool result with `is_error` set; made by [`tool_error`].
#[derive(Debug, Clone)]
pub struct ToolErrorResult(pub CallToolResult);

/// `on_deny` helper: a denial becomes `Ok(CallToolResult)` with `is_error`
/// set, text saying why and what to do, and the codes as structured content.
///
/// ```
/// use agenttrust_runtime::AgentTrustError;
/// let denial = AgentTrustError::ElevationRequired { message: "destructive".into(), approval_id: "apr_1".into() };
/// let result = agenttrust_runtime::rmcp::tool_error(denial).0;
/// assert_eq!(result.is_error, Some(true));
/// assert_eq!(result.structured_content.unwrap()["approval_id"], "apr_1");
/// ```
pub fn tool_error(error: AgentTrustError) -> ToolErrorResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(super::model_feedback(&error))]);
    result.structured_content = Some(details(&error));
    ToolErrorResult(result)
}

impl FromOnDeny<ToolErrorResult> for Result<CallToolResult, ErrorData> {
    fn from_on_deny(value: ToolErrorResult) -> Self {
        Ok(value.0)
    }
}

/// A tool returning a bare `CallToolResult` is guarded too: a denial is a
/// tool error, and success is `is_error` not being set.
impl GuardedReturn for CallToolResult {
    fn from_denial(error: AgentTrustError) -> Self {
        tool_error(error).0
    }

    fn is_success(&self) -> bool {
        self.is_error != Some(true)
    }

    fn error_type(&self) -> Option<&'static str> {
        self.in_band_error()
    }
}

/// A tool result with `is_error` set is a failed call, inside `Ok` too
/// (`Result<CallToolResult, ErrorData>`, rmcp's usual tool signature).
impl InBandFailure for CallToolResult {
    fn in_band_error(&self) -> Option<&'static str> {
        (self.is_error == Some(true)).then_some(TOOL_ERROR_TYPE)
    }
}

/// The `error_type` reported for a tool result with `is_error` set.
pub const TOOL_ERROR_TYPE: &str = "rmcp::CallToolResult(is_error)";

/// A server handler whose tool calls run with `runtime` as the current
/// [`Runtime`](crate::Runtime), instead of the process-wide one: one MCP
/// server per agent in one process, or tests side by side.
///
/// rmcp runs each request in a task of its own, so a scope set around
/// `serve()` would not reach the tools; this wrapper sets it around each
/// call.
///
/// ```no_run
/// # #[derive(Clone)] struct MyServer;
/// # impl rmcp::ServerHandler for MyServer {}
/// # async fn run(rt: agenttrust_runtime::Runtime) -> Result<(), Box<dyn std::error::Error>> {
/// use rmcp::ServiceExt;
/// use agenttrust_runtime::rmcp::WithRuntime;
///
/// let running = WithRuntime::new(MyServer, rt).serve(rmcp::transport::stdio()).await?;
/// running.waiting().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct WithRuntime<S> {
    inner: S,
    runtime: crate::Runtime,
}

impl<S> WithRuntime<S> {
    /// Wraps `inner` so its tools use `runtime`.
    pub fn new(inner: S, runtime: crate::Runtime) -> Self {
        Self { inner, runtime }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: rmcp::ServerHandler> rmcp::ServerHandler for WithRuntime<S> {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        self.inner.get_info()
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.inner.get_tool(name)
    }

    async fn list_tools(
        &self,
        request: Option<rmcp::model::PaginatedRequestParams>,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        self.inner.list_tools(request, context).await
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        self.runtime
            .scope(self.inner.call_tool(request, context))
            .await
    }
}
