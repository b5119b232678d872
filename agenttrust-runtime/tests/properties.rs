//! Property tests of the client's decoding, over real loopback HTTP: a
//! server answers each case with an arbitrary or mutated status and body,
//! and every client call gives a value or a typed error, never a panic.
//! The guard's decision is allowed only for a 2xx answer saying
//! `"allowed": true` without an elevation.
//!
//! Cases per run: `PROPTEST_CASES` (proptest's default, 256: a few seconds). Run longer
//! with `PROPTEST_CASES=5000 cargo test -p agenttrust-runtime --test properties`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenttrust_runtime::api::actions::ActionCheckRequest;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::telemetry::TelemetryEvent;
use agenttrust_runtime::api::tokens::{IntrospectTokenRequest, IssueTokenRequest};
use agenttrust_runtime::{
    truncate_summary, AgentTrustClient, AgentTrustGuard, Decision, MAX_SUMMARY_CHARS,
};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// What the server answers to every request, set per case.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

async fn server(answer: Arc<Mutex<Answer>>) -> String {
    let app = Router::new().fallback(move || {
        let answer = answer.lock().unwrap().clone();
        async move {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            (status, [("content-type", "application/json")], answer.body).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(".{0,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Valid answers of the endpoints, in the variants PROTOCOL.md lists.
fn valid_answers() -> Vec<Value> {
    vec![
        json!({"allowed": true, "check_id": "chk", "confidence": 0.9, "guard_tier": "fast", "latency_ms": 3, "reason": "ok"}),
        json!({"allowed": false, "elevation_required": true, "approval_id": "apr", "reason": "destructive"}),
        json!({"agent": {"id": "ag", "name": "n", "org_id": "o", "status": "active"}}),
        json!({"agents": [{"id": "ag", "name": "n"}]}),
        json!({"token": "at_x", "agent_id": "ag", "scopes": ["a"], "token_id": "t", "expires_at": "2026-01-01T00:00:00Z"}),
        json!({"active": true, "agent_id": "ag", "scopes": ["a"]}),
        json!({"session_id": "s", "agent_id": "ag", "org_id": "o", "mode": "open", "total_calls": 1}),
        json!({"id": "apr", "status": "pending", "decided_by": null, "action_name": "t"}),
        json!({"status": "healthy"}),
        json!({"accepted": true, "events_processed": 1}),
        json!({"message": "nope", "code": "X"}),
    ]
}

/// A valid answer with one field replaced, removed or added.
fn mutated() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(valid_answers()),
        ".{0,10}",
        any_json(),
        any::<u8>(),
    )
        .prop_map(|(mut answer, key, value, how)| {
            if let Some(object) = answer.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                let pick = keys[usize::from(how) % keys.len()].clone();
                match how % 3 {
                    0 => {
                        object.insert(pick, value);
                    }
                    1 => {
                        object.remove(&pick);
                    }
                    _ => {
                        object.insert(key, value);
                    }
                }
            }
            answer
        })
}

fn answer() -> impl Strategy<Value = Answer> {
    let status = prop_oneof![
        6 => Just(200u16),
        1 => prop::sample::select(vec![201, 204, 301, 302, 307, 400, 401, 403, 404, 408, 409, 418, 422, 429, 500, 502, 503]),
    ];
    let body = prop_oneof![
        4 => mutated().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..48),
        1 => mutated().prop_flat_map(|v| {
            let bytes = serde_json::to_vec(&v).unwrap();
            let len = bytes.len();
            (Just(bytes), 0..=len).prop_map(|(b, cut)| b[..cut].to_vec())
        }),
    ];
    (status, body).prop_map(|(status, body)| Answer { status, body })
}

/// Every call of the client; each must come back, as a value or an error.
async fn every_call(
    client: &AgentTrustClient,
) -> Vec<Result<(), agenttrust_runtime::AgentTrustError>> {
    vec![
        client.health().await.map(drop),
        client
            .agents()
            .create(&CreateAgentRequest::new("a"))
            .await
            .map(drop),
        client.agents().get("ag/1?x").await.map(drop),
        client.agents().list(Some("org")).await.map(drop),
        client.agents().revoke("ag", "r").await,
        client
            .tokens()
            .issue(&IssueTokenRequest::new("ag", ["s"]))
            .await
            .map(drop),
        client
            .tokens()
            .introspect(&IntrospectTokenRequest::new("at"))
            .await
            .map(drop),
        client.tokens().revoke("at", "r").await,
        client
            .actions()
            .check(&ActionCheckRequest::new("ag", "t"))
            .await
            .map(drop),
        client
            .telemetry()
            .report("ag", "s", &[TelemetryEvent::tool_call("t", true, 1)])
            .await
            .map(drop),
        client.sessions().init_session("ag", "srv").await.map(drop),
        client.sessions().get_session("s").await.map(drop),
        client.sessions().init_api_session("at").await.map(drop),
        client.approvals().get("apr").await.map(drop),
        client.approvals().approve("apr", "me").await,
        client.approvals().deny("apr", "me").await,
    ]
}

/// Whether `answer` is the Guardian allowing the call.
fn says_allowed(answer: &Answer) -> bool {
    let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
        return false;
    };
    (200..300).contains(&answer.status)
        && body["allowed"] == json!(true)
        && body["elevation_required"] != json!(true)
}

#[test]
fn every_answer_decodes_to_a_value_or_a_typed_error_and_only_an_allow_allows() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let current = Arc::new(Mutex::new(Answer {
        status: 200,
        body: b"{}".to_vec(),
    }));
    let url = tokio.block_on(server(current.clone()));
    let client = AgentTrustClient::builder()
        .base_url(&url)
        .api_key("sk_test")
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let guard = AgentTrustGuard::builder(client.clone(), "ag").build();
    let open_guard = AgentTrustGuard::builder(client.clone(), "ag")
        .fail_open(true)
        .build();
    let mut runner = TestRunner::new(Config::default());
    runner
        .run(&answer(), |answer| {
            *current.lock().unwrap() = answer.clone();
            tokio.block_on(async {
                for result in every_call(&client).await {
                    if let Err(e) = result {
                        // A typed error: it names a code and says something.
                        prop_assert!(!e.code().is_empty() && !e.to_string().is_empty());
                    }
                }
                match guard.decide("t", "").await {
                    Ok(Decision::Allowed { .. }) => {
                        prop_assert!(says_allowed(&answer), "{answer:?}")
                    }
                    Ok(Decision::FailedOpen { .. }) => {
                        prop_assert!(false, "failed open without fail_open")
                    }
                    _ => {}
                }
                if let Ok(decision) = open_guard.decide("t", "").await {
                    if let Decision::Allowed { .. } = decision {
                        prop_assert!(says_allowed(&answer), "{answer:?}");
                    }
                    if let Decision::FailedOpen { .. } = decision {
                        // Only an unavailable Guardian fails open: never an
                        // auth, validation, redirect or protocol answer.
                        prop_assert!(
                            !matches!(answer.status, 300..=399 | 400..=407 | 409..=428),
                            "{answer:?}"
                        );
                    }
                }
                Ok(())
            })
        })
        .unwrap();
}

proptest! {
    #[test]
    fn a_summary_is_a_prefix_of_at_most_200_characters(text in "\\PC{0,400}", tail in ".{0,3}") {
        let text = format!("{text}{tail}");
        let cut = truncate_summary(&text);
        prop_assert!(text.starts_with(cut));
        prop_assert!(cut.chars().count() <= MAX_SUMMARY_CHARS);
        prop_assert_eq!(cut.chars().count(), text.chars().count().min(MAX_SUMMARY_CHARS));
    }
}
