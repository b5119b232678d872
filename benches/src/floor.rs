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
//!
//! [`Reporter`] adds the reporting floor, for `--decompose-telemetry`: the
//! async floor plus the least work of reporting each call; with
//! [`allowed`] and [`Reporter::report_call`], the minimal guard: what any
//! guard must add to the bare request (read the Guardian's decision, report
//! the call with its own duration and time).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

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

/// The one field of the Guardian's answer a guard cannot do without.
#[derive(serde::Deserialize)]
struct Allowed {
    allowed: bool,
}

/// Whether the check's answer allows the call: serde_json reading `allowed`
/// and skipping the rest, the least decoding a guard can do.
pub fn allowed(answer: &[u8]) -> bool {
    serde_json::from_slice::<Allowed>(answer).is_ok_and(|a| a.allowed)
}

/// One call of the minimal guard (`--decompose-telemetry`): `request` (the
/// async floor's, built at `started`) sent and its whole answer read, the
/// answer's `allowed` required, and the call reported with its own
/// duration and time.
pub async fn minimal_guard(
    request: reqwest::RequestBuilder,
    started: Instant,
    reporter: &Reporter,
) {
    let resp = request.send().await.expect("post");
    let answer = resp.bytes().await.expect("answer");
    assert!(allowed(&answer), "the minimal guard was not allowed");
    reporter.report_call(started.elapsed(), SystemTime::now());
}

/// One event as the reporting floor sends it: what our encoder writes for a
/// successful call, with a fixed time (the reporting floor reads no clock).
const EVENT: &[u8] = br#"{"event_type":"tool_end","tool_name":"bench_tool","duration_ms":1,"success":true,"timestamp":"2026-12-04T00:00:00.000Z"}"#;

/// Events per report of the reporting floor: our pipeline's batch while
/// reports stream in ([`agenttrust_runtime::DEFAULT_BACKLOG_BATCH`]).
const REPORT_EVENTS: usize = agenttrust_runtime::DEFAULT_BACKLOG_BATCH;

/// The reporting floor: the least a client that reports every call must do
/// on top of the async floor, in our pipeline's shape (the posts run on a
/// one-thread runtime of their own). A call appends a pre-encoded event to
/// one buffer under a lock; every [`REPORT_EVENTS`] events the buffer is
/// posted as one report. No clock read, no queue, no encoding, no retry.
pub struct Reporter {
    http: reqwest::Client,
    url: Arc<str>,
    key: Arc<str>,
    /// `{"agent_id":..,"session_id":..,"events":[`, each report's start.
    head: Vec<u8>,
    /// The report being filled.
    batch: Mutex<Batch>,
    /// Dropped with the reporter, on the measuring thread (the posts' tasks
    /// hold no reporter, so none of them drops its own runtime).
    io: tokio::runtime::Runtime,
    /// Posts the gateway did not accept (a row whose reports fail would
    /// measure less work than it claims).
    failed: Arc<AtomicU64>,
}

impl Reporter {
    /// A reporter for `agent` and `session` of the gateway at `base`.
    pub fn new(base: &str, key: &str, agent: &str, session: &str) -> Reporter {
        let text = |s: &str| serde_json::to_string(s).expect("json string");
        let head = format!(
            r#"{{"agent_id":{},"session_id":{},"events":["#,
            text(agent),
            text(session)
        )
        .into_bytes();
        Reporter {
            http: client(),
            url: format!("{base}/api/v1/telemetry/report").into(),
            key: key.into(),
            batch: Mutex::new(Batch {
                body: head.clone(),
                events: 0,
                second: None,
                second_text: Vec::new(),
            }),
            head,
            io: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("reporting-floor-io")
                .enable_all()
                .build()
                .expect("reporting floor runtime"),
            failed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records one call with the fixed event; posts the report when it is full.
    pub fn report(&self) {
        self.append(|batch| batch.body.extend_from_slice(EVENT));
    }

    /// Records one call with its own duration and time (the minimal guard's
    /// report): the event our encoder writes, formatted here, the time's
    /// text up to the second kept for the next event of the same second.
    pub fn report_call(&self, duration: Duration, at: SystemTime) {
        let since_epoch = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.append(|batch| {
            let second = since_epoch.as_secs();
            if batch.second != Some(second) {
                let text = humantime::format_rfc3339_seconds(
                    SystemTime::UNIX_EPOCH + Duration::from_secs(second),
                )
                .to_string();
                batch.second_text = text.trim_end_matches('Z').as_bytes().to_vec();
                batch.second = Some(second);
            }
            let body = &mut batch.body;
            body.extend_from_slice(
                br#"{"event_type":"tool_end","tool_name":"bench_tool","duration_ms":"#,
            );
            let _ = serde_json::to_writer(&mut *body, &(duration.as_millis() as u64));
            body.extend_from_slice(br#","success":true,"timestamp":""#);
            body.extend_from_slice(&batch.second_text);
            let millis = since_epoch.subsec_millis();
            body.extend_from_slice(&[
                b'.',
                b'0' + (millis / 100) as u8,
                b'0' + (millis / 10 % 10) as u8,
                b'0' + (millis % 10) as u8,
                b'Z',
                b'"',
                b'}',
            ]);
        });
    }

    /// Appends one event under the lock; posts the report when it is full.
    fn append(&self, write: impl FnOnce(&mut Batch)) {
        let full = {
            let mut batch = self.batch.lock().expect("report buffer");
            if batch.events > 0 {
                batch.body.push(b',');
            }
            write(&mut batch);
            batch.events += 1;
            (batch.events == REPORT_EVENTS).then(|| {
                batch.events = 0;
                std::mem::replace(&mut batch.body, self.head.clone())
            })
        };
        if let Some(mut body) = full {
            body.extend_from_slice(b"]}");
            let (http, url, key) = (self.http.clone(), self.url.clone(), self.key.clone());
            let failed = self.failed.clone();
            self.io.spawn(async move {
                let sent = http
                    .post(&*url)
                    .header("X-API-Key", &*key)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let accepted = match sent {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if !accepted {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    }

    /// How many posts the gateway did not accept.
    pub fn failed_posts(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// The report being filled, and the time text of its last second.
struct Batch {
    body: Vec<u8>,
    events: usize,
    /// The second of the last timestamp written, and its text up to the
    /// second (`2026-12-04T17:19:38`).
    second: Option<u64>,
    second_text: Vec<u8>,
}
