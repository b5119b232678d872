//! The gateway's endpoints, one module per API group, each with its wire
//! models. Requests send the canonical form of PROTOCOL.md; responses accept
//! every variant the official SDKs disagree on.

pub mod a2a;
pub mod actions;
pub mod agent_cards;
pub mod agents;
pub mod approvals;
pub mod delegations;
pub mod federation;
pub mod health;
pub(crate) mod jsonrpc;
pub mod mcp;
pub mod sessions;
pub mod streaming;
pub mod telemetry;
pub mod tokens;
pub mod wimse;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// Decodes `{"<key>": {...}}` or the bare object.
pub(crate) fn wrapped_or_bare<'de, D, T>(deserializer: D, key: &str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let mut value = serde_json::Value::deserialize(deserializer)?;
    if let Some(inner) = value.as_object_mut().and_then(|o| o.remove(key)) {
        if inner.is_object() {
            value = inner;
        }
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// Decodes `{"<key>": [...]}` or a bare array.
pub(crate) fn list_wrapped_or_bare<'de, D, T>(
    deserializer: D,
    key: &str,
) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    let list = match value {
        serde_json::Value::Array(_) => value,
        serde_json::Value::Object(mut o) => {
            o.remove(key).unwrap_or(serde_json::Value::Array(vec![]))
        }
        serde_json::Value::Null => serde_json::Value::Array(vec![]),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a list or {{\"{key}\": [...]}}, got {other}"
            )))
        }
    };
    serde_json::from_value(list).map_err(serde::de::Error::custom)
}

/// Decodes a string field that may be `null`, reading it as empty.
pub(crate) fn nullable_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Decodes a list field that may be `null`, reading it as empty.
pub(crate) fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
