//! SIEM streaming end to end: the local gateway delivers its audit events
//! to a receiver on loopback, batched, filtered, in webhook JSON or Splunk
//! HEC, retried, and logged; configured through our client.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agenttrust_gateway::Policy;
use agenttrust_runtime::api::streaming::{CreateDestinationRequest, UpdateDestinationRequest};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// One POST the receiver got: its `Authorization` header and body.
type Post = (Option<String>, String);

/// A receiver that records every POST and answers with the next status of
/// its script (200 once the script is used up).
#[derive(Clone, Default)]
struct Receiver {
    posts: Arc<Mutex<Vec<Post>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Receiver, String) {
        let receiver = Receiver::default();
        receiver.script.lock().unwrap().extend(script.iter().rev());
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    state.posts.lock().unwrap().push((auth, body));
                    let status = state.script.lock().unwrap().pop().unwrap_or(200);
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// Waits until `n` posts arrived (or 10 s passed).
    async fn wait_for(&self, n: usize) -> Vec<Post> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.posts().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.posts()
    }
}

fn event_types(body: &str) -> Vec<String> {
    let body: Value = serde_json::from_str(body).unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_events_arrive_batched_filtered_and_with_their_credential() {
    let world = common::World::new(Policy::default(), &[]).await;
    let (receiver, url) = Receiver::start(&[]).await;
    let streaming = world.client.streaming();
    let destination = streaming
        .create(
            &CreateDestinationRequest::new("soc", "webhook", &url)
                .auth_token("hook-secret")
                .batch_size(2)
                .flush_interval_seconds(1)
                .filter_event_types(["action.check", "agent.revoked"]),
        )
        .await
        .unwrap();
    assert!(destination.is_active);
    let listed = streaming.get(&destination.id).await.unwrap();
    assert_eq!(
        listed.filter_event_types.as_deref(),
        Some(&["action.check".to_owned(), "agent.revoked".to_owned()][..])
    );

    let guard = world.runtime();
    let guard = guard.guard();
    guard
        .check_with_effect("search", "private query", "read")
        .await
        .unwrap();
    guard
        .check_with_effect("wipe", "", "destructive")
        .await
        .unwrap_err();
    // A full batch goes at once.
    let posts = receiver.wait_for(1).await;
    assert_eq!(posts[0].0.as_deref(), Some("Bearer hook-secret"));
    assert_eq!(event_types(&posts[0].1), ["action.check", "action.check"]);
    let first: Value = serde_json::from_str(&posts[0].1).unwrap();
    let check = &first["events"][0];
    assert_eq!(
        (check["action_name"].clone(), check["decision"].clone()),
        ("search".into(), "allowed".into())
    );
    assert!(
        !posts[0].1.contains("private query"),
        "input summaries are not streamed"
    );
    assert_eq!(first["events"][1]["decision"], "elevation_required");

    // A partial batch waits for the flush interval; approvals are filtered out.
    world
        .client
        .approvals()
        .approve(first["events"][1]["approval_id"].as_str().unwrap(), "ops")
        .await
        .unwrap();
    world
        .client
        .agents()
        .revoke(&world.agent_id, "done")
        .await
        .unwrap();
    let posts = receiver.wait_for(2).await;
    assert_eq!(event_types(&posts[1].1), ["agent.revoked"]);
    let log = streaming.delivery_log(&destination.id).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log
        .iter()
        .all(|d| d.status == "success" && d.status_code == Some(200)));
    assert_eq!(log.iter().map(|d| d.batch_size).sum::<u64>(), 3);

    // Paused: nothing more is sent. Deleted: gone, with its log.
    let paused = UpdateDestinationRequest {
        is_active: Some(false),
        ..Default::default()
    };
    assert!(
        !streaming
            .update(&destination.id, &paused)
            .await
            .unwrap()
            .is_active
    );
    let other = world.runtime();
    let _ = other.guard().check_with_effect("search", "", "read").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.posts().len(), 2);
    streaming.delete(&destination.id).await.unwrap();
    assert_eq!(
        streaming.get(&destination.id).await.unwrap_err().code(),
        "NOT_FOUND"
    );
    assert_eq!(
        streaming
            .delivery_log(&destination.id)
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splunk_hec_format_retries_and_the_test_event() {
    let world = common::World::new(Policy::default(), &[]).await;
    // Two failures, then success: delivered on the third attempt.
    let (receiver, url) = Receiver::start(&[503, 500]).await;
    let streaming = world.client.streaming();
    let hec = streaming
        .create(
            &CreateDestinationRequest::new("splunk", "splunk_hec", &url)
                .auth_token("hec")
                .batch_size(1),
        )
        .await
        .unwrap();
    world
        .runtime()
        .guard()
        .check_with_effect("search", "", "read")
        .await
        .unwrap();
    let posts = receiver.wait_for(3).await;
    assert_eq!(posts.len(), 3, "two failures and the success");
    assert_eq!(posts[2].0.as_deref(), Some("Splunk hec"));
    let line: Value = serde_json::from_str(&posts[2].1).unwrap();
    assert_eq!(line["sourcetype"], "agenttrust:audit");
    assert_eq!(line["event"]["type"], "action.check");
    assert!(line["time"].as_f64().unwrap() > 1.7e9);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = Vec::new();
    while log.is_empty() && Instant::now() < deadline {
        log = streaming.delivery_log(&hec.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((log[0].status.as_str(), log[0].batch_size), ("success", 1));

    // The test event, whatever the filter; a receiver that keeps failing is logged as failed.
    let tested = streaming.test(&hec.id).await.unwrap();
    assert!(tested.success);
    assert!(receiver.posts().last().unwrap().1.contains("siem.test"));
    let (_, down) = Receiver::start(&[500, 500, 500]).await;
    let failing = streaming
        .create(
            &CreateDestinationRequest::new("down", "webhook", &down)
                .filter_event_types(Vec::<String>::new()),
        )
        .await
        .unwrap();
    let outcome = streaming.test(&failing.id).await.unwrap();
    assert_eq!((outcome.success, outcome.status_code), (false, Some(500)));
    let log = streaming.delivery_log(&failing.id).await.unwrap();
    assert_eq!(
        (log[0].status.as_str(), log[0].error_message.as_deref()),
        ("failed", Some("HTTP 500 Internal Server Error"))
    );

    // Bad configuration is refused and changes nothing.
    let before = world.gateway.dump();
    for request in [
        CreateDestinationRequest::new("x", "carrier_pigeon", &url),
        CreateDestinationRequest::new("x", "webhook", "ftp://nowhere"),
        CreateDestinationRequest::new("x", "webhook", &url).batch_size(0),
    ] {
        assert_eq!(
            streaming.create(&request).await.unwrap_err().code(),
            "VALIDATION_ERROR"
        );
    }
    let bad = UpdateDestinationRequest {
        endpoint_url: Some("nope".into()),
        is_active: Some(false),
        ..Default::default()
    };
    assert_eq!(
        streaming.update(&hec.id, &bad).await.unwrap_err().code(),
        "VALIDATION_ERROR"
    );
    assert_eq!(world.gateway.dump()["destinations"], before["destinations"]);
    // The credential is never shown back.
    let shown = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/siem/destinations/{}",
            world.gateway.url(),
            hec.id
        ))
        .header("X-API-Key", world.gateway.api_key())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !shown.contains("\"hec\"") && shown.contains("\"has_auth_token\":true"),
        "{shown}"
    );
}
