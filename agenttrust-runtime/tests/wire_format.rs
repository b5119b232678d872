//! Every endpoint's method, path, headers and exact JSON body, and the
//! decoding of every response variant of PROTOCOL.md, over real HTTP.

mod common;

use agenttrust_runtime::api::actions::ActionCheckRequest;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::telemetry::TelemetryEvent;
use agenttrust_runtime::api::tokens::{IntrospectTokenRequest, IssueTokenRequest};
use agenttrust_runtime::AgentTrustError;
use common::{client_for, KEY};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount(
    server: &MockServer,
    m: &str,
    p: &str,
    body: Option<serde_json::Value>,
    reply: ResponseTemplate,
) {
    let mut mock = Mock::given(method(m))
        .and(path(p))
        .and(header("x-api-key", KEY))
        .and(header("content-type", "application/json"));
    if let Some(body) = body {
        mock = mock.and(body_json(body));
    }
    mock.respond_with(reply).expect(1).mount(server).await;
}

#[tokio::test]
async fn health_is_a_get_with_the_api_key() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/health",
        None,
        ok(json!({"status":"healthy","service":"gateway","version":"1.2"})),
    )
    .await;
    let health = client_for(&server).health().await.unwrap();
    assert_eq!(health.status, "healthy");
    assert_eq!(health.version.as_deref(), Some("1.2"));
    let req = &server.received_requests().await.unwrap()[0];
    assert!(req
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("agenttrust-rust/"));
}

#[tokio::test]
async fn a_custom_user_agent_and_default_headers_are_sent() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/health",
        None,
        ok(json!({"status":"healthy"})),
    )
    .await;
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .user_agent("my-agent/2.0")
        .default_header("X-Team", "agents")
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    client.health().await.unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("user-agent").as_deref(), Some("my-agent/2.0"));
    assert_eq!(header("x-team").as_deref(), Some("agents"));
}

#[tokio::test]
async fn agents_create_sends_canonical_body_and_accepts_both_shapes() {
    let server = common::server().await;
    let expected =
        json!({"name":"bot","framework":"langchain","capabilities":["files:read"],"metadata":{}});
    mount(
        &server,
        "POST",
        "/api/v1/agents",
        Some(expected),
        ok(json!({"agent":{"id":"ag_1","name":"bot","status":""}})),
    )
    .await;
    let client = client_for(&server);
    let req = CreateAgentRequest::new("bot")
        .framework("langchain")
        .capabilities(["files:read"]);
    let agent = client.agents().create(&req).await.unwrap();
    assert_eq!(
        (agent.id.as_str(), agent.status.as_str()),
        ("ag_1", "active")
    );

    let server = common::server().await;
    mount(
        &server,
        "POST",
        "/api/v1/agents",
        None,
        ok(json!({"id":"ag_2","name":"bot","status":"active","extra":1})),
    )
    .await;
    let agent = client_for(&server)
        .agents()
        .create(&CreateAgentRequest::new("bot"))
        .await
        .unwrap();
    assert_eq!(agent.id, "ag_2");
    let sent = common::bodies(&server, "/api/v1/agents").await;
    assert_eq!(
        sent[0],
        json!({"name":"bot","framework":"custom","capabilities":[],"metadata":{}})
    );
}

#[tokio::test]
async fn agents_get_list_revoke_percent_encode_ids() {
    let server = common::server().await;
    mount(&server, "GET", "/api/v1/agents/a%2Fb%3Fc%23d%20e", None, ok(json!({"id":"a/b?c#d e","name":"n","org_id":"o","framework":"custom","status":"suspended"}))).await;
    mount(
        &server,
        "GET",
        "/api/v1/agents",
        None,
        ok(json!({"agents":[{"id":"1"},{"id":"2","status":"revoked"}]})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/agents/ag_1/revoke",
        Some(json!({"reason":"compromised"})),
        ResponseTemplate::new(200),
    )
    .await;
    let client = client_for(&server);
    let agent = client.agents().get("a/b?c#d e").await.unwrap();
    assert_eq!(agent.status, "suspended");
    let list = client.agents().list(None).await.unwrap();
    assert_eq!(
        list.iter().map(|a| a.status.as_str()).collect::<Vec<_>>(),
        ["active", "revoked"]
    );
    client.agents().revoke("ag_1", "compromised").await.unwrap();
}

#[tokio::test]
async fn agents_list_with_org_and_bare_array() {
    let server = common::server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents"))
        .and(query_param("org_id", "org 1&x"))
        .respond_with(ok(json!([{"id":"1","name":"a"}])))
        .expect(1)
        .mount(&server)
        .await;
    let list = client_for(&server)
        .agents()
        .list(Some("org 1&x"))
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn tokens_issue_introspect_revoke() {
    let server = common::server().await;
    mount(&server, "POST", "/api/v1/agent-tokens/issue",
        Some(json!({"agent_id":"ag_1","scopes":["files:read"],"ttl":300,"session_id":"s1"})),
        ok(json!({"agent_token":"at_x","agent_id":"ag_1","scope":["files:read"],"id":"tok_1","expires_at":"2026-01-01T00:00:00Z"}))).await;
    mount(&server, "POST", "/api/v1/agent-tokens/introspect",
        Some(json!({"token":"at_x","required_scopes":[]})),
        ok(json!({"active":true,"agent_id":"ag_1","guard_tier":"fast","confidence":0.9,"latency_ms":3}))).await;
    mount(
        &server,
        "POST",
        "/api/v1/agent-tokens/revoke",
        Some(json!({"token":"at_x","reason":"manual_revocation"})),
        ok(json!({"success":true})),
    )
    .await;
    let client = client_for(&server);
    let token = client
        .tokens()
        .issue(&IssueTokenRequest::new("ag_1", ["files:read"]).session_id("s1"))
        .await
        .unwrap();
    assert_eq!(
        (
            token.token.as_str(),
            token.scopes.len(),
            token.token_id.as_deref()
        ),
        ("at_x", 1, Some("tok_1"))
    );
    let info = client
        .tokens()
        .introspect(&IntrospectTokenRequest::new("at_x"))
        .await
        .unwrap();
    assert!(info.active);
    client
        .tokens()
        .revoke("at_x", "manual_revocation")
        .await
        .unwrap();
}

#[test]
fn token_aliases_both_present_do_not_fail() {
    let t: agenttrust_runtime::api::tokens::IssuedToken = serde_json::from_str(
        r#"{"token":"at_a","agent_token":"at_b","scopes":["x"],"scope":["y"]}"#,
    )
    .unwrap();
    assert_eq!((t.token.as_str(), t.scopes[0].as_str()), ("at_a", "x"));
    let i: agenttrust_runtime::api::tokens::TokenIntrospection =
        serde_json::from_str("{}").unwrap();
    assert!(!i.active);
}

#[tokio::test]
async fn action_check_maps_to_the_wire_body() {
    let server = common::server().await;
    mount(&server, "POST", "/api/v1/agenttrust/check",
        Some(json!({"agent_id":"ag_1","action_name":"web_search","action_source":"api","action_effect":"read","session_id":"s1","action_input_summary":"AI news"})),
        ok(json!({"allowed":true,"check_id":"chk_1","confidence":0.98,"guard_tier":"fast","latency_ms":2,"reason":"ok"}))).await;
    let client = client_for(&server);
    let req = ActionCheckRequest::new("ag_1", "web_search")
        .effect("read")
        .session("s1")
        .summary("AI news");
    let result = client.actions().check(&req).await.unwrap();
    assert!(result.allowed);
    assert_eq!(result.check_id.as_deref(), Some("chk_1"));
}

#[tokio::test]
async fn action_check_omits_empty_optionals_and_defaults_the_name() {
    let server = common::server().await;
    mount(&server, "POST", "/api/v1/agenttrust/check",
        Some(json!({"agent_id":"ag_1","action_name":"tool_call","action_source":"api"})),
        ok(json!({"allowed":false,"elevation_required":true,"approval_id":"apr_1","reason":"destructive","check_id":"c"}))).await;
    let req = ActionCheckRequest::new("ag_1", "").summary("").session("");
    let result = client_for(&server).actions().check(&req).await.unwrap();
    assert!(result.elevation_required && !result.allowed);
}

#[tokio::test]
async fn action_check_without_allowed_is_a_json_error() {
    let server = common::server().await;
    mount(
        &server,
        "POST",
        "/api/v1/agenttrust/check",
        None,
        ok(json!({"check_id":"x"})),
    )
    .await;
    let err = client_for(&server)
        .actions()
        .check(&ActionCheckRequest::new("a", "t"))
        .await
        .unwrap_err();
    assert!(matches!(err, AgentTrustError::Json { .. }), "{err:?}");
}

#[tokio::test]
async fn telemetry_report_body() {
    let server = common::server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/telemetry/report"))
        .and(header("x-api-key", KEY))
        .respond_with(ok(json!({"accepted":true,"events_processed":2})))
        .expect(1)
        .mount(&server)
        .await;
    let mut failed = TelemetryEvent::tool_call("rm", false, 7);
    failed.error_type = Some("IoError".into());
    let events = [TelemetryEvent::tool_call("web_search", true, 40), failed];
    let result = client_for(&server)
        .telemetry()
        .report("ag_1", "s1", &events)
        .await
        .unwrap();
    assert_eq!(result.events_processed, 2);
    let body = &common::bodies(&server, "/api/v1/telemetry/report").await[0];
    assert_eq!(body["agent_id"], "ag_1");
    assert_eq!(body["session_id"], "s1");
    assert_eq!(body["events"][0]["event_type"], "tool_end");
    assert_eq!(body["events"][0]["success"], true);
    assert!(body["events"][0].get("error_type").is_none());
    assert_eq!(body["events"][1]["event_type"], "tool_error");
    assert_eq!(body["events"][1]["error_type"], "IoError");
    assert_eq!(body["events"][1]["duration_ms"], 7);
    let ts = body["events"][0]["timestamp"].as_str().unwrap();
    assert!(humantime_like(ts), "{ts}");
}

fn humantime_like(ts: &str) -> bool {
    ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn sessions_init_get_and_api_bridge() {
    let server = common::server().await;
    mount(&server, "POST", "/mcp/sessions/init", Some(json!({"agent_id":"ag_1","server_id":"files"})),
        ok(json!({"session_id":"s1","agent_id":"ag_1","org_id":"o","source":"mcp","mode":"restricted","scope_ceiling":["files:read"]}))).await;
    mount(&server, "GET", "/mcp/sessions/s%2F1", None,
        ok(json!({"session_id":"s/1","agent_id":"ag_1","org_id":"o","total_calls":4,"denied_calls":1,"scope_ceiling":null}))).await;
    mount(
        &server,
        "POST",
        "/api/v1/agenttrust/api-sessions/init",
        Some(json!({"token":"at_x"})),
        ok(json!({"session_id":"s2","agent_id":"ag_1","source":"api"})),
    )
    .await;
    let client = client_for(&server);
    let s = client
        .sessions()
        .init_session("ag_1", "files")
        .await
        .unwrap();
    assert_eq!(s.scope_ceiling, ["files:read"]);
    let s = client.sessions().get_session("s/1").await.unwrap();
    assert_eq!((s.total_calls, s.denied_calls), (4, 1));
    let s = client.sessions().init_api_session("at_x").await.unwrap();
    assert_eq!((s.source.as_deref(), s.org_id.as_str()), (Some("api"), ""));
}

#[tokio::test]
async fn approvals_get_approve_deny() {
    let server = common::server().await;
    mount(&server, "GET", "/mcp/approvals/apr_1", None,
        ok(json!({"id":"apr_1","status":"pending","action_name":"rm","decided_by":null,"expires_at":"2026-01-01T00:05:00Z"}))).await;
    mount(
        &server,
        "POST",
        "/mcp/approvals/apr_1/approve",
        Some(json!({"decided_by":"admin@example.com"})),
        ok(json!({"status":"approved"})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/mcp/approvals/apr_2/deny",
        Some(json!({"decided_by":"admin@example.com"})),
        ResponseTemplate::new(204),
    )
    .await;
    let client = client_for(&server);
    let a = client.approvals().get("apr_1").await.unwrap();
    assert_eq!((a.status.as_str(), a.decided_by), ("pending", None));
    client
        .approvals()
        .approve("apr_1", "admin@example.com")
        .await
        .unwrap();
    client
        .approvals()
        .deny("apr_2", "admin@example.com")
        .await
        .unwrap();
}

#[tokio::test]
async fn http_errors_map_to_typed_variants_with_codes() {
    let server = common::server().await;
    let cases = [
        (
            400,
            json!({"message":"name is required"}),
            "VALIDATION_ERROR",
        ),
        (401, json!({"error":"invalid API key"}), "AUTH_FAILED"),
        (403, json!({"message":"forbidden"}), "AUTH_DENIED"),
        (404, json!({"message":"no such agent"}), "NOT_FOUND"),
        (
            409,
            json!({"message":"already decided","code":"CONFLICT"}),
            "CONFLICT",
        ),
        (503, json!({}), "HTTP_503"),
    ];
    for (status, body, _) in &cases {
        Mock::given(path(format!("/api/v1/agents/s{status}")))
            .respond_with(ResponseTemplate::new(*status).set_body_json(body.clone()))
            .mount(&server)
            .await;
    }
    let client = client_for(&server);
    for (status, _, code) in cases {
        let err = client
            .agents()
            .get(&format!("s{status}"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
    }
}

#[tokio::test]
async fn missing_api_key_sends_no_header() {
    let server = common::server().await;
    Mock::given(path("/health"))
        .respond_with(ok(json!({"status":"healthy"})))
        .mount(&server)
        .await;
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(server.uri())
        .build()
        .unwrap();
    client.health().await.unwrap();
    assert!(server.received_requests().await.unwrap()[0]
        .headers
        .get("x-api-key")
        .is_none());
    assert!(!format!("{client:?}").contains("sk_"));
}

#[tokio::test]
async fn default_headers_are_sent_and_key_is_redacted_in_debug() {
    let server = common::server().await;
    Mock::given(path("/health"))
        .and(header("x-team", "agents"))
        .respond_with(ok(json!({"status":"healthy"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(server.uri())
        .api_key("sk_live_supersecret")
        .default_header("X-Team", "agents")
        .build()
        .unwrap();
    client.health().await.unwrap();
    assert!(!format!("{client:?}").contains("supersecret"));
}

#[tokio::test]
async fn delegations_create_get_list_revoke_and_session() {
    use agenttrust_runtime::api::delegations::CreateDelegationRequest;
    let server = common::server().await;
    let record = json!({"id":"del_2","from_agent_id":"ag_a","to_agent_id":"ag_b","scope":["files:read"],
        "delegation_chain":["del_1"],"parent_delegation_id":"del_1","expires_at":"2026-01-01T01:00:00Z"});
    mount(
        &server,
        "POST",
        "/api/v1/delegations",
        Some(
            json!({"from_agent_id":"ag_a","to_agent_id":"ag_b","scope":["files:read"],
            "ttl_seconds":600,"restrictions":{"paths":["/srv"]},"parent_delegation_id":"del_1"}),
        ),
        ResponseTemplate::new(201).set_body_json(json!({ "delegation": record })),
    )
    .await;
    // The minimal request omits every optional field.
    mount(
        &server,
        "POST",
        "/api/v1/delegations",
        Some(json!({"from_agent_id":"ag_a","to_agent_id":"ag_c","scope":["x"]})),
        ResponseTemplate::new(201).set_body_json(
            json!({"id":"del_3","from_agent_id":"ag_a","to_agent_id":"ag_c","scope":["x"]}),
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v1/delegations/del%2F2",
        None,
        ok(record.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v1/delegations",
        None,
        ok(json!({"delegations":[record]})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/api/v1/delegations/del_2",
        None,
        ResponseTemplate::new(204),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/delegations/del_2/session",
        None,
        ok(
            json!({"session_id":"sess_d","agent_id":"ag_b","org_id":"org_1","source":"a2a",
            "delegation_id":"del_2","mode":"restricted","scope_ceiling":["files:read"]}),
        ),
    )
    .await;
    let client = client_for(&server);
    let request = CreateDelegationRequest::new("ag_a", "ag_b", ["files:read"])
        .ttl_seconds(600)
        .restrictions(json!({"paths":["/srv"]}))
        .parent("del_1");
    let created = client.delegations().create(&request).await.unwrap();
    assert_eq!(created.delegation_chain, ["del_1"]);
    assert_eq!(created.parent_delegation_id.as_deref(), Some("del_1"));
    let minimal = CreateDelegationRequest::new("ag_a", "ag_c", ["x"]);
    assert_eq!(
        client.delegations().create(&minimal).await.unwrap().id,
        "del_3"
    );
    assert_eq!(client.delegations().get("del/2").await.unwrap().id, "del_2");
    assert_eq!(client.delegations().list().await.unwrap().len(), 1);
    client.delegations().revoke("del_2").await.unwrap();
    let session = client.delegations().init_session("del_2").await.unwrap();
    assert_eq!(
        (session.agent_id.as_str(), session.delegation_id.as_deref()),
        ("ag_b", Some("del_2"))
    );
    // The bodiless requests send no body.
    for request in server.received_requests().await.unwrap() {
        if request.method.as_str() == "DELETE" || request.url.path().ends_with("/session") {
            assert!(request.body.is_empty(), "{} sent a body", request.url);
        }
    }
}

#[tokio::test]
async fn delegation_lists_decode_bare_arrays_and_null_fields() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/api/v1/delegations",
        None,
        ok(
            json!([{"id":"del_1","from_agent_id":"a","to_agent_id":"b","scope":null,
            "delegation_chain":null,"restrictions":null,"revoked_at":""}]),
        ),
    )
    .await;
    let list = client_for(&server).delegations().list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].scope.is_empty() && list[0].delegation_chain.is_empty());
    assert_eq!(
        (list[0].restrictions.as_ref(), list[0].revoked_at.as_ref()),
        (None, None)
    );
}

#[tokio::test]
async fn agent_cards_generate_get_publish_and_the_public_card_without_the_key() {
    let server = common::server().await;
    let card = json!({"name":"planner","version":"1.0.0",
        "supportedInterfaces":[{"url":"http://gw/a2a/agents/ag_1","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
        "capabilities":{"streaming":false,"pushNotifications":false,"extensions":[
            {"uri":"https://agenttrust.id/ext/trust/v1","params":{"ati_trust_score":0.75,"ati_guardian_tier":"fast"}}]},
        "skills":[{"id":"files:read","name":"files:read","description":"","tags":["files"]}]});
    mount(
        &server,
        "POST",
        "/api/v1/agents/ag%2F1/card",
        None,
        ok(card.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v1/agents/ag_1/card",
        None,
        ok(card.clone()),
    )
    .await;
    mount(
        &server,
        "PUT",
        "/api/v1/agents/ag_1/card/publish",
        None,
        ok(card.clone()),
    )
    .await;
    // The public card, in the snake_case and legacy-url forms some gateways send.
    Mock::given(method("GET"))
        .and(path("/a2a/agents/ag_1/agent.json"))
        .respond_with(ok(json!({"name":"planner","url":"http://legacy/a2a",
            "default_input_modes":["text/plain"],"capabilities":{"push_notifications":true}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let cards = client.agent_cards();
    let generated = cards.generate("ag/1").await.unwrap();
    assert_eq!(generated.primary_url(), Some("http://gw/a2a/agents/ag_1"));
    let trust = generated.trust().unwrap();
    assert_eq!(
        (trust.score, trust.guardian_tier.as_deref()),
        (0.75, Some("fast"))
    );
    assert_eq!(cards.get("ag_1").await.unwrap(), generated);
    assert_eq!(
        cards.publish("ag_1").await.unwrap().skills[0].tags,
        ["files"]
    );
    let public = cards.get_public("ag_1").await.unwrap();
    assert_eq!(public.primary_url(), Some("http://legacy/a2a"));
    assert_eq!(public.default_input_modes, ["text/plain"]);
    assert!(public.capabilities.push_notifications && public.trust().is_none());
    for request in server.received_requests().await.unwrap() {
        let public = request.url.path().ends_with("agent.json");
        assert_eq!(
            request.headers.contains_key("x-api-key"),
            !public,
            "{}",
            request.url
        );
        if request.method.as_str() != "GET" {
            assert!(request.body.is_empty(), "{} sent a body", request.url);
        }
    }
}

#[tokio::test]
async fn wimse_challenge_issue_and_verify() {
    use agenttrust_runtime::api::wimse::WimseTokenRequest;
    let server = common::server().await;
    mount(
        &server,
        "POST",
        "/api/v1/agents/ag%2F1/challenge",
        None,
        ok(json!({"nonce":"n1","expires_at":"2026-01-01T00:01:00Z"})),
    )
    .await;
    // Canonical: unset optionals and an empty audience are omitted.
    mount(
        &server,
        "POST",
        "/api/v1/wimse/token",
        Some(json!({"agent_id":"ag_1"})),
        ok(json!({"token":"eyJ.a.b","workload_id":"spiffe://ati/ag_1","trust_domain":"ati","expires_at":"2026-01-01T01:00:00Z"})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/wimse/token",
        Some(
            json!({"agent_id":"ag_2","service_name":"billing","environment":"prod","ttl_seconds":60,
            "audience":["payments"],"proof":{"nonce":"n1","ts":1700000000,"signature":"c2ln"}}),
        ),
        ok(json!({"token":"eyJ.c.d","workload_id":"spiffe://ati/ag_2","trust_domain":"ati"})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/wimse/verify",
        Some(json!({"token":"eyJ.a.b","trust_domain_filter":"ati"})),
        ok(json!({"valid":true,"agent_id":"ag_1","workload_id":"spiffe://ati/ag_1","trust_domain":"ati","capabilities":["files:read"]})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/wimse/verify",
        Some(json!({"token":"bad"})),
        ok(json!({"valid":false,"capabilities":null,"reason":"expired"})),
    )
    .await;
    let client = client_for(&server);
    let wimse = client.wimse();
    assert_eq!(wimse.challenge("ag/1").await.unwrap().nonce, "n1");
    let token = wimse
        .issue_token(&WimseTokenRequest::new("ag_1").audience(Vec::<String>::new()))
        .await
        .unwrap();
    assert_eq!(token.workload_id, "spiffe://ati/ag_1");
    assert!(
        !format!("{token:?}").contains("eyJ.a.b"),
        "the token is redacted in Debug"
    );
    let request = WimseTokenRequest::new("ag_2")
        .service_name("billing")
        .environment("prod")
        .ttl_seconds(60)
        .audience(["payments"])
        .proof(agenttrust_runtime::api::wimse::Proof {
            nonce: "n1".into(),
            ts: 1_700_000_000,
            signature: "c2ln".into(),
        });
    assert_eq!(wimse.issue_token(&request).await.unwrap().token, "eyJ.c.d");
    let verified = wimse.verify("eyJ.a.b", Some("ati")).await.unwrap();
    assert!(verified.valid && verified.capabilities == ["files:read"]);
    let refused = wimse.verify("bad", None).await.unwrap();
    assert_eq!(
        (refused.valid, refused.reason.as_deref()),
        (false, Some("expired"))
    );
    assert!(refused.capabilities.is_empty());
}

/// A JSON-RPC request's method and params, whatever its id.
fn rpc_matcher(method_name: &'static str, params: serde_json::Value) -> impl wiremock::Match {
    move |request: &wiremock::Request| {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        body["jsonrpc"] == "2.0"
            && body["id"].is_string()
            && body["method"] == method_name
            && body["params"] == params
    }
}

#[tokio::test]
async fn a2a_methods_send_canonical_envelopes_and_type_rpc_errors() {
    let server = common::server().await;
    let task = json!({"id":"t1","contextId":"c1","status":{"state":"submitted"},"history":[]});
    Mock::given(method("POST"))
        .and(path("/a2a/agents/ag%2F2"))
        .and(header("x-api-key", KEY))
        .and(rpc_matcher(
            "message/send",
            json!({"message":{"role":"user","parts":[{"kind":"text","text":"hi"}],"messageId":"m1","taskId":"t1"}}),
        ))
        .respond_with(ok(json!({"jsonrpc":"2.0","id":"1","result":task})))
        .expect(1)
        .mount(&server)
        .await;
    let legacy = json!({"id":"t2","sourceAgentId":"ag_1","targetAgentId":"ag_2","status":"pending","message":{"q":1}});
    for (name, params, result) in [
        (
            "tasks/send",
            json!({"source_agent_id":"ag_1","target_agent_id":"ag_2","message":{"q":1}}),
            legacy.clone(),
        ),
        ("tasks/get", json!({"id":"t2"}), legacy.clone()),
        (
            "tasks/list",
            json!({"limit":5}),
            json!({"tasks":[legacy.clone()]}),
        ),
    ] {
        Mock::given(method("POST"))
            .and(path("/a2a"))
            .and(rpc_matcher(name, params))
            .respond_with(ok(json!({"jsonrpc":"2.0","id":"x","result":result})))
            .expect(1)
            .mount(&server)
            .await;
    }
    // An error with HTTP 200, and an answer with neither result nor error.
    Mock::given(method("POST"))
        .and(path("/a2a"))
        .and(rpc_matcher("tasks/cancel", json!({"id":"t9"})))
        .respond_with(ok(json!({"jsonrpc":"2.0","id":"x","error":{"code":-32001,"message":"task `t9` not found","data":{"id":"t9"}}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/a2a"))
        .and(rpc_matcher("tasks/cancel", json!({"id":"t8"})))
        .respond_with(ok(json!({"jsonrpc":"2.0","id":"x"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let a2a = client.a2a();
    let sent = a2a
        .send_message("ag/2", "hi", Some("m1"), Some("t1"))
        .await
        .unwrap();
    assert_eq!((sent.id.as_str(), sent.context_id.as_str()), ("t1", "c1"));
    let created = a2a.send_task("ag_1", "ag_2", json!({"q":1})).await.unwrap();
    assert_eq!(
        created.source_agent_id.as_deref(),
        Some("ag_1"),
        "camelCase aliases decode"
    );
    assert_eq!(a2a.get_task("t2").await.unwrap().status, "pending");
    assert_eq!(a2a.list_tasks(5).await.unwrap().len(), 1);
    match a2a.cancel_task("t9").await.unwrap_err() {
        AgentTrustError::Rpc {
            rpc_code,
            message,
            data,
            code,
        } => {
            assert_eq!((rpc_code, code.as_str()), (-32001, "A2A_ERROR_-32001"));
            assert!(message.contains("not found"));
            assert_eq!(data.as_deref(), Some(&json!({"id":"t9"})));
        }
        other => panic!("expected an RPC error, got {other:?}"),
    }
    assert_eq!(
        a2a.cancel_task("t8").await.unwrap_err().code(),
        "PROTOCOL_ERROR"
    );
    // A message id is made when none is given.
    Mock::given(method("POST"))
        .and(path("/a2a/agents/ag_3"))
        .and(|r: &wiremock::Request| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            body["params"]["message"]["messageId"]
                .as_str()
                .is_some_and(|id| id.len() == 36)
                && body["params"]["message"].get("taskId").is_none()
        })
        .respond_with(ok(json!({"jsonrpc":"2.0","id":"1","result":{"id":"t3"}})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        a2a.send_message("ag_3", "x", None, None).await.unwrap().id,
        "t3"
    );
}

#[tokio::test]
async fn streaming_destinations_logs_and_test() {
    use agenttrust_runtime::api::streaming::{CreateDestinationRequest, UpdateDestinationRequest};
    let server = common::server().await;
    let destination = json!({"id":"siem_1","org_id":"org_1","name":"soc","destination_type":"webhook",
        "endpoint_url":"https://soc/hook","is_active":true,"batch_size":10,"filter_event_types":null});
    mount(
        &server,
        "POST",
        "/api/v1/siem/destinations",
        Some(
            json!({"name":"soc","destination_type":"webhook","endpoint_url":"https://soc/hook",
            "auth_token":"t","batch_size":10,"filter_event_types":["action.check"]}),
        ),
        ResponseTemplate::new(201).set_body_json(destination.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v1/siem/destinations",
        None,
        ok(json!({"destinations":[destination.clone()],"total":1})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v1/siem/destinations/siem%2F1",
        None,
        ok(destination.clone()),
    )
    .await;
    // Only what changes is sent.
    mount(
        &server,
        "PUT",
        "/api/v1/siem/destinations/siem_1",
        Some(json!({"is_active":false})),
        ok(json!({"id":"siem_1","is_active":false})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/api/v1/siem/destinations/siem_1",
        None,
        ResponseTemplate::new(204),
    )
    .await;
    mount(&server, "GET", "/api/v1/siem/destinations/siem_1/logs", None,
        ok(json!([{"id":"d1","destination_id":"siem_1","batch_size":3,"status":"failed","status_code":500,"error_message":"HTTP 500"}]))).await;
    mount(
        &server,
        "POST",
        "/api/v1/siem/destinations/siem_1/test",
        None,
        ok(json!({"success":true})),
    )
    .await;
    let client = client_for(&server);
    let streaming = client.streaming();
    let request = CreateDestinationRequest::new("soc", "webhook", "https://soc/hook")
        .auth_token("t")
        .batch_size(10)
        .filter_event_types(["action.check"]);
    assert!(
        !format!("{request:?}").contains("\"t\""),
        "the token is redacted in Debug"
    );
    let created = streaming.create(&request).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.filter_event_types),
        ("siem_1", None)
    );
    assert_eq!(streaming.list().await.unwrap().len(), 1);
    assert_eq!(streaming.get("siem/1").await.unwrap().batch_size, Some(10));
    let paused = UpdateDestinationRequest {
        is_active: Some(false),
        ..Default::default()
    };
    assert!(!streaming.update("siem_1", &paused).await.unwrap().is_active);
    streaming.delete("siem_1").await.unwrap();
    let log = streaming.delivery_log("siem_1").await.unwrap();
    assert_eq!(
        (log[0].status.as_str(), log[0].status_code),
        ("failed", Some(500))
    );
    assert!(streaming.test("siem_1").await.unwrap().success);
}

#[tokio::test]
async fn federation_methods_and_every_response_variant() {
    use agenttrust_runtime::api::federation::{
        IssueFederationTokenRequest, RegisterProviderRequest,
    };
    let server = common::server().await;
    let provider = json!({"id":"idp_1","issuer":"https://idp","name":"IdP","trust_level":"standard","status":"active"});
    mount(
        &server,
        "POST",
        "/api/v1/federation/providers",
        Some(json!({"issuer":"https://idp","name":"IdP"})),
        ok(json!({ "provider": provider })),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v1/federation/providers",
        None,
        ok(json!([provider])),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/api/v1/federation/providers/idp%2F1",
        None,
        ResponseTemplate::new(204),
    )
    .await;
    // `ttl` on the wire, scopes omitted when empty; `idToken` spelled in camelCase.
    mount(
        &server,
        "POST",
        "/api/v1/federation/tokens/issue",
        Some(json!({"agent_id":"ag_1","ttl":60})),
        ok(json!({"idToken":"fed_1","expires_in":60})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/federation/tokens/verify",
        Some(json!({"token":"fed_1","issuer_hint":"https://idp"})),
        ok(json!({"valid":true,"agent_id":"ag_1","issuer":"https://idp"})),
    )
    .await;
    // Python's introspect: `active` first, legacy `valid` after.
    mount(
        &server,
        "POST",
        "/api/v1/federation/tokens/introspect",
        Some(json!({"token":"fed_1"})),
        ok(json!({"active":false,"valid":true,"error":"revoked"})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v1/federation/tokens/revoke",
        Some(json!({"token":"fed_1"})),
        ResponseTemplate::new(204),
    )
    .await;
    mount(&server, "POST", "/api/v1/federation/sessions/init", Some(json!({"token":"fed_1"})),
        ok(json!({"session_id":"s1","agent_id":"ag_1","source":"federation","provider_id":"idp_1","issuer":"https://idp","trust_level":"high"}))).await;
    let client = client_for(&server);
    let federation = client.federation();
    let registered = federation
        .register_provider(&RegisterProviderRequest::new("https://idp", "IdP"))
        .await
        .unwrap();
    assert_eq!(registered.id, "idp_1");
    assert_eq!(
        federation.list_providers().await.unwrap()[0].issuer,
        "https://idp"
    );
    federation.delete_provider("idp/1").await.unwrap();
    let mut request = IssueFederationTokenRequest::new("ag_1");
    request.ttl = Some(60);
    assert_eq!(
        federation.issue_token(&request).await.unwrap().token,
        "fed_1"
    );
    assert!(
        federation
            .verify_token("fed_1", Some("https://idp"))
            .await
            .unwrap()
            .valid
    );
    let introspected = federation.introspect_token("fed_1", None).await.unwrap();
    assert_eq!(
        (introspected.valid, introspected.error.as_deref()),
        (false, Some("revoked"))
    );
    federation.revoke_token("fed_1").await.unwrap();
    let session = federation.init_session("fed_1", None).await.unwrap();
    assert_eq!(
        (
            session.provider_id.as_deref(),
            session.trust_level.as_deref()
        ),
        (Some("idp_1"), Some("high"))
    );
}

#[test]
fn federation_answers_missing_their_required_fields_are_errors() {
    use agenttrust_runtime::api::federation::{FederationToken, TokenVerification};
    assert!(serde_json::from_str::<FederationToken>(r#"{"expires_in": 5}"#).is_err());
    assert_eq!(
        serde_json::from_str::<FederationToken>(r#"{"id_token": "a"}"#)
            .unwrap()
            .token,
        "a"
    );
    assert_eq!(
        serde_json::from_str::<FederationToken>(r#"{"token": "b"}"#)
            .unwrap()
            .token,
        "b"
    );
    assert!(
        serde_json::from_str::<TokenVerification>(r#"{"agent_id": "x"}"#).is_err(),
        "no valid, no allow"
    );
}

#[tokio::test]
async fn mcp_registry_and_proxy_headers_envelope_and_typed_errors() {
    let server = common::server().await;
    mount(&server, "POST", "/mcp/servers", Some(json!({"name":"files","url":"http://files/mcp","capabilities":["read_file"]})),
        ok(json!({"id":"mcp_1","name":"files","url":"http://files/mcp","capabilities":["read_file"]}))).await;
    mount(
        &server,
        "POST",
        "/mcp/servers",
        Some(json!({"name":"bare","url":"http://bare/mcp"})),
        ok(json!({"id":"mcp_2","name":"bare","url":"http://bare/mcp","capabilities":null})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/mcp/servers",
        None,
        ok(json!([{"id":"mcp_1"}])),
    )
    .await;
    mount(
        &server,
        "GET",
        "/mcp/servers/mcp%2F1",
        None,
        ok(json!({"id":"mcp_1"})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/mcp/servers/mcp_1",
        None,
        ResponseTemplate::new(204),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/mcp/mcp_1"))
        .and(header("x-agent-id", "ag_1"))
        .and(header("x-session-id", "sess_1"))
        .and(body_json(
            json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file"}}),
        ))
        .respond_with(ok(json!({"jsonrpc":"2.0","id":1,"result":{"content":[]}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/mcp/mcp_2"))
        .and(body_json(json!({"jsonrpc":"2.0","id":1,"method":"tools/call"})))
        .respond_with(ok(json!({"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"denied","data":{"code":"ACTION_DENIED"}}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let mcp = client.mcp();
    assert_eq!(
        mcp.register_server("files", "http://files/mcp", &["read_file".to_owned()])
            .await
            .unwrap()
            .id,
        "mcp_1"
    );
    assert!(mcp
        .register_server("bare", "http://bare/mcp", &[])
        .await
        .unwrap()
        .capabilities
        .is_empty());
    assert_eq!(mcp.list_servers().await.unwrap().len(), 1);
    assert_eq!(mcp.get_server("mcp/1").await.unwrap().id, "mcp_1");
    mcp.remove_server("mcp_1").await.unwrap();
    let result = mcp
        .call_tool(
            "mcp_1",
            "ag_1",
            "tools/call",
            Some(json!({"name":"read_file"})),
            Some("sess_1"),
        )
        .await
        .unwrap();
    assert_eq!(result, json!({"content":[]}));
    let refused = mcp
        .call_tool("mcp_2", "ag_1", "tools/call", None, None)
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        "MCP_ERROR_-32001",
        "a JSON-RPC error is never a result"
    );
    let requests = server.received_requests().await.unwrap();
    let without_session = requests
        .iter()
        .find(|r| r.url.path() == "/mcp/mcp_2")
        .unwrap();
    assert!(!without_session.headers.contains_key("x-session-id"));
}
