//! The background telemetry pipeline: batching, timer, retry, bound, flush
//! and drop, against a real HTTP server on loopback.

mod common;

use std::time::{Duration, Instant};

use agenttrust_runtime::{AgentTrustGuard, FlushOutcome, TelemetryConfig};
use common::{client_with, telemetry_events};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPORT: &str = "/api/v1/telemetry/report";

async fn sink(server: &MockServer, reply: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(REPORT))
        .respond_with(reply)
        .mount(server)
        .await;
}

fn fast_retry() -> TelemetryConfig {
    TelemetryConfig::default().retry_backoff(Duration::from_millis(10), Duration::from_millis(100))
}

#[tokio::test]
async fn a_burst_starts_with_a_batch_of_ten_and_flush_delivers_all_in_order() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(200)).await;
    let client = client_with(&server, fast_retry());
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1")
        .session_id("s1")
        .build();
    for i in 0..25 {
        assert!(guard.report(&format!("tool_{i}"), i % 2 == 0, i));
    }
    assert_eq!(
        guard.flush(Duration::from_secs(10)).await,
        FlushOutcome::Delivered
    );
    let sizes: Vec<usize> = common::bodies(&server, REPORT)
        .await
        .iter()
        .map(|b| b["events"].as_array().unwrap().len())
        .collect();
    // The first report carries the official ten; the burst may then grow
    // the batches (the reports streamed in), never past the bound.
    assert_eq!(sizes[0], 10, "{sizes:?}");
    assert!(
        sizes
            .iter()
            .all(|n| *n <= agenttrust_runtime::DEFAULT_BACKLOG_BATCH),
        "{sizes:?}"
    );
    let events = telemetry_events(&server).await;
    let names: Vec<_> = events
        .iter()
        .map(|e| e["tool_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        (0..25).map(|i| format!("tool_{i}")).collect::<Vec<_>>(),
        "in order, once each"
    );
    let stats = client.telemetry_stats();
    assert_eq!((stats.sent, stats.queued, stats.dropped), (25, 0, 0));
}

#[tokio::test]
async fn a_partial_batch_is_sent_on_the_timer_without_flush() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(200)).await;
    let client = client_with(
        &server,
        fast_retry().flush_interval(Duration::from_millis(200)),
    );
    let guard = AgentTrustGuard::builder(client, "ag_1").build();
    guard.report("one", true, 1);
    let start = Instant::now();
    while telemetry_events(&server).await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timer flush never happened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn events_of_different_agents_and_sessions_go_in_separate_reports() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(200)).await;
    let client = client_with(&server, fast_retry());
    let a = AgentTrustGuard::builder(client.clone(), "ag_a")
        .session_id("s1")
        .build();
    let b = AgentTrustGuard::builder(client.clone(), "ag_b")
        .session_id("s2")
        .build();
    a.report("x", true, 1);
    b.report("y", true, 1);
    a.report_failure("z", 2, "std::io::Error");
    assert!(client.flush(Duration::from_secs(5)).await.is_delivered());
    let batches = common::bodies(&server, REPORT).await;
    for batch in &batches {
        let agent = batch["agent_id"].as_str().unwrap();
        for event in batch["events"].as_array().unwrap() {
            let expected = if event["tool_name"] == "y" {
                "ag_b"
            } else {
                "ag_a"
            };
            assert_eq!(agent, expected);
        }
    }
    let failure = telemetry_events(&server)
        .await
        .into_iter()
        .find(|e| e["tool_name"] == "z")
        .unwrap();
    assert_eq!(
        (failure["success"].as_bool(), failure["error_type"].as_str()),
        (Some(false), Some("std::io::Error"))
    );
    assert_eq!(failure["event_type"], "tool_error");
    let ts = failure["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && humantime::parse_rfc3339(ts).is_ok(),
        "{ts}"
    );
}

#[tokio::test]
async fn ten_thousand_reports_stay_fast_against_a_failing_slow_endpoint_and_all_arrive_after_recovery(
) {
    let server = common::server().await;
    sink(
        &server,
        ResponseTemplate::new(503).set_delay(Duration::from_millis(500)),
    )
    .await;
    let client = client_with(&server, fast_retry());
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1")
        .session_id("s1")
        .build();

    let mut slowest = Duration::ZERO;
    let start = Instant::now();
    for i in 0..10_000u64 {
        let t = Instant::now();
        assert!(guard.report("tool", true, i));
        slowest = slowest.max(t.elapsed());
    }
    let total = start.elapsed();
    // Generous bounds only: the real figure belongs to the benchmark.
    assert!(
        total < Duration::from_secs(2),
        "10,000 reports took {total:?}"
    );
    assert!(
        slowest < Duration::from_millis(200),
        "one report took {slowest:?}: it waited on something"
    );
    assert_eq!(
        guard.flush(Duration::from_millis(100)).await,
        FlushOutcome::TimedOut { pending: 10_000 }
    );
    let waiting = Instant::now();
    while client.telemetry_stats().failed_posts == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no post ever failed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    server.reset().await;
    sink(&server, ResponseTemplate::new(200)).await;
    assert_eq!(
        guard.flush(Duration::from_secs(60)).await,
        FlushOutcome::Delivered
    );
    let events = telemetry_events(&server).await;
    assert_eq!(events.len(), 10_000);
    let mut durations: Vec<u64> = events
        .iter()
        .map(|e| e["duration_ms"].as_u64().unwrap())
        .collect();
    durations.sort_unstable();
    assert_eq!(
        durations,
        (0..10_000).collect::<Vec<_>>(),
        "each event exactly once"
    );
    let stats = client.telemetry_stats();
    assert_eq!((stats.sent, stats.dropped, stats.queued), (10_000, 0, 0));
    // The backlog drained in large batches, none over the bound.
    let sizes: Vec<usize> = common::bodies(&server, REPORT)
        .await
        .iter()
        .map(|b| b["events"].as_array().unwrap().len())
        .collect();
    assert!(sizes
        .iter()
        .all(|n| *n <= agenttrust_runtime::DEFAULT_BACKLOG_BATCH));
    assert!(sizes.iter().any(|n| *n > 10), "{sizes:?}");
}

#[tokio::test]
async fn backlog_batches_can_be_turned_off() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(200)).await;
    let client = client_with(&server, fast_retry().backlog_batch(1));
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    for i in 0..2_000 {
        guard.report("t", true, i);
    }
    assert!(guard.flush(Duration::from_secs(30)).await.is_delivered());
    let batches = common::bodies(&server, REPORT).await;
    assert!(batches
        .iter()
        .all(|b| b["events"].as_array().unwrap().len() <= 10));
    assert_eq!(telemetry_events(&server).await.len(), 2_000);
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_blocking() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(503)).await;
    let client = client_with(&server, fast_retry().capacity(100));
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    let accepted = (0..150).filter(|_| guard.report("t", true, 1)).count();
    assert_eq!(accepted, 100);
    let stats = client.telemetry_stats();
    assert_eq!((stats.queued, stats.dropped), (100, 50));
}

/// A writer for a test subscriber, shared with the test that reads it.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn drops_at_a_full_queue_are_logged_once_per_outage() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(503)).await;
    let client = client_with(&server, fast_retry().capacity(10));
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..1_000 {
            guard.report("t", true, 1);
        }
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("telemetry queue full").count(), 1, "{text}");
    assert_eq!(client.telemetry_stats().dropped, 990);
}

#[tokio::test]
async fn a_rejected_batch_is_dropped_and_counted_not_retried_forever() {
    let server = common::server().await;
    sink(
        &server,
        ResponseTemplate::new(400).set_body_string(r#"{"message":"bad event"}"#),
    )
    .await;
    let client = client_with(&server, fast_retry());
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    guard.report("t", true, 1);
    assert!(client.flush(Duration::from_secs(5)).await.is_delivered());
    let stats = client.telemetry_stats();
    assert_eq!((stats.dropped, stats.failed_posts, stats.sent), (1, 1, 0));
}

#[tokio::test]
async fn dropping_the_last_handle_inside_a_runtime_does_not_block() {
    let server = common::server().await;
    sink(
        &server,
        ResponseTemplate::new(503).set_delay(Duration::from_secs(1)),
    )
    .await;
    let client = client_with(&server, fast_retry());
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    for _ in 0..50 {
        guard.report("t", true, 1);
    }
    let start = Instant::now();
    drop(guard);
    drop(client);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "drop blocked for {:?}",
        start.elapsed()
    );
}

#[test]
fn dropping_the_last_handle_outside_a_runtime_delivers_what_is_queued() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = common::server().await;
        sink(&server, ResponseTemplate::new(200)).await;
        server
    });
    let client = client_with(
        &server,
        TelemetryConfig::default().flush_interval(Duration::from_secs(30)),
    );
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    for _ in 0..3 {
        guard.report("t", true, 1);
    }
    drop(guard);
    drop(client);
    assert_eq!(rt.block_on(telemetry_events(&server)).len(), 3);
}

#[tokio::test]
async fn dropping_guard_clones_does_not_post_a_batch_per_call() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(200)).await;
    let client = client_with(
        &server,
        fast_retry().flush_interval(Duration::from_secs(30)),
    );
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    for i in 0..10 {
        let per_call = guard.clone();
        per_call.report("t", true, i);
        drop(per_call);
    }
    assert!(client.flush(Duration::from_secs(5)).await.is_delivered());
    let posts = common::bodies(&server, REPORT).await;
    assert_eq!(
        posts.len(),
        1,
        "one batch of ten, not a post per dropped clone"
    );
    assert_eq!(posts[0]["events"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn dropping_the_last_guard_handle_sends_its_events_without_waiting_for_the_timer() {
    let server = common::server().await;
    sink(&server, ResponseTemplate::new(200)).await;
    // The timer alone would hold these three events for a minute.
    let client = client_with(
        &server,
        fast_retry().flush_interval(Duration::from_secs(60)),
    );
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    for i in 0..3 {
        guard.report("t", true, i);
    }
    drop(guard);
    let started = Instant::now();
    while telemetry_events(&server).await.len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the guard's drop did not send its events"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.telemetry_stats().sent, 3);
}
