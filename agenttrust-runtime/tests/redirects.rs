//! Redirects are never followed: the API key never reaches another origin
//! and no other server's answer can allow a call. Two real listeners on
//! 127.0.0.1: the configured gateway answers every request with a redirect,
//! a second one on another port records whatever reaches it and would allow.

mod common;

use std::time::Duration;

use agenttrust_runtime::api::actions::ActionCheckRequest;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::telemetry::TelemetryEvent;
use agenttrust_runtime::api::tokens::{IntrospectTokenRequest, IssueTokenRequest};
use agenttrust_runtime::{AgentTrustClient, AgentTrustError, AgentTrustGuard};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that would allow everything and answer every endpoint.
async fn foreign_origin() -> MockServer {
    let server = common::server().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "allowed": true, "status": "ok", "id": "x", "agents": [], "session_id": "s",
            "agent_id": "a", "org_id": "o", "token": "at_x", "active": true,
        })))
        .mount(&server)
        .await;
    server
}

/// The configured gateway: answers every request with `status` to `target`.
async fn redirecting_to(target: &str, status: u16) -> MockServer {
    let server = common::server().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status).insert_header("Location", target))
        .mount(&server)
        .await;
    server
}

fn assert_refused(call: &str, result: Result<(), AgentTrustError>) {
    let err = result.expect_err(call);
    assert_eq!(err.code(), "CONFIG_ERROR", "{call}: {err}");
    assert!(
        !err.is_unavailable(),
        "{call}: a redirect must never fail open"
    );
    assert!(err.to_string().contains("redirect"), "{call}: {err}");
}

/// Every API call of the client, each against the redirecting gateway.
async fn every_call_is_refused(client: &AgentTrustClient) {
    let check = ActionCheckRequest::new("ag_1", "delete_file");
    assert_refused("health", client.health().await.map(drop));
    assert_refused(
        "agents.create",
        client
            .agents()
            .create(&CreateAgentRequest::new("a"))
            .await
            .map(drop),
    );
    assert_refused("agents.get", client.agents().get("ag_1").await.map(drop));
    assert_refused("agents.list", client.agents().list(None).await.map(drop));
    assert_refused("agents.revoke", client.agents().revoke("ag_1", "r").await);
    assert_refused(
        "tokens.issue",
        client
            .tokens()
            .issue(&IssueTokenRequest::new("ag_1", ["s"]))
            .await
            .map(drop),
    );
    assert_refused(
        "tokens.introspect",
        client
            .tokens()
            .introspect(&IntrospectTokenRequest::new("at_x"))
            .await
            .map(drop),
    );
    assert_refused("tokens.revoke", client.tokens().revoke("at_x", "r").await);
    assert_refused(
        "actions.check",
        client.actions().check(&check).await.map(drop),
    );
    assert_refused(
        "telemetry.report",
        client
            .telemetry()
            .report("ag_1", "s", &[TelemetryEvent::tool_call("t", true, 1)])
            .await
            .map(drop),
    );
    assert_refused(
        "sessions.init",
        client
            .sessions()
            .init_session("ag_1", "srv")
            .await
            .map(drop),
    );
    assert_refused(
        "sessions.get",
        client.sessions().get_session("s").await.map(drop),
    );
    assert_refused(
        "sessions.init_api_session",
        client.sessions().init_api_session("at_x").await.map(drop),
    );
    assert_refused(
        "approvals.get",
        client.approvals().get("apr_1").await.map(drop),
    );
    assert_refused(
        "approvals.approve",
        client.approvals().approve("apr_1", "me").await,
    );
    assert_refused(
        "approvals.deny",
        client.approvals().deny("apr_1", "me").await,
    );
}

#[tokio::test]
async fn cross_origin_redirects_never_carry_the_key_or_the_verdict() {
    let foreign = foreign_origin().await;
    for status in [301, 302, 303, 307, 308] {
        let target = format!("{}/api/v1/agenttrust/check", foreign.uri());
        let gateway = redirecting_to(&target, status).await;
        let client = common::client_for(&gateway);
        every_call_is_refused(&client).await;

        // The guard, failing open: a redirect is not "unavailable", so the
        // call stays refused.
        let guard = AgentTrustGuard::builder(client.clone(), "ag_1")
            .fail_open(true)
            .build();
        let err = guard.decide("delete_file", "").await.unwrap_err();
        assert_eq!(err.code(), "CONFIG_ERROR", "{status}");
        assert!(guard.check("delete_file", "").await.is_err());
    }
    let reached = foreign.received_requests().await.unwrap_or_default();
    assert!(
        reached.is_empty(),
        "{} requests reached the other origin, e.g. {:?}",
        reached.len(),
        reached.first().map(|r| r.headers.get("x-api-key"))
    );
}

#[tokio::test]
async fn same_origin_redirects_are_refused_too() {
    // Same host and port, other path; a relative one; and the same host and
    // port under another scheme. None is followed (a scheme change would
    // otherwise be followed by reqwest in either direction).
    let gateway = common::server().await;
    let uri = gateway.uri();
    let other_scheme = uri.replace("http://", "https://") + "/elsewhere";
    for target in [
        format!("{uri}/elsewhere"),
        "/relative".to_owned(),
        other_scheme,
    ] {
        gateway.reset().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(307).insert_header("Location", target.as_str()))
            .mount(&gateway)
            .await;
        let client = common::client_for(&gateway);
        every_call_is_refused(&client).await;
        let requests = gateway.received_requests().await.unwrap_or_default();
        assert!(
            requests
                .iter()
                .all(|r| r.url.path() != "/elsewhere" && r.url.path() != "/relative"),
            "a redirect to {target} was followed"
        );
    }
}

#[tokio::test]
async fn telemetry_is_not_posted_through_a_redirect() {
    let foreign = foreign_origin().await;
    let target = format!("{}/api/v1/telemetry/report", foreign.uri());
    let gateway = redirecting_to(&target, 307).await;
    let client = common::client_for(&gateway);
    let guard = AgentTrustGuard::builder(client.clone(), "ag_1").build();
    for _ in 0..3 {
        guard.report("read_file", true, 1);
    }
    let _ = client.flush(Duration::from_secs(2)).await;
    let stats = client.telemetry_stats();
    assert_eq!(stats.dropped, 3, "{stats:?}");
    assert!(foreign
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}
