//! A2A end to end: our client against the local gateway. Tasks follow
//! their state, an agent sends to another only under a live delegation, and
//! every refusal is a typed JSON-RPC error that changes nothing.

mod common;

use agenttrust_gateway::Policy;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::delegations::CreateDelegationRequest;
use agenttrust_runtime::{AgentTrustClient, AgentTrustError};
use serde_json::json;

async fn agent(client: &AgentTrustClient, name: &str) -> String {
    let request = CreateAgentRequest::new(name).capabilities(["reports:write"]);
    client.agents().create(&request).await.unwrap().id
}

fn rpc_code(error: AgentTrustError) -> i64 {
    match error {
        AgentTrustError::Rpc { rpc_code, .. } => rpc_code,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_task_is_sent_continued_read_and_canceled() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let worker = agent(client, "worker").await;
    let a2a = client.a2a();

    let task = a2a
        .send_message(&worker, "summarize the report", Some("m1"), None)
        .await
        .unwrap();
    assert_eq!(task.status.state, "submitted");
    assert_eq!(task.history.len(), 1);
    assert_eq!(task.history[0].text(), "summarize the report");
    assert_eq!(task.history[0].task_id.as_deref(), Some(task.id.as_str()));
    let next = a2a
        .send_message(&worker, "shorter", None, Some(&task.id))
        .await
        .unwrap();
    assert_eq!(
        (next.id.as_str(), next.history.len()),
        (task.id.as_str(), 2)
    );

    let legacy = a2a.get_task(&task.id).await.unwrap();
    assert_eq!(
        (legacy.status.as_str(), legacy.target_agent_id.as_deref()),
        ("pending", Some(worker.as_str()))
    );
    let canceled = a2a.cancel_task(&task.id).await.unwrap();
    assert_eq!(canceled.status, "canceled");
    // Terminal: no second cancel, no more messages.
    assert_eq!(
        rpc_code(a2a.cancel_task(&task.id).await.unwrap_err()),
        -32002
    );
    assert_eq!(
        rpc_code(
            a2a.send_message(&worker, "again", None, Some(&task.id))
                .await
                .unwrap_err()
        ),
        -32002
    );
    assert_eq!(
        rpc_code(a2a.get_task("task_nope").await.unwrap_err()),
        -32001
    );
    assert_eq!(
        rpc_code(
            a2a.send_message("ag_nobody", "x", None, None)
                .await
                .unwrap_err()
        ),
        -32602
    );
    // Another agent's task id does not continue on this one.
    let other = agent(client, "other").await;
    assert_eq!(
        rpc_code(
            a2a.send_message(&other, "x", None, Some(&task.id))
                .await
                .unwrap_err()
        ),
        -32001
    );
    assert_eq!(a2a.list_tasks(10).await.unwrap().len(), 1);

    // The blocking twin reads the same task.
    let blocking = client.clone();
    let id = task.id.clone();
    let read = tokio::task::spawn_blocking(move || blocking.blocking().a2a().get_task(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, "canceled");
}

#[tokio::test]
async fn an_agent_sends_to_another_only_under_a_live_delegation() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let planner = agent(client, "planner").await;
    let worker = agent(client, "worker").await;
    let a2a = client.a2a();
    let before = world.gateway.dump();
    let refused = a2a
        .send_task(&planner, &worker, json!({"report": "q3"}))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "A2A_ERROR_-32010");
    assert!(
        refused.to_string().contains("no live delegation"),
        "{refused}"
    );
    assert_eq!(
        world.gateway.dump()["tasks"],
        before["tasks"],
        "a refusal created no task"
    );

    let delegation = client
        .delegations()
        .create(&CreateDelegationRequest::new(
            &planner,
            &worker,
            ["reports:write"],
        ))
        .await
        .unwrap();
    let task = a2a
        .send_task(&planner, &worker, json!({"report": "q3"}))
        .await
        .unwrap();
    assert_eq!(task.status, "pending");
    assert_eq!(task.message, Some(json!({"report": "q3"})));
    // Only from the grantor to the grantee, not back.
    assert_eq!(
        rpc_code(
            a2a.send_task(&worker, &planner, json!("x"))
                .await
                .unwrap_err()
        ),
        -32010
    );

    client.delegations().revoke(&delegation.id).await.unwrap();
    assert_eq!(
        rpc_code(
            a2a.send_task(&planner, &worker, json!("x"))
                .await
                .unwrap_err()
        ),
        -32010
    );
    client.agents().revoke(&worker, "gone").await.unwrap();
    assert_eq!(
        rpc_code(
            a2a.send_task(&planner, &worker, json!("x"))
                .await
                .unwrap_err()
        ),
        -32602
    );
}
