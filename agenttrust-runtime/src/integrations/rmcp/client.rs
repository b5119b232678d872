//! The other direction: tools our agent calls on external MCP servers,
//! checked by the Guardian before rmcp forwards them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use compact_str::CompactString;
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::{Peer, ServiceError};
use rmcp::RoleClient;

use crate::error::AgentTrustError;
use crate::guard::{AgentTrustGuard, Decision, Overrides};
use crate::Effect;

/// An rmcp client whose `call_tool` asks the Guardian first, then forwards
/// the call, times it and reports it, like a `#[guarded]` tool.
///
/// The effect of each tool comes from the server's own annotations in
/// `tools/list` (`readOnlyHint` → read, `destructiveHint` → destructive,
/// anything else → [`unannotated_effect`](GuardedClientBuilder::unannotated_effect),
/// mutating by default), unless [`effect`](GuardedClientBuilder::effect)
/// sets it. Annotations are the server's claims: for a server you do not
/// trust, set the effects yourself.
///
/// ```no_run
/// use agenttrust_runtime::rmcp::GuardedClient;
/// use agenttrust_runtime::Effect;
/// use rmcp::model::CallToolRequestParams;
/// use rmcp::ServiceExt;
///
/// # async fn run(guard: agenttrust_runtime::AgentTrustGuard) -> Result<(), Box<dyn std::error::Error>> {
/// // Any rmcp client transport: stdio here, a child process
/// // (`TokioChildProcess`) or streamable HTTP work the same.
/// let service = ().serve(rmcp::transport::stdio()).await?;
/// let files = GuardedClient::builder(service.peer().clone(), guard)
///     .server_name("files") // checked as "files.<tool>"
///     .effect("write_file", Effect::Destructive)
///     .build();
/// for tool in files.list_tools().await? {
///     println!("{}", tool.name);
/// }
/// let result = files.call_tool(CallToolRequestParams::new("read_file")).await?;
/// # let _ = result; Ok(()) }
/// ```
#[derive(Clone)]
pub struct GuardedClient {
    inner: Arc<Inner>,
}

struct Inner {
    peer: Peer<RoleClient>,
    guard: AgentTrustGuard,
    server_name: Option<String>,
    overrides: HashMap<String, Effect>,
    unannotated: Effect,
    denials_as_results: bool,
    hide_denied: bool,
    /// Effects from the server's annotations, by tool name; `None` until
    /// the first `tools/list`.
    listed: Mutex<Option<HashMap<String, Effect>>>,
}

impl std::fmt::Debug for GuardedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedClient")
            .field("server_name", &self.inner.server_name)
            .field("overrides", &self.inner.overrides)
            .field("unannotated", &self.inner.unannotated)
            .field("denials_as_results", &self.inner.denials_as_results)
            .field("hide_denied", &self.inner.hide_denied)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`GuardedClient`].
///
/// ```
/// # fn run(peer: rmcp::Peer<rmcp::RoleClient>, guard: agenttrust_runtime::AgentTrustGuard) {
/// use agenttrust_runtime::rmcp::GuardedClient;
/// let client = GuardedClient::builder(peer, guard)
///     .server_name("github")
///     .denials_as_tool_results(true)
///     .hide_denied_tools(true)
///     .build();
/// # let _ = client; }
/// ```
#[must_use]
pub struct GuardedClientBuilder {
    peer: Peer<RoleClient>,
    guard: AgentTrustGuard,
    server_name: Option<String>,
    overrides: HashMap<String, Effect>,
    unannotated: Effect,
    denials_as_results: bool,
    hide_denied: bool,
}

impl GuardedClientBuilder {
    /// Checks tools as `"<name>.<tool>"`, so a policy can tell this
    /// server's `delete` from another's (default: the bare tool name).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The effect of `tool` (its name on the server), whatever its
    /// annotations say.
    pub fn effect(mut self, tool: impl Into<String>, effect: Effect) -> Self {
        self.overrides.insert(tool.into(), effect);
        self
    }

    /// The effect of a tool whose annotations say neither `readOnlyHint`
    /// nor `destructiveHint`, or that `tools/list` does not list (default
    /// [`Effect::Mutating`]; MCP's own default for a missing
    /// `destructiveHint` is destructive: set [`Effect::Destructive`] for
    /// that reading).
    pub fn unannotated_effect(mut self, effect: Effect) -> Self {
        self.unannotated = effect;
        self
    }

    /// `true`: a denial or required elevation comes back as
    /// `Ok(CallToolResult)` with `is_error` set and the reason (what the
    /// model reads), as [`tool_error`](super::tool_error) makes it, instead
    /// of [`McpCallError::Refused`]. Other errors (the Guardian down,
    /// a wrong API key) stay errors.
    pub fn denials_as_tool_results(mut self, yes: bool) -> Self {
        self.denials_as_results = yes;
        self
    }

    /// `true`: [`list_tools`](GuardedClient::list_tools) leaves out the
    /// tools the Guardian denies, as MCP gateways do. It asks the Guardian
    /// once per tool and listing (real checks: they count in the session,
    /// and a tool needing approval gets a pending approval on gateways that
    /// create one per check); tools needing approval stay listed.
    pub fn hide_denied_tools(mut self, yes: bool) -> Self {
        self.hide_denied = yes;
        self
    }

    /// The client.
    pub fn build(self) -> GuardedClient {
        GuardedClient {
            inner: Arc::new(Inner {
                peer: self.peer,
                guard: self.guard,
                server_name: self.server_name,
                overrides: self.overrides,
                unannotated: self.unannotated,
                denials_as_results: self.denials_as_results,
                hide_denied: self.hide_denied,
                listed: Mutex::new(None),
            }),
        }
    }
}

/// Why a guarded MCP call returned no result.
#[derive(Debug, thiserror::Error)]
pub enum McpCallError {
    /// The guard refused the call (denied, elevation required, Guardian
    /// unavailable, ...): it was not sent to the server.
    #[error(transparent)]
    Refused(#[from] AgentTrustError),
    /// The MCP call failed: a JSON-RPC error from the server, or the
    /// connection. Reported as a failed call.
    #[error("MCP request failed: {0}")]
    Mcp(#[from] ServiceError),
}

impl McpCallError {
    /// The AgentTrust refusal, if the guard refused.
    pub fn refusal(&self) -> Option<&AgentTrustError> {
        match self {
            McpCallError::Refused(e) => Some(e),
            McpCallError::Mcp(_) => None,
        }
    }
}

/// The effect a tool's annotations claim, if they claim one.
pub(crate) fn annotated_effect(tool: &Tool) -> Option<Effect> {
    let hints = tool.annotations.as_ref()?;
    match (hints.read_only_hint, hints.destructive_hint) {
        (Some(true), _) => Some(Effect::Read),
        (_, Some(true)) => Some(Effect::Destructive),
        (_, Some(false)) => Some(Effect::Mutating),
        _ => None,
    }
}

const JSON_RPC_ERROR: &str = "rmcp::ErrorData";
const MCP_TRANSPORT_ERROR: &str = "rmcp::ServiceError";

impl GuardedClient {
    /// A client for `peer` (from `service.peer().clone()`), checking with
    /// `guard` (a [`Runtime`](crate::Runtime)'s: `runtime.guard().clone()`).
    pub fn builder(peer: Peer<RoleClient>, guard: AgentTrustGuard) -> GuardedClientBuilder {
        GuardedClientBuilder {
            peer,
            guard,
            server_name: None,
            overrides: HashMap::new(),
            unannotated: Effect::Mutating,
            denials_as_results: false,
            hide_denied: false,
        }
    }

    /// The rmcp peer, for requests this wrapper does not guard (prompts,
    /// resources).
    pub fn peer(&self) -> &Peer<RoleClient> {
        &self.inner.peer
    }

    /// The name the Guardian checks for the server's `tool`.
    pub fn checked_name(&self, tool: &str) -> String {
        match &self.inner.server_name {
            Some(server) => format!("{server}.{tool}"),
            None => tool.to_owned(),
        }
    }

    /// The effect `tool` is checked with: the override, else the
    /// annotations of the last `tools/list`, else the unannotated effect.
    /// `None` before the first listing for a tool without an override.
    pub fn effect_of(&self, tool: &str) -> Option<Effect> {
        if let Some(effect) = self.inner.overrides.get(tool) {
            return Some(*effect);
        }
        let listed = self.inner.listed.lock().unwrap_or_else(|p| p.into_inner());
        listed
            .as_ref()
            .map(|effects| effects.get(tool).copied().unwrap_or(self.inner.unannotated))
    }

    /// The server's tools (every page), remembering their annotations for
    /// the checks; with [`hide_denied_tools`](GuardedClientBuilder::hide_denied_tools),
    /// without those the Guardian denies.
    ///
    /// # Errors
    /// The MCP request's failure; with `hide_denied_tools`, a check that
    /// failed for a reason other than the Guardian being unavailable (an
    /// unavailable Guardian hides nothing: the calls are checked anyway).
    pub async fn list_tools(&self) -> Result<Vec<Tool>, McpCallError> {
        let tools = self.inner.peer.list_all_tools().await?;
        let effects = tools
            .iter()
            .filter_map(|t| Some((t.name.to_string(), annotated_effect(t)?)))
            .collect();
        *self.inner.listed.lock().unwrap_or_else(|p| p.into_inner()) = Some(effects);
        if !self.inner.hide_denied {
            return Ok(tools);
        }
        let mut visible = Vec::with_capacity(tools.len());
        for tool in tools {
            let effect = self.effect_of(&tool.name).unwrap_or(self.inner.unannotated);
            let checked = self.checked_name(&tool.name);
            match self
                .inner
                .guard
                .decide_with_effect(&checked, "", effect)
                .await
            {
                Ok(Decision::Denied { .. }) => {}
                Ok(_) => visible.push(tool),
                Err(e) if e.is_unavailable() => visible.push(tool),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(visible)
    }

    /// Checks the call with the Guardian, forwards it when allowed, and
    /// reports it: a result with `is_error` set or a JSON-RPC error is a
    /// failed call. Nothing about the arguments is sent to the Guardian
    /// (see [`call_tool_with_summary`](Self::call_tool_with_summary)).
    ///
    /// The first call lists the server's tools to learn their effects
    /// (unless every called tool has an override).
    ///
    /// # Errors
    /// [`McpCallError::Refused`] when the guard refused (the server saw
    /// nothing), unless denials come back as tool results;
    /// [`McpCallError::Mcp`] when the MCP request failed.
    pub async fn call_tool(
        &self,
        params: CallToolRequestParams,
    ) -> Result<CallToolResult, McpCallError> {
        self.call(params, None).await
    }

    /// [`call_tool`](Self::call_tool) with an input summary for the
    /// Guardian (cut to 200 characters).
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_with_summary(
        &self,
        params: CallToolRequestParams,
        summary: &str,
    ) -> Result<CallToolResult, McpCallError> {
        let summary = crate::truncate_summary(summary);
        self.call(params, Some(summary).filter(|s| !s.is_empty()))
            .await
    }

    async fn call(
        &self,
        params: CallToolRequestParams,
        summary: Option<&str>,
    ) -> Result<CallToolResult, McpCallError> {
        let effect = match self.effect_of(&params.name) {
            Some(effect) => effect,
            None => {
                self.list_tools().await?;
                self.effect_of(&params.name)
                    .unwrap_or(self.inner.unannotated)
            }
        };
        let checked = CompactString::from(self.checked_name(&params.name));
        let admitted = self
            .inner
            .guard
            .clone()
            .admit(
                checked,
                summary,
                Some(effect.as_str()),
                Overrides::default(),
            )
            .await;
        let call = match admitted {
            Ok(call) => call,
            Err(e) if self.inner.denials_as_results && e.is_denial() => {
                return Ok(super::tool_error(e).0);
            }
            Err(e) => return Err(e.into()),
        };
        let outcome = call
            .instrument_body(self.inner.peer.call_tool(params))
            .await;
        match &outcome {
            Ok(result) if result.is_error == Some(true) => {
                call.finish_with(false, Some(super::TOOL_ERROR_TYPE));
            }
            Ok(_) => call.finish_with(true, None),
            Err(ServiceError::McpError(_)) => call.finish_with(false, Some(JSON_RPC_ERROR)),
            Err(_) => call.finish_with(false, Some(MCP_TRANSPORT_ERROR)),
        }
        Ok(outcome?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ToolAnnotations;

    fn tool(read_only: Option<bool>, destructive: Option<bool>) -> Tool {
        let tool = Tool::new_with_raw("t", None, Arc::new(serde_json::Map::new()));
        if read_only.is_none() && destructive.is_none() {
            return tool;
        }
        tool.with_annotations(ToolAnnotations::from_raw(
            None,
            read_only,
            destructive,
            None,
            None,
        ))
    }

    #[test]
    fn effects_from_annotations() {
        assert_eq!(
            annotated_effect(&tool(Some(true), None)),
            Some(Effect::Read)
        );
        // readOnlyHint wins: destructiveHint means nothing for a read-only tool.
        assert_eq!(
            annotated_effect(&tool(Some(true), Some(true))),
            Some(Effect::Read)
        );
        assert_eq!(
            annotated_effect(&tool(Some(false), Some(true))),
            Some(Effect::Destructive)
        );
        assert_eq!(
            annotated_effect(&tool(None, Some(true))),
            Some(Effect::Destructive)
        );
        assert_eq!(
            annotated_effect(&tool(Some(false), Some(false))),
            Some(Effect::Mutating)
        );
        assert_eq!(
            annotated_effect(&tool(None, Some(false))),
            Some(Effect::Mutating)
        );
        assert_eq!(annotated_effect(&tool(Some(false), None)), None);
        assert_eq!(annotated_effect(&tool(None, None)), None);
    }
}
