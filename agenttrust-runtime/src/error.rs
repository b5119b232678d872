//! The one error type of the toolkit, with the product guide's machine-readable codes.

use std::error::Error as StdError;

/// A boxed error kept as the `source` of transport failures.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong talking to AgentTrust ID or guarding a tool.
///
/// Match on the variant, or use [`code`](AgentTrustError::code) for the
/// guide's machine-readable codes (`ACTION_DENIED`, `ELEVATION_REQUIRED`, ...).
///
/// ```
/// use agenttrust_runtime::AgentTrustError;
///
/// let err = AgentTrustError::ElevationRequired {
///     message: "destructive action needs approval".into(),
///     approval_id: "apr_1".into(),
/// };
/// assert_eq!(err.code(), "ELEVATION_REQUIRED");
/// assert_eq!(err.approval_id(), Some("apr_1"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentTrustError {
    /// The Guardian denied the action, or a person denied its approval.
    #[error("action denied: {message}")]
    ActionDenied {
        /// The Guardian's reason (for a denied approval: who denied which
        /// approval, and why the Guardian had asked).
        message: String,
        /// The id of the check that denied it, when the gateway gave one.
        check_id: Option<String>,
        /// Who denied the approval, when a waiting call's approval was
        /// denied (`on_elevation = "wait"`); `None` for the Guardian's own
        /// denial.
        decided_by: Option<String>,
    },
    /// The action needs a human approval first; approve `approval_id`, then retry.
    #[error("elevation required (approval {approval_id}): {message}")]
    ElevationRequired {
        /// The Guardian's reason.
        message: String,
        /// The pending approval to approve or deny; never empty.
        approval_id: String,
    },
    /// A call waited for its approval (`on_elevation = "wait"`) and the
    /// approval expired, or the wait bound passed, before anyone decided.
    /// Never a denial by a person, never an allow.
    #[error("elevation timed out: approval {approval_id} was not decided within {waited:?}")]
    ElevationTimedOut {
        /// The approval that was still pending.
        approval_id: String,
        /// How long the call waited.
        waited: std::time::Duration,
    },
    /// The check could not be completed (transport failure, timeout, 5xx,
    /// malformed answer) and the guard is not configured to fail open.
    #[error("guardian unavailable: {message}")]
    GuardianUnavailable {
        /// What made the Guardian unreachable.
        message: String,
    },
    /// HTTP 401: the API key is missing or invalid.
    #[error("authentication failed (HTTP {status}): {message}")]
    Authentication {
        /// The gateway's message.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// HTTP 403: the API key may not do this.
    #[error("not authorized (HTTP {status}): {message}")]
    Authorization {
        /// The gateway's message.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// HTTP 400/422: the request was rejected as invalid.
    #[error("validation error (HTTP {status}): {message}")]
    Validation {
        /// The gateway's message.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// HTTP 404: the addressed resource does not exist.
    #[error("not found (HTTP {status}): {message}")]
    NotFound {
        /// The gateway's message.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// The request never got an HTTP answer: connection refused, DNS, timeout.
    #[error("network error: {message}")]
    Network {
        /// What failed.
        message: String,
        /// Whether the request timed out.
        timeout: bool,
        /// The underlying transport error.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other non-2xx answer.
    #[error("API error {code} (HTTP {status}): {message}")]
    Api {
        /// The gateway's message.
        message: String,
        /// The gateway's code, or `HTTP_<status>`.
        code: String,
        /// The HTTP status.
        status: u16,
    },
    /// A 2xx answer whose body could not be decoded.
    #[error("invalid JSON from {endpoint}: {source}")]
    Json {
        /// Which endpoint answered.
        endpoint: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A 2xx answer longer than the client reads (see
    /// [`AgentTrustClientBuilder::max_response_bytes`](crate::AgentTrustClientBuilder::max_response_bytes)).
    /// Like any undecodable answer it counts as unavailable.
    #[error("the answer from {endpoint} is longer than {limit} bytes")]
    ResponseTooLarge {
        /// Which endpoint answered.
        endpoint: String,
        /// The limit that was passed.
        limit: usize,
    },
    /// A JSON-RPC error answer (A2A, the MCP proxy): the call reached the
    /// other side, which refused it. `code()` is `<prefix>_ERROR_<rpc code>`
    /// (`A2A_ERROR_-32001`, as the official SDKs spell it).
    #[error("JSON-RPC error {rpc_code}: {message}")]
    Rpc {
        /// The JSON-RPC error code (`-32601` method not found, ...).
        rpc_code: i64,
        /// The error's message.
        message: String,
        /// The error's `data`, if any (boxed: it is rare, and keeps the
        /// error small).
        data: Option<Box<serde_json::Value>>,
        /// `A2A_ERROR_<rpc_code>` or `MCP_ERROR_<rpc_code>`.
        code: String,
    },
    /// A decodable answer that breaks the protocol, such as an elevation
    /// without an approval id. Never failed open.
    #[error("protocol error: {message}")]
    Protocol {
        /// What was wrong with the answer.
        message: String,
    },
    /// A configuration mistake: bad URL, bad header, missing setting,
    /// no runtime installed. Never failed open.
    #[error("configuration error: {message}")]
    Config {
        /// What is misconfigured and how to fix it.
        message: String,
    },
}

impl AgentTrustError {
    /// The machine-readable code of the product guide.
    ///
    /// ```
    /// # use agenttrust_runtime::AgentTrustError;
    /// let err = AgentTrustError::Authentication { message: "bad key".into(), status: 401 };
    /// assert_eq!(err.code(), "AUTH_FAILED");
    /// ```
    pub fn code(&self) -> &str {
        match self {
            Self::ActionDenied { .. } => "ACTION_DENIED",
            Self::ElevationRequired { .. } => "ELEVATION_REQUIRED",
            Self::ElevationTimedOut { .. } => "ELEVATION_TIMED_OUT",
            Self::GuardianUnavailable { .. } => "GUARDIAN_UNAVAILABLE",
            Self::Authentication { .. } => "AUTH_FAILED",
            Self::Authorization { .. } => "AUTH_DENIED",
            Self::Validation { .. } => "VALIDATION_ERROR",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Network { .. } => "NETWORK_ERROR",
            Self::Api { code, .. } | Self::Rpc { code, .. } => code,
            Self::Json { .. } => "PARSE_ERROR",
            Self::ResponseTooLarge { .. } => "RESPONSE_TOO_LARGE",
            Self::Protocol { .. } => "PROTOCOL_ERROR",
            Self::Config { .. } => "CONFIG_ERROR",
        }
    }

    /// The HTTP status of the answer that caused this error, if there was one.
    ///
    /// ```
    /// # use agenttrust_runtime::AgentTrustError;
    /// let err = AgentTrustError::NotFound { message: "no agent".into(), status: 404 };
    /// assert_eq!(err.status(), Some(404));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Authentication { status, .. }
            | Self::Authorization { status, .. }
            | Self::Validation { status, .. }
            | Self::NotFound { status, .. }
            | Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The approval to ask a human for, when this is `ElevationRequired`, or
    /// the one that was never decided, for `ElevationTimedOut`.
    ///
    /// ```
    /// # use agenttrust_runtime::AgentTrustError;
    /// let err = AgentTrustError::Config { message: "x".into() };
    /// assert_eq!(err.approval_id(), None);
    /// ```
    pub fn approval_id(&self) -> Option<&str> {
        match self {
            Self::ElevationRequired { approval_id, .. }
            | Self::ElevationTimedOut { approval_id, .. } => Some(approval_id),
            _ => None,
        }
    }

    /// Whether the Guardian said no (denied, or elevation required), as
    /// opposed to the check failing.
    ///
    /// ```
    /// # use agenttrust_runtime::AgentTrustError;
    /// let err = AgentTrustError::ActionDenied { message: "no".into(), check_id: None, decided_by: None };
    /// assert!(err.is_denial());
    /// ```
    pub fn is_denial(&self) -> bool {
        matches!(
            self,
            Self::ActionDenied { .. } | Self::ElevationRequired { .. }
        )
    }

    /// Whether this failure means the Guardian could not be reached or gave no
    /// usable answer: transport failure, timeout, HTTP 5xx, HTTP 429 or 408,
    /// or a 2xx body that could not be decoded or was too long. These, and only these, are
    /// what `fail_open` applies to; authentication, authorization, validation
    /// and configuration errors never are.
    ///
    /// ```
    /// # use agenttrust_runtime::AgentTrustError;
    /// let down = AgentTrustError::Api { message: "bad gateway".into(), code: "HTTP_502".into(), status: 502 };
    /// assert!(down.is_unavailable());
    /// let auth = AgentTrustError::Authentication { message: "bad key".into(), status: 401 };
    /// assert!(!auth.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Network { .. }
            | Self::Json { .. }
            | Self::ResponseTooLarge { .. }
            | Self::GuardianUnavailable { .. } => true,
            Self::Api { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }
}

/// Lets `std::io::Result` functions be guarded: denials become
/// `PermissionDenied`, an unreachable Guardian `ConnectionRefused`, the
/// rest `Other`, each carrying the `AgentTrustError` as its source.
impl From<AgentTrustError> for std::io::Error {
    fn from(error: AgentTrustError) -> Self {
        use std::io::ErrorKind;
        let kind = match &error {
            e if e.is_denial() => ErrorKind::PermissionDenied,
            AgentTrustError::Authentication { .. } | AgentTrustError::Authorization { .. } => {
                ErrorKind::PermissionDenied
            }
            AgentTrustError::GuardianUnavailable { .. } => ErrorKind::ConnectionRefused,
            AgentTrustError::ElevationTimedOut { .. } => ErrorKind::TimedOut,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(kind, error)
    }
}

/// `Result` with [`AgentTrustError`].
pub type Result<T, E = AgentTrustError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::AgentTrustError as E;
    use std::io::ErrorKind;

    fn api(status: u16) -> E {
        E::Api {
            message: "m".into(),
            code: format!("HTTP_{status}"),
            status,
        }
    }

    fn every_variant() -> Vec<E> {
        let json = serde_json::from_str::<()>("x").unwrap_err();
        vec![
            E::ActionDenied {
                message: "m".into(),
                check_id: None,
                decided_by: None,
            },
            E::ElevationTimedOut {
                approval_id: "apr_1".into(),
                waited: std::time::Duration::from_secs(1),
            },
            E::ElevationRequired {
                message: "m".into(),
                approval_id: "apr_1".into(),
            },
            E::GuardianUnavailable {
                message: "m".into(),
            },
            E::Authentication {
                message: "m".into(),
                status: 401,
            },
            E::Authorization {
                message: "m".into(),
                status: 403,
            },
            E::Validation {
                message: "m".into(),
                status: 422,
            },
            E::NotFound {
                message: "m".into(),
                status: 404,
            },
            E::Network {
                message: "m".into(),
                timeout: false,
                source: None,
            },
            api(409),
            E::Json {
                endpoint: "/x".into(),
                source: json,
            },
            E::ResponseTooLarge {
                endpoint: "/x".into(),
                limit: 1,
            },
            E::Rpc {
                rpc_code: -32001,
                message: "m".into(),
                data: None,
                code: "A2A_ERROR_-32001".into(),
            },
            E::Protocol {
                message: "m".into(),
            },
            E::Config {
                message: "m".into(),
            },
        ]
    }

    /// The classification a wrong allow would hide behind: only transport
    /// failures, timeouts, 5xx, 429, 408 and undecodable answers are
    /// "unavailable" (what `fail_open` applies to); only the Guardian's no
    /// is a denial.
    #[test]
    fn only_an_unreachable_guardian_is_unavailable_and_only_a_no_is_a_denial() {
        let variants = every_variant();
        let codes: Vec<(&str, bool, bool, Option<u16>)> = variants
            .iter()
            .map(|e| (e.code(), e.is_unavailable(), e.is_denial(), e.status()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("ACTION_DENIED", false, true, None),
                ("ELEVATION_TIMED_OUT", false, false, None),
                ("ELEVATION_REQUIRED", false, true, None),
                ("GUARDIAN_UNAVAILABLE", true, false, None),
                ("AUTH_FAILED", false, false, Some(401)),
                ("AUTH_DENIED", false, false, Some(403)),
                ("VALIDATION_ERROR", false, false, Some(422)),
                ("NOT_FOUND", false, false, Some(404)),
                ("NETWORK_ERROR", true, false, None),
                ("HTTP_409", false, false, Some(409)),
                ("PARSE_ERROR", true, false, None),
                ("RESPONSE_TOO_LARGE", true, false, None),
                ("A2A_ERROR_-32001", false, false, None),
                ("PROTOCOL_ERROR", false, false, None),
                ("CONFIG_ERROR", false, false, None),
            ]
        );
        for (status, unavailable) in [
            (300, false),
            (399, false),
            (400, false),
            (407, false),
            (408, true),
            (409, false),
            (418, false),
            (428, false),
            (429, true),
            (430, false),
            (499, false),
            (500, true),
            (502, true),
            (503, true),
            (599, true),
        ] {
            assert_eq!(api(status).is_unavailable(), unavailable, "HTTP {status}");
        }
    }

    #[test]
    fn only_an_elevation_has_an_approval_id() {
        for e in every_variant() {
            let expected = matches!(e, E::ElevationRequired { .. } | E::ElevationTimedOut { .. })
                .then_some("apr_1");
            assert_eq!(e.approval_id(), expected, "{e}");
        }
    }

    #[test]
    fn io_errors_keep_the_kind_and_the_source() {
        let kinds: Vec<ErrorKind> = every_variant()
            .into_iter()
            .map(|e| {
                let code = e.code().to_owned();
                let io = std::io::Error::from(e);
                let inner = io.get_ref().and_then(|s| s.downcast_ref::<E>());
                assert_eq!(
                    inner.map(E::code),
                    Some(code.as_str()),
                    "the source is kept"
                );
                io.kind()
            })
            .collect();
        use ErrorKind::{ConnectionRefused, Other, PermissionDenied, TimedOut};
        assert_eq!(
            kinds,
            [
                PermissionDenied,
                TimedOut,
                PermissionDenied,
                ConnectionRefused,
                PermissionDenied,
                PermissionDenied,
                Other,
                Other,
                Other,
                Other,
                Other,
                Other,
                Other,
                Other,
                Other,
            ]
        );
    }

    #[test]
    fn config_errors_carry_their_message() {
        let e = E::config("set base_url");
        assert!(
            matches!(&e, E::Config { message } if message == "set base_url"),
            "{e:?}"
        );
    }
}
