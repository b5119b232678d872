//! Property tests over real loopback HTTP: arbitrary bodies, headers and
//! path ids sent to every route never get a 5xx (or kill the server), and a
//! rejected request (4xx) never changes the gateway's state.
//!
//! Cases per run: `PROPTEST_CASES` (proptest's default, 256: a few seconds). Run longer
//! with `PROPTEST_CASES=5000 cargo test -p agenttrust-gateway --test properties`.

mod common;

use agenttrust_gateway::Policy;
use common::{Fixture, KEY};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// Every route, with `{id}` where a path id goes.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("POST", "/api/v1/agents"),
    ("GET", "/api/v1/agents"),
    ("GET", "/api/v1/agents/{id}"),
    ("POST", "/api/v1/agents/{id}/revoke"),
    ("POST", "/api/v1/agent-tokens/issue"),
    ("POST", "/api/v1/agent-tokens/introspect"),
    ("POST", "/api/v1/agent-tokens/verify"),
    ("POST", "/api/v1/agent-tokens/revoke"),
    ("POST", "/api/v1/agenttrust/check"),
    ("POST", "/api/v1/telemetry/report"),
    ("GET", "/api/v1/telemetry/events"),
    ("POST", "/mcp/sessions/init"),
    ("GET", "/mcp/sessions/{id}"),
    ("POST", "/api/v1/agenttrust/api-sessions/init"),
    ("GET", "/mcp/approvals/{id}"),
    ("POST", "/mcp/approvals/{id}/approve"),
    ("POST", "/mcp/approvals/{id}/deny"),
    ("DELETE", "/api/v1/agents/{id}"),
    ("POST", "/api/v1/delegations"),
    ("GET", "/api/v1/delegations"),
    ("GET", "/api/v1/delegations/{id}"),
    ("DELETE", "/api/v1/delegations/{id}"),
    ("POST", "/api/v1/delegations/{id}/session"),
    ("POST", "/api/v1/agents/{id}/card"),
    ("GET", "/api/v1/agents/{id}/card"),
    ("PUT", "/api/v1/agents/{id}/card/publish"),
    ("GET", "/a2a/agents/{id}/agent.json"),
    ("POST", "/api/v1/agents/{id}/challenge"),
    ("POST", "/api/v1/wimse/token"),
    ("POST", "/api/v1/wimse/verify"),
    ("POST", "/api/v1/siem/destinations"),
    ("GET", "/api/v1/siem/destinations"),
    ("GET", "/api/v1/siem/destinations/{id}"),
    ("PUT", "/api/v1/siem/destinations/{id}"),
    ("DELETE", "/api/v1/siem/destinations/{id}"),
    ("GET", "/api/v1/siem/destinations/{id}/logs"),
    ("POST", "/api/v1/federation/providers"),
    ("GET", "/api/v1/federation/providers"),
    ("DELETE", "/api/v1/federation/providers/{id}"),
    ("POST", "/api/v1/federation/tokens/issue"),
    ("POST", "/api/v1/federation/tokens/verify"),
    ("POST", "/api/v1/federation/tokens/introspect"),
    ("POST", "/api/v1/federation/tokens/revoke"),
    ("POST", "/api/v1/federation/sessions/init"),
    ("POST", "/mcp/servers"),
    ("GET", "/mcp/servers"),
    ("GET", "/mcp/servers/{id}"),
    ("DELETE", "/mcp/servers/{id}"),
    ("POST", "/mcp/{id}"),
    ("POST", "/a2a"),
    ("POST", "/a2a/agents/{id}"),
    ("POST", "/nowhere/{id}"),
];

/// JSON values of every shape, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The fields the routes read, with values of any type: mutations of
/// requests that are almost right reach deeper than random JSON.
fn near_valid_body(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("agent_id"),
        Just("name"),
        Just("action_name"),
        Just("session_id"),
        Just("server_id"),
        Just("token"),
        Just("events"),
        Just("mode"),
        Just("scope_ceiling"),
        Just("scopes"),
        Just("scope"),
        Just("ttl"),
        Just("capabilities"),
        Just("decided_by"),
        Just("action_effect"),
        Just("action_input_summary"),
        Just("required_scopes"),
        Just("reason"),
        Just("metadata"),
        Just("tool_name"),
        Just("success"),
        Just("duration_ms"),
        Just("from_agent_id"),
        Just("to_agent_id"),
        Just("ttl_seconds"),
        Just("restrictions"),
        Just("parent_delegation_id"),
        Just("proof"),
        Just("audience"),
        Just("trust_domain_filter"),
        Just("jsonrpc"),
        Just("method"),
        Just("params"),
        Just("source_agent_id"),
        Just("target_agent_id"),
        Just("destination_type"),
        Just("endpoint_url"),
        Just("batch_size"),
        Just("filter_event_types"),
        Just("is_active"),
        Just("issuer"),
        Just("jwks"),
        Just("jwks_path"),
        Just("trust_level"),
        Just("issuer_hint"),
        Just("url"),
        Just("arguments"),
    ];
    let value = prop_oneof![
        3 => any_json(),
        2 => prop::sample::select(ids).prop_map(Value::from),
        1 => prop::collection::vec(
            prop::collection::btree_map(".{0,12}", any_json(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            0..3,
        )
        .prop_map(Value::from),
    ];
    prop::collection::btree_map(field, value, 0..6)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Request {
    route: usize,
    id: String,
    key: Option<String>,
    content_type: Option<String>,
    body: Body,
}

fn request(ids: Vec<String>) -> impl Strategy<Value = Request> {
    let id = prop_oneof![
        prop::sample::select(ids.clone()),
        ".{0,20}",
        Just("..".to_owned()),
        Just("%2F".to_owned()),
    ];
    let key = prop_oneof![
        6 => Just(Some(KEY.to_owned())),
        1 => Just(None),
        1 => ".{0,10}".prop_map(Some),
    ];
    let content_type = prop_oneof![
        Just(Some("application/json".to_owned())),
        Just(None),
        Just(Some("text/plain".to_owned())),
    ];
    let body = prop_oneof![
        1 => Just(Body::None),
        3 => near_valid_body(ids).prop_map(Body::Json),
        2 => any_json().prop_map(Body::Json),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
    ];
    (0..ROUTES.len(), id, key, content_type, body).prop_map(
        |(route, id, key, content_type, body)| Request {
            route,
            id,
            key,
            content_type,
            body,
        },
    )
}

/// Agents, sessions, tokens and approvals to aim at, so that requests reach
/// past "not found".
async fn seeded() -> (Fixture, Vec<String>) {
    let f =
        Fixture::new(Policy::default().server_session("files", "restricted", ["read_file"])).await;
    let a = f.agent("a", &["files:read"]).await;
    let b = f.agent("b", &[]).await;
    let (_, session) = f
        .send(
            "POST",
            "/mcp/sessions/init",
            Some(json!({"agent_id": a, "server_id": "files"})),
        )
        .await;
    let session = session["session_id"].as_str().unwrap().to_owned();
    let (_, token) = f
        .send(
            "POST",
            "/api/v1/agent-tokens/issue",
            Some(json!({"agent_id": a, "scopes": ["x"], "session_id": session})),
        )
        .await;
    let token = token["token"].as_str().unwrap().to_owned();
    let verdict = f.check(&b, "delete_file", Some("destructive")).await;
    let approval = verdict["approval_id"].as_str().unwrap().to_owned();
    let (_, delegation) = f
        .send(
            "POST",
            "/api/v1/delegations",
            Some(json!({"from_agent_id": a, "to_agent_id": b, "scope": ["files:read"]})),
        )
        .await;
    let delegation = delegation["delegation"]["id"].as_str().unwrap().to_owned();
    (
        f,
        vec![
            a,
            b,
            session,
            token,
            approval,
            delegation,
            "files:read".into(),
            "read_file".into(),
            "files".into(),
        ],
    )
}

async fn send(f: &Fixture, r: &Request) -> u16 {
    let (method, path) = ROUTES[r.route];
    // The id goes in as one percent-encoded segment, whatever it holds.
    let mut url = reqwest::Url::parse(f.gw.url()).unwrap();
    url.path_segments_mut().unwrap().pop_if_empty().extend(
        path.trim_start_matches('/')
            .split('/')
            .map(|s| if s == "{id}" { r.id.as_str() } else { s }),
    );
    let mut req = f
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(key) = &r.key {
        if let Ok(value) = reqwest::header::HeaderValue::from_str(key) {
            req = req.header("X-API-Key", value);
        }
    }
    if let Some(ct) = &r.content_type {
        req = req.header("Content-Type", ct);
    }
    req = match &r.body {
        Body::None => req,
        Body::Json(v) => req.body(serde_json::to_vec(v).unwrap()),
        Body::Bytes(b) => req.body(b.clone()),
    };
    req.send()
        .await
        .expect("the gateway answers")
        .status()
        .as_u16()
}

#[test]
fn no_request_gets_a_5xx_and_a_rejected_one_changes_nothing() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let (f, ids) = tokio.block_on(seeded());
    let mut runner = TestRunner::new(Config::default());
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    runner
        .run(&request(ids), |r| {
            let before = f.gw.dump();
            let status = tokio.block_on(send(&f, &r));
            *seen.borrow_mut().entry(status).or_default() += 1;
            prop_assert!(status < 500, "{status} for {r:?}");
            if status >= 400 {
                prop_assert_eq!(&f.gw.dump(), &before, "a {} changed state: {:?}", status, r);
            }
            Ok(())
        })
        .unwrap();
    // The cases reached handlers, not only the key check or the router.
    let seen = seen.into_inner();
    eprintln!("statuses: {seen:?}");
    assert!(seen.keys().any(|s| (200..300).contains(s)), "{seen:?}");
    assert!(
        seen.contains_key(&400) || seen.contains_key(&404),
        "{seen:?}"
    );
    // Still serving after all of it.
    let health = tokio.block_on(send(
        &f,
        &Request {
            route: 0,
            id: String::new(),
            key: None,
            content_type: None,
            body: Body::None,
        },
    ));
    assert_eq!(health, 200);
}
