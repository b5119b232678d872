//! Request bodies: JSON decoded with errors that name the field, an empty
//! body read as `{}` (bodiless POSTs), size-limit violations as 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        decode(&bytes).map(Body)
    }
}

/// A request body's bytes, read within the size limit but not decoded
/// (for a handler that decodes them elsewhere, with [`decode`]).
pub(crate) struct RawBody(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "PAYLOAD_TOO_LARGE"
            } else {
                "VALIDATION_ERROR"
            };
            ApiError::new(status, code, rejection.body_text())
        })?;
        Ok(RawBody(bytes))
    }
}

/// A JSON request body's bytes decoded as `T` (what [`Body`] does after
/// reading them).
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // The whole body is checked as UTF-8 once: parsed from bytes,
    // serde_json checks each string apart, which was an eighth of a
    // telemetry report's cost (a report carries hundreds of strings).
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?;
    let text = if text.trim_ascii().is_empty() {
        "{}"
    } else {
        text
    };
    serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

/// A required string field that must not be empty.
pub(crate) fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.trim().is_empty() {
        Err(ApiError::bad_request(format!(
            "missing required field `{field}`"
        )))
    } else {
        Ok(value)
    }
}

/// An optional string where `null`, absent and `""` all mean absent.
pub(crate) fn optional(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}
