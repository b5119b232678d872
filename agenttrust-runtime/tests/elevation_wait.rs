//! `on_elevation = "wait"`: a guarded call that needs an approval waits for
//! a person's decision, against a real Guardian on loopback (the test kit)
//! or, where the poll count matters, a real HTTP mock.

#[path = "common/capture.rs"]
mod capture;
mod common;

use std::time::{Duration, Instant};

use agenttrust_runtime::testing::{Approver, Policy, Rule, TestGuardian};
use agenttrust_runtime::{guarded, AgentTrustError, Decision, OnElevation, Runtime};
use serde_json::json;
use tracing::Level;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

thread_local! {
    static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn runs() -> usize {
    RUNS.with(std::cell::Cell::get)
}

#[guarded(effect = "destructive", summary = path, on_elevation = "wait")]
fn delete_file(path: &str) -> Result<(), AgentTrustError> {
    RUNS.with(|n| n.set(n.get() + 1));
    Ok(())
}

#[guarded(effect = "destructive", on_elevation = "wait", wait = "300ms")]
async fn drop_table() -> Result<(), AgentTrustError> {
    RUNS.with(|n| n.set(n.get() + 1));
    Ok(())
}

/// Waits long enough that only the re-check's outage can end the wait (the
/// 300 ms bound of `drop_table` left 50 ms after the first re-check at
/// 250 ms, and a loaded machine sometimes passed it).
#[guarded(effect = "destructive", on_elevation = "wait", wait = "10s")]
async fn truncate_table() -> Result<(), AgentTrustError> {
    Ok(())
}

#[guarded(effect = "destructive")]
async fn wipe() -> Result<(), AgentTrustError> {
    RUNS.with(|n| n.set(n.get() + 1));
    Ok(())
}

#[guarded(effect = "destructive", on_elevation = "error")]
async fn purge() -> Result<(), AgentTrustError> {
    Ok(())
}

#[guarded(effect = "destructive", on_elevation = "wait", enforce = false)]
async fn shadowed() -> Result<(), AgentTrustError> {
    Ok(())
}

fn elevate(approver: Approver) -> agenttrust_runtime::testing::TestGuardianBuilder {
    TestGuardian::builder().default_rule(Rule::elevate(approver))
}

#[tokio::test(flavor = "current_thread")]
async fn an_approved_call_runs_once_after_the_approval() {
    let guardian = elevate(Approver::approves_after(Duration::from_millis(300)).by("lead@x"))
        .start()
        .await;
    let started = Instant::now();
    let before = runs();
    // A sync guarded fn blocking this current-thread test while it waits.
    guardian.in_scope(|| delete_file("/srv/a")).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(runs(), before + 1, "the body ran once");
    let outcomes: Vec<_> = guardian.checks().into_iter().map(|c| c.outcome).collect();
    assert_eq!(
        outcomes,
        ["elevation_required", "allowed"],
        "re-checked after the approval"
    );
    let events = guardian.events().await;
    assert_eq!(events.len(), 1);
    assert!(events[0].success);
}

#[tokio::test]
async fn a_denied_approval_is_action_denied_with_the_approver() {
    let guardian = elevate(Approver::denies_after(Duration::from_millis(100)).by("alice@x"))
        .start()
        .await;
    let before = runs();
    let err = guardian.scope(drop_table()).await.unwrap_err();
    match &err {
        AgentTrustError::ActionDenied {
            message,
            decided_by,
            ..
        } => {
            assert_eq!(decided_by.as_deref(), Some("alice@x"));
            assert!(
                message.contains("alice@x") && message.contains("requires approval"),
                "{message}"
            );
        }
        other => panic!("expected ActionDenied, got {other:?}"),
    }
    assert!(err.is_denial());
    assert_eq!(runs(), before);
    assert!(guardian.events().await.is_empty());
}

#[tokio::test]
async fn the_wait_bound_ends_in_elevation_timed_out() {
    let guardian = elevate(Approver::nobody()).start().await;
    let started = Instant::now();
    let err = guardian.scope(drop_table()).await.unwrap_err();
    let waited = started.elapsed();
    match &err {
        AgentTrustError::ElevationTimedOut {
            approval_id,
            waited: reported,
        } => {
            assert_eq!(Some(approval_id.clone()), guardian.checks()[0].approval_id);
            assert!(*reported >= Duration::from_millis(300) && *reported <= waited);
        }
        other => panic!("expected ElevationTimedOut, got {other:?}"),
    }
    assert_eq!(err.code(), "ELEVATION_TIMED_OUT");
    assert!(!err.is_denial() && !err.is_unavailable());
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(
        guardian.checks().len(),
        1,
        "no re-check without an approval"
    );
}

#[test]
fn the_wait_never_outlasts_the_approval() {
    let guardian = elevate(Approver::nobody())
        .policy(Policy::default().approval_expiry(Duration::from_millis(400)))
        .start_blocking();
    let started = Instant::now();
    let err = guardian.in_scope(|| delete_file("/srv/b")).unwrap_err();
    assert_eq!(err.code(), "ELEVATION_TIMED_OUT");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

#[tokio::test]
async fn the_runtime_default_and_the_tool_override() {
    let guardian = elevate(Approver::approves_after(Duration::from_millis(50)))
        .on_elevation(OnElevation::wait_at_most(Duration::from_secs(5)))
        .start()
        .await;
    guardian.scope(wipe()).await.unwrap();
    // on_elevation = "error" on the tool wins over the waiting runtime (a
    // wait would have been approved after 50 ms and succeeded).
    let err = guardian.scope(purge()).await.unwrap_err();
    assert_eq!(err.code(), "ELEVATION_REQUIRED");
    // The default runtime does not wait.
    let plain = TestGuardian::builder()
        .default_rule(Rule::elevate(Approver::nobody()))
        .start()
        .await;
    assert_eq!(
        plain.scope(wipe()).await.unwrap_err().code(),
        "ELEVATION_REQUIRED"
    );
}

#[tokio::test]
async fn monitoring_mode_never_waits() {
    let guardian = elevate(Approver::nobody()).start().await;
    let started = Instant::now();
    guardian.scope(shadowed()).await.unwrap();
    // A wait would last until the approval expires (5 minutes).
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(guardian.runtime().stats().checks.would_block, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_at_the_recheck_follows_the_failure_mode() {
    for fail_open in [false, true] {
        let guardian = elevate(Approver::approves_after(Duration::from_millis(300)))
            .fail_open(fail_open)
            .start()
            .await;
        let call = tokio::spawn(guardian.scope(async { truncate_table().await }));
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The approver still approves; then the Guardian goes down.
        guardian.set_rule("truncate_table", Rule::unavailable());
        let outcome = call.await.unwrap();
        if fail_open {
            outcome.unwrap();
            assert_eq!(guardian.runtime().stats().checks.failed_open, 1);
        } else {
            assert_eq!(outcome.unwrap_err().code(), "GUARDIAN_UNAVAILABLE");
        }
    }
}

#[tokio::test]
async fn dropping_a_waiting_call_stops_polling_and_runs_nothing() {
    let server = common::server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agenttrust/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "allowed": false, "elevation_required": true, "approval_id": "apr_w", "reason": "ask"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/mcp/approvals/apr_w"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "apr_w", "status": "pending"
        })))
        .mount(&server)
        .await;
    common::accept_telemetry(&server).await;
    let rt = Runtime::builder(common::client_for(&server), "ag_w")
        .on_elevation(OnElevation::wait())
        .build();
    let before = runs();
    // `wipe` has no bound of its own: the runtime's wait, until an expiry this approval lacks.
    let outcome = tokio::time::timeout(Duration::from_millis(700), rt.scope(wipe())).await;
    assert!(outcome.is_err(), "still waiting when dropped");
    let polls = |requests: Vec<wiremock::Request>| {
        requests
            .iter()
            .filter(|r| r.url.path() == "/mcp/approvals/apr_w")
            .count()
    };
    let at_drop = polls(server.received_requests().await.unwrap());
    assert!(at_drop >= 2, "polled with backoff: {at_drop}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        polls(server.received_requests().await.unwrap()),
        at_drop,
        "no task kept polling"
    );
    assert_eq!(runs(), before, "nothing ran");
    assert!(rt.flush(Duration::from_secs(5)).await.is_delivered());
    assert!(
        common::telemetry_events(&server).await.is_empty(),
        "no report for a call that never started"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_guard_waits_too_and_says_so_in_tracing() {
    let guardian = elevate(Approver::approves_after(Duration::from_millis(300)))
        .start()
        .await;
    let capture = capture::Capture::default();
    let _subscriber = capture.install();
    let decision = guardian
        .guard()
        .check_and_wait("db_delete", "users", "destructive", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(decision, Decision::Allowed { .. }), "{decision:?}");
    let events = capture.events();
    let waiting: Vec<_> = events
        .iter()
        .filter(|e| e.field("message") == Some("waiting for a person to approve or deny the call"))
        .collect();
    assert_eq!(waiting.len(), 1, "{events:#?}");
    assert_eq!(waiting[0].level, Level::INFO);
    let approval_id = guardian.checks()[0].approval_id.clone().unwrap();
    assert_eq!(
        waiting[0].field("agenttrust.approval_id"),
        Some(approval_id.as_str())
    );
    assert!(waiting[0].field("agenttrust.approval.expires_at").is_some());
    assert!(waiting[0]
        .field("agenttrust.approval.url")
        .unwrap()
        .ends_with(&approval_id));
    let polls = events
        .iter()
        .filter(|e| e.level == Level::DEBUG && e.field("message") == Some("polled the approval"))
        .count();
    assert!(polls >= 2, "{events:#?}");
    let span = capture.guard_spans().pop().unwrap();
    assert_eq!(span.field("agenttrust.decision"), Some("allowed"));
    assert!(
        span.field("agenttrust.elevation.waited_ms")
            .unwrap()
            .parse::<f64>()
            .unwrap()
            >= 300.0
    );

    // The blocking twin, with a bound that ends it.
    guardian.set_rule("db_drop", Rule::elevate(Approver::nobody()));
    let err = guardian
        .guard()
        .check_and_wait_blocking("db_drop", "", "destructive", Duration::from_millis(200))
        .unwrap_err();
    assert_eq!(err.code(), "ELEVATION_TIMED_OUT");
}
