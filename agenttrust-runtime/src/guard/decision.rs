//! Turning a Guardian answer (or the failure to get one) into a decision.

use crate::api::actions::{ActionCheckRequest, ActionCheckResult};
use crate::client::AgentTrustClient;
use crate::error::{AgentTrustError, Result};

/// What the Guardian decided about one tool call.
///
/// Unlike the official SDK's `Ok(())`, a denial stays visible even when the
/// guard does not block on it (defect D6).
///
/// ```
/// use agenttrust_runtime::Decision;
///
/// let d = Decision::Denied { reason: "tool on deny list".into(), check_id: Some("chk_1".into()) };
/// assert!(!d.is_allowed());
/// assert_eq!(d.into_result().unwrap_err().code(), "ACTION_DENIED");
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
}

impl Decision {
    /// Whether the call may run (allowed, or failed open).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. } | Decision::FailedOpen { .. })
    }

    /// `Ok(self)` when the call may run; the matching error when it may not.
    ///
    /// # Errors
    /// [`AgentTrustError::ActionDenied`] or [`AgentTrustError::ElevationRequired`].
    pub fn into_result(self) -> Result<Decision> {
        match self {
            Decision::Denied { reason, check_id } => Err(AgentTrustError::ActionDenied {
                message: reason,
                check_id,
            }),
            Decision::ElevationRequired {
                reason,
                approval_id,
                ..
            } => Err(AgentTrustError::ElevationRequired {
                message: reason,
                approval_id,
            }),
            allowed => Ok(allowed),
        }
    }

    /// Reads a check result. Elevation is honoured even when `allowed` is
    /// also true (the safe reading of a contradictory answer), and an
    /// elevation without an approval id is a protocol error (defect D7).
    pub(crate) fn from_result(result: ActionCheckResult) -> Result<Decision> {
        let reason = result.reason.filter(|r| !r.is_empty());
        if result.elevation_required {
            let approval_id = result
                .approval_id
                .filter(|id| !id.is_empty())
                .ok_or_else(|| AgentTrustError::Protocol {
                    message: "the Guardian required elevation but sent no approval_id".into(),
                })?;
            return Ok(Decision::ElevationRequired {
                reason: reason.unwrap_or_else(|| "elevation required".into()),
                approval_id,
                check_id: result.check_id,
            });
        }
        if result.allowed {
            Ok(Decision::Allowed {
                check_id: result.check_id,
                reason,
            })
        } else {
            Ok(Decision::Denied {
                reason: reason.unwrap_or_else(|| "denied by the Guardian".into()),
                check_id: result.check_id,
            })
        }
    }
}

/// Asks the Guardian and classifies the outcome: unavailability (transport,
/// timeout, 5xx, undecodable 2xx) fails open only when `fail_open` is set
/// and is `GuardianUnavailable` otherwise; every other error is returned
/// as it is and never failed open (defect D4).
pub(crate) async fn decide(
    client: &AgentTrustClient,
    request: &ActionCheckRequest<'_>,
    fail_open: bool,
    timeout: Option<std::time::Duration>,
) -> Result<Decision> {
    match client.actions().check_within(request, timeout).await {
        Ok(result) => Decision::from_result(result),
        Err(error) if error.is_unavailable() => {
            if fail_open {
                tracing::warn!(%error, tool = request.action_name, "Guardian unavailable; failing open");
                Ok(Decision::FailedOpen {
                    cause: error.to_string(),
                })
            } else {
                Err(AgentTrustError::GuardianUnavailable {
                    message: error.to_string(),
                })
            }
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::Decision;
    use crate::api::actions::ActionCheckResult;

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

    #[test]
    fn only_allowed_and_failed_open_let_the_call_run() {
        let runs: Vec<bool> = [allowed(), denied(), elevation(), failed_open()]
            .iter()
            .map(Decision::is_allowed)
            .collect();
        assert_eq!(runs, [true, false, false, true]);
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
        let read = |json: &str| {
            Decision::from_result(serde_json::from_str::<ActionCheckResult>(json).unwrap())
        };
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
