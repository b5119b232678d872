//! What one approval covers (the policy's `approval_binding`), and the
//! notifications of new approvals to a receiver on loopback.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agenttrust_gateway::{ApprovalBinding, Policy};
use axum::http::{HeaderMap, StatusCode};
use common::Fixture;
use serde_json::{json, Value};

async fn check(fx: &Fixture, agent: &str, session: &str, summary: &str) -> Value {
    let (status, body) = fx
        .send(
            "POST",
            "/api/v1/agenttrust/check",
            Some(
                json!({"agent_id": agent, "action_name": "wipe", "action_effect": "destructive",
                        "session_id": session, "action_input_summary": summary}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn approve(fx: &Fixture, id: &str) {
    let (status, body) = fx
        .send(
            "POST",
            &format!("/mcp/approvals/{id}/approve"),
            Some(json!({"decided_by": "ops"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn approval_id(v: &Value) -> String {
    v["approval_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no approval in {v}"))
        .to_owned()
}

#[tokio::test]
async fn tool_binding_covers_every_session_and_input() {
    let fx = Fixture::new(Policy::default()).await;
    let agent = fx.agent("bot", &[]).await;
    let id = approval_id(&check(&fx, &agent, "s1", "a").await);
    approve(&fx, &id).await;
    assert_eq!(check(&fx, &agent, "s2", "b").await["allowed"], true);
    assert_eq!(check(&fx, &agent, "s2", "b").await["allowed"], true);
}

#[tokio::test]
async fn session_binding_covers_only_its_session() {
    let fx = Fixture::new(Policy::default().approval_binding(ApprovalBinding::Session)).await;
    let agent = fx.agent("bot", &[]).await;
    let s1 = approval_id(&check(&fx, &agent, "s1", "a").await);
    // Another session waits on an approval of its own.
    let s2 = approval_id(&check(&fx, &agent, "s2", "a").await);
    assert_ne!(s1, s2);
    approve(&fx, &s1).await;
    assert_eq!(
        check(&fx, &agent, "s1", "other input").await["allowed"],
        true
    );
    assert_eq!(
        check(&fx, &agent, "s2", "a").await["approval_id"],
        s2.as_str()
    );
}

#[tokio::test]
async fn input_binding_covers_one_check_of_the_exact_input() {
    let fx = Fixture::new(Policy::default().approval_binding(ApprovalBinding::Input)).await;
    let agent = fx.agent("bot", &[]).await;
    let x = approval_id(&check(&fx, &agent, "s1", "rm /tmp/x").await);
    let y = approval_id(&check(&fx, &agent, "s1", "rm -rf /").await);
    assert_ne!(x, y, "each input asks for its own approval");
    approve(&fx, &x).await;
    assert_eq!(
        check(&fx, &agent, "s1", "rm -rf /").await["approval_id"],
        y.as_str()
    );
    assert_eq!(check(&fx, &agent, "s1", "rm /tmp/x").await["allowed"], true);
    // Used up: the same input asks again.
    let again = check(&fx, &agent, "s1", "rm /tmp/x").await;
    assert_eq!(again["elevation_required"], true);
    assert_ne!(approval_id(&again), x);
    let (_, used) = fx.send("GET", &format!("/mcp/approvals/{x}"), None).await;
    assert!(used["used_at"].is_string(), "{used}");
}

#[test]
fn the_binding_and_the_notify_url_come_from_the_policy_file() {
    let p =
        Policy::from_toml("approval_binding = \"input\"\nnotify_url = \"http://127.0.0.1:9/hook\"")
            .unwrap();
    assert_eq!(
        p,
        Policy::default()
            .approval_binding(ApprovalBinding::Input)
            .notify_url("http://127.0.0.1:9/hook")
            .unwrap()
    );
    assert!(Policy::from_toml("approval_binding = \"agent\"")
        .unwrap_err()
        .contains("approval_binding"));
    assert!(Policy::from_toml("notify_url = \"ftp://x\"")
        .unwrap_err()
        .contains("notify_url"));
}

/// A webhook receiver on loopback: fails the first `failures` posts, then
/// accepts, keeping every body and its headers; each answer after `delay`.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn receiver(failures: usize, delay: Duration) -> Receiver {
    let seen: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let store = store.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    let mut seen = store.lock().unwrap();
                    seen.push((headers, body));
                    if seen.len() <= failures {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, seen }
}

async fn wait_for(seen: &Arc<Mutex<Vec<(HeaderMap, Value)>>>, n: usize) {
    let started = Instant::now();
    while seen.lock().unwrap().len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "only {} posts",
            seen.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_new_approval_is_notified_with_retries_and_without_the_key() {
    let hook = receiver(2, Duration::ZERO).await;
    let fx = Fixture::new(Policy::default().notify_url(&hook.url).unwrap()).await;
    let agent = fx.agent("bot", &[]).await;
    let first = check(&fx, &agent, "s1", "<!channel> rm /srv").await;
    // The same pending approval again: no second message.
    check(&fx, &agent, "s1", "<!channel> rm /srv").await;
    wait_for(&hook.seen, 3).await; // two failures, then the delivery
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = hook.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "retried until accepted, once per approval");
    let (headers, message) = &seen[2];
    assert_eq!(message, &seen[0].1, "the same message each attempt");
    assert!(
        headers.get("x-api-key").is_none(),
        "the API key never leaves for the receiver"
    );
    assert_eq!(message["event"], "approval.created");
    assert_eq!(message["approval_id"], first["approval_id"]);
    assert_eq!(message["agent_id"], agent.as_str());
    assert_eq!(message["action_name"], "wipe");
    assert_eq!(message["action_effect"], "destructive");
    assert_eq!(message["action_input_summary"], "<!channel> rm /srv");
    assert!(message["expires_at"].is_string());
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("approvals approve apr_") && text.contains("`wipe`"),
        "{text}"
    );
    assert!(
        text.contains("&lt;!channel&gt;") && !text.contains("<!channel>"),
        "{text}"
    );
}

#[tokio::test]
async fn a_slow_receiver_never_delays_a_check() {
    let hook = receiver(0, Duration::from_secs(5)).await;
    let fx = Fixture::new(Policy::default().notify_url(&hook.url).unwrap()).await;
    let agent = fx.agent("bot", &[]).await;
    let started = Instant::now();
    for session in ["a", "b", "c"] {
        let v = check(&fx, &agent, session, session).await;
        assert_eq!(v["elevation_required"], true);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_binary_refuses_a_bad_notify_url() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .args(["--listen", "127.0.0.1:0", "--notify-url", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--notify-url"));
}
