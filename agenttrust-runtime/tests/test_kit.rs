//! The test kit's own tests: `TestGuardian` under `#[test]` and both
//! `#[tokio::test]` flavours, each rule, the assertions, and isolation
//! between guardians in one test binary.

use std::time::{Duration, Instant};

use agenttrust_runtime::testing::{Approver, Rule, TestGuardian};
use agenttrust_runtime::{guarded, AgentTrustError};

#[guarded(effect = "destructive", summary = path)]
fn delete_file(path: &str) -> Result<(), AgentTrustError> {
    Ok(())
}

#[guarded(effect = "read", summary = query)]
async fn search(query: &str) -> Result<usize, AgentTrustError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(query.len())
}

#[derive(Debug)]
struct NotFound;

impl From<AgentTrustError> for NotFound {
    fn from(_: AgentTrustError) -> Self {
        NotFound
    }
}

#[guarded(effect = "read")]
fn lookup() -> Result<(), NotFound> {
    Err(NotFound)
}

#[test]
fn a_plain_test_checks_runs_and_reads_back_what_was_reported() {
    let guardian = TestGuardian::start_blocking();
    guardian.in_scope(|| delete_file("/tmp/a")).unwrap();
    assert!(guardian.in_scope(lookup).is_err());

    let check = guardian.assert_checked("delete_file");
    assert_eq!(check.agent_id, guardian.agent_id());
    assert_eq!(check.action_effect.as_deref(), Some("destructive"));
    assert_eq!(check.summary.as_deref(), Some("/tmp/a"));
    assert_eq!(
        check.session_id.as_deref(),
        Some(guardian.runtime().session_id())
    );
    assert_eq!(check.outcome, "allowed");
    guardian.assert_not_checked("search");

    let events = guardian.events_blocking();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.tool_name.as_str(), e.success, e.error_type.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("delete_file", true, None),
            ("lookup", false, Some(std::any::type_name::<NotFound>()))
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_test_runs_async_and_sync_guarded_fns() {
    let guardian = TestGuardian::start().await;
    assert_eq!(guardian.scope(search("abc")).await.unwrap(), 3);
    // A sync guarded fn blocks this (only) thread; the Guardian runs on its own.
    guardian.in_scope(|| delete_file("/tmp/b")).unwrap();
    let events = guardian.events().await;
    assert_eq!(events.len(), 2);
    assert!(events[0].duration_ms >= 20, "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_thread_test_runs_spawned_guarded_calls() {
    let guardian = TestGuardian::start().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| tokio::spawn(guardian.scope(async move { search(&"x".repeat(i)).await })))
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), i);
    }
    assert_eq!(guardian.checks_of("search").len(), 8);
    assert_eq!(guardian.events().await.len(), 8);
}

#[test]
fn deny_and_unavailable_rules_keep_the_body_from_running() {
    let guardian = TestGuardian::builder()
        .rule("delete_file", Rule::deny("read-only volume"))
        .start_blocking();
    let err = guardian.in_scope(|| delete_file("/")).unwrap_err();
    assert_eq!(err.code(), "ACTION_DENIED");
    assert!(err.to_string().contains("read-only volume"), "{err}");
    for (rule, code) in [
        (Rule::unavailable(), "GUARDIAN_UNAVAILABLE"),
        (Rule::status(503), "GUARDIAN_UNAVAILABLE"),
        (Rule::status(500), "GUARDIAN_UNAVAILABLE"),
        (Rule::status(401), "AUTH_FAILED"),
        (Rule::status(403), "AUTH_DENIED"),
    ] {
        guardian.set_rule("delete_file", rule);
        let err = guardian.in_scope(|| delete_file("/")).unwrap_err();
        assert_eq!(err.code(), code);
    }
    assert!(guardian.events_blocking().is_empty());
    assert_eq!(guardian.checks_of("delete_file").len(), 6);
}

#[test]
fn failing_open_covers_outages_never_auth_errors() {
    let guardian = TestGuardian::builder()
        .rule("delete_file", Rule::unavailable())
        .fail_open(true)
        .start_blocking();
    guardian.in_scope(|| delete_file("/tmp/c")).unwrap();
    guardian.set_rule("delete_file", Rule::status(401));
    assert_eq!(
        guardian
            .in_scope(|| delete_file("/tmp/c"))
            .unwrap_err()
            .code(),
        "AUTH_FAILED"
    );
    assert_eq!(guardian.events_blocking().len(), 1);
}

#[test]
fn latency_past_the_check_timeout_is_an_outage() {
    let guardian = TestGuardian::builder()
        .rule(
            "delete_file",
            Rule::allow().latency(Duration::from_millis(300)),
        )
        .check_timeout(Duration::from_millis(100))
        .start_blocking();
    let started = Instant::now();
    let err = guardian.in_scope(|| delete_file("/tmp/d")).unwrap_err();
    assert_eq!(err.code(), "GUARDIAN_UNAVAILABLE");
    assert!(started.elapsed() < Duration::from_millis(300));
    guardian.set_rule(
        "delete_file",
        Rule::allow().latency(Duration::from_millis(30)),
    );
    let started = Instant::now();
    guardian.in_scope(|| delete_file("/tmp/d")).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(30));
}

#[tokio::test]
async fn an_approver_approves_and_the_retry_runs() {
    let guardian = TestGuardian::builder()
        .rule(
            "delete_file",
            Rule::elevate(Approver::approves_after(Duration::from_millis(50)).by("lead@x")),
        )
        .start()
        .await;
    let err = guardian.in_scope(|| delete_file("/tmp/e")).unwrap_err();
    let approval_id = err.approval_id().unwrap().to_owned();
    let approvals = guardian.client().approvals();
    let approval = loop {
        let approval = approvals.get(&approval_id).await.unwrap();
        if approval.status != "pending" {
            break approval;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(approval.status, "approved");
    assert_eq!(approval.decided_by.as_deref(), Some("lead@x"));
    guardian.in_scope(|| delete_file("/tmp/e")).unwrap();
    let outcomes: Vec<_> = guardian
        .checks_of("delete_file")
        .into_iter()
        .map(|c| c.outcome)
        .collect();
    assert_eq!(outcomes, ["elevation_required", "allowed"]);
}

#[tokio::test]
async fn an_approver_that_denies_leaves_the_tool_blocked() {
    let guardian = TestGuardian::builder()
        .rule(
            "delete_file",
            Rule::elevate(Approver::denies_after(Duration::ZERO)),
        )
        .start()
        .await;
    let first = guardian.in_scope(|| delete_file("/tmp/f")).unwrap_err();
    let id = first.approval_id().unwrap().to_owned();
    while guardian.client().approvals().get(&id).await.unwrap().status == "pending" {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let again = guardian.in_scope(|| delete_file("/tmp/f")).unwrap_err();
    assert_eq!(again.code(), "ELEVATION_REQUIRED");
    assert_ne!(
        again.approval_id(),
        Some(id.as_str()),
        "a new request, not the denied one"
    );
}

#[test]
fn guardians_in_one_test_are_isolated() {
    let strict = TestGuardian::builder()
        .default_rule(Rule::deny("strict"))
        .start_blocking();
    let lenient = TestGuardian::start_blocking();
    assert!(strict.in_scope(|| delete_file("/s")).is_err());
    lenient.in_scope(|| delete_file("/l")).unwrap();
    // Nested scopes: the innermost runtime is the one used.
    strict
        .in_scope(|| lenient.in_scope(|| delete_file("/n")))
        .unwrap();
    assert_eq!(strict.checks().len(), 1);
    assert_eq!(lenient.checks().len(), 2);
    assert_ne!(strict.agent_id(), lenient.agent_id());
    assert_ne!(strict.url(), lenient.url());
    assert_eq!(strict.runtime().stats().checks.denied, 1);
    assert_eq!(lenient.runtime().stats().checks.allowed, 2);
}

#[test]
#[should_panic(expected = "`search` was never checked; checked: [\"delete_file\"]")]
fn assert_checked_names_the_tools_that_were() {
    let guardian = TestGuardian::start_blocking();
    guardian.in_scope(|| delete_file("/tmp/g")).unwrap();
    guardian.assert_checked("search");
}

#[test]
#[should_panic(expected = "`delete_file` was checked 1 time(s)")]
fn assert_not_checked_fails_on_a_check() {
    let guardian = TestGuardian::start_blocking();
    guardian.in_scope(|| delete_file("/tmp/h")).unwrap();
    guardian.assert_not_checked("delete_file");
}

#[test]
fn a_guardian_can_be_dropped_inside_async_code() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(async {
        let guardian = TestGuardian::start().await;
        let url = guardian.url().to_owned();
        drop(guardian);
        url
    });
    // The gateway is gone: its port refuses connections.
    let refused = std::net::TcpStream::connect(url.trim_start_matches("http://"));
    assert!(refused.is_err(), "{url} still accepts");
}
