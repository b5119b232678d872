//! A local gateway on an ephemeral loopback port and a raw HTTP client for it.
#![allow(dead_code)]

use agenttrust_gateway::{Gateway, GatewayHandle, Policy};
use serde_json::{json, Value};

pub const KEY: &str = "sk_test_http";

pub struct Fixture {
    pub gw: GatewayHandle,
    pub http: reqwest::Client,
}

impl Fixture {
    pub async fn new(policy: Policy) -> Self {
        Self::from_builder(Gateway::builder().policy(policy)).await
    }

    /// A gateway from `builder` (rules, a database, ...), with [`KEY`].
    pub async fn from_builder(builder: agenttrust_gateway::GatewayBuilder) -> Self {
        Self {
            gw: builder.api_key(KEY).spawn().await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.gw.url()))
            .header("X-API-Key", "sk_test_http");
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn agent(&self, name: &str, capabilities: &[&str]) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/api/v1/agents",
                Some(json!({"name": name, "capabilities": capabilities})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn check(&self, agent: &str, tool: &str, effect: Option<&str>) -> Value {
        let mut body = json!({"agent_id": agent, "action_name": tool, "action_source": "api"});
        if let Some(effect) = effect {
            body["action_effect"] = json!(effect);
        }
        let (status, body) = self
            .send("POST", "/api/v1/agenttrust/check", Some(body))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}
