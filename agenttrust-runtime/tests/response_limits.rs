//! Every answer the client reads is capped while it streams in: an
//! oversized check answer is an undecodable one (the Guardian is
//! unavailable), and the client stops reading at the cap, so memory stays
//! flat however long the answer is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agenttrust_runtime::{AgentTrustClient, AgentTrustGuard, Decision, MAX_CHECK_RESPONSE_BYTES};
use axum::body::Body;
use axum::Router;
use bytes::Bytes;

const TOTAL: u64 = 64 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// A real HTTP server on 127.0.0.1 answering every request with a chunked
/// (no Content-Length) body of 64 MiB that starts like a valid allow. It
/// counts the bytes it managed to hand to the socket.
async fn streaming_server(produced: Arc<AtomicU64>) -> String {
    let app = Router::new().fallback(move || {
        let produced = produced.clone();
        async move {
            let mut first = br#"{"allowed":true,"reason":""#.to_vec();
            first.resize(CHUNK, b'a');
            let first = Bytes::from(first);
            let filler = Bytes::from(vec![b'a'; CHUNK]);
            let chunks = (0..TOTAL / CHUNK as u64).map(move |i| {
                produced.fetch_add(CHUNK as u64, Ordering::Relaxed);
                Ok::<_, std::io::Error>(if i == 0 {
                    first.clone()
                } else {
                    filler.clone()
                })
            });
            Body::from_stream(futures_util::stream::iter(chunks))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn client(url: &str, max: usize) -> AgentTrustClient {
    AgentTrustClient::builder()
        .base_url(url)
        .api_key("sk_test")
        .max_response_bytes(max)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_oversized_streamed_verdict_is_unavailable_and_never_read_whole() {
    let produced = Arc::new(AtomicU64::new(0));
    let url = streaming_server(produced.clone()).await;
    let client = client(&url, 8 * 1024 * 1024);

    let closed = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    let err = closed.check("read_file", "").await.unwrap_err();
    assert_eq!(err.code(), "GUARDIAN_UNAVAILABLE", "{err}");
    assert!(
        err.to_string()
            .contains(&MAX_CHECK_RESPONSE_BYTES.to_string()),
        "{err}"
    );

    // Failing open treats it as any other undecodable answer.
    let open = AgentTrustGuard::builder(client, "ag_1")
        .fail_open(true)
        .build();
    let decision = open.decide("read_file", "").await.unwrap();
    assert!(
        matches!(decision, Decision::FailedOpen { .. }),
        "{decision:?}"
    );

    // The client hung up at the cap: the server could push no more than the
    // cap plus what the socket buffers hold, nowhere near 64 MiB per check.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = produced.load(Ordering::Relaxed);
    assert!(
        sent < 2 * 16 * 1024 * 1024,
        "{sent} bytes produced for two checks"
    );
}

#[tokio::test]
async fn other_endpoints_honour_the_configured_cap() {
    let produced = Arc::new(AtomicU64::new(0));
    let url = streaming_server(produced.clone()).await;
    let err = client(&url, 1024 * 1024)
        .agents()
        .list(None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "RESPONSE_TOO_LARGE", "{err}");
    assert!(err.to_string().contains("1048576"), "{err}");
    assert!(err.is_unavailable());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(produced.load(Ordering::Relaxed) < 16 * 1024 * 1024);
}

#[tokio::test]
async fn a_declared_oversized_length_is_refused_before_reading() {
    let server = wiremock::MockServer::builder().start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_bytes(vec![b' '; 2 * 1024 * 1024]),
        )
        .mount(&server)
        .await;
    let err = client(&server.uri(), 1024 * 1024)
        .health()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "RESPONSE_TOO_LARGE", "{err}");
    // Under the cap the same answer is read.
    let ok = client(&server.uri(), 4 * 1024 * 1024).health().await;
    assert!(ok.is_ok(), "{ok:?}");
}

/// A JSON body of exactly `len` bytes with `allowed: true` (or a list).
fn padded(len: usize, prefix: &str) -> Vec<u8> {
    let mut body = prefix.as_bytes().to_vec();
    let suffix = b"\"}";
    body.resize(len - suffix.len(), b'a');
    body.extend_from_slice(suffix);
    body
}

#[tokio::test]
async fn the_default_caps_are_256_kib_for_a_verdict_and_8_mib_otherwise() {
    use wiremock::matchers::path;
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::builder().start().await;
    let verdict = |len| padded(len, r#"{"allowed":true,"reason":""#);
    let list = |len| padded(len, r#"{"agents":[],"pad":""#);
    for (route, body) in [
        ("/api/v1/agenttrust/check", verdict(256 * 1024)),
        ("/api/v1/agents", list(8 * 1024 * 1024)),
    ] {
        Mock::given(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
            .mount(&server)
            .await;
    }
    let defaults = AgentTrustClient::builder()
        .base_url(server.uri())
        .build()
        .unwrap();
    let guard = AgentTrustGuard::builder(defaults.clone(), "ag_1").build();
    guard
        .check("read_file", "")
        .await
        .expect("a verdict of exactly 256 KiB is read");
    defaults
        .agents()
        .list(None)
        .await
        .expect("a list of exactly 8 MiB is read");

    server.reset().await;
    for (route, body) in [
        ("/api/v1/agenttrust/check", verdict(256 * 1024 + 1)),
        ("/api/v1/agents", list(8 * 1024 * 1024 + 1)),
    ] {
        Mock::given(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
            .mount(&server)
            .await;
    }
    let err = guard.check("read_file", "").await.unwrap_err();
    assert!(err.to_string().contains("262144"), "{err}");
    let err = defaults.agents().list(None).await.unwrap_err();
    assert_eq!(err.code(), "RESPONSE_TOO_LARGE");
    assert!(err.to_string().contains("8388608"), "{err}");
}

/// A server answering with `chunks`, each its own write (50 ms apart), and
/// no Content-Length: the cap must hold on the stream itself.
async fn chunked_server(chunks: Vec<&'static str>) -> String {
    let app = Router::new().fallback(move || {
        let chunks = chunks.clone();
        async move {
            let stream = futures_util::stream::unfold(chunks.into_iter(), |mut rest| async move {
                let chunk = rest.next()?;
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((
                    Ok::<_, std::io::Error>(Bytes::from_static(chunk.as_bytes())),
                    rest,
                ))
            });
            Body::from_stream(stream)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_cap_is_exact_on_a_chunked_stream() {
    // 20 bytes in two chunks: exactly the cap, read.
    let url = chunked_server(vec![r#"{"status":""#, r#"abcdefg"}"#]).await;
    let health = client(&url, 20)
        .health()
        .await
        .expect("20 bytes fit a 20-byte cap");
    assert_eq!(health.status, "abcdefg");
    // 20 bytes in one chunk: read too.
    let url = chunked_server(vec![r#"{"status":"abcdefg"}"#]).await;
    assert!(client(&url, 20).health().await.is_ok());
    // 21 bytes in two chunks: one over, refused.
    let url = chunked_server(vec![r#"{"status":""#, r#"abcdefgh"}"#]).await;
    let err = client(&url, 20).health().await.unwrap_err();
    assert_eq!(err.code(), "RESPONSE_TOO_LARGE", "{err}");
    // 21 bytes in a single chunk: refused too.
    let url = chunked_server(vec![r#"{"status":"abcdefgh"}"#]).await;
    let err = client(&url, 20).health().await.unwrap_err();
    assert_eq!(err.code(), "RESPONSE_TOO_LARGE", "{err}");
}

#[tokio::test]
async fn an_endless_error_body_is_read_only_for_its_first_bytes() {
    // A 503 whose body never ends: the client reads the first 16 KiB for a
    // message and answers, instead of reading until the request timeout.
    let app = Router::new().fallback(|| async {
        let chunk = Bytes::from(vec![b'x'; 4096]);
        let endless = futures_util::stream::unfold(chunk, |chunk| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Some((Ok::<_, std::io::Error>(chunk.clone()), chunk))
        });
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Body::from_stream(endless),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let started = std::time::Instant::now();
    let err = client(&format!("http://{addr}"), 1024)
        .health()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_error_body_past_16_kib_is_not_parsed_for_its_message() {
    let server = wiremock::MockServer::builder().start().await;
    let body = serde_json::to_vec(&serde_json::json!({"message": "x".repeat(20_000)})).unwrap();
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(409).set_body_bytes(body))
        .mount(&server)
        .await;
    let err = client(&server.uri(), 1024).health().await.unwrap_err();
    // Only the first 16 KiB were read: not JSON, so the message is the
    // start of the raw text, cut to 500 characters.
    let agenttrust_runtime::AgentTrustError::Api {
        message,
        status: 409,
        ..
    } = err
    else {
        panic!("{err}");
    };
    assert!(message.starts_with(r#"{"message":"xxx"#), "{message}");
    assert_eq!(message.chars().count(), 500);
}
