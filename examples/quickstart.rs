//! `cargo run --example quickstart`
//!
//! With nothing configured, starts an embedded local gateway on an ephemeral
//! port; with `AGENTTRUST_URL` and `AGENTTRUST_API_KEY` set, uses that
//! gateway instead. Then registers an agent, installs the runtime, and runs
//! a small agent whose guarded tools show allow, deny, and an elevation the
//! call waits out (`on_elevation = "wait"`) while an automatic approver (a
//! task standing in for the person, through the local gateway's approvals
//! listing) approves it, and prints the telemetry the gateway got.

use std::time::Duration;

use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::{guarded, AgentTrustClient, AgentTrustError, Runtime};

/// Searches the web (here: pretends to).
#[guarded(effect = "read", summary = query)]
async fn web_search(query: &str) -> Result<Vec<String>, AgentTrustError> {
    Ok(vec![format!("result for {query:?}")])
}

/// Rotates the organization's keys: an admin action.
#[guarded(effect = "admin")]
async fn rotate_keys() -> Result<(), AgentTrustError> {
    Ok(())
}

/// Deletes a file: destructive, so a person has to approve it first; the
/// call waits for that decision (at most a minute).
#[guarded(effect = "destructive", summary = path, on_elevation = "wait", wait = "1m")]
async fn delete_file(path: &str) -> Result<String, AgentTrustError> {
    Ok(format!("deleted {path}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A gateway: the configured one, or an embedded local one.
    // A partial configuration is an error, never a silent embedded gateway.
    let (url, key, embedded) = agenttrust::example_gateway().await?;
    println!(
        "gateway: {url}{}",
        if embedded.is_some() {
            " (embedded)"
        } else {
            ""
        }
    );
    let client = AgentTrustClient::builder()
        .base_url(&url)
        .api_key(&key)
        .build()?;
    println!("health:  {}", client.health().await?.status);

    // 2. An agent, and the runtime its guarded tools report through.
    let name = format!("quickstart-{}", std::process::id());
    let agent = client
        .agents()
        .create(&CreateAgentRequest::new(name).capabilities(["web:search"]))
        .await?;
    println!("agent:   {} ({})\n", agent.id, agent.name);
    Runtime::builder(client.clone(), agent.id.clone()).install()?;

    // 3. The agent's tool calls.
    println!(
        "web_search(\"rust agents\") -> {:?}",
        web_search("rust agents").await?
    );
    match rotate_keys().await {
        Err(AgentTrustError::ActionDenied { message, .. }) => {
            println!("rotate_keys()              -> denied: {message}")
        }
        other => println!("rotate_keys()              -> {other:?}"),
    }
    // The approver: what a person does on the approvals page or with
    // `agenttrust-gateway approvals approve ID`, here a task.
    let approver = tokio::spawn(approve_when_asked(
        client.clone(),
        url.clone(),
        key.clone(),
        agent.id.clone(),
    ));
    println!("delete_file(..)            -> waiting for an approval ...");
    println!(
        "delete_file(..)            -> {:?}",
        delete_file("/tmp/scratch.txt").await?
    );
    match approver.await? {
        Some(by) => println!("                              (approved by {by})"),
        None => println!("                              (no approver listing on this gateway)"),
    }

    // 4. Deliver telemetry, then show what the gateway stored.
    let outcome =
        tokio::task::spawn_blocking(|| agenttrust_runtime::shutdown_within(Duration::from_secs(5)))
            .await?;
    println!("\ntelemetry flushed: {outcome:?}");
    let session = agenttrust_runtime::current()?.session_id().to_owned();
    match agenttrust::gateway_events(&url, &key, Some(&session)).await {
        Ok(events) => {
            println!("the gateway received {} events:", events.len());
            for e in events {
                println!(
                    "  {:<11} success={:<5} duration_ms={} {}",
                    e["tool_name"].as_str().unwrap_or("?"),
                    e["success"],
                    e["duration_ms"],
                    e["error_type"].as_str().unwrap_or("")
                );
            }
        }
        Err(e) => println!("(this gateway does not serve the local telemetry read-back: {e})"),
    }
    if let Some(gateway) = embedded {
        gateway.shutdown().await?;
    }
    Ok(())
}

/// Approves the agent's first pending approval as soon as it appears; the
/// name of the approver, or `None` when the gateway has no listing (a real
/// AgentTrust ID gateway: approve it in its dashboard instead).
async fn approve_when_asked(
    client: AgentTrustClient,
    url: String,
    key: String,
    agent_id: String,
) -> Option<&'static str> {
    const BY: &str = "quickstart-approver@example.com";
    for _ in 0..200 {
        match agenttrust::pending_approvals(&url, &key, &agent_id).await {
            Ok(pending) => {
                if let Some(id) = pending.first().and_then(|a| a["id"].as_str()) {
                    client.approvals().approve(id, BY).await.ok()?;
                    return Some(BY);
                }
            }
            Err(_) => return None,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
