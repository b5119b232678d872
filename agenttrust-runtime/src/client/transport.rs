//! One HTTP exchange with the gateway: URL building, auth header, status
//! mapping and tolerant decoding. Every API group goes through here.

use std::fmt;

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{AgentTrustError, Result};

/// The organization API key; its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: String) -> Self {
        Self(key)
    }

    pub(crate) fn header_value(&self) -> Result<HeaderValue> {
        let mut value = HeaderValue::from_str(&self.0).map_err(|_| {
            AgentTrustError::config("the API key contains characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The body of a 2xx answer, kept as bytes until a typed decode.
pub(crate) struct Answer {
    pub(crate) body: bytes::Bytes,
}

/// How one request is bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestOptions {
    /// Overrides the client's whole-request timeout.
    pub(crate) timeout: Option<std::time::Duration>,
    /// The largest 2xx body read; a longer one is refused.
    pub(crate) max_body: usize,
    /// Whether the request carries the API key (not to public routes).
    pub(crate) with_key: bool,
}

/// The size limits and the check deadline of a client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest 2xx body of any endpoint but the check (a check's is
    /// always `MAX_CHECK_RESPONSE_BYTES`).
    pub(crate) max_response_bytes: usize,
    /// The deadline of one check, connect to last byte.
    pub(crate) check_timeout: std::time::Duration,
}

/// How much of an error body is read for its message.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Makes the HTTP client of one connection pool.
pub(crate) type PoolFactory = Box<dyn Fn() -> reqwest::Result<reqwest::Client> + Send + Sync>;

/// How many per-runtime pools are kept before the oldest are let go.
const MAX_POOLS: usize = 16;

/// The shared HTTP side of a client: base URL, API key, and a connection
/// pool per tokio runtime.
///
/// A pooled connection is driven by a task on the runtime that opened it.
/// Handing it to a caller on another runtime hangs that caller whenever the
/// opening runtime is idle (a current-thread runtime outside `block_on`),
/// so each runtime gets a pool of its own; the blocking facade and the
/// telemetry worker share the background runtime's.
pub(crate) struct Transport {
    make_pool: PoolFactory,
    pools: std::sync::RwLock<Vec<(tokio::runtime::Id, reqwest::Client)>>,
    base: Url,
    /// The two URLs every guarded call uses, built once.
    check_url: Url,
    report_url: Url,
    base_str: String,
    api_key: Option<ApiKey>,
    api_key_header: Option<HeaderValue>,
    limits: Limits,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_str)
            .field("api_key", &self.api_key)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(
        make_pool: PoolFactory,
        base: Url,
        api_key: Option<ApiKey>,
        api_key_header: Option<HeaderValue>,
        limits: Limits,
    ) -> Self {
        let base_str = base.as_str().trim_end_matches('/').to_owned();
        let check_url = with_segments(&base, &["api", "v1", "agenttrust", "check"]);
        let report_url = with_segments(&base, &["api", "v1", "telemetry", "report"]);
        Self {
            make_pool,
            pools: std::sync::RwLock::new(Vec::new()),
            base,
            check_url,
            report_url,
            base_str,
            api_key,
            api_key_header,
            limits,
        }
    }

    /// The bounds of an ordinary API call: the client's timeout and body cap.
    pub(crate) fn options(&self) -> RequestOptions {
        RequestOptions {
            timeout: None,
            max_body: self.limits.max_response_bytes,
            with_key: true,
        }
    }

    /// The bounds of a check: `timeout`, or the client's check deadline, and
    /// the verdict body cap.
    pub(crate) fn check_options(&self, timeout: Option<std::time::Duration>) -> RequestOptions {
        RequestOptions {
            timeout: Some(timeout.unwrap_or(self.limits.check_timeout)),
            max_body: super::MAX_CHECK_RESPONSE_BYTES,
            with_key: true,
        }
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_str
    }

    pub(crate) fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The URL of `segments` below the base URL, each segment percent-encoded
    /// so that an id holding `/`, `?`, `#` or spaces stays one segment (D13).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        with_segments(&self.base, segments)
    }

    /// `POST /api/v1/agenttrust/check`, built once (the hot path).
    pub(crate) fn check_url(&self) -> Url {
        self.check_url.clone()
    }

    /// `POST /api/v1/telemetry/report`, built once.
    pub(crate) fn report_url(&self) -> Url {
        self.report_url.clone()
    }

    /// The connection pool of the runtime this call runs on (the background
    /// runtime's outside any).
    fn http(&self) -> Result<reqwest::Client> {
        let id = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.id(),
            Err(_) => crate::background::handle()?.id(),
        };
        if let Ok(pools) = self.pools.read() {
            if let Some((_, client)) = pools.iter().find(|(pool, _)| *pool == id) {
                return Ok(client.clone());
            }
        }
        let client = (self.make_pool)().map_err(|e| {
            AgentTrustError::config(format!("could not build the HTTP client: {e}"))
        })?;
        if let Ok(mut pools) = self.pools.write() {
            if pools.len() >= MAX_POOLS {
                // Pools of runtimes that ended are dead weight; the oldest go first.
                pools.drain(..MAX_POOLS / 2);
            }
            pools.push((id, client.clone()));
        }
        Ok(client)
    }

    /// Sends one request and returns the body of a 2xx answer; any other
    /// status becomes the matching [`AgentTrustError`].
    ///
    /// Redirects are never followed (the pools are built without a redirect
    /// policy): a 3xx answer is a configuration error, so the API key never
    /// reaches another origin and no other server's answer can become a
    /// verdict. Bodies are read in chunks up to `options.max_body` bytes.
    pub(crate) async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        options: RequestOptions,
    ) -> Result<Answer> {
        self.send_with_headers(method, url, body, options, &[])
            .await
    }

    /// [`send`](Self::send) with per-request headers (the MCP proxy's
    /// `X-Agent-ID`), passed per call so concurrent calls never share them.
    pub(crate) async fn send_with_headers<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        options: RequestOptions,
        headers: &[(&'static str, &str)],
    ) -> Result<Answer> {
        let bytes = match body {
            Some(body) => {
                // Check and report bodies fit in 256 bytes per event; start there.
                let mut bytes = Vec::with_capacity(256);
                serde_json::to_writer(&mut bytes, body).map_err(|e| AgentTrustError::Config {
                    message: format!("could not encode the request body: {e}"),
                })?;
                Some(bytes)
            }
            None => None,
        };
        self.send_bytes(method, url, bytes, options, headers).await
    }

    /// [`send_with_headers`](Self::send_with_headers) of a body already
    /// encoded as JSON (the guard's check bodies are mostly pre-encoded).
    ///
    /// The request is built before the returned future, which then holds
    /// only reqwest's pending exchange: a check's future is boxed and
    /// moved per call, so what it carries is memory every call writes.
    /// Not `async fn`, whose future would also keep every argument. Called
    /// from inside the async fns that await it, so its errors still come at
    /// their first poll, on the runtime whose pool it uses.
    pub(crate) fn send_bytes(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        options: RequestOptions,
        headers: &[(&'static str, &str)],
    ) -> impl std::future::Future<Output = Result<Answer>> + Send + 'static {
        let build = || -> Result<reqwest::RequestBuilder> {
            let mut request = self.http()?.request(method, url);
            for (name, value) in headers {
                let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                    AgentTrustError::config(format!("`{name}` is not a valid header value"))
                })?;
                request = request.header(*name, value);
            }
            if let Some(key) = self.api_key_header.as_ref().filter(|_| options.with_key) {
                request = request.header("X-API-Key", key.clone());
            }
            if let Some(timeout) = options.timeout {
                request = request.timeout(timeout);
            }
            if let Some(bytes) = body {
                request = request.body(bytes);
            }
            Ok(request)
        };
        exchange(build().map(reqwest::RequestBuilder::send), options.max_body)
    }

    /// Sends a request and decodes a 2xx body as `T`; an empty body decodes
    /// as `{}` so that lenient types come back with their defaults.
    pub(crate) async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<T> {
        let endpoint = url.path().to_owned();
        let answer = self.send(method, url, body, self.options()).await?;
        decode(&endpoint, &answer.body)
    }

    /// A `GET` of a public route, without the API key (the key is not
    /// needed there, so it is not handed out).
    pub(crate) async fn public_json<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        let endpoint = url.path().to_owned();
        let options = RequestOptions {
            with_key: false,
            ..self.options()
        };
        let answer = self.send(Method::GET, url, None::<&()>, options).await?;
        decode(&endpoint, &answer.body)
    }

    /// Sends a request whose answer body is ignored (revoke, approve, ...).
    pub(crate) async fn unit<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<()> {
        self.send(method, url, body, self.options()).await.map(drop)
    }
}

/// Awaits a sent request's answer: the body of a 2xx answer of at most
/// `max_body` bytes; any other status becomes the matching
/// [`AgentTrustError`] (see [`Transport::send`]).
/// `pending` is what `RequestBuilder::send` returns (a name reqwest does
/// not export).
async fn exchange<P>(pending: Result<P>, max_body: usize) -> Result<Answer>
where
    P: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut response = pending?.await.map_err(network_error)?;
    let status = response.status();
    if status.is_redirection() {
        return Err(redirect_error(response.url(), status, response.headers()));
    }
    if status.is_success() {
        let body = read_capped(&mut response, max_body).await?.ok_or_else(|| {
            AgentTrustError::ResponseTooLarge {
                endpoint: response.url().path().to_owned(),
                limit: max_body,
            }
        })?;
        Ok(Answer { body })
    } else {
        // An error body is only read for its message: its first bytes do.
        let body = read_prefix(&mut response, MAX_ERROR_BODY).await;
        Err(status_error(status, &body))
    }
}

/// Reads a body of at most `limit` bytes, chunk by chunk, so an endless or
/// huge answer costs no more than `limit` of memory; `None` when it is longer.
async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Option<bytes::Bytes>> {
    let declared = response.content_length().unwrap_or(0);
    if usize::try_from(declared).map_or(true, |n| n > limit) {
        return Ok(None);
    }
    let first = match response.chunk().await.map_err(network_error)? {
        Some(chunk) if chunk.len() > limit => return Ok(None),
        Some(chunk) => chunk,
        None => return Ok(Some(bytes::Bytes::new())),
    };
    // Most answers come in one chunk: keep it as it is.
    let Some(second) = response.chunk().await.map_err(network_error)? else {
        return Ok(Some(first));
    };
    let mut body = bytes::BytesMut::with_capacity(first.len() + second.len());
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(network_error)?;
    }
    Ok(Some(body.freeze()))
}

/// The first `limit` bytes of a body (less when it is shorter or breaks off).
async fn read_prefix(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    body
}

/// A 3xx answer: never followed, and never a verdict.
fn redirect_error(
    url: &Url,
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> AgentTrustError {
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| crate::summary::truncate_chars(l, 200).to_owned())
        .unwrap_or_else(|| "nowhere".to_owned());
    AgentTrustError::config(format!(
        "the gateway answered {path} with HTTP {code}, a redirect to {location}; redirects are \
         not followed, so the API key stays with the configured origin and only its answer \
         counts: set base_url to the address that serves the API",
        path = url.path(),
        code = status.as_u16(),
    ))
}

fn with_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Decodes a 2xx body, reading an empty one as `{}`.
pub(crate) fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|source| AgentTrustError::Json {
        endpoint: endpoint.to_owned(),
        source,
    })
}

fn network_error(error: reqwest::Error) -> AgentTrustError {
    let timeout = error.is_timeout();
    let message = if timeout {
        "request timed out".to_owned()
    } else if error.is_connect() {
        "could not connect to the gateway".to_owned()
    } else {
        "the request failed before an answer arrived".to_owned()
    };
    AgentTrustError::Network {
        message,
        timeout,
        source: Some(Box::new(error)),
    }
}

/// The error body variants of PROTOCOL.md §18.1: `message`, else `error`
/// (a string or an object with `message`), plus an optional `code`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

const MAX_ERROR_TEXT: usize = 500;

fn status_error(status: StatusCode, body: &[u8]) -> AgentTrustError {
    let code = status.as_u16();
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let from_json = parsed.as_ref().and_then(|b| {
        b.message
            .clone()
            .filter(|m| !m.is_empty())
            .or_else(|| match &b.error {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(serde_json::Value::Object(o)) => {
                    o.get("message").and_then(|m| m.as_str()).map(str::to_owned)
                }
                _ => None,
            })
    });
    let message = from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() || parsed.is_some() {
            format!("HTTP {code} error")
        } else {
            crate::summary::truncate_chars(text, MAX_ERROR_TEXT).to_owned()
        }
    });
    match code {
        400 | 422 => AgentTrustError::Validation {
            message,
            status: code,
        },
        401 => AgentTrustError::Authentication {
            message,
            status: code,
        },
        403 => AgentTrustError::Authorization {
            message,
            status: code,
        },
        404 => AgentTrustError::NotFound {
            message,
            status: code,
        },
        _ => {
            let server_code = parsed
                .and_then(|b| b.code)
                .and_then(|c| c.as_str().map(str::to_owned))
                .filter(|c| !c.is_empty());
            AgentTrustError::Api {
                message,
                code: server_code.unwrap_or_else(|| format!("HTTP_{code}")),
                status: code,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_in_every_variant() {
        let e = status_error(
            StatusCode::BAD_REQUEST,
            br#"{"message":"name is required","code":"X"}"#,
        );
        assert!(
            matches!(e, AgentTrustError::Validation { ref message, status: 400 } if message == "name is required")
        );
        let e = status_error(StatusCode::UNAUTHORIZED, br#"{"error":"invalid api key"}"#);
        assert!(
            matches!(e, AgentTrustError::Authentication { ref message, .. } if message == "invalid api key")
        );
        let e = status_error(StatusCode::FORBIDDEN, br#"{"error":{"message":"nope"}}"#);
        assert!(
            matches!(e, AgentTrustError::Authorization { ref message, .. } if message == "nope")
        );
        let e = status_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert!(
            matches!(e, AgentTrustError::Api { ref message, ref code, status: 502 } if message == "<html>bad gateway</html>" && code == "HTTP_502")
        );
        let e = status_error(
            StatusCode::CONFLICT,
            br#"{"message":"already decided","code":"CONFLICT"}"#,
        );
        assert_eq!(e.code(), "CONFLICT");
        let e = status_error(StatusCode::NOT_FOUND, b"");
        assert!(
            matches!(e, AgentTrustError::NotFound { ref message, .. } if message == "HTTP 404 error")
        );
        // Empty messages are no messages.
        for empty in [&br#"{"error":""}"#[..], br#"{"message":"","error":""}"#] {
            let e = status_error(StatusCode::BAD_GATEWAY, empty);
            assert!(
                matches!(e, AgentTrustError::Api { ref message, .. } if message == "HTTP 502 error"),
                "{e}"
            );
        }
    }

    #[test]
    fn api_key_is_redacted() {
        let key = ApiKey::new("sk_live_secret".into());
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        let client = crate::AgentTrustClient::builder()
            .base_url("http://127.0.0.1:9/gw")
            .api_key("sk_live_secret")
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("http://127.0.0.1:9/gw") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn an_error_body_is_read_for_its_message_up_to_16_kib() {
        let long = "x".repeat(10_000);
        let body = serde_json::to_vec(&serde_json::json!({ "message": long })).unwrap();
        let e = status_error(StatusCode::CONFLICT, &body);
        assert!(
            matches!(&e, AgentTrustError::Api { message, .. } if *message == long),
            "{e}"
        );
        assert_eq!(MAX_ERROR_BODY, 16 * 1024);
    }
}
