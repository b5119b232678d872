//! Delegations end to end: our client against the local gateway over
//! loopback. Scope narrows, a delegated session acts only inside it, chains
//! intersect, revocation and expiry take effect at once, and a refused
//! request changes nothing.

mod common;

use std::time::Duration;

use agenttrust_gateway::Policy;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::delegations::CreateDelegationRequest;
use agenttrust_runtime::{AgentTrustClient, AgentTrustError, Runtime};

fn policy() -> Policy {
    Policy::default()
        .require_capability("read_file", "files:read")
        .require_capability("write_file", "files:write")
}

async fn agent(client: &AgentTrustClient, name: &str, capabilities: &[&str]) -> String {
    client
        .agents()
        .create(&CreateAgentRequest::new(name).capabilities(capabilities.iter().copied()))
        .await
        .unwrap()
        .id
}

/// What a check in `runtime`'s session answers: the decision's kind, or
/// the error's code with its message.
async fn check(runtime: &Runtime, tool: &str) -> String {
    match runtime.guard().check_with_effect(tool, "", "read").await {
        Ok(decision) => decision.kind().to_owned(),
        Err(e) => format!("{}: {e}", e.code()),
    }
}

fn code(error: AgentTrustError) -> String {
    error.code().to_owned()
}

#[tokio::test]
async fn a_delegated_session_acts_only_within_the_delegated_scope() {
    let world = common::World::new(policy(), &[]).await;
    let client = &world.client;
    let planner = agent(client, "planner", &["files:read", "files:write"]).await;
    let worker = agent(client, "worker", &[]).await;
    let delegation = client
        .delegations()
        .create(&CreateDelegationRequest::new(&planner, &worker, ["files:read"]).ttl_seconds(600))
        .await
        .unwrap();
    assert_eq!(
        (
            delegation.from_agent_id.as_str(),
            delegation.to_agent_id.as_str()
        ),
        (planner.as_str(), worker.as_str())
    );
    assert!(delegation.expires_at.is_some() && delegation.revoked_at.is_none());

    // On its own, the worker lacks the capability.
    let own = Runtime::builder(client.clone(), worker.clone()).build();
    assert!(
        check(&own, "read_file")
            .await
            .starts_with("ACTION_DENIED: "),
        "{}",
        check(&own, "read_file").await
    );

    let delegated = Runtime::from_delegation(client.clone(), &delegation.id)
        .await
        .unwrap()
        .build();
    assert_eq!(delegated.agent_id(), worker);
    let session = client
        .sessions()
        .get_session(delegated.session_id())
        .await
        .unwrap();
    assert_eq!(
        session.delegation_id.as_deref(),
        Some(delegation.id.as_str())
    );
    assert_eq!(session.scope_ceiling, ["files:read"]);
    assert_eq!(check(&delegated, "read_file").await, "allowed");
    let write = check(&delegated, "write_file").await;
    assert!(write.contains("outside the scope delegated by"), "{write}");
    let other = check(&delegated, "web_search").await;
    assert!(other.contains("outside the scope delegated by"), "{other}");

    // The grantor may not act in the delegate's session.
    let intruder = Runtime::builder(client.clone(), planner.clone())
        .session_id(delegated.session_id())
        .build();
    let refused = check(&intruder, "read_file").await;
    assert!(refused.contains("belongs to another agent"), "{refused}");

    // The blocking twin sees the same delegation.
    let blocking = client.clone();
    let listed = tokio::task::spawn_blocking(move || blocking.blocking().delegations().list())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0],
        client.delegations().get(&delegation.id).await.unwrap()
    );
}

#[tokio::test]
async fn a_scope_must_narrow_and_refused_requests_change_nothing() {
    let world = common::World::new(policy(), &[]).await;
    let client = &world.client;
    let planner = agent(client, "planner", &["files:read"]).await;
    let worker = agent(client, "worker", &[]).await;
    let before = world.gateway.dump();
    let create = |from: &str, to: &str, scope: &[&str]| {
        CreateDelegationRequest::new(from, to, scope.iter().copied())
    };
    let cases = [
        (
            create(&planner, &worker, &["files:write"]),
            "VALIDATION_ERROR",
        ),
        (create(&planner, &worker, &[]), "VALIDATION_ERROR"),
        (
            create(&planner, &planner, &["files:read"]),
            "VALIDATION_ERROR",
        ),
        (
            create(&planner, &worker, &["files:read"]).ttl_seconds(0),
            "VALIDATION_ERROR",
        ),
        (create(&planner, "ag_nobody", &["files:read"]), "NOT_FOUND"),
        (create("ag_nobody", &worker, &["files:read"]), "NOT_FOUND"),
        (
            create(&worker, &planner, &["files:read"]).parent("del_nope"),
            "NOT_FOUND",
        ),
        (
            create(&planner, &worker, &["files:read"]).restrictions(serde_json::json!(["x"])),
            "VALIDATION_ERROR",
        ),
    ];
    for (request, expected) in cases {
        let error = client.delegations().create(&request).await.unwrap_err();
        assert_eq!(code(error), expected, "{request:?}");
    }
    client
        .agents()
        .revoke(&planner, "compromised")
        .await
        .unwrap();
    let after_revoke = world.gateway.dump();
    let error = client
        .delegations()
        .create(&create(&planner, &worker, &["files:read"]))
        .await
        .unwrap_err();
    assert_eq!(code(error), "AUTH_DENIED");
    assert_eq!(
        world.gateway.dump(),
        after_revoke,
        "a refused request changed something"
    );
    assert_eq!(before["delegations"], after_revoke["delegations"]);
    assert_eq!(before["sessions"], after_revoke["sessions"]);
    assert_eq!(
        code(
            client
                .delegations()
                .init_session("del_nope")
                .await
                .unwrap_err()
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        code(client.delegations().revoke("del_nope").await.unwrap_err()),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_chain_narrows_at_each_link_and_revoking_a_parent_ends_its_children() {
    let world = common::World::new(policy(), &[]).await;
    let client = &world.client;
    let planner = agent(client, "planner", &["files:read", "files:write"]).await;
    let worker = agent(client, "worker", &[]).await;
    let helper = agent(client, "helper", &[]).await;
    let parent = client
        .delegations()
        .create(
            &CreateDelegationRequest::new(&planner, &worker, ["files:read", "files:write"])
                .ttl_seconds(600),
        )
        .await
        .unwrap();
    let child_request = |scope: &[&str]| {
        CreateDelegationRequest::new(&worker, &helper, scope.iter().copied()).parent(&parent.id)
    };
    // Wider than the parent, past its expiry, or by an agent it was not granted to.
    assert_eq!(
        code(
            client
                .delegations()
                .create(&child_request(&["files:admin"]))
                .await
                .unwrap_err()
        ),
        "VALIDATION_ERROR"
    );
    assert_eq!(
        code(
            client
                .delegations()
                .create(&child_request(&["files:read"]).ttl_seconds(7200))
                .await
                .unwrap_err()
        ),
        "VALIDATION_ERROR"
    );
    let mut not_granted = child_request(&["files:read"]);
    not_granted.from_agent_id = helper.clone();
    not_granted.to_agent_id = worker.clone();
    assert_eq!(
        code(client.delegations().create(&not_granted).await.unwrap_err()),
        "AUTH_DENIED"
    );

    let child = client
        .delegations()
        .create(&child_request(&["files:read"]).ttl_seconds(300))
        .await
        .unwrap();
    assert_eq!(child.delegation_chain, std::slice::from_ref(&parent.id));
    assert_eq!(
        child.parent_delegation_id.as_deref(),
        Some(parent.id.as_str())
    );
    let helper_rt = Runtime::from_delegation(client.clone(), &child.id)
        .await
        .unwrap()
        .build();
    assert_eq!(check(&helper_rt, "read_file").await, "allowed");
    assert!(check(&helper_rt, "write_file")
        .await
        .contains("outside the scope"));

    // Revoked at once: the open session stops, and so does every child.
    client.delegations().revoke(&parent.id).await.unwrap();
    let refused = check(&helper_rt, "read_file").await;
    assert!(
        refused.contains(&format!("delegation `{}` is revoked", parent.id)),
        "{refused}"
    );
    let child_now = client.delegations().get(&child.id).await.unwrap();
    assert!(child_now.revoked_at.is_some(), "{child_now:?}");
    let error = Runtime::from_delegation(client.clone(), &child.id)
        .await
        .unwrap_err();
    assert_eq!(code(error), "AUTH_DENIED");
    // Revoking again changes nothing.
    let dump = world.gateway.dump();
    client.delegations().revoke(&parent.id).await.unwrap();
    assert_eq!(world.gateway.dump()["delegations"], dump["delegations"]);
}

#[tokio::test]
async fn expiry_and_a_revoked_grantor_end_a_delegation_at_once() {
    let world = common::World::new(policy(), &[]).await;
    let client = &world.client;
    let planner = agent(client, "planner", &["files:read"]).await;
    let worker = agent(client, "worker", &[]).await;
    let short = client
        .delegations()
        .create(&CreateDelegationRequest::new(&planner, &worker, ["files:read"]).ttl_seconds(1))
        .await
        .unwrap();
    let long = client
        .delegations()
        .create(&CreateDelegationRequest::new(&planner, &worker, ["files:read"]).ttl_seconds(600))
        .await
        .unwrap();
    let short_rt = Runtime::from_delegation(client.clone(), &short.id)
        .await
        .unwrap()
        .build();
    let long_rt = Runtime::from_delegation(client.clone(), &long.id)
        .await
        .unwrap()
        .build();
    assert_eq!(check(&short_rt, "read_file").await, "allowed");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = check(&short_rt, "read_file").await;
    assert!(expired.contains("expired at"), "{expired}");
    assert_eq!(check(&long_rt, "read_file").await, "allowed");

    client.agents().revoke(&planner, "gone").await.unwrap();
    let refused = check(&long_rt, "read_file").await;
    assert!(
        refused.contains(&format!("agent `{planner}` of delegation")),
        "{refused}"
    );
}
