//! `GET /health`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::AgentTrustClient;
use crate::error::Result;

/// The gateway's health answer.
///
/// ```
/// let h: agenttrust_runtime::api::health::Health =
///     serde_json::from_str(r#"{"status":"healthy","service":"gateway"}"#).unwrap();
/// assert_eq!(h.status, "healthy");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `healthy`, `degraded` or `unhealthy`.
    #[serde(default, deserialize_with = "super::nullable_string")]
    pub status: String,
    /// The answering service, e.g. `gateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The service's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl AgentTrustClient {
    /// `GET /health`.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// let health = client.health().await?;
    /// println!("gateway is {}", health.status);
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<Health> {
        let t = self.transport();
        t.json(Method::GET, t.url(&["health"]), None::<&()>).await
    }
}
