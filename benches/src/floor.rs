//! The floors: a bare HTTP POST of the same check body, with the settings
//! our client's connection pools use, so that only what the guard adds on
//! top of a well-configured request counts as our overhead.
//!
//! Both floors (async `reqwest::Client`, `reqwest::blocking::Client`):
//! rustls, no redirects, TCP_NODELAY, a 60 s idle pool timeout, the client's
//! default 30 s whole-request timeout ([`DEFAULT_TIMEOUT`]), and on each
//! request the 3 s check deadline ([`DEFAULT_CHECK_TIMEOUT`]) — the timer our
//! check arms. They send the API key and `Content-Type: application/json`,
//! and read the whole answer body; they decode nothing and report nothing.

use std::time::Duration;

use agenttrust_runtime::{DEFAULT_CHECK_TIMEOUT, DEFAULT_TIMEOUT};

/// The async floor's client.
pub fn client() -> reqwest::Client {
    builder().build().expect("floor client")
}

/// The async floor's client over HTTP/2 without TLS (prior knowledge: one
/// connection per client, requests multiplexed on it), to measure what
/// HTTP/2 would change against the HTTP/1.1 floor.
pub fn client_h2() -> reqwest::Client {
    builder()
        .http2_prior_knowledge()
        .build()
        .expect("floor h2 client")
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(DEFAULT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
}

/// The blocking floor's client.
pub fn blocking_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(DEFAULT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("floor blocking client")
}

/// One async floor request: a POST of the check body.
pub fn post(http: &reqwest::Client, url: &str, key: &str, body: &[u8]) -> reqwest::RequestBuilder {
    http.post(url)
        .timeout(DEFAULT_CHECK_TIMEOUT)
        .header("X-API-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
}

/// One async floor call: the POST and its whole answer.
pub async fn call(http: &reqwest::Client, url: &str, key: &str, body: &[u8]) {
    let resp = post(http, url, key, body).send().await.expect("floor post");
    let _ = resp.bytes().await.expect("floor body");
}

/// One blocking floor call: the POST and its whole answer.
pub fn call_blocking(http: &reqwest::blocking::Client, url: &str, key: &str, body: &[u8]) {
    let resp = http
        .post(url)
        .timeout(DEFAULT_CHECK_TIMEOUT)
        .header("X-API-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .expect("floor post");
    let _ = resp.bytes();
}
