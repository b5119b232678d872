//! Agent cards end to end: generated from the agent record by the local
//! gateway, private until published, then public without a key, and
//! withdrawn when the agent is revoked.

mod common;

use agenttrust_gateway::Policy;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::AgentTrustClient;

#[tokio::test]
async fn a_card_is_generated_published_served_without_a_key_and_withdrawn() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let mut request = CreateAgentRequest::new("planner").capabilities(["files:read", "web:search"]);
    request
        .metadata
        .insert("description".into(), "Plans the work".into());
    let agent = client.agents().create(&request).await.unwrap();
    // A client with no API key at all reads public cards.
    let anonymous = AgentTrustClient::builder()
        .base_url(world.gateway.url())
        .build()
        .unwrap();
    let code = |e: agenttrust_runtime::AgentTrustError| e.code().to_owned();

    assert_eq!(
        code(client.agent_cards().get(&agent.id).await.unwrap_err()),
        "NOT_FOUND"
    );
    let card = client.agent_cards().generate(&agent.id).await.unwrap();
    assert_eq!(
        (card.name.as_str(), card.description.as_str()),
        ("planner", "Plans the work")
    );
    let endpoint = format!("{}/a2a/agents/{}", world.gateway.url(), agent.id);
    assert_eq!(card.primary_url(), Some(endpoint.as_str()));
    assert_eq!(card.supported_interfaces[0].protocol_binding, "JSONRPC");
    let skills: Vec<&str> = card.skills.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(skills, ["files:read", "web:search"]);
    let trust = card.trust().expect("the AgentTrust extension");
    assert_eq!(
        (trust.score, trust.guardian_tier.as_deref()),
        (1.0, Some("fast"))
    );
    assert_eq!(client.agent_cards().get(&agent.id).await.unwrap(), card);

    // Private until published, to everyone, key or not.
    assert_eq!(
        code(
            anonymous
                .agent_cards()
                .get_public(&agent.id)
                .await
                .unwrap_err()
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        code(
            client
                .agent_cards()
                .get_public(&agent.id)
                .await
                .unwrap_err()
        ),
        "NOT_FOUND"
    );
    assert_eq!(client.agent_cards().publish(&agent.id).await.unwrap(), card);
    assert_eq!(
        anonymous.agent_cards().get_public(&agent.id).await.unwrap(),
        card
    );
    // The private routes still need the key.
    assert_eq!(
        code(anonymous.agent_cards().get(&agent.id).await.unwrap_err()),
        "AUTH_FAILED"
    );

    // Denied calls lower the trust score of a regenerated card, which stays published.
    let worker = agenttrust_runtime::Runtime::builder(client.clone(), agent.id.clone()).build();
    let _ = worker
        .guard()
        .check_with_effect("search", "", "read")
        .await
        .unwrap();
    let _ = worker
        .guard()
        .check_with_effect("rotate_keys", "", "admin")
        .await
        .unwrap_err();
    let regenerated = client.agent_cards().generate(&agent.id).await.unwrap();
    assert_eq!(regenerated.trust().unwrap().score, 0.5);
    assert_eq!(
        anonymous.agent_cards().get_public(&agent.id).await.unwrap(),
        regenerated
    );

    // A revoked agent's card is withdrawn, and it gets no new one.
    client.agents().revoke(&agent.id, "retired").await.unwrap();
    assert_eq!(
        code(
            anonymous
                .agent_cards()
                .get_public(&agent.id)
                .await
                .unwrap_err()
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        code(client.agent_cards().generate(&agent.id).await.unwrap_err()),
        "AUTH_DENIED"
    );
    // Unknown agents look the same as unpublished ones from outside.
    assert_eq!(
        code(
            anonymous
                .agent_cards()
                .get_public("ag_nobody")
                .await
                .unwrap_err()
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        code(client.agent_cards().publish("ag_nobody").await.unwrap_err()),
        "NOT_FOUND"
    );
}
