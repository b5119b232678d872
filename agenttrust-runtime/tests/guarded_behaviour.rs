//! What guarded functions do at run time, against a real Guardian on
//! loopback (the test kit's): check first, body once, one report per call.

use std::time::Duration;

use agenttrust_runtime::testing::{Approver, Policy, Rule, TestGuardian};
use agenttrust_runtime::{guarded, with_runtime, AgentTrustError, Runtime};

#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error(transparent)]
    Guard(#[from] AgentTrustError),
    #[error("disk full")]
    DiskFull,
}

thread_local! {
    /// Bodies run on this thread: per thread, so tests running in parallel
    /// (whose bodies run on their own test threads) do not count here.
    static BODY_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn body_ran() {
    BODY_RUNS.with(|n| n.set(n.get() + 1));
}

#[guarded(effect = "read")]
async fn read_file(ms: u64) -> Result<&'static str, ToolError> {
    body_ran();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok("contents")
}

#[guarded(effect = "destructive")]
fn delete_file(fail: bool) -> Result<(), ToolError> {
    body_ran();
    std::thread::sleep(Duration::from_millis(15));
    if fail {
        Err(ToolError::DiskFull)?;
    }
    Ok(())
}

#[guarded(effect = "admin", name = "rm_rf")]
fn admin_tool() -> anyhow::Result<()> {
    body_ran();
    Ok(())
}

#[guarded(effect = "read", summary = text)]
async fn summarized(text: String) -> Result<usize, ToolError> {
    Ok(text.len())
}

#[guarded(effect = "read")]
fn panics() -> Result<(), ToolError> {
    panic!("tool bug");
}

#[guarded(effect = "read")]
async fn panics_async() -> Result<(), ToolError> {
    panic!("async tool bug");
}

#[guarded(effect = "read", fail_open = true)]
fn tolerant() -> Result<u8, ToolError> {
    Ok(7)
}

#[guarded(effect = "read")]
fn strict() -> Result<u8, ToolError> {
    Ok(8)
}

/// A Guardian that allows everything except `rm_rf` (denied) and
/// `delete_file` (elevation).
async fn guardian() -> TestGuardian {
    TestGuardian::builder()
        .rule("rm_rf", Rule::deny("admin tools are denied"))
        .rule("delete_file", Rule::elevate(Approver::nobody()))
        .start()
        .await
}

#[tokio::test]
async fn allowed_async_call_runs_the_body_and_reports_success_with_its_duration() {
    let guardian = guardian().await;
    assert_eq!(guardian.scope(read_file(30)).await.unwrap(), "contents");
    let check = guardian.assert_checked("read_file");
    assert_eq!(check.agent_id, guardian.agent_id());
    assert_eq!(
        check.session_id.as_deref(),
        Some(guardian.runtime().session_id())
    );
    assert_eq!(check.action_effect.as_deref(), Some("read"));
    assert_eq!(check.summary, None, "nothing about inputs unless asked");
    let events = guardian.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tool_name, "read_file");
    assert!(events[0].success);
    let ms = events[0].duration_ms;
    assert!(
        (30..5_000).contains(&ms),
        "duration {ms} ms should cover the 30 ms body"
    );
}

#[tokio::test]
async fn denied_and_elevated_calls_never_run_the_body_and_report_nothing() {
    let guardian = guardian().await;
    let before = BODY_RUNS.with(std::cell::Cell::get);
    let err = guardian.in_scope(admin_tool).unwrap_err();
    let err = err
        .downcast::<AgentTrustError>()
        .expect("anyhow carries the AgentTrustError");
    assert!(
        matches!(err, AgentTrustError::ActionDenied { ref message, .. } if message == "admin tools are denied")
    );
    match guardian.in_scope(|| delete_file(false)) {
        Err(ToolError::Guard(AgentTrustError::ElevationRequired { approval_id, .. })) => {
            assert_eq!(
                guardian.assert_checked("delete_file").approval_id,
                Some(approval_id)
            )
        }
        other => panic!("expected elevation, got {other:?}"),
    }
    assert_eq!(BODY_RUNS.with(std::cell::Cell::get), before, "no body ran");
    assert!(guardian.events().await.is_empty());
}

#[tokio::test]
async fn the_reported_duration_is_the_body_s_not_the_guardian_s() {
    // The call's clock starts at the Guardian's answer (the read that also
    // times the answer): a slow Guardian must not lengthen the body's time.
    let guardian = TestGuardian::builder()
        .policy(Policy::default().check_latency(Duration::from_millis(300)))
        .start()
        .await;
    let started = std::time::Instant::now();
    guardian.scope(read_file(20)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(320),
        "the check waited"
    );
    guardian.in_scope(|| delete_file(false)).unwrap();
    let events = guardian.events().await;
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, body_ms) in events.iter().zip([20, 15]) {
        assert!(event.duration_ms >= body_ms, "{event:?}");
        assert!(
            event.duration_ms < 300,
            "the check's latency counted: {event:?}"
        );
    }
}

#[tokio::test]
async fn question_mark_errors_report_failure_with_the_error_type_name() {
    let guardian = guardian().await;
    guardian.set_rule("delete_file", Rule::allow());
    let err = guardian.in_scope(|| delete_file(true)).unwrap_err();
    assert!(matches!(err, ToolError::DiskFull));
    guardian.in_scope(|| delete_file(false)).unwrap();
    let events = guardian.events().await;
    assert_eq!(events.len(), 2);
    assert!(!events[0].success);
    assert_eq!(events[0].event_type, "tool_error");
    let error_type = events[0].error_type.as_deref().unwrap();
    assert!(error_type.ends_with("ToolError"), "{error_type}");
    assert!(!error_type.contains("disk full"), "never the message");
    assert!(events[1].success);
    assert!(events[1].duration_ms >= 15);
}

#[tokio::test]
async fn summary_is_sent_only_when_asked_and_cut_to_200_chars() {
    let guardian = guardian().await;
    let text = format!("{}é{}", "a".repeat(199), "漢".repeat(100));
    assert_eq!(
        guardian.scope(summarized(text.clone())).await.unwrap(),
        text.len()
    );
    let sent = guardian.assert_checked("summarized").summary.unwrap();
    assert_eq!(sent.chars().count(), 200);
    assert!(sent.ends_with('é'));
}

#[tokio::test]
async fn a_panicking_body_reports_once_and_the_panic_propagates() {
    let guardian = guardian().await;
    let caught =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guardian.in_scope(panics)));
    assert!(caught.is_err(), "the panic propagated");
    let task = tokio::spawn(guardian.scope(panics_async()));
    let join = task.await.unwrap_err();
    assert!(join.is_panic());
    let events = guardian.events().await;
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!((e.success, e.error_type.as_deref()), (false, Some("panic")));
    }
}

#[tokio::test]
async fn a_spent_sync_body_is_refused_with_a_config_error_and_reported_as_not_completed() {
    use agenttrust_runtime::__private::{run_sync_tool, CallOnce, Tool};
    let guardian = guardian().await;
    let mut body = Some(|| -> Result<u32, ToolError> { Ok(7) });
    assert!(matches!(body.call_once(), Some(Ok(7))));
    assert!(body.call_once().is_none(), "a body runs once");
    // `run_sync_tool` never gets a spent body from an expansion; given one, it
    // answers with an error, never a panic and never a second run.
    let outcome = guardian.in_scope(|| run_sync_tool(Tool::new("spent"), None, &mut body));
    match outcome {
        Err(ToolError::Guard(AgentTrustError::Config { message })) => {
            assert!(message.contains("run_sync"), "{message}");
        }
        other => panic!("expected a Config error, got {other:?}"),
    }
    guardian.assert_checked("spent");
    let events = guardian.events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].success, events[0].error_type.as_deref()),
        (false, Some("cancelled"))
    );
}

/// An optimized build's `start_check` hands `Guarded` the check's own
/// future, a debug build's (this test's) a type-erased one: driven with the
/// optimized form, `Guarded` checks, runs the body once and reports, or
/// returns the denial without running it, as the expansion's does.
#[tokio::test]
async fn guarded_drives_the_optimized_builds_check_future_alike() {
    use agenttrust_runtime::__private::{check, Guarded, Tool};
    let guardian = guardian().await;
    let before = BODY_RUNS.with(std::cell::Cell::get);
    let allowed = Guarded::new(check(Tool::with_effect("raw_read", "read"), None), async {
        body_ran();
        Ok::<u8, ToolError>(7)
    });
    assert_eq!(guardian.scope(allowed).await.unwrap(), 7);
    let denied = Guarded::new(check(Tool::with_effect("rm_rf", "admin"), None), async {
        body_ran();
        Ok::<u8, ToolError>(8)
    });
    assert!(matches!(
        guardian.scope(denied).await,
        Err(ToolError::Guard(AgentTrustError::ActionDenied { .. }))
    ));
    assert_eq!(
        BODY_RUNS.with(std::cell::Cell::get),
        before + 1,
        "only the allowed body ran"
    );
    assert_eq!(
        guardian.assert_checked("raw_read").action_effect.as_deref(),
        Some("read")
    );
    guardian.assert_checked("rm_rf");
    let events = guardian.events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].tool_name.as_str(), events[0].success),
        ("raw_read", true)
    );
}

#[tokio::test]
async fn a_cancelled_async_call_reports_once() {
    let guardian = guardian().await;
    let outcome =
        tokio::time::timeout(Duration::from_millis(100), guardian.scope(read_file(5_000))).await;
    assert!(outcome.is_err(), "timed out");
    let events = guardian.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].error_type.as_deref(), Some("cancelled"));
    assert!(!events[0].success);
}

#[tokio::test]
async fn guardian_down_fails_closed_by_default_and_open_when_configured() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key("k")
        .build()
        .unwrap();
    let closed = Runtime::builder(client.clone(), "ag_down").build();
    let err = with_runtime(&closed, strict).unwrap_err();
    assert!(
        matches!(
            err,
            ToolError::Guard(AgentTrustError::GuardianUnavailable { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        with_runtime(&closed, tolerant).unwrap(),
        7,
        "per-tool fail_open = true"
    );
    let open = Runtime::builder(client, "ag_down").fail_open(true).build();
    assert_eq!(
        with_runtime(&open, strict).unwrap(),
        8,
        "runtime-wide fail_open"
    );
}

#[tokio::test]
async fn auth_errors_are_never_failed_open() {
    let guardian = TestGuardian::builder()
        .default_rule(Rule::status(401))
        .fail_open(true)
        .start()
        .await;
    let err = guardian.in_scope(tolerant).unwrap_err();
    assert!(
        matches!(
            err,
            ToolError::Guard(AgentTrustError::Authentication { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn no_runtime_fails_closed_with_a_config_error_naming_init_from_env() {
    let err = strict().unwrap_err();
    match err {
        ToolError::Guard(AgentTrustError::Config { message }) => {
            assert!(message.contains("init_from_env"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_threads_and_eight_tasks_produce_exactly_one_event_per_call() {
    let guardian = guardian().await;
    let rt = guardian.runtime().clone();
    let mut threads = Vec::new();
    for _ in 0..8 {
        let rt = rt.clone();
        threads.push(std::thread::spawn(move || {
            with_runtime(&rt, || {
                (0..10).map(|_| tolerant().unwrap() as usize).sum::<usize>()
            })
        }));
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(rt.scope(async {
            for _ in 0..10 {
                read_file(0).await.unwrap();
            }
        })));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for t in threads {
        assert_eq!(t.join().unwrap(), 70);
    }
    let events = guardian.events().await;
    assert_eq!(events.len(), 160);
    let of = |tool: &str| events.iter().filter(|e| e.tool_name == tool).count();
    assert_eq!((of("tolerant"), of("read_file")), (80, 80));
    assert_eq!(guardian.checks().len(), 160);
}
