//! Turning a Guardian answer (or the failure to get one) into a decision,
//! and recording it: the call's span, its events, the client's counters.

use futures_util::FutureExt as _;
use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::api::actions::{decode_verdict, Verdict};
use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};
use crate::guard::span;

/// What the Guardian decided about one tool call.
///
/// Unlike the official SDK's `Ok(())`, a denial stays visible even when the
/// guard does not block on it (defect D6): in monitoring mode
/// (`block_on_deny(false)`, or `enforce = false` on one tool) a denial or
/// elevation comes back as [`WouldBlock`](Decision::WouldBlock), never as
/// [`Allowed`](Decision::Allowed).
///
/// ```
/// use agenttrust_runtime::Decision;
///
/// let d = Decision::Denied { reason: "tool on deny list".into(), check_id: Some("chk_1".into()) };
/// assert!(!d.is_allowed() && !d.runs());
/// assert_eq!(d.kind(), "denied");
/// assert_eq!(d.into_result().unwrap_err().code(), "ACTION_DENIED");
///
/// let shadow = Decision::WouldBlock { reason: "tool on deny list".into(), check_id: None, approval_id: None };
/// assert!(shadow.runs() && !shadow.is_allowed());
/// assert_eq!(shadow.kind(), "would_block");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The call may run.
    Allowed {
        /// The check's id.
        check_id: Option<String>,
        /// The Guardian's reason, if it gave one.
        reason: Option<String>,
    },
    /// The call must not run.
    Denied {
        /// Why.
        reason: String,
        /// The check's id.
        check_id: Option<String>,
    },
    /// The call needs a human approval first; retry after `approval_id` is approved.
    ElevationRequired {
        /// Why.
        reason: String,
        /// The pending approval (never empty).
        approval_id: String,
        /// The check's id.
        check_id: Option<String>,
    },
    /// The Guardian was unavailable and the guard is configured to fail open.
    FailedOpen {
        /// What made it unavailable.
        cause: String,
    },
    /// Monitoring mode: the Guardian denied the call (or required an
    /// elevation, when `approval_id` is set), and the call runs anyway
    /// because this guard or tool does not enforce.
    WouldBlock {
        /// The Guardian's reason.
        reason: String,
        /// The check's id.
        check_id: Option<String>,
        /// The approval an enforcing guard would have waited for.
        approval_id: Option<String>,
    },
}

impl Decision {
    /// Whether the Guardian let the call run: allowed, or failed open.
    /// `false` for [`WouldBlock`](Decision::WouldBlock), which runs only
    /// because nothing enforces (see [`runs`](Self::runs)).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. } | Decision::FailedOpen { .. })
    }

    /// Whether the call runs: [`is_allowed`](Self::is_allowed), or a
    /// monitoring-mode [`WouldBlock`](Decision::WouldBlock).
    pub fn runs(&self) -> bool {
        self.is_allowed() || matches!(self, Decision::WouldBlock { .. })
    }

    /// The decision's name as spans and counters spell it: `allowed`,
    /// `denied`, `elevation_required`, `failed_open` or `would_block`.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Allowed { .. } => "allowed",
            Decision::Denied { .. } => "denied",
            Decision::ElevationRequired { .. } => "elevation_required",
            Decision::FailedOpen { .. } => "failed_open",
            Decision::WouldBlock { .. } => "would_block",
        }
    }

    /// The check's id, when the Guardian answered with one.
    pub fn check_id(&self) -> Option<&str> {
        match self {
            Decision::Allowed { check_id, .. }
            | Decision::Denied { check_id, .. }
            | Decision::ElevationRequired { check_id, .. }
            | Decision::WouldBlock { check_id, .. } => check_id.as_deref(),
            Decision::FailedOpen { .. } => None,
        }
    }

    /// The reason given: the Guardian's, or for a fail-open what made the
    /// Guardian unavailable.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Allowed { reason, .. } => reason.as_deref(),
            Decision::Denied { reason, .. }
            | Decision::ElevationRequired { reason, .. }
            | Decision::WouldBlock { reason, .. } => Some(reason),
            Decision::FailedOpen { cause } => Some(cause),
        }
    }

    /// The approval id of an elevation (enforced or monitored).
    pub fn approval_id(&self) -> Option<&str> {
        match self {
            Decision::ElevationRequired { approval_id, .. } => Some(approval_id),
            Decision::WouldBlock { approval_id, .. } => approval_id.as_deref(),
            _ => None,
        }
    }

    /// `Ok(self)` when the call runs (see [`runs`](Self::runs)); the
    /// matching error when it may not.
    ///
    /// # Errors
    /// [`AgentTrustError::ActionDenied`] or [`AgentTrustError::ElevationRequired`].
    pub fn into_result(self) -> Result<Decision> {
        match self {
            Decision::Denied { reason, check_id } => Err(AgentTrustError::ActionDenied {
                message: reason,
                check_id,
                decided_by: None,
            }),
            Decision::ElevationRequired {
                reason,
                approval_id,
                ..
            } => Err(AgentTrustError::ElevationRequired {
                message: reason,
                approval_id,
            }),
            runs => Ok(runs),
        }
    }

    /// The monitoring-mode form: a denial or elevation becomes `WouldBlock`.
    pub(crate) fn monitored(self) -> Decision {
        match self {
            Decision::Denied { reason, check_id } => Decision::WouldBlock {
                reason,
                check_id,
                approval_id: None,
            },
            Decision::ElevationRequired {
                reason,
                approval_id,
                check_id,
            } => Decision::WouldBlock {
                reason,
                check_id,
                approval_id: Some(approval_id),
            },
            other => other,
        }
    }

    /// Reads a check result. Elevation is honoured even when `allowed` is
    /// also true (the safe reading of a contradictory answer), and an
    /// elevation without an approval id is a protocol error (defect D7).
    pub(crate) fn from_verdict(verdict: Verdict<'_>) -> Result<Decision> {
        let reason = verdict
            .reason
            .filter(|r| !r.is_empty())
            .map(Cow::into_owned);
        let check_id = verdict.check_id.map(Cow::into_owned);
        if verdict.elevation_required {
            let approval_id = verdict
                .approval_id
                .filter(|id| !id.is_empty())
                .ok_or_else(|| AgentTrustError::Protocol {
                    message: "the Guardian required elevation but sent no approval_id".into(),
                })?;
            return Ok(Decision::ElevationRequired {
                reason: reason.unwrap_or_else(|| "elevation required".into()),
                approval_id: approval_id.into_owned(),
                check_id,
            });
        }
        if verdict.allowed {
            Ok(Decision::Allowed { check_id, reason })
        } else {
            Ok(Decision::Denied {
                reason: reason.unwrap_or_else(|| "denied by the Guardian".into()),
                check_id,
            })
        }
    }
}

/// A check that got no verdict: unavailability fails open only when
/// configured to, and is `GuardianUnavailable` otherwise; every other error
/// stays what it is.
fn unanswered(error: AgentTrustError, policy: CheckPolicy) -> Result<Decision> {
    if !error.is_unavailable() {
        Err(error)
    } else if policy.fail_open {
        Ok(Decision::FailedOpen {
            cause: error.to_string(),
        })
    } else {
        Err(AgentTrustError::GuardianUnavailable {
            message: error.to_string(),
        })
    }
}

/// A check's decision and the moment it was made: when the answer was
/// read (or, without one, classified). A call the decision admits starts
/// its clock there, so the one clock read that times the Guardian's answer
/// also starts the body's (a clock read is not free: a virtual machine may
/// take tens of nanoseconds for one, and every guarded call pays them).
pub(crate) struct Decided {
    pub(crate) decision: Decision,
    pub(crate) at: Instant,
}

/// How one check is decided: the guard's settings with a tool's overrides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckPolicy {
    pub(crate) fail_open: bool,
    /// `false`: monitoring mode, denials become `WouldBlock`.
    pub(crate) enforce: bool,
    pub(crate) timeout: Option<Duration>,
}

/// Asks the Guardian and classifies the outcome: unavailability (transport,
/// timeout, 5xx, undecodable 2xx) fails open only when `fail_open` is set
/// and is `GuardianUnavailable` otherwise; every other error is returned
/// as it is and never failed open (defect D4). Without `enforce` a denial
/// or elevation becomes `WouldBlock`.
///
/// The outcome is recorded on `span` (the call's), as an event for every
/// decision but an allow, and in the client's counters; it comes with the
/// moment it was made (see [`Decided`]).
///
/// Not `async fn`: the request is built here and the future holds only
/// the exchange and what the answer's classification needs (see
/// [`Transport::send_bytes`](crate::client::transport::Transport::send_bytes)).
pub(crate) fn decide<'a>(
    client: &'a AgentTrustClient,
    tool: &'a str,
    request: Vec<u8>,
    policy: CheckPolicy,
    span: &'a tracing::Span,
) -> impl std::future::Future<Output = Result<Decided>> + Send + 'a {
    let started = Instant::now();
    client
        .actions()
        .check_encoded(request, policy.timeout)
        .map(move |body| classify(client, tool, body, started, policy, span))
}

/// [`decide`]'s outcome from the answer's body (or the exchange's error),
/// counted and recorded.
fn classify(
    client: &AgentTrustClient,
    tool: &str,
    body: Result<bytes::Bytes>,
    started: Instant,
    policy: CheckPolicy,
    span: &tracing::Span,
) -> Result<Decided> {
    let mut answered = None;
    let outcome = match body {
        Err(error) => unanswered(error, policy),
        // The verdict borrows from the body, which lives in this arm.
        Ok(body) => match decode_verdict(&body) {
            Ok(verdict) => {
                let at = *answered.insert(Instant::now());
                let measured = at - started;
                client.check_stats().guardian_latency(measured);
                span::record_answer(span, &verdict, measured);
                Decision::from_verdict(verdict)
                    .map(|d| if policy.enforce { d } else { d.monitored() })
            }
            Err(error) => unanswered(error, policy),
        },
    };
    match &outcome {
        Ok(decision) => {
            client.check_stats().decision(decision);
            span::record_decision(span, tool, decision);
        }
        Err(error) => {
            client.check_stats().error(error.code());
            span::record_error(span, tool, error.code());
        }
    }
    outcome.map(|decision| Decided {
        decision,
        at: answered.unwrap_or_else(Instant::now),
    })
}

#[cfg(test)]
mod tests {
    use super::Decision;
    use crate::api::actions::Verdict;

    fn allowed() -> Decision {
        Decision::Allowed {
            check_id: Some("chk".into()),
            reason: None,
        }
    }
    fn denied() -> Decision {
        Decision::Denied {
            reason: "no".into(),
            check_id: Some("chk".into()),
        }
    }
    fn elevation() -> Decision {
        Decision::ElevationRequired {
            reason: "ask".into(),
            approval_id: "apr".into(),
            check_id: None,
        }
    }
    fn failed_open() -> Decision {
        Decision::FailedOpen {
            cause: "down".into(),
        }
    }
    fn would_block() -> Decision {
        Decision::WouldBlock {
            reason: "no".into(),
            check_id: Some("chk".into()),
            approval_id: None,
        }
    }

    #[test]
    fn monitoring_turns_only_denials_and_elevations_into_would_block() {
        assert_eq!(denied().monitored(), would_block());
        assert_eq!(
            elevation().monitored(),
            Decision::WouldBlock {
                reason: "ask".into(),
                check_id: None,
                approval_id: Some("apr".into())
            }
        );
        assert_eq!(elevation().monitored().approval_id(), Some("apr"));
        for unchanged in [allowed(), failed_open(), would_block()] {
            assert_eq!(unchanged.clone().monitored(), unchanged);
        }
        assert_eq!(
            (denied().check_id(), denied().reason()),
            (Some("chk"), Some("no"))
        );
        assert_eq!(
            (failed_open().check_id(), failed_open().reason()),
            (None, Some("down"))
        );
        assert_eq!(allowed().approval_id(), None);
    }

    #[test]
    fn only_allowed_and_failed_open_let_the_call_run() {
        let all = [
            allowed(),
            denied(),
            elevation(),
            failed_open(),
            would_block(),
        ];
        let allowed_by_guardian: Vec<bool> = all.iter().map(Decision::is_allowed).collect();
        assert_eq!(allowed_by_guardian, [true, false, false, true, false]);
        let runs: Vec<bool> = all.iter().map(Decision::runs).collect();
        assert_eq!(runs, [true, false, false, true, true]);
        let kinds: Vec<&str> = all.iter().map(Decision::kind).collect();
        assert_eq!(
            kinds,
            [
                "allowed",
                "denied",
                "elevation_required",
                "failed_open",
                "would_block"
            ]
        );
        assert_eq!(would_block().into_result().unwrap(), would_block());
        assert_eq!(allowed().into_result().unwrap(), allowed());
        assert_eq!(failed_open().into_result().unwrap(), failed_open());
        let denial = denied().into_result().unwrap_err();
        assert_eq!(
            (denial.code(), denial.to_string().contains("no")),
            ("ACTION_DENIED", true)
        );
        let elevated = elevation().into_result().unwrap_err();
        assert_eq!(
            (elevated.code(), elevated.approval_id()),
            ("ELEVATION_REQUIRED", Some("apr"))
        );
    }

    #[test]
    fn reading_a_check_result() {
        let read = |json: &str| Decision::from_verdict(Verdict::decode(json.as_bytes()).unwrap());
        assert_eq!(
            read(r#"{"allowed":true,"check_id":"chk"}"#).unwrap(),
            Decision::Allowed {
                check_id: Some("chk".into()),
                reason: None
            }
        );
        assert_eq!(
            read(r#"{"allowed":true,"reason":"fine"}"#).unwrap(),
            Decision::Allowed {
                check_id: None,
                reason: Some("fine".into())
            }
        );
        assert_eq!(
            read(r#"{"allowed":false,"reason":""}"#).unwrap(),
            Decision::Denied {
                reason: "denied by the Guardian".into(),
                check_id: None
            }
        );
        // Elevation wins over a contradictory allow, and needs an approval id.
        assert_eq!(
            read(r#"{"allowed":true,"elevation_required":true,"approval_id":"apr"}"#).unwrap(),
            Decision::ElevationRequired {
                reason: "elevation required".into(),
                approval_id: "apr".into(),
                check_id: None
            }
        );
        for no_id in [
            r#"{"allowed":false,"elevation_required":true}"#,
            r#"{"allowed":true,"elevation_required":true,"approval_id":""}"#,
        ] {
            assert_eq!(read(no_id).unwrap_err().code(), "PROTOCOL_ERROR", "{no_id}");
        }
    }
}
