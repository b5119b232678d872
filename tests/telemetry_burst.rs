//! A burst of a million reports against a healthy local gateway is
//! delivered whole: nothing dropped, every event stored once. The
//! benchmark measures the same burst's drain time and peak RSS in release.

mod common;

use std::time::{Duration, Instant};

use agenttrust_gateway::Policy;
use agenttrust_runtime::{AgentTrustGuard, DEFAULT_CAPACITY};

const BURST: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_reports_are_delivered_in_full() {
    assert!(DEFAULT_CAPACITY as u64 >= BURST);
    let world = common::World::new(Policy::default(), &[]).await;
    let guard = AgentTrustGuard::builder(world.client.clone(), world.agent_id.clone())
        .session_id("sess_burst")
        .build();

    let started = Instant::now();
    let accepted = tokio::task::block_in_place(|| {
        (0..BURST)
            .filter(|i| guard.report("burst_tool", i % 7 != 0, *i))
            .count() as u64
    });
    let enqueue = started.elapsed();
    assert_eq!(accepted, BURST, "report() refused events of a burst");

    let outcome = guard.flush(Duration::from_secs(300)).await;
    let drained = started.elapsed();
    assert!(outcome.is_delivered(), "{outcome:?} after {drained:?}");
    let stats = world.client.telemetry_stats();
    assert_eq!(
        (stats.sent, stats.dropped, stats.queued),
        (BURST, 0, 0),
        "{stats:?}"
    );
    let stored =
        agenttrust::gateway_event_count(world.gateway.url(), world.gateway.api_key(), "sess_burst")
            .await
            .unwrap();
    assert_eq!(stored, BURST);
    eprintln!("1M reports: enqueued in {enqueue:?}, delivered in {drained:?} (debug build)");
}
