//! A2A JSON-RPC (PROTOCOL.md §16): v1.0 `message/send` (and `tasks/get`,
//! `tasks/cancel`) on `POST /a2a/agents/{target}`, and the v0.3 methods
//! `tasks/send`, `tasks/get`, `tasks/cancel`, `tasks/list` on `POST /a2a`.
//!
//! Errors are JSON-RPC errors with HTTP 200. An agent sends to another
//! only under a live delegation from the sender to the target; a request
//! naming no sender (no `X-Agent-ID` on the v1.0 route) is the
//! organization's own and needs none.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;
use crate::store::{new_id, rfc3339, Data, Task};

/// JSON-RPC and A2A error codes.
mod code {
    pub(super) use crate::api::jsonrpc::{
        INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE,
    };
    /// A2A `TaskNotFoundError`.
    pub(super) const TASK_NOT_FOUND: i64 = -32001;
    /// A2A `TaskNotCancelableError`.
    pub(super) const TASK_NOT_CANCELABLE: i64 = -32002;
    /// Implementation-defined: the sender may not send to the target.
    pub(super) const NOT_AUTHORIZED: i64 = -32010;
}

/// The most tasks one `tasks/list` returns.
const MAX_LIST: u64 = 500;

struct RpcError(i64, String);

type RpcResult = Result<Value, RpcError>;

fn answer(id: &Value, outcome: RpcResult) -> Json<Value> {
    match outcome {
        Ok(result) => super::jsonrpc::result(id, result),
        Err(RpcError(code, message)) => super::jsonrpc::error(id, code, message, None),
    }
}

/// The request's `id`, `method` and `params`, or the error to answer.
fn envelope(body: &[u8]) -> Result<(Value, String, Value), (Value, RpcError)> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| (Value::Null, RpcError(code::PARSE, format!("not JSON: {e}"))))?;
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let invalid = |why: &str| (id.clone(), RpcError(code::INVALID_REQUEST, why.to_owned()));
    if request.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("`jsonrpc` must be \"2.0\""));
    }
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("`method` must be a string"))?
        .to_owned();
    let params = match request.get("params") {
        None | Some(Value::Null) => json!({}),
        Some(params) if params.is_object() => params.clone(),
        Some(_) => return Err(invalid("`params` must be an object")),
    };
    Ok((id, method, params))
}

fn text_param<'a>(params: &'a Value, key: &str) -> Result<&'a str, RpcError> {
    params
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            RpcError(
                code::INVALID_PARAMS,
                format!("`{key}` must be a non-empty string"),
            )
        })
}

/// An agent that must exist and be active (`Data::active_agent`), as a
/// JSON-RPC error naming its role.
fn active(data: &Data, role: &str, id: &str) -> Result<(), RpcError> {
    data.active_agent(id)
        .map(|_| ())
        .map_err(|e| RpcError(code::INVALID_PARAMS, format!("{role}: {}", e.message())))
}

/// Whether `source` may send to `target`: both active, and a live
/// delegation from `source` to `target`.
fn may_send(
    data: &Data,
    source: Option<&str>,
    target: &str,
    now: SystemTime,
) -> Result<(), RpcError> {
    active(data, "target", target)?;
    let Some(source) = source else { return Ok(()) };
    active(data, "sending", source)?;
    if source == target {
        return Err(RpcError(
            code::INVALID_PARAMS,
            "an agent cannot send a task to itself".into(),
        ));
    }
    let delegated = data.delegations.values().any(|d| {
        d.from_agent_id == source
            && d.to_agent_id == target
            && data.delegation_refusal(&d.id, now).is_none()
    });
    if delegated {
        Ok(())
    } else {
        Err(RpcError(
            code::NOT_AUTHORIZED,
            format!("agent `{source}` has no live delegation to `{target}`"),
        ))
    }
}

/// The task as A2A v1.0 shows it.
fn v1(task: &Task) -> Value {
    json!({
        "kind": "task",
        "id": task.id,
        "contextId": task.context_id,
        "status": {"state": task.state, "timestamp": task.updated_at},
        "history": task.history,
        "artifacts": [],
    })
}

/// The task as v0.3 (`tasks/*` on `/a2a`) shows it.
fn legacy(task: &Task) -> Value {
    let status = match task.state.as_str() {
        "submitted" => "pending",
        "working" => "running",
        other => other,
    };
    json!({
        "id": task.id,
        "source_agent_id": task.source_agent_id,
        "target_agent_id": task.target_agent_id,
        "status": status,
        "message": task.message,
        "artifacts": [],
        "metadata": task.metadata,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    })
}

fn new_task(source: Option<&str>, target: &str, now: SystemTime) -> Task {
    let at = rfc3339(now);
    Task {
        id: new_id("task"),
        context_id: new_id("ctx"),
        source_agent_id: source.map(str::to_owned),
        target_agent_id: target.to_owned(),
        state: "submitted".to_owned(),
        history: Vec::new(),
        message: None,
        metadata: None,
        created_at: at.clone(),
        updated_at: at,
    }
}

/// `message/send`: a new task for `target`, or the next message of one.
fn send_message(data: &mut Data, source: Option<&str>, target: &str, params: &Value) -> RpcResult {
    let now = SystemTime::now();
    let message = params
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(|| RpcError(code::INVALID_PARAMS, "`message` must be an object".into()))?;
    let parts_ok = message
        .get("parts")
        .and_then(Value::as_array)
        .is_some_and(|parts| !parts.is_empty());
    if !parts_ok {
        return Err(RpcError(
            code::INVALID_PARAMS,
            "`message.parts` must be a non-empty array".into(),
        ));
    }
    text_param(message, "messageId")?;
    may_send(data, source, target, now)?;
    let mut message = message.clone();
    let task = match message.get("taskId").and_then(Value::as_str) {
        Some(task_id) => {
            let task = data
                .tasks
                .get_mut(task_id)
                .filter(|t| {
                    t.target_agent_id == target
                        && (source.is_none() || t.source_agent_id.as_deref() == source)
                })
                .ok_or_else(|| {
                    RpcError(code::TASK_NOT_FOUND, format!("task `{task_id}` not found"))
                })?;
            if matches!(task.state.as_str(), "completed" | "failed" | "canceled") {
                return Err(RpcError(
                    code::TASK_NOT_CANCELABLE,
                    format!(
                        "task `{task_id}` is {} and takes no more messages",
                        task.state
                    ),
                ));
            }
            task
        }
        None => {
            let task = new_task(source, target, now);
            data.tasks.entry(task.id.clone()).or_insert(task)
        }
    };
    message["taskId"] = json!(task.id);
    message["contextId"] = json!(task.context_id);
    task.history.push(message);
    task.updated_at = rfc3339(now);
    Ok(v1(task))
}

/// The task named by `id` (or `task_id`, P's spelling) that `visible` admits.
fn task_param<'a>(
    data: &'a mut Data,
    params: &Value,
    visible: impl Fn(&Task) -> bool,
) -> Result<&'a mut Task, RpcError> {
    let id = params
        .get("id")
        .or_else(|| params.get("task_id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            RpcError(
                code::INVALID_PARAMS,
                "`id` (or `task_id`) must be a non-empty string".into(),
            )
        })?;
    data.tasks
        .get_mut(id)
        .filter(|t| visible(t))
        .ok_or_else(|| RpcError(code::TASK_NOT_FOUND, format!("task `{id}` not found")))
}

fn cancel(task: &mut Task) -> Result<(), RpcError> {
    if matches!(task.state.as_str(), "completed" | "failed" | "canceled") {
        return Err(RpcError(
            code::TASK_NOT_CANCELABLE,
            format!(
                "task `{}` is {} and cannot be canceled",
                task.id, task.state
            ),
        ));
    }
    task.state = "canceled".to_owned();
    task.updated_at = rfc3339(SystemTime::now());
    Ok(())
}

/// `POST /a2a/agents/{agent_id}`: A2A v1.0, the target from the path and
/// the sender from `X-Agent-ID` when given.
pub(crate) async fn agent_rpc(
    State(state): State<AppState>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let (id, method, params) = match envelope(&body) {
        Ok(parts) => parts,
        Err((id, error)) => return answer(&id, Err(error)),
    };
    let source = headers
        .get("x-agent-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let source = source.as_deref();
    let mut data = state.store.lock();
    let involved = |t: &Task| {
        t.target_agent_id == target
            && source.is_none_or(|s| t.source_agent_id.as_deref() == Some(s))
    };
    let outcome = match method.as_str() {
        "message/send" => send_message(&mut data, source, &target, &params),
        "tasks/get" => task_param(&mut data, &params, involved).map(|t| v1(t)),
        "tasks/cancel" => task_param(&mut data, &params, involved).and_then(|t| {
            cancel(t)?;
            Ok(v1(t))
        }),
        other => Err(RpcError(
            code::METHOD_NOT_FOUND,
            format!("method `{other}` not found"),
        )),
    };
    answer(&id, outcome)
}

/// `POST /a2a`: the v0.3 methods.
pub(crate) async fn rpc(State(state): State<AppState>, body: Bytes) -> Json<Value> {
    let (id, method, params) = match envelope(&body) {
        Ok(parts) => parts,
        Err((id, error)) => return answer(&id, Err(error)),
    };
    let mut data = state.store.lock();
    let outcome = match method.as_str() {
        "tasks/send" => send_task(&mut data, &params),
        "tasks/get" => task_param(&mut data, &params, |_| true).map(|t| legacy(t)),
        "tasks/cancel" => task_param(&mut data, &params, |_| true).and_then(|t| {
            cancel(t)?;
            Ok(legacy(t))
        }),
        "tasks/list" => list(&data, &params),
        other => Err(RpcError(
            code::METHOD_NOT_FOUND,
            format!("method `{other}` not found"),
        )),
    };
    answer(&id, outcome)
}

/// `tasks/send` (v0.3): `message` is any JSON (a string for P).
fn send_task(data: &mut Data, params: &Value) -> RpcResult {
    let source = text_param(params, "source_agent_id")?.to_owned();
    let target = text_param(params, "target_agent_id")?.to_owned();
    let message = params
        .get("message")
        .filter(|m| !m.is_null())
        .ok_or_else(|| RpcError(code::INVALID_PARAMS, "`message` is required".into()))?
        .clone();
    let metadata = params.get("metadata").filter(|m| m.is_object()).cloned();
    let now = SystemTime::now();
    may_send(data, Some(&source), &target, now)?;
    let mut task = new_task(Some(&source), &target, now);
    task.message = Some(message);
    task.metadata = metadata;
    let shown = legacy(&task);
    data.tasks.insert(task.id.clone(), task);
    Ok(shown)
}

/// `tasks/list` (v0.3, R only): newest first, `limit` (default 50, at most 500).
fn list(data: &Data, params: &Value) -> RpcResult {
    let limit = match params.get("limit") {
        None | Some(Value::Null) => 50,
        Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            RpcError(
                code::INVALID_PARAMS,
                "`limit` must be a positive integer".into(),
            )
        })?,
    }
    .min(MAX_LIST);
    let mut tasks: Vec<&Task> = data.tasks.values().collect();
    tasks.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
    let tasks: Vec<Value> = tasks
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(legacy)
        .collect();
    Ok(json!({ "tasks": tasks }))
}
