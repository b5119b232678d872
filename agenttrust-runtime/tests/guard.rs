//! Guard decisions and failure classification over real loopback HTTP.

mod common;

use std::time::Duration;

use agenttrust_runtime::{AgentTrustClient, AgentTrustError, AgentTrustGuard, Decision, Effect};
use common::client_for;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHECK: &str = "/api/v1/agenttrust/check";

async fn guardian(reply: ResponseTemplate) -> MockServer {
    let server = common::server().await;
    Mock::given(method("POST"))
        .and(path(CHECK))
        .respond_with(reply)
        .mount(&server)
        .await;
    server
}

fn guard(client: AgentTrustClient) -> agenttrust_runtime::AgentTrustGuardBuilder {
    AgentTrustGuard::builder(client, "ag_1").session_id("sess_1")
}

#[tokio::test]
async fn allow_sends_session_effect_and_summary() {
    let server = guardian(
        ResponseTemplate::new(200).set_body_json(json!({"allowed":true,"check_id":"chk_1"})),
    )
    .await;
    let g = guard(client_for(&server))
        .action_effect(Effect::Read)
        .build();
    g.check("web_search", "AI news").await.unwrap();
    let d = g
        .decide_with_effect("web_search", "", "mutating")
        .await
        .unwrap();
    assert_eq!(
        d,
        Decision::Allowed {
            check_id: Some("chk_1".into()),
            reason: None
        }
    );
    let bodies = common::bodies(&server, CHECK).await;
    assert_eq!(
        bodies[0],
        json!({"agent_id":"ag_1","action_name":"web_search","action_source":"api","action_effect":"read","session_id":"sess_1","action_input_summary":"AI news"})
    );
    assert_eq!(bodies[1]["action_effect"], "mutating");
    assert!(bodies[1].get("action_input_summary").is_none());
}

#[tokio::test]
async fn default_session_is_a_random_uuid() {
    let server = guardian(ResponseTemplate::new(200).set_body_json(json!({"allowed":true}))).await;
    let a = AgentTrustGuard::builder(client_for(&server), "ag").build();
    let b = AgentTrustGuard::builder(client_for(&server), "ag").build();
    assert_eq!(a.session_id().len(), 36);
    assert_ne!(a.session_id(), b.session_id());
}

#[tokio::test]
async fn deny_is_an_error_with_reason_and_check_id() {
    let server =
        guardian(ResponseTemplate::new(200).set_body_json(
            json!({"allowed":false,"reason":"tool on deny list","check_id":"chk_9"}),
        ))
        .await;
    let err = guard(client_for(&server))
        .build()
        .check("rm_rf", "/")
        .await
        .unwrap_err();
    match err {
        AgentTrustError::ActionDenied {
            message, check_id, ..
        } => {
            assert_eq!(message, "tool on deny list");
            assert_eq!(check_id.as_deref(), Some("chk_9"));
        }
        other => panic!("expected ActionDenied, got {other:?}"),
    }
}

#[tokio::test]
async fn elevation_carries_the_approval_id() {
    let server = guardian(ResponseTemplate::new(200).set_body_json(json!({"allowed":false,"elevation_required":true,"approval_id":"apr_7","reason":"destructive"}))).await;
    let err = guard(client_for(&server))
        .build()
        .check_with_effect("db_delete", "users", Effect::Destructive)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "ELEVATION_REQUIRED");
    assert_eq!(err.approval_id(), Some("apr_7"));
}

#[tokio::test]
async fn elevation_without_approval_id_is_a_protocol_error_even_failing_open() {
    let server = guardian(
        ResponseTemplate::new(200)
            .set_body_json(json!({"allowed":false,"elevation_required":true})),
    )
    .await;
    let err = guard(client_for(&server))
        .fail_open(true)
        .build()
        .check("db_delete", "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "PROTOCOL_ERROR");
}

#[tokio::test]
async fn block_on_deny_false_is_a_would_block_never_an_allow() {
    let server = guardian(ResponseTemplate::new(200).set_body_json(
        json!({"allowed":false,"elevation_required":true,"approval_id":"apr_1","reason":"r","check_id":"chk_3"}),
    ))
    .await;
    let client = client_for(&server);
    let g = guard(client.clone()).block_on_deny(false).build();
    let shadow = Decision::WouldBlock {
        reason: "r".into(),
        check_id: Some("chk_3".into()),
        approval_id: Some("apr_1".into()),
    };
    assert_eq!(g.check("db_delete", "x").await.unwrap(), shadow);
    let d = g.decide("db_delete", "x").await.unwrap();
    assert_eq!(d, shadow);
    assert!(!d.is_allowed() && d.runs());
    let checks = client.stats().checks;
    assert_eq!(
        (
            checks.would_block,
            checks.allowed,
            checks.elevation_required
        ),
        (2, 0, 0)
    );

    // The same answer to an enforcing guard on the same client.
    let enforcing = guard(client.clone()).build();
    assert_eq!(
        enforcing.check("db_delete", "x").await.unwrap_err().code(),
        "ELEVATION_REQUIRED"
    );
    let checks = client.stats().checks;
    assert_eq!((checks.would_block, checks.elevation_required), (2, 1));
    assert_eq!(client.stats().guardian_latency.count, 3);
}

/// A guard whose Guardian is unavailable in the given way.
async fn unavailable(kind: &str) -> (Option<MockServer>, AgentTrustClient) {
    let reply = match kind {
        "closed" => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let client = AgentTrustClient::builder()
                .base_url(format!("http://127.0.0.1:{port}"))
                .api_key("k")
                .build()
                .unwrap();
            return (None, client);
        }
        "503" => ResponseTemplate::new(503).set_body_string("upstream down"),
        "hang" => ResponseTemplate::new(200)
            .set_body_json(json!({"allowed":true}))
            .set_delay(Duration::from_secs(3)),
        "malformed" => ResponseTemplate::new(200).set_body_string("{not json"),
        "empty" => ResponseTemplate::new(200),
        other => panic!("{other}"),
    };
    let server = guardian(reply).await;
    let client = AgentTrustClient::builder()
        .base_url(server.uri())
        .api_key("k")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    (Some(server), client)
}

#[tokio::test]
async fn unavailable_guardian_fails_closed_by_default_and_open_when_configured() {
    for kind in ["closed", "503", "hang", "malformed", "empty"] {
        let (_server, client) = unavailable(kind).await;
        let closed = guard(client.clone()).build();
        let err = closed.check("web_search", "q").await.unwrap_err();
        assert_eq!(err.code(), "GUARDIAN_UNAVAILABLE", "{kind}: {err}");
        let open = guard(client).fail_open(true).build();
        open.check("web_search", "q").await.unwrap();
        assert!(
            matches!(
                open.decide("web_search", "q").await.unwrap(),
                Decision::FailedOpen { .. }
            ),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn auth_and_validation_errors_never_fail_open() {
    for (status, code) in [
        (401, "AUTH_FAILED"),
        (403, "AUTH_DENIED"),
        (400, "VALIDATION_ERROR"),
        (404, "NOT_FOUND"),
    ] {
        let server =
            guardian(ResponseTemplate::new(status).set_body_json(json!({"message":"no"}))).await;
        let g = guard(client_for(&server)).fail_open(true).build();
        let err = g.check("web_search", "q").await.unwrap_err();
        assert_eq!(err.code(), code);
    }
}

#[tokio::test]
async fn summary_of_300_multibyte_chars_is_cut_to_200_chars() {
    let server = guardian(ResponseTemplate::new(200).set_body_json(json!({"allowed":true}))).await;
    let g = guard(client_for(&server)).build();
    let summary = format!("{}é{}", "a".repeat(199), "日本".repeat(50));
    assert_eq!(summary.chars().count(), 300);
    g.check("t", &summary).await.unwrap();
    let sent = common::first_summary(&server).await;
    assert_eq!(sent.chars().count(), 200);
    assert!(sent.ends_with('é'));
}

#[test]
fn blocking_guard_from_a_plain_thread() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(guardian(
        ResponseTemplate::new(200).set_body_json(json!({"allowed":false,"reason":"nope"})),
    ));
    let g = guard(client_for(&server)).build();
    let err = std::thread::spawn(move || g.check_blocking("t", "s").unwrap_err())
        .join()
        .unwrap();
    assert_eq!(err.code(), "ACTION_DENIED");
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_facade_inside_a_current_thread_runtime_does_not_panic() {
    let server = guardian(ResponseTemplate::new(200).set_body_json(json!({"allowed":true}))).await;
    Mock::given(path("/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status":"healthy"})))
        .mount(&server)
        .await;
    common::accept_telemetry(&server).await;
    let client = client_for(&server);
    assert_eq!(client.blocking().health().unwrap().status, "healthy");
    let g = guard(client).build();
    assert!(g.decide_blocking("t", "s").unwrap().is_allowed());
    g.report("t", true, 1);
    assert!(g.flush_blocking(Duration::from_secs(5)).is_delivered());
    assert_eq!(common::telemetry_events(&server).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_facade_inside_a_multi_thread_runtime_does_not_panic() {
    let server = guardian(ResponseTemplate::new(200).set_body_json(json!({"allowed":true}))).await;
    let g = guard(client_for(&server)).build();
    g.check_blocking("t", "s").unwrap();
    let g2 = g.clone();
    tokio::spawn(async move { g2.check_with_effect_blocking("t", "s", "read") })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(common::bodies(&server, CHECK).await.len(), 2);
}

#[test]
fn a_client_used_on_an_idle_current_thread_runtime_still_serves_other_threads() {
    // Connections opened on a current-thread runtime are driven by that
    // runtime; handed to another thread while it is idle, a request would
    // hang. Each runtime gets its own pool, so this stays quick.
    let user_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = user_rt.block_on(guardian(
        ResponseTemplate::new(200).set_body_json(json!({"allowed": true})),
    ));
    let client = AgentTrustClient::builder()
        .base_url(server.uri())
        .api_key("k")
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let g = guard(client).build();
    user_rt.block_on(async { g.check("t", "s").await.unwrap() });
    // user_rt is now idle; a plain thread uses the same client.
    let other = g.clone();
    let started = std::time::Instant::now();
    std::thread::spawn(move || other.check_blocking("t", "s"))
        .join()
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    user_rt.block_on(async { g.check("t", "s").await.unwrap() });
}

#[tokio::test]
async fn a_hung_guardian_costs_the_check_timeout_not_the_request_timeout() {
    let server = guardian(
        ResponseTemplate::new(200)
            .set_body_json(json!({"allowed": true}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"agents": []}))
                .set_delay(Duration::from_millis(600)),
        )
        .mount(&server)
        .await;
    // The client's general timeout is 5 s (common::client_for).
    let client = AgentTrustClient::builder()
        .base_url(server.uri())
        .api_key(common::KEY)
        .timeout(Duration::from_secs(5))
        .check_timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let started = std::time::Instant::now();
    let err = guard(client.clone())
        .build()
        .check("read_file", "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "GUARDIAN_UNAVAILABLE", "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    let open = guard(client.clone()).fail_open(true).build();
    assert!(matches!(
        open.decide("read_file", "").await.unwrap(),
        Decision::FailedOpen { .. }
    ));

    // A guard's own deadline overrides the client's, both ways.
    let patient = guard(client.clone())
        .check_timeout(Duration::from_millis(100))
        .build();
    let started = std::time::Instant::now();
    assert!(patient.check("read_file", "").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(4));

    // Other calls keep the general timeout: 600 ms is past the check
    // deadline and well within 5 s.
    client
        .agents()
        .list(None)
        .await
        .expect("general timeout applies");
}

#[tokio::test]
async fn the_default_check_timeout_is_three_seconds() {
    assert_eq!(
        agenttrust_runtime::DEFAULT_CHECK_TIMEOUT,
        Duration::from_secs(3)
    );
    let server = guardian(
        ResponseTemplate::new(200)
            .set_body_json(json!({"allowed": true}))
            .set_delay(Duration::from_secs(6)),
    )
    .await;
    let client = AgentTrustClient::builder()
        .base_url(server.uri())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = guard(client)
        .build()
        .check("read_file", "")
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.code(), "GUARDIAN_UNAVAILABLE");
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
}

#[test]
fn a_guard_debug_shows_its_settings_and_never_the_key() {
    let client = AgentTrustClient::builder()
        .base_url("http://127.0.0.1:9")
        .api_key("sk_live_secret")
        .build()
        .unwrap();
    let guard = AgentTrustGuard::builder(client, "ag_dbg")
        .session_id("sess_dbg")
        .fail_open(true)
        .check_timeout(Duration::from_millis(250))
        .build();
    let shown = format!("{guard:?}");
    for part in ["ag_dbg", "sess_dbg", "fail_open: true", "250ms"] {
        assert!(shown.contains(part), "{part} missing from {shown}");
    }
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn one_client_serves_calls_from_many_runtimes_in_turn() {
    // Each runtime gets a pool of its own; old ones are let go past a bound.
    let (server_rt, server) = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(guardian(
            ResponseTemplate::new(200).set_body_json(json!({"allowed": true})),
        ));
        (rt, server)
    };
    let client = client_for(&server);
    let g = guard(client).build();
    for _ in 0..40 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(g.check("read_file", "")).expect("allowed");
    }
    drop(server_rt);
}
