//! Shared helpers: a real wiremock HTTP server on 127.0.0.1 and a client for it.
#![allow(dead_code)]

use std::time::Duration;

use agenttrust_runtime::{AgentTrustClient, TelemetryConfig};
use wiremock::MockServer;

pub const KEY: &str = "sk_test_wire";

pub fn client_for(server: &MockServer) -> AgentTrustClient {
    client_with(server, TelemetryConfig::default())
}

pub fn client_with(server: &MockServer, telemetry: TelemetryConfig) -> AgentTrustClient {
    AgentTrustClient::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .timeout(Duration::from_secs(5))
        .telemetry(telemetry)
        .build()
        .expect("client builds")
}

/// The JSON bodies of every request the server received on `path`.
pub async fn bodies(server: &MockServer, path: &str) -> Vec<serde_json::Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

/// All telemetry events received, flattened across batches.
pub async fn telemetry_events(server: &MockServer) -> Vec<serde_json::Value> {
    bodies(server, "/api/v1/telemetry/report")
        .await
        .into_iter()
        .flat_map(|b| b["events"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// A fresh mock server of this test's own: not from wiremock's pool, so a
/// worker of another test still retrying against a recycled port can never
/// post into this one.
pub async fn server() -> MockServer {
    MockServer::builder().start().await
}

/// Answers every telemetry report with 200.
pub async fn accept_telemetry(server: &MockServer) {
    wiremock::Mock::given(wiremock::matchers::path("/api/v1/telemetry/report"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(server)
        .await;
}

/// Allows every action check.
pub async fn allow_all_checks(server: &MockServer) {
    wiremock::Mock::given(wiremock::matchers::path("/api/v1/agenttrust/check"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"allowed": true})),
        )
        .mount(server)
        .await;
}

/// The input summary of the first check the server received.
pub async fn first_summary(server: &MockServer) -> String {
    bodies(server, "/api/v1/agenttrust/check").await[0]["action_input_summary"]
        .as_str()
        .expect("a summary was sent")
        .to_owned()
}
