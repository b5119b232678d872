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
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "PAYLOAD_TOO_LARGE"
            } else {
                "VALIDATION_ERROR"
            };
            ApiError::new(status, code, rejection.body_text())
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(Body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
    }
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
