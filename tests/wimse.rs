//! WIMSE end to end: our client against the local gateway. Tokens with
//! and without a proof of possession, single-use challenges, and verify
//! checking signature, expiry, trust domain and the agent's status.

mod common;

use std::time::Duration;

use agenttrust_gateway::Policy;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::wimse::WimseTokenRequest;
use agenttrust_runtime::{AgentKey, AgentTrustClient};

async fn agent_with_key(client: &AgentTrustClient, name: &str) -> (String, AgentKey) {
    let key = AgentKey::generate();
    let mut request = CreateAgentRequest::new(name).capabilities(["files:read"]);
    request.public_key = Some(key.public_key_pem().unwrap());
    (client.agents().create(&request).await.unwrap().id, key)
}

fn code(e: agenttrust_runtime::AgentTrustError) -> String {
    e.code().to_owned()
}

#[tokio::test]
async fn a_proof_binds_the_token_and_a_nonce_works_once() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let (agent, key) = agent_with_key(client, "planner").await;
    let wimse = client.wimse();
    let request = WimseTokenRequest::new(&agent)
        .audience(["billing", "audit"])
        .service_name("planner");

    let token = wimse.issue_token_with_proof(&request, &key).await.unwrap();
    assert_eq!(token.workload_id, format!("spiffe://ati/{agent}"));
    assert_eq!(token.trust_domain, "ati");
    let verified = wimse.verify(&token.token, Some("ati")).await.unwrap();
    assert!(verified.valid, "{verified:?}");
    assert_eq!(verified.agent_id.as_deref(), Some(agent.as_str()));
    assert_eq!(verified.capabilities, ["files:read"]);
    let headers = token.downstream_headers().unwrap();
    assert_eq!(headers["x-wimse-trust-domain"], "ati");

    // A nonce is single use; a proof for another audience, another agent's
    // nonce or another key is refused, and a refusal spends nothing.
    let challenge = wimse.challenge(&agent).await.unwrap();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wrong_audience = key.sign_proof(&challenge.nonce, &agent, &["other".to_owned()], ts);
    let refused = wimse
        .issue_token(&request.clone().proof(wrong_audience))
        .await
        .unwrap_err();
    assert_eq!(code(refused), "AUTH_FAILED");
    let stranger = AgentKey::generate().sign_proof(&challenge.nonce, &agent, &request.audience, ts);
    assert_eq!(
        code(
            wimse
                .issue_token(&request.clone().proof(stranger))
                .await
                .unwrap_err()
        ),
        "AUTH_FAILED"
    );
    let stale = key.sign_proof(&challenge.nonce, &agent, &request.audience, ts - 3600);
    assert_eq!(
        code(
            wimse
                .issue_token(&request.clone().proof(stale))
                .await
                .unwrap_err()
        ),
        "AUTH_FAILED"
    );
    let good = key.sign_proof(&challenge.nonce, &agent, &request.audience, ts);
    assert!(
        wimse
            .issue_token(&request.clone().proof(good.clone()))
            .await
            .is_ok(),
        "the refusals spent nothing"
    );
    assert_eq!(
        code(
            wimse
                .issue_token(&request.clone().proof(good))
                .await
                .unwrap_err()
        ),
        "AUTH_FAILED",
        "used once"
    );

    let (other, other_key) = agent_with_key(client, "other").await;
    let others = wimse.challenge(&other).await.unwrap();
    let borrowed = other_key.sign_proof(&others.nonce, &agent, &request.audience, ts);
    assert_eq!(
        code(
            wimse
                .issue_token(&request.clone().proof(borrowed))
                .await
                .unwrap_err()
        ),
        "AUTH_FAILED"
    );
}

#[tokio::test]
async fn verify_checks_signature_expiry_trust_domain_and_the_agent() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let (agent, _) = agent_with_key(client, "workload").await;
    let wimse = client.wimse();
    let plain = wimse
        .issue_token(&WimseTokenRequest::new(&agent))
        .await
        .unwrap();
    assert!(wimse.verify(&plain.token, None).await.unwrap().valid);

    let filtered = wimse.verify(&plain.token, Some("elsewhere")).await.unwrap();
    assert!(
        !filtered.valid
            && filtered
                .reason
                .unwrap()
                .contains("does not match the filter")
    );
    // A token signed by another gateway's key (another gateway's token).
    let other_world = common::World::new(Policy::default(), &[]).await;
    let foreign = other_world
        .client
        .wimse()
        .issue_token(&WimseTokenRequest::new(&other_world.agent_id))
        .await
        .unwrap();
    let verdict = wimse.verify(&foreign.token, None).await.unwrap();
    assert!(!verdict.valid && verdict.reason.unwrap().contains("does not verify"));
    // Tampered: the payload changed, the signature did not.
    let mut parts: Vec<String> = plain.token.split('.').map(str::to_owned).collect();
    parts[1].insert(0, 'e');
    assert!(!wimse.verify(&parts.join("."), None).await.unwrap().valid);

    let short = wimse
        .issue_token(&WimseTokenRequest::new(&agent).ttl_seconds(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = wimse.verify(&short.token, None).await.unwrap();
    assert!(
        !expired.valid && expired.reason.unwrap().contains("Expired"),
        "expired"
    );

    client.agents().revoke(&agent, "gone").await.unwrap();
    let revoked = wimse.verify(&plain.token, None).await.unwrap();
    assert!(!revoked.valid && revoked.reason.unwrap().contains("revoked"));
    assert_eq!(
        code(wimse.challenge(&agent).await.unwrap_err()),
        "AUTH_DENIED"
    );
    assert_eq!(
        code(wimse.challenge("ag_nobody").await.unwrap_err()),
        "NOT_FOUND"
    );
    assert_eq!(
        code(
            wimse
                .issue_token(&WimseTokenRequest::new(&agent))
                .await
                .unwrap_err()
        ),
        "AUTH_DENIED"
    );
}

#[tokio::test]
async fn a_policy_can_require_the_proof() {
    let world = common::World::new(Policy::default().require_wimse_proof(true), &[]).await;
    let client = &world.client;
    let (agent, key) = agent_with_key(client, "workload").await;
    let request = WimseTokenRequest::new(&agent);
    assert_eq!(
        code(client.wimse().issue_token(&request).await.unwrap_err()),
        "AUTH_FAILED"
    );
    let blocking = client.clone();
    let token = tokio::task::spawn_blocking(move || {
        blocking
            .blocking()
            .wimse()
            .issue_token_with_proof(&request, &key)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        client
            .wimse()
            .verify(&token.token, None)
            .await
            .unwrap()
            .valid
    );
}
