//! Action check (Fast Guard): `POST /api/v1/agenttrust/check`.

use futures_util::FutureExt as _;
use std::borrow::Cow;

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

/// The constant head of one guard's check bodies (its agent, session and
/// `action_source`), encoded once, so a guarded call only encodes its tool,
/// effect and summary. [`CheckPrefix::body`] is the wire form of
/// [`ActionCheckRequest`]'s `Serialize` (a test holds the two equal).
#[derive(Debug)]
pub(crate) struct CheckPrefix(Box<[u8]>);

impl CheckPrefix {
    pub(crate) fn new(agent_id: &str, session_id: &str) -> Self {
        let mut head = Vec::with_capacity(64 + agent_id.len() + session_id.len());
        head.extend_from_slice(br#"{"agent_id":"#);
        push_json_str(&mut head, agent_id);
        head.extend_from_slice(br#","action_source":"api""#);
        if !session_id.is_empty() {
            head.extend_from_slice(br#","session_id":"#);
            push_json_str(&mut head, session_id);
        }
        Self(head.into_boxed_slice())
    }

    /// The whole body of a check of `action_name` (`tool_call` when
    /// empty), with `effect` and `summary` when they are not blank (the
    /// summary cut to 200 characters).
    pub(crate) fn body(
        &self,
        action_name: &str,
        effect: Option<&str>,
        summary: Option<&str>,
    ) -> Vec<u8> {
        fn non_blank(v: Option<&str>) -> Option<&str> {
            v.filter(|v| !v.is_empty())
        }
        let summary = non_blank(summary).map(truncate_summary);
        let mut body = Vec::with_capacity(
            self.0.len() + 64 + action_name.len() + summary.map_or(0, |s| 32 + s.len()),
        );
        body.extend_from_slice(&self.0);
        body.extend_from_slice(br#","action_name":"#);
        push_json_str(
            &mut body,
            if action_name.is_empty() {
                "tool_call"
            } else {
                action_name
            },
        );
        if let Some(effect) = non_blank(effect) {
            body.extend_from_slice(br#","action_effect":"#);
            push_json_str(&mut body, effect);
        }
        if let Some(summary) = summary {
            body.extend_from_slice(br#","action_input_summary":"#);
            push_json_str(&mut body, summary);
        }
        body.push(b'}');
        body
    }
}

/// Appends `text` as a JSON string (serde_json does the escaping).
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    // Writing a `&str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActionCheckResult {
    /// Whether the action may run. Required: an answer without it is not a
    /// check result.
    pub allowed: bool,
    /// The check's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_id: Option<String>,
    /// Confidence 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// `fast`, `spot` or `deep`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard_tier: Option<String>,
    /// The Guardian's decision latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Human-readable reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether a human approval is needed (an approval request was created).
    pub elevation_required: bool,
    /// The approval to approve, when elevation is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
}

// Decoded as a `Verdict`, the one definition of the answer's shape (a
// comment, not docs: `Verdict` is private).
impl<'de> Deserialize<'de> for ActionCheckResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <Verdict<'de> as Deserialize>::deserialize(deserializer).map(Verdict::into_owned)
    }
}

/// The Guardian's answer borrowed from the response body: the guard's hot
/// path decodes into this and copies only what its decision keeps.
#[derive(Debug, Default, Deserialize)]
#[serde(remote = "Self")]
pub(crate) struct Verdict<'a> {
    pub(crate) allowed: bool,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    pub(crate) check_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) confidence: Option<f64>,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    pub(crate) guard_tier: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) latency_ms: Option<f64>,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    pub(crate) reason: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "nullable_bool")]
    pub(crate) elevation_required: bool,
    #[serde(default, borrow, deserialize_with = "borrowed_str")]
    pub(crate) approval_id: Option<Cow<'a, str>>,
}

impl Verdict<'_> {
    /// Decodes a check answer's body. Valid UTF-8 is checked once for the
    /// whole body, so the strings in it are not validated one by one.
    pub(crate) fn decode(body: &[u8]) -> std::result::Result<Verdict<'_>, serde_json::Error> {
        match std::str::from_utf8(body) {
            Ok(text) => serde_json::from_str(text),
            // Let serde_json say where the bytes go wrong.
            Err(_) => serde_json::from_slice(body),
        }
    }

    fn into_owned(self) -> ActionCheckResult {
        ActionCheckResult {
            allowed: self.allowed,
            check_id: self.check_id.map(Cow::into_owned),
            confidence: self.confidence,
            guard_tier: self.guard_tier.map(Cow::into_owned),
            latency_ms: self.latency_ms,
            reason: self.reason.map(Cow::into_owned),
            elevation_required: self.elevation_required,
            approval_id: self.approval_id.map(Cow::into_owned),
        }
    }
}

/// Only a JSON object is a check result: serde's derive would also read
/// a JSON array positionally, so `[true]` would have allowed the call.
impl<'de> Deserialize<'de> for Verdict<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = Verdict<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a check result object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Verdict::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

/// A nullable string, borrowed from the input when it has no escapes.
fn borrowed_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    d.deserialize_option(Text)
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
        let t = self.client.transport();
        let answer = t
            .send(
                Method::POST,
                t.check_url(),
                Some(request),
                t.check_options(None),
            )
            .await?;
        decode_verdict(&answer.body).map(Verdict::into_owned)
    }

    /// Sends a check body already encoded (see [`CheckPrefix`]) and returns
    /// the answer's body, undecoded (the guard decodes it as a borrowed
    /// [`Verdict`]). The request is built here; the future only awaits the
    /// answer (see [`Transport::send_bytes`](crate::client::transport::Transport::send_bytes)).
    pub(crate) fn check_encoded(
        &self,
        body: Vec<u8>,
        timeout: Option<std::time::Duration>,
    ) -> impl std::future::Future<Output = Result<bytes::Bytes>> + Send + 'static {
        let t = self.client.transport();
        let options = t.check_options(timeout);
        // `map`, not an `async move` block: that would keep the exchange's
        // future twice, captured and awaited.
        t.send_bytes(Method::POST, t.check_url(), Some(body), options, &[])
            .map(|answer| Ok(answer?.body))
    }
}

/// Decodes a check answer. No `{}` substitution here: an empty body is not
/// a check result.
pub(crate) fn decode_verdict(body: &[u8]) -> Result<Verdict<'_>> {
    Verdict::decode(body).map_err(|source| AgentTrustError::Json {
        endpoint: "/api/v1/agenttrust/check".to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::{ActionCheckRequest, ActionCheckResult, CheckPrefix};
    use proptest::prelude::*;

    fn both_encodings(
        agent: &str,
        session: &str,
        name: &str,
        effect: Option<&str>,
        summary: Option<&str>,
    ) -> (serde_json::Value, serde_json::Value) {
        let request = ActionCheckRequest {
            agent_id: agent,
            action_name: name,
            action_effect: effect,
            session_id: Some(session),
            action_input_summary: summary,
        };
        let serialized = serde_json::to_value(request).unwrap();
        let encoded = CheckPrefix::new(agent, session).body(name, effect, summary);
        (serde_json::from_slice(&encoded).unwrap(), serialized)
    }

    #[test]
    fn the_pre_encoded_body_is_the_request_serialized() {
        let long = "é".repeat(300);
        for (name, effect, summary) in [
            ("delete_file", Some("destructive"), Some("/tmp/x")),
            ("", None, None),
            ("tool", Some(""), Some("")),
            ("quote\"d\n<tool>", Some("read"), Some(long.as_str())),
        ] {
            let (encoded, serialized) = both_encodings("ag_1", "sess \"1\"", name, effect, summary);
            assert_eq!(encoded, serialized, "{name:?}");
        }
        let (encoded, serialized) = both_encodings("ag_1", "", "t", None, None);
        assert_eq!(encoded, serialized);
        assert!(encoded.get("session_id").is_none());
    }

    proptest! {
        #[test]
        fn any_request_encodes_the_same_both_ways(
            agent in ".*", session in ".*", name in ".*",
            effect in proptest::option::of(".*"), summary in proptest::option::of(".{0,300}"),
        ) {
            let (encoded, serialized) =
                both_encodings(&agent, &session, &name, effect.as_deref(), summary.as_deref());
            prop_assert_eq!(encoded, serialized);
        }
    }

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
