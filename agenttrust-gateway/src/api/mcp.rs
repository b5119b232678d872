//! The MCP server registry (`/mcp/servers`) and the proxy
//! (`POST /mcp/{server_id}`, PROTOCOL.md §14): a `tools/call` is checked by
//! the Guardian first, and only an allowed one is forwarded upstream over
//! MCP's streamable HTTP transport (rmcp's client). Answers are JSON-RPC,
//! with HTTP 200 for JSON-RPC errors.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use rmcp::model::CallToolRequestParams;
use rmcp::ServiceExt as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::checks::decide_logged;
use super::jsonrpc::error as rpc_error;
use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{required, Body};
use crate::guardian::Check;
use crate::store::{new_id, rfc3339, McpServer, ORG_ID};

/// JSON-RPC codes of the proxy's own errors.
mod code {
    pub(super) use crate::api::jsonrpc::{
        INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE,
    };
    /// The Guardian refused the call (data: `code`, `approval_id`).
    pub(super) const REFUSED: i64 = -32001;
    /// The upstream server could not be reached or failed.
    pub(super) const UPSTREAM: i64 = -32002;
}

#[derive(Deserialize)]
pub(crate) struct Register {
    name: String,
    url: String,
    #[serde(default)]
    capabilities: Option<Vec<String>>,
}

pub(crate) async fn register(
    State(state): State<AppState>,
    Body(req): Body<Register>,
) -> ApiResult<(StatusCode, Json<McpServer>)> {
    let name = required("name", &req.name)?;
    let url = required("url", &req.url)?;
    // Plain http: the local gateway carries no second TLS stack for upstreams.
    if !url.starts_with("http://") || url.len() <= "http://".len() {
        return Err(ApiError::bad_request(format!(
            "`url` must be an http:// URL of an MCP streamable-HTTP endpoint, not `{url}`"
        )));
    }
    let server = McpServer {
        id: new_id("mcp"),
        org_id: ORG_ID.to_owned(),
        name: name.to_owned(),
        url: url.to_owned(),
        capabilities: req.capabilities.unwrap_or_default(),
        created_at: rfc3339(SystemTime::now()),
    };
    let mut data = state.store.lock();
    data.mcp_servers.insert(server.id.clone(), server.clone());
    Ok((StatusCode::CREATED, Json(server)))
}

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    let data = state.store.lock();
    let mut servers: Vec<&McpServer> = data.mcp_servers.values().collect();
    servers.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    Json(json!({ "servers": servers }))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<McpServer>> {
    let data = state.store.lock();
    data.mcp_servers
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("MCP server", &id))
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut data = state.store.lock();
    data.mcp_servers
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("MCP server", &id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /mcp/{server_id}`: `X-Agent-ID` required (400 without it),
/// `X-Session-ID` optional.
pub(crate) async fn proxy(
    State(state): State<AppState>,
    Path(server_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let agent_id = header("x-agent-id").ok_or_else(|| {
        ApiError::bad_request("the MCP proxy needs the calling agent in `X-Agent-ID`")
    })?;
    let session_id = header("x-session-id");
    let server = state
        .store
        .lock()
        .mcp_servers
        .get(&server_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("MCP server", &server_id))?;
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return Ok(rpc_error(
                &Value::Null,
                code::PARSE,
                format!("not JSON: {e}"),
                None,
            ))
        }
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Ok(rpc_error(
            &id,
            code::INVALID_REQUEST,
            "`jsonrpc` must be \"2.0\"",
            None,
        ));
    }
    match request.get("method").and_then(Value::as_str) {
        Some("tools/call") => {}
        Some(other) => {
            return Ok(rpc_error(
                &id,
                code::METHOD_NOT_FOUND,
                format!("the proxy forwards `tools/call` only, not `{other}`"),
                None,
            ))
        }
        None => {
            return Ok(rpc_error(
                &id,
                code::INVALID_REQUEST,
                "`method` must be a string",
                None,
            ))
        }
    }
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let Some(tool) = params
        .get("name")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Ok(rpc_error(
            &id,
            code::INVALID_PARAMS,
            "`params.name` must name the tool",
            None,
        ));
    };
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => {
            return Ok(rpc_error(
                &id,
                code::INVALID_PARAMS,
                "`params.arguments` must be an object",
                None,
            ))
        }
    };
    let check = Check {
        agent_id: &agent_id,
        action_name: tool,
        action_effect: None,
        session_id: session_id.as_deref(),
        summary: None,
    };
    let verdict = decide_logged(&state, &check, None);
    if !verdict.allowed {
        let code_name = if verdict.elevation_required {
            "ELEVATION_REQUIRED"
        } else {
            "ACTION_DENIED"
        };
        let data = json!({"code": code_name, "approval_id": verdict.approval_id, "check_id": verdict.check_id});
        return Ok(rpc_error(&id, code::REFUSED, verdict.reason, Some(data)));
    }
    let mut call = CallToolRequestParams::new(tool.to_owned());
    if let Some(arguments) = arguments {
        call = call.with_arguments(arguments);
    }
    match forward(&server.url, call).await {
        Ok(result) => Ok(super::jsonrpc::result(&id, result)),
        Err(Upstream::Rpc(error)) => Ok(rpc_error(&id, error.0, error.1, error.2)),
        Err(Upstream::Failed(why)) => Ok(rpc_error(
            &id,
            code::UPSTREAM,
            format!("upstream MCP server `{}` failed: {why}", server.id),
            None,
        )),
    }
}

enum Upstream {
    /// The upstream's own JSON-RPC error: code, message, data.
    Rpc((i64, String, Option<Value>)),
    Failed(String),
}

/// One MCP session with the upstream for this call: initialize, call, close.
async fn forward(url: &str, call: CallToolRequestParams) -> Result<Value, Upstream> {
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url.to_owned());
    let client = ().serve(transport).await.map_err(|e| Upstream::Failed(e.to_string()))?;
    let outcome = client.call_tool(call).await;
    let _ = client.cancel().await;
    match outcome {
        Ok(result) => serde_json::to_value(result).map_err(|e| Upstream::Failed(e.to_string())),
        Err(rmcp::service::ServiceError::McpError(error)) => Err(Upstream::Rpc((
            i64::from(error.code.0),
            error.message.to_string(),
            error.data,
        ))),
        Err(e) => Err(Upstream::Failed(e.to_string())),
    }
}
