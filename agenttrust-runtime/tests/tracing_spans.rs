//! The `agenttrust.guard` span, its events and the client's counters, seen
//! through a real subscriber layer, for every kind of decision; guarded
//! calls go to a real Guardian on loopback (the test kit).

#[path = "common/capture.rs"]
mod capture;

use std::time::Duration;

use agenttrust_runtime::testing::{Approver, Rule, TestGuardian};
use agenttrust_runtime::{guarded, AgentTrustError, Decision};
use capture::{Capture, SpanData};
use tracing::Level;

#[guarded(effect = "destructive", summary = path)]
fn delete_file(path: &str, secret: &str) -> Result<(), AgentTrustError> {
    tracing::info!("deleting");
    let _ = secret;
    Ok(())
}

#[guarded(effect = "read")]
async fn search(query: String) -> Result<usize, AgentTrustError> {
    tracing::info!("searching");
    Ok(query.len())
}

#[guarded(effect = "mutating")]
fn explode() -> Result<(), AgentTrustError> {
    panic!("boom")
}

#[derive(Debug, thiserror::Error)]
#[error("disk full at /secret/path")]
struct DiskFull;

#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error(transparent)]
    Guard(#[from] AgentTrustError),
    #[error(transparent)]
    Disk(#[from] DiskFull),
}

#[guarded(effect = "mutating")]
fn write_file() -> Result<(), ToolError> {
    Err(DiskFull.into())
}

#[guarded(effect = "destructive", enforce = false)]
fn drop_table() -> Result<&'static str, AgentTrustError> {
    Ok("dropped")
}

#[guarded(effect = "destructive", enforce = true)]
fn truncate_table() -> Result<&'static str, AgentTrustError> {
    Ok("truncated")
}

fn only(spans: Vec<SpanData>) -> SpanData {
    assert_eq!(spans.len(), 1, "{spans:#?}");
    spans.into_iter().next().unwrap()
}

#[test]
fn an_allowed_sync_call_is_one_span_with_every_field() {
    let guardian = TestGuardian::start_blocking();
    let capture = Capture::default();
    let _subscriber = capture.install();
    let outer = tracing::info_span!("request");
    outer.in_scope(|| guardian.in_scope(|| delete_file("/tmp/x", "hunter2").unwrap()));

    let span = only(capture.guard_spans());
    assert_eq!(
        (span.level, span.target.as_str()),
        (Level::INFO, "agenttrust_runtime::guard")
    );
    assert_eq!(
        span.parent,
        Some("request"),
        "the current span is the parent"
    );
    let field = |name| span.field(name);
    assert_eq!(field("gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(field("gen_ai.tool.name"), Some("delete_file"));
    assert_eq!(field("agenttrust.effect"), Some("destructive"));
    assert_eq!(field("agenttrust.summary"), Some("/tmp/x"));
    assert_eq!(field("agenttrust.agent_id"), Some(guardian.agent_id()));
    assert_eq!(
        field("agenttrust.session_id"),
        Some(guardian.runtime().session_id())
    );
    assert_eq!(field("agenttrust.decision"), Some("allowed"));
    let check = guardian.assert_checked("delete_file");
    assert_eq!(field("agenttrust.check_id"), check.check_id.as_deref());
    assert_eq!(field("agenttrust.guard_tier"), Some("fast"));
    assert_eq!(field("agenttrust.confidence"), Some("0.99"));
    assert!(field("agenttrust.guardian.latency_ms").is_some());
    let measured: f64 = field("agenttrust.check.duration_ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(measured > 0.0);
    assert_eq!(field("agenttrust.success"), Some("true"));
    assert!(field("agenttrust.duration_ms").is_some());
    assert_eq!(field("error.type"), None);
    assert_eq!(
        field("agenttrust.reason"),
        None,
        "an allow carries no reason field"
    );
    // The body ran inside the span; an allow emits no event of its own.
    let events = capture.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        (events[0].span, events[0].field("message")),
        (Some("agenttrust.guard"), Some("deleting"))
    );
    // The argument that is not the summary appears nowhere.
    assert!(!capture.all_values().iter().any(|v| v.contains("hunter2")));
}

#[tokio::test(flavor = "current_thread")]
async fn a_denial_is_a_span_and_an_info_event_with_the_reason() {
    let guardian = TestGuardian::builder()
        .rule("search", Rule::deny("no searching"))
        .start()
        .await;
    let capture = Capture::default();
    let _subscriber = capture.install();
    let err = guardian
        .scope(search("secret query".into()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "ACTION_DENIED");

    let span = only(capture.guard_spans());
    assert_eq!(span.field("agenttrust.decision"), Some("denied"));
    assert_eq!(span.field("agenttrust.reason"), Some("no searching"));
    assert_eq!(span.field("error.type"), Some("ACTION_DENIED"));
    assert_eq!(span.field("otel.status_code"), Some("ERROR"));
    assert_eq!(
        span.field("agenttrust.summary"),
        None,
        "no summary argument, no summary"
    );
    assert_eq!(span.field("agenttrust.success"), None, "the body never ran");
    let events = capture.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(
        (event.level, event.span),
        (Level::INFO, Some("agenttrust.guard"))
    );
    assert_eq!(event.field("agenttrust.decision"), Some("denied"));
    assert_eq!(event.field("agenttrust.reason"), Some("no searching"));
    assert_eq!(event.field("gen_ai.tool.name"), Some("search"));
    assert!(event
        .field("agenttrust.check_id")
        .unwrap()
        .starts_with("chk_"));
    assert!(!capture
        .all_values()
        .iter()
        .any(|v| v.contains("secret query")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elevation_names_its_approval() {
    let guardian = TestGuardian::builder()
        .rule("delete_file", Rule::elevate(Approver::nobody()))
        .start()
        .await;
    let capture = Capture::default();
    let _subscriber = capture.install();
    // A sync guarded fn called from a multi-thread runtime's worker.
    let err = guardian.in_scope(|| delete_file("/tmp/y", "")).unwrap_err();
    let approval_id = err.approval_id().unwrap().to_owned();

    let span = only(capture.guard_spans());
    assert_eq!(
        span.field("agenttrust.decision"),
        Some("elevation_required")
    );
    assert_eq!(
        span.field("agenttrust.approval_id"),
        Some(approval_id.as_str())
    );
    assert_eq!(span.field("error.type"), Some("ELEVATION_REQUIRED"));
    let event = &capture.events()[0];
    assert_eq!(
        (event.level, event.target.as_str()),
        (Level::INFO, "agenttrust_runtime::guard")
    );
    assert_eq!(
        event.field("agenttrust.approval_id"),
        Some(approval_id.as_str())
    );
    assert!(event
        .field("agenttrust.reason")
        .unwrap()
        .contains("requires approval"));
}

#[test]
fn failing_open_is_a_warn_event_and_the_body_runs() {
    let guardian = TestGuardian::builder()
        .rule("delete_file", Rule::unavailable())
        .fail_open(true)
        .start_blocking();
    let capture = Capture::default();
    let _subscriber = capture.install();
    guardian.in_scope(|| delete_file("/tmp/z", "")).unwrap();

    let span = only(capture.guard_spans());
    assert_eq!(span.field("agenttrust.decision"), Some("failed_open"));
    assert!(
        span.field("agenttrust.reason").unwrap().contains("503"),
        "{span:?}"
    );
    assert_eq!(span.field("agenttrust.success"), Some("true"));
    let warn: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.level == Level::WARN)
        .collect();
    assert_eq!(warn.len(), 1, "{warn:#?}");
    assert_eq!(warn[0].field("agenttrust.decision"), Some("failed_open"));
    assert_eq!(guardian.client().stats().checks.failed_open, 1);
}

#[test]
fn a_check_error_that_fails_closed_is_a_warn_event_with_its_code() {
    let guardian = TestGuardian::builder()
        .rule("delete_file", Rule::status(503))
        .start_blocking();
    let capture = Capture::default();
    let _subscriber = capture.install();
    let err = guardian.in_scope(|| delete_file("/tmp/z", "")).unwrap_err();
    assert_eq!(err.code(), "GUARDIAN_UNAVAILABLE");
    let span = only(capture.guard_spans());
    assert_eq!(span.field("agenttrust.decision"), None);
    assert_eq!(span.field("error.type"), Some("GUARDIAN_UNAVAILABLE"));
    let event = &capture.events()[0];
    assert_eq!(
        (event.level, event.field("error.type")),
        (Level::WARN, Some("GUARDIAN_UNAVAILABLE"))
    );
    assert_eq!(
        guardian.client().stats().checks.errors["GUARDIAN_UNAVAILABLE"],
        1
    );
}

#[test]
fn a_panic_and_a_failure_record_their_type_never_their_message() {
    let guardian = TestGuardian::start_blocking();
    let capture = Capture::default();
    let _subscriber = capture.install();
    let panicked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guardian.in_scope(explode)));
    assert!(panicked.is_err());
    assert!(guardian.in_scope(write_file).is_err());

    let spans = capture.guard_spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(spans[0].field("gen_ai.tool.name"), Some("explode"));
    assert_eq!(spans[0].field("agenttrust.success"), Some("false"));
    assert_eq!(spans[0].field("error.type"), Some("panic"));
    assert_eq!(spans[0].field("otel.status_code"), Some("ERROR"));
    assert_eq!(
        spans[1].field("error.type"),
        Some(std::any::type_name::<ToolError>())
    );
    assert!(!capture
        .all_values()
        .iter()
        .any(|v| v.contains("/secret/path") || v.contains("boom")));
    let events = guardian.events_blocking();
    let types: Vec<_> = events.iter().map(|e| e.error_type.as_deref()).collect();
    assert_eq!(
        types,
        [Some("panic"), Some(std::any::type_name::<ToolError>())]
    );
}

#[test]
fn monitoring_mode_runs_the_body_and_says_would_block_everywhere() {
    let guardian = TestGuardian::builder()
        .default_rule(Rule::deny("policy says no"))
        .block_on_deny(false)
        .start_blocking();
    let capture = Capture::default();
    let _subscriber = capture.install();
    // Runtime-wide monitoring; the tool that opts into enforcement is blocked.
    guardian.in_scope(|| delete_file("/tmp/w", "")).unwrap();
    let err = guardian.in_scope(truncate_table).unwrap_err();
    assert_eq!(err.code(), "ACTION_DENIED");
    // The guard's own API says the same.
    let decision = guardian
        .guard()
        .check_blocking("web_search", "q")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(decision, Decision::WouldBlock { ref reason, .. } if reason == "policy says no")
    );

    let spans = capture.guard_spans();
    let decisions: Vec<_> = spans
        .iter()
        .map(|s| s.field("agenttrust.decision"))
        .collect();
    assert_eq!(
        decisions,
        [Some("would_block"), Some("denied"), Some("would_block")]
    );
    assert_eq!(spans[0].field("agenttrust.reason"), Some("policy says no"));
    assert!(spans[0]
        .field("agenttrust.check_id")
        .unwrap()
        .starts_with("chk_"));
    assert_eq!(spans[0].field("agenttrust.success"), Some("true"));
    let shadow: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.field("agenttrust.decision") == Some("would_block"))
        .collect();
    assert_eq!(shadow.len(), 2);
    assert!(shadow[0]
        .field("message")
        .unwrap()
        .contains("would have blocked"));
    let stats = guardian.runtime().stats().checks;
    assert_eq!((stats.would_block, stats.denied, stats.allowed), (2, 1, 0));
}

#[test]
fn one_tool_monitors_while_the_runtime_enforces() {
    let guardian = TestGuardian::builder()
        .default_rule(Rule::deny("no"))
        .start_blocking();
    assert_eq!(guardian.in_scope(drop_table).unwrap(), "dropped");
    assert_eq!(
        guardian
            .in_scope(|| delete_file("/a", ""))
            .unwrap_err()
            .code(),
        "ACTION_DENIED"
    );
    let stats = guardian.runtime().stats().checks;
    assert_eq!((stats.would_block, stats.denied), (1, 1));
    // Both were checked; only the monitored one ran and reported.
    assert_eq!(guardian.checks().len(), 2);
    let events = guardian.events_blocking();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tool_name, "drop_table");
}

#[tokio::test]
async fn the_guard_run_api_is_one_span_around_check_body_and_report() {
    let guardian = TestGuardian::start().await;
    let capture = Capture::default();
    let _subscriber = capture.install();
    let guard = guardian.guard();
    let n: usize = guard
        .run_with_effect("fetch", "https://example.com", "read", async {
            tracing::info!("fetching");
            Ok::<_, AgentTrustError>(3)
        })
        .await
        .unwrap();
    assert_eq!(n, 3);
    let span = only(capture.guard_spans());
    assert_eq!(span.field("gen_ai.tool.name"), Some("fetch"));
    assert_eq!(span.field("agenttrust.effect"), Some("read"));
    assert_eq!(
        span.field("agenttrust.summary"),
        Some("https://example.com")
    );
    assert_eq!(span.field("agenttrust.success"), Some("true"));
    assert_eq!(capture.events()[0].span, Some("agenttrust.guard"));
    let events = guardian.events().await;
    assert_eq!(
        (events[0].tool_name.as_str(), events[0].success),
        ("fetch", true)
    );
}

#[test]
fn the_guard_run_blocking_api_is_one_span_and_reports_success_failure_panic_and_denial() {
    let guardian = TestGuardian::builder()
        .rule("drop", Rule::deny("no dropping"))
        .start_blocking();
    let capture = Capture::default();
    let _subscriber = capture.install();
    let guard = guardian.guard();
    let n: usize = guard
        .run_with_effect_blocking("fetch", "https://example.com", "read", || {
            tracing::info!("fetching");
            Ok::<_, AgentTrustError>(3)
        })
        .unwrap();
    assert_eq!(n, 3);
    let failed = guard.run_blocking("write", "", || Err::<(), _>(ToolError::Disk(DiskFull)));
    assert!(failed.is_err());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        guard.run_blocking("explode", "", || -> Result<(), AgentTrustError> {
            panic!("boom")
        })
    }));
    assert!(panicked.is_err());
    let mut ran = false;
    let denied = guard.run_blocking("drop", "", || {
        ran = true;
        Ok::<_, AgentTrustError>(())
    });
    assert!(!ran, "a denied body never runs");
    assert_eq!(denied.unwrap_err().code(), "ACTION_DENIED");

    let spans = capture.guard_spans();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_eq!(spans[0].field("gen_ai.tool.name"), Some("fetch"));
    assert_eq!(spans[0].field("agenttrust.effect"), Some("read"));
    assert_eq!(spans[0].field("agenttrust.success"), Some("true"));
    assert_eq!(capture.events()[0].span, Some("agenttrust.guard"));
    assert_eq!(
        spans[1].field("error.type"),
        Some(std::any::type_name::<ToolError>())
    );
    assert_eq!(spans[2].field("error.type"), Some("panic"));
    let events = guardian.events_blocking();
    let reported: Vec<_> = events
        .iter()
        .map(|e| (e.tool_name.as_str(), e.success, e.error_type.as_deref()))
        .collect();
    assert_eq!(
        reported,
        [
            ("fetch", true, None),
            ("write", false, Some(std::any::type_name::<ToolError>())),
            ("explode", false, Some("panic")),
        ]
    );
}

#[test]
fn the_counters_add_up_and_measure_the_guardian() {
    let guardian = TestGuardian::builder()
        .rule("slow", Rule::allow().latency(Duration::from_millis(40)))
        .rule("no", Rule::deny("no"))
        .rule("auth", Rule::status(401))
        .start_blocking();
    let guard = guardian.guard();
    for _ in 0..3 {
        guard.check_blocking("slow", "").unwrap();
    }
    assert!(guard.check_blocking("no", "").is_err());
    assert_eq!(
        guard.check_blocking("auth", "").unwrap_err().code(),
        "AUTH_FAILED"
    );
    let stats = guardian.client().stats();
    assert_eq!((stats.checks.allowed, stats.checks.denied), (3, 1));
    assert_eq!(stats.checks.errors.get("AUTH_FAILED"), Some(&1));
    assert_eq!(stats.checks.total(), 5);
    // Verdicts are measured; the 401 counts as an error, not a latency.
    let latency = stats.guardian_latency;
    assert_eq!(latency.count, 4, "{latency:?}");
    assert!(
        latency.p90.unwrap() >= Duration::from_millis(40),
        "{latency:?}"
    );
    assert!(latency.max.unwrap() >= latency.p99.unwrap());
    assert_eq!(guardian.runtime().stats(), guardian.client().stats());
}
