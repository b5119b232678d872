//! Guarded functions against the real local gateway on 127.0.0.1: the
//! Guardian's rules, the elevation flow, failure modes and telemetry.

mod common;

use std::time::Duration;

use agenttrust_gateway::Policy;
use agenttrust_runtime::{guarded, with_runtime, AgentTrustError, Runtime};
use common::World;

#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error(transparent)]
    Guard(#[from] AgentTrustError),
    #[error("not found")]
    Missing,
}

#[guarded(effect = "read", summary = query)]
async fn search(query: &str) -> Result<usize, ToolError> {
    Ok(query.len())
}

#[guarded(effect = "read")]
fn read_file(path: &str) -> Result<String, ToolError> {
    if path.is_empty() {
        return Err(ToolError::Missing);
    }
    std::thread::sleep(Duration::from_millis(5));
    Ok(format!("contents of {path}"))
}

#[guarded(effect = "admin")]
async fn rotate_keys() -> Result<(), ToolError> {
    Ok(())
}

#[guarded(effect = "destructive")]
async fn delete_file(path: &str) -> Result<String, ToolError> {
    Ok(format!("deleted {path}"))
}

#[guarded(effect = "mutating")]
async fn send_email(to: &str) -> Result<(), ToolError> {
    let _ = to;
    Ok(())
}

fn elevation(err: ToolError) -> String {
    match err {
        ToolError::Guard(AgentTrustError::ElevationRequired { approval_id, .. }) => approval_id,
        other => panic!("expected ElevationRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn read_is_allowed_and_admin_denied_with_a_reason() {
    let world = World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    assert_eq!(rt.scope(search("rust agents")).await.unwrap(), 11);
    match rt.scope(rotate_keys()).await {
        Err(ToolError::Guard(AgentTrustError::ActionDenied {
            message, check_id, ..
        })) => {
            assert!(message.contains("admin"), "{message}");
            assert!(check_id.is_some());
        }
        other => panic!("expected ActionDenied, got {other:?}"),
    }
}

#[tokio::test]
async fn destructive_needs_approval_then_the_retry_runs() {
    let world = World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    let approval_id = elevation(rt.scope(delete_file("/tmp/a")).await.unwrap_err());
    let approval = world.client.approvals().get(&approval_id).await.unwrap();
    assert_eq!(
        (approval.status.as_str(), approval.action_name.as_deref()),
        ("pending", Some("delete_file"))
    );
    world
        .client
        .approvals()
        .approve(&approval_id, "admin@example.com")
        .await
        .unwrap();
    assert_eq!(
        rt.scope(delete_file("/tmp/a")).await.unwrap(),
        "deleted /tmp/a"
    );
    let decided = world.client.approvals().get(&approval_id).await.unwrap();
    assert_eq!(decided.decided_by.as_deref(), Some("admin@example.com"));
}

#[tokio::test]
async fn a_denied_approval_keeps_the_tool_refused() {
    let world = World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    let approval_id = elevation(rt.scope(delete_file("/tmp/b")).await.unwrap_err());
    world
        .client
        .approvals()
        .deny(&approval_id, "admin@example.com")
        .await
        .unwrap();
    let again = elevation(rt.scope(delete_file("/tmp/b")).await.unwrap_err());
    assert_ne!(
        again, approval_id,
        "a new request for a human, not the denied one"
    );
    let err = world
        .client
        .approvals()
        .approve(&approval_id, "late")
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(409),
        "a decided approval cannot be decided again"
    );
}

#[tokio::test]
async fn an_expired_approval_cannot_be_approved_and_the_tool_stays_refused() {
    let world = World::new(
        Policy::default().approval_expiry(Duration::from_millis(200)),
        &[],
    )
    .await;
    let rt = world.runtime();
    let approval_id = elevation(rt.scope(delete_file("/tmp/c")).await.unwrap_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        world
            .client
            .approvals()
            .get(&approval_id)
            .await
            .unwrap()
            .status,
        "expired"
    );
    assert_eq!(
        world
            .client
            .approvals()
            .approve(&approval_id, "late")
            .await
            .unwrap_err()
            .status(),
        Some(409)
    );
    elevation(rt.scope(delete_file("/tmp/c")).await.unwrap_err());
}

#[tokio::test]
async fn a_revoked_agent_is_denied() {
    let world = World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    rt.scope(search("before")).await.unwrap();
    world
        .client
        .agents()
        .revoke(&world.agent_id, "compromised")
        .await
        .unwrap();
    match rt.scope(search("after")).await {
        Err(ToolError::Guard(AgentTrustError::ActionDenied { message, .. })) => {
            assert!(message.contains("revoked"), "{message}")
        }
        other => panic!("expected ActionDenied, got {other:?}"),
    }
}

#[tokio::test]
async fn a_restricted_session_denies_tools_outside_its_ceiling_and_counts_them() {
    let policy = Policy::default().server_session("files", "restricted", ["read_file", "search"]);
    let world = World::new(policy, &[]).await;
    let session = world
        .client
        .sessions()
        .init_session(&world.agent_id, "files")
        .await
        .unwrap();
    assert_eq!(session.mode.as_deref(), Some("restricted"));
    let rt = Runtime::builder(world.client.clone(), world.agent_id.clone())
        .session_id(session.session_id.clone())
        .build();
    rt.scope(search("inside")).await.unwrap();
    match rt.scope(send_email("x@example.com")).await {
        Err(ToolError::Guard(AgentTrustError::ActionDenied { message, .. })) => {
            assert!(message.contains("scope ceiling"), "{message}")
        }
        other => panic!("expected ActionDenied, got {other:?}"),
    }
    let after = world
        .client
        .sessions()
        .get_session(&session.session_id)
        .await
        .unwrap();
    assert_eq!(
        (
            after.total_calls,
            after.denied_calls,
            after.read_calls,
            after.write_calls
        ),
        (2, 1, 1, 1)
    );
}

#[tokio::test]
async fn gateway_down_fails_closed_and_open_only_when_configured() {
    let world = World::new(Policy::default(), &[]).await;
    let (client, agent_id) = (world.client.clone(), world.agent_id.clone());
    world.gateway.shutdown().await.unwrap();
    let closed = Runtime::builder(client.clone(), agent_id.clone()).build();
    match closed.scope(search("offline")).await {
        Err(ToolError::Guard(AgentTrustError::GuardianUnavailable { .. })) => {}
        other => panic!("expected GuardianUnavailable, got {other:?}"),
    }
    let open = Runtime::builder(client, agent_id).fail_open(true).build();
    assert_eq!(open.scope(search("offline")).await.unwrap(), 7);
}

#[tokio::test]
async fn a_wrong_api_key_is_an_authentication_error_never_failed_open() {
    let world = World::new(Policy::default(), &[]).await;
    let wrong = common::client(world.gateway.url(), "sk_test_wrong");
    let rt = Runtime::builder(wrong, world.agent_id.clone())
        .fail_open(true)
        .build();
    match rt.scope(search("x")).await {
        Err(ToolError::Guard(AgentTrustError::Authentication { status: 401, .. })) => {}
        other => panic!("expected Authentication, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_of_every_call_reaches_the_gateway_with_success_and_duration() {
    let world = World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    let n = 40;
    for i in 0..n {
        let path = if i % 4 == 0 { "" } else { "notes.txt" };
        let outcome = tokio::task::block_in_place(|| with_runtime(&rt, || read_file(path)));
        assert_eq!(outcome.is_ok(), i % 4 != 0);
    }
    assert!(rt.flush(Duration::from_secs(10)).await.is_delivered());
    let events = world.events(rt.session_id()).await;
    assert_eq!(events.len(), n);
    let failures: Vec<_> = events.iter().filter(|e| e["success"] == false).collect();
    assert_eq!(failures.len(), n / 4);
    assert!(failures
        .iter()
        .all(|e| e["error_type"].as_str().unwrap().ends_with("ToolError")));
    assert!(events
        .iter()
        .filter(|e| e["success"] == true)
        .all(|e| e["duration_ms"].as_u64().unwrap() >= 5));
    assert!(events
        .iter()
        .all(|e| e["agent_id"] == world.agent_id.as_str() && e["tool_name"] == "read_file"));
}
