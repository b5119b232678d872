//! JSON-RPC 2.0 over the client's transport (A2A, the MCP proxy): an
//! `error` member is a typed [`AgentTrustError::Rpc`], never a result.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};

#[derive(Serialize)]
struct Envelope<'a, P: Serialize> {
    jsonrpc: &'static str,
    id: &'a Value,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

/// The `result` of the call, or its `error` as `AgentTrustError::Rpc` with
/// `code()` = `<prefix>_ERROR_<code>`.
pub(crate) async fn call<P: Serialize, T: DeserializeOwned>(
    client: &AgentTrustClient,
    url: Url,
    id: Value,
    method: &str,
    params: Option<&P>,
    prefix: &str,
) -> Result<T> {
    call_with_headers(client, url, id, method, params, prefix, &[]).await
}

/// [`call`] with per-request headers.
pub(crate) async fn call_with_headers<P: Serialize, T: DeserializeOwned>(
    client: &AgentTrustClient,
    url: Url,
    id: Value,
    method: &str,
    params: Option<&P>,
    prefix: &str,
    headers: &[(&'static str, &str)],
) -> Result<T> {
    let endpoint = url.path().to_owned();
    let t = client.transport();
    let envelope = Envelope {
        jsonrpc: "2.0",
        id: &id,
        method,
        params,
    };
    let answer = t
        .send_with_headers(Method::POST, url, Some(&envelope), t.options(), headers)
        .await?;
    let answer: Value = crate::client::transport::decode(&endpoint, &answer.body)?;
    result_of(&endpoint, answer, prefix)
}

/// Decodes a JSON-RPC answer.
pub(crate) fn result_of<T: DeserializeOwned>(
    endpoint: &str,
    mut answer: Value,
    prefix: &str,
) -> Result<T> {
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        let rpc_code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_owned();
        return Err(AgentTrustError::Rpc {
            rpc_code,
            message,
            data: error
                .get("data")
                .filter(|d| !d.is_null())
                .cloned()
                .map(Box::new),
            code: format!("{prefix}_ERROR_{rpc_code}"),
        });
    }
    let result =
        answer
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| AgentTrustError::Protocol {
                message: format!("{endpoint} answered JSON-RPC with neither `result` nor `error`"),
            })?;
    serde_json::from_value(result).map_err(|source| AgentTrustError::Json {
        endpoint: endpoint.to_owned(),
        source,
    })
}
