//! JSON-RPC 2.0 answers of the A2A and MCP proxy routes: errors travel
//! with HTTP 200, as every SDK expects.

use axum::Json;
use serde_json::{json, Value};

/// Not JSON.
pub(crate) const PARSE: i64 = -32700;
/// Not a JSON-RPC 2.0 request.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// No such method here.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// Bad `params`.
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// `{"jsonrpc": "2.0", "id", "result"}`.
pub(crate) fn result(id: &Value, result: Value) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// `{"jsonrpc": "2.0", "id", "error": {"code", "message", "data"?}}`.
pub(crate) fn error(
    id: &Value,
    code: i64,
    message: impl Into<String>,
    data: Option<Value>,
) -> Json<Value> {
    let mut error = json!({"code": code, "message": message.into()});
    if let Some(data) = data {
        error["data"] = data;
    }
    Json(json!({"jsonrpc": "2.0", "id": id, "error": error}))
}
