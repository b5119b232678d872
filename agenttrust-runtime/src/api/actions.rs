//! Action check (Fast Guard): `POST /api/v1/agenttrust/check`.

use reqwest::Method;
use serde::{Deserialize, Serialize, Serializer};

use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};
use crate::summary::truncate_summary;

/// The check request, borrowed so the guard's hot path copies nothing.
///
/// On the wire it becomes `agent_id`, `action_name`, `action_source: "api"`
/// and, when non-empty, `action_effect`, `session_id` and
/// `action_input_summary` (cut to 200 characters).
///
/// ```
/// use agenttrust_runtime::api::actions::ActionCheckRequest;
///
/// let req = ActionCheckRequest::new("ag_1", "web_search")
///     .effect("read")
///     .summary("AI safety papers");
/// let json = serde_json::to_value(&req).unwrap();
/// assert_eq!(json["action_source"], "api");
/// assert!(json.get("session_id").is_none());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActionCheckRequest<'a> {
    /// The agent asking.
    pub agent_id: &'a str,
    /// The tool name (`tool_call` when empty).
    pub action_name: &'a str,
    /// The effect hint (`read`, `mutating`, `destructive`, `admin`).
    pub action_effect: Option<&'a str>,
    /// The session the call belongs to.
    pub session_id: Option<&'a str>,
    /// What the call is about; cut to 200 characters when sent.
    pub action_input_summary: Option<&'a str>,
}

impl<'a> Serialize for ActionCheckRequest<'a> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let non_blank = |v: Option<&'a str>| v.filter(|v| !v.is_empty());
        CheckWire {
            agent_id: self.agent_id,
            action_name: if self.action_name.is_empty() {
                "tool_call"
            } else {
                self.action_name
            },
            action_source: "api",
            action_effect: non_blank(self.action_effect),
            session_id: non_blank(self.session_id),
            action_input_summary: non_blank(self.action_input_summary).map(truncate_summary),
        }
        .serialize(s)
    }
}

/// The wire body of PROTOCOL.md §7.
#[derive(Serialize)]
struct CheckWire<'a> {
    agent_id: &'a str,
    action_name: &'a str,
    action_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_effect: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_input_summary: Option<&'a str>,
}

impl<'a> ActionCheckRequest<'a> {
    /// A check of `action_name` for `agent_id`.
    pub fn new(agent_id: &'a str, action_name: &'a str) -> Self {
        Self {
            agent_id,
            action_name,
            ..Self::default()
        }
    }

    /// Sets the effect hint.
    #[must_use]
    pub fn effect(mut self, effect: &'a str) -> Self {
        self.action_effect = Some(effect);
        self
    }

    /// Sets the session id.
    #[must_use]
    pub fn session(mut self, session_id: &'a str) -> Self {
        self.session_id = Some(session_id);
        self
    }

    /// Sets the input summary.
    #[must_use]
    pub fn summary(mut self, summary: &'a str) -> Self {
        self.action_input_summary = Some(summary);
        self
    }
}

/// The Guardian's answer. A denial is a normal 200 answer, not an error.
///
/// ```
/// use agenttrust_runtime::api::actions::ActionCheckResult;
/// let r: ActionCheckResult = serde_json::from_str(
///     r#"{"allowed":false,"elevation_required":true,"approval_id":"apr_1","reason":"destructive"}"#,
/// ).unwrap();
/// assert!(r.elevation_required);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(remote = "Self")]
pub struct ActionCheckResult {
    /// Whether the action may run. Required: an answer without it is not a
    /// check result.
    pub allowed: bool,
    /// The check's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_id: Option<String>,
    /// Confidence 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// `fast`, `spot` or `deep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_tier: Option<String>,
    /// The Guardian's decision latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Human-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether a human approval is needed (an approval request was created).
    #[serde(default, deserialize_with = "nullable_bool")]
    pub elevation_required: bool,
    /// The approval to approve, when elevation is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
}

/// Only a JSON object is a check result: serde's derive would also read
/// a JSON array positionally, so `[true]` would have allowed the call.
impl<'de> Deserialize<'de> for ActionCheckResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = ActionCheckResult;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a check result object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                ActionCheckResult::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

impl Serialize for ActionCheckResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ActionCheckResult::serialize(self, serializer)
    }
}

fn nullable_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// The actions API group; from [`AgentTrustClient::actions`].
#[derive(Debug, Clone, Copy)]
pub struct Actions<'a> {
    pub(crate) client: &'a AgentTrustClient,
}

impl Actions<'_> {
    /// `POST /api/v1/agenttrust/check`: the raw Guardian answer. Most code
    /// wants [`AgentTrustGuard`](crate::AgentTrustGuard) instead, which turns
    /// it into a [`Decision`](crate::Decision).
    ///
    /// The request is bounded by the client's
    /// [`check_timeout`](crate::AgentTrustClientBuilder::check_timeout)
    /// (3 s by default), not its general timeout.
    ///
    /// # Errors
    /// Transport and HTTP errors as usual; an answer that is not a check
    /// result (no `allowed`, not JSON) is [`AgentTrustError::Json`], one over
    /// [`MAX_CHECK_RESPONSE_BYTES`](crate::MAX_CHECK_RESPONSE_BYTES) is
    /// [`AgentTrustError::ResponseTooLarge`]; a redirect is
    /// [`AgentTrustError::Config`] and is never followed.
    ///
    /// ```no_run
    /// # async fn run(client: agenttrust_runtime::AgentTrustClient) -> agenttrust_runtime::Result<()> {
    /// use agenttrust_runtime::api::actions::ActionCheckRequest;
    /// let result = client.actions().check(&ActionCheckRequest::new("ag_1", "web_search")).await?;
    /// println!("allowed: {}", result.allowed);
    /// # Ok(()) }
    /// ```
    pub async fn check(&self, request: &ActionCheckRequest<'_>) -> Result<ActionCheckResult> {
        self.check_within(request, None).await
    }

    /// [`check`](Self::check) with its own deadline instead of the client's
    /// [`check_timeout`](crate::AgentTrustClientBuilder::check_timeout).
    pub(crate) async fn check_within(
        &self,
        request: &ActionCheckRequest<'_>,
        timeout: Option<std::time::Duration>,
    ) -> Result<ActionCheckResult> {
        let t = self.client.transport();
        let options = t.check_options(timeout);
        let answer = t
            .send(Method::POST, t.check_url(), Some(request), options)
            .await?;
        // No `{}` substitution here: an empty body is not a check result.
        serde_json::from_slice(&answer.body).map_err(|source| AgentTrustError::Json {
            endpoint: "/api/v1/agenttrust/check".to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ActionCheckResult;

    #[test]
    fn only_an_object_is_a_check_result() {
        for not_an_object in [
            "[true]",
            "[true, \"chk\"]",
            "true",
            "\"allowed\"",
            "null",
            "1",
        ] {
            assert!(
                serde_json::from_str::<ActionCheckResult>(not_an_object).is_err(),
                "{not_an_object} decoded as a check result"
            );
        }
        let allowed: ActionCheckResult = serde_json::from_str(r#"{"allowed":true}"#).unwrap();
        assert!(allowed.allowed);
        let round_trip = serde_json::to_value(&allowed).unwrap();
        assert_eq!(
            round_trip,
            serde_json::json!({"allowed": true, "elevation_required": false})
        );
    }
}
