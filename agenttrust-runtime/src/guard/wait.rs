//! Waiting for a person's decision on an elevation (`on_elevation = "wait"`):
//! poll the approval with jittered backoff, never past its expiry nor the
//! wait bound, then re-check with the Guardian.
//!
//! Nothing is spawned: the wait is part of the call's future (dropping it
//! stops the polling) or, for sync code, of the blocking check.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use tracing::Span;

use crate::error::{AgentTrustError, Result};
use crate::guard::span::TARGET;
use crate::guard::{AgentTrustGuard, Decision, Overrides};

/// The first pause between polls of a pending approval; it doubles up to
/// [`MAX_POLL_INTERVAL`], each pause jittered by ±25 %.
pub const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The longest pause between polls of a pending approval.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// How long a call waits when neither a bound nor the approval's
/// `expires_at` says (an approval without a readable expiry).
pub const DEFAULT_MAX_ELEVATION_WAIT: Duration = Duration::from_secs(15 * 60);

/// What a guarded call does when the Guardian requires an elevation.
///
/// ```
/// use std::time::Duration;
/// use agenttrust_runtime::OnElevation;
///
/// assert_eq!(OnElevation::default(), OnElevation::Error);
/// let bounded = OnElevation::wait_at_most(Duration::from_secs(600));
/// assert_eq!(bounded, OnElevation::Wait { max_wait: Some(Duration::from_secs(600)) });
/// assert_eq!("wait".parse::<OnElevation>().unwrap(), OnElevation::wait());
/// assert!("later".parse::<OnElevation>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnElevation {
    /// Return [`AgentTrustError::ElevationRequired`] at once (the default).
    #[default]
    Error,
    /// Wait for a person to approve or deny: approved, re-check and run;
    /// denied, [`AgentTrustError::ActionDenied`] with `decided_by`; not
    /// decided before the approval expires or `max_wait` passes,
    /// [`AgentTrustError::ElevationTimedOut`].
    Wait {
        /// The longest wait; `None`: until the approval expires (at most
        /// [`DEFAULT_MAX_ELEVATION_WAIT`] when its expiry is unknown).
        max_wait: Option<Duration>,
    },
}

impl OnElevation {
    /// Wait until the approval expires.
    pub const fn wait() -> OnElevation {
        OnElevation::Wait { max_wait: None }
    }

    /// Wait at most `max_wait` (and never past the approval's expiry).
    pub const fn wait_at_most(max_wait: Duration) -> OnElevation {
        OnElevation::Wait {
            max_wait: Some(max_wait),
        }
    }
}

/// `error` or `wait` (any case), as `AGENTTRUST_ON_ELEVATION` spells it.
impl std::str::FromStr for OnElevation {
    type Err = AgentTrustError;

    fn from_str(s: &str) -> Result<OnElevation> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(OnElevation::Error),
            "wait" => Ok(OnElevation::wait()),
            _ => Err(AgentTrustError::config(format!(
                "on_elevation must be `error` or `wait`, not `{s}`"
            ))),
        }
    }
}

/// The pause before poll number `attempt` (0-based), jittered by `random`.
pub(crate) fn backoff(attempt: u32, random: u64) -> Duration {
    let base = FIRST_POLL_INTERVAL
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_POLL_INTERVAL);
    // A factor in [0.75, 1.25): callers that started together spread out.
    let factor = 0.75 + (random % 1000) as f64 / 2000.0;
    base.mul_f64(factor)
}

fn random() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// How a pending approval ended.
enum Ended {
    Approved,
    Denied { by: Option<String> },
    TimedOut,
}

/// The call being waited on: what its re-check asks.
pub(crate) struct Waiting<'a> {
    pub(crate) guard: &'a AgentTrustGuard,
    pub(crate) span: &'a Span,
    pub(crate) tool: &'a str,
    pub(crate) summary: Option<&'a str>,
    pub(crate) effect: Option<&'a str>,
    pub(crate) overrides: Overrides,
}

/// A decision settled: at once, or after the wait for an approval.
pub(crate) enum Settled<'a> {
    /// Nothing to wait for.
    Now(Decision),
    /// The wait, boxed: it holds a re-check and the approval polls (about
    /// 1.6 KB) and would otherwise be part of every guarded call's check
    /// future, which each async guarded fn's future holds (and a debug
    /// build copies into its slot at each call), so every call would carry
    /// it although few calls wait.
    Later(Pin<Box<dyn Future<Output = Result<Decision>> + Send + 'a>>),
}

impl<'a> Waiting<'a> {
    /// `decision`, or when it is an elevation and `on_elevation` waits, the
    /// wait whose outcome is the decision that follows.
    pub(crate) fn settle(self, decision: Decision, on_elevation: OnElevation) -> Settled<'a> {
        match (&decision, on_elevation) {
            (Decision::ElevationRequired { .. }, OnElevation::Wait { max_wait }) => {
                Settled::Later(Box::pin(wait_for_approval(self, decision, max_wait)))
            }
            _ => Settled::Now(decision),
        }
    }
}

/// Waits out the elevation `first` and returns the decision of the re-check
/// that follows an approval (an elevation again waits again, within the
/// same bound).
async fn wait_for_approval(
    call: Waiting<'_>,
    first: Decision,
    max_wait: Option<Duration>,
) -> Result<Decision> {
    let (client, span, tool) = (call.guard.client(), call.span, call.tool);
    let started = Instant::now();
    let deadline = max_wait.map(|d| started + d);
    let mut decision = first;
    let outcome = loop {
        let Decision::ElevationRequired {
            approval_id,
            reason,
            check_id,
        } = &decision
        else {
            break Ok(decision);
        };
        match poll(client, tool, approval_id, started, deadline).await? {
            Ended::Approved => {
                decision = call
                    .guard
                    .decide_in(span, tool, call.summary, call.effect, call.overrides)
                    .await?
                    .decision;
            }
            Ended::Denied { by } => {
                let who = by.as_deref().unwrap_or("an approver");
                break Err(AgentTrustError::ActionDenied {
                    message: format!(
                        "approval {approval_id} for `{tool}` was denied by {who} (the Guardian had \
                         asked because: {reason})"
                    ),
                    check_id: check_id.clone(),
                    decided_by: by,
                });
            }
            Ended::TimedOut => {
                break Err(AgentTrustError::ElevationTimedOut {
                    approval_id: approval_id.clone(),
                    waited: started.elapsed(),
                })
            }
        }
    };
    let waited_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("agenttrust.elevation.waited_ms", waited_ms);
    outcome
}

/// Polls `approval_id` until it is decided or the wait must end.
async fn poll(
    client: &crate::AgentTrustClient,
    tool: &str,
    approval_id: &str,
    started: Instant,
    deadline: Option<Instant>,
) -> Result<Ended> {
    let approvals = client.approvals();
    let mut expires: Option<Instant> = None;
    let mut announced = false;
    let mut outage: Option<AgentTrustError>;
    let mut attempt = 0u32;
    loop {
        match approvals.get(approval_id).await {
            Ok(approval) => {
                outage = None;
                if let Some(at) = approval.expires_at.as_deref().and_then(instant_of) {
                    expires = Some(at);
                }
                if !announced {
                    announced = true;
                    let url = format!("{}/mcp/approvals/{approval_id}", client.base_url());
                    // The local gateway's approvals page (agenttrust-gateway /ui).
                    let page = format!("{}/ui#{approval_id}", client.base_url());
                    tracing::event!(
                        target: TARGET,
                        tracing::Level::INFO,
                        {
                            "gen_ai.tool.name" = tool,
                            "agenttrust.approval_id" = approval_id,
                            "agenttrust.approval.expires_at" = approval.expires_at.as_deref(),
                            "agenttrust.approval.url" = url.as_str(),
                            "agenttrust.approval.page" = page.as_str()
                        },
                        "waiting for a person to approve or deny the call"
                    );
                }
                let status = approval.status.to_ascii_lowercase();
                tracing::event!(
                    target: TARGET,
                    tracing::Level::DEBUG,
                    {
                        "agenttrust.approval_id" = approval_id,
                        "agenttrust.approval.status" = status.as_str(),
                        "agenttrust.approval.poll" = attempt
                    },
                    "polled the approval"
                );
                match status.as_str() {
                    "approved" => return Ok(Ended::Approved),
                    "denied" | "rejected" => {
                        return Ok(Ended::Denied {
                            by: approval.decided_by.filter(|b| !b.is_empty()),
                        })
                    }
                    "expired" => return Ok(Ended::TimedOut),
                    // Pending, or a status this client does not know: never a yes.
                    _ => {}
                }
            }
            Err(error) if error.is_unavailable() => {
                tracing::event!(
                    target: TARGET,
                    tracing::Level::DEBUG,
                    {
                        "agenttrust.approval_id" = approval_id,
                        "error.type" = error.code(),
                        "agenttrust.approval.poll" = attempt
                    },
                    "the approval could not be read; retrying"
                );
                outage = Some(error);
            }
            Err(error) => return Err(error),
        }
        let limit = [deadline, expires]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(started + DEFAULT_MAX_ELEVATION_WAIT);
        let now = Instant::now();
        if now >= limit {
            // An outage to the end is unavailability, not a person's silence.
            return match outage {
                Some(error) => Err(AgentTrustError::GuardianUnavailable {
                    message: format!("while waiting for approval {approval_id}: {error}"),
                }),
                None => Ok(Ended::TimedOut),
            };
        }
        tokio::time::sleep(backoff(attempt, random()).min(limit - now)).await;
        attempt = attempt.saturating_add(1);
    }
}

/// The `Instant` of an RFC 3339 time, by this machine's clock.
fn instant_of(rfc3339: &str) -> Option<Instant> {
    let at = humantime::parse_rfc3339_weak(rfc3339.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(rfc3339))
        .ok()?;
    let now = Instant::now();
    match at.duration_since(SystemTime::now()) {
        Ok(ahead) => now.checked_add(ahead),
        Err(past) => now.checked_sub(past.duration()).or(Some(now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_seconds_with_a_quarter_of_jitter() {
        for attempt in 0..12 {
            let base = [250u64, 500, 1000, 2000, 4000]
                .get(attempt as usize)
                .copied()
                .unwrap_or(5000);
            for random in [0, 499, 999, 123_456_789] {
                let ms = backoff(attempt, random).as_secs_f64() * 1000.0;
                let (low, high) = (base as f64 * 0.75, base as f64 * 1.25);
                assert!(
                    ms >= low - 0.01 && ms < high,
                    "{attempt}: {ms} not in {low}..{high}"
                );
            }
        }
        assert_ne!(backoff(3, 0), backoff(3, 999), "jittered");
        assert!(backoff(u32::MAX, 7) <= MAX_POLL_INTERVAL.mul_f64(1.25));
    }

    #[test]
    fn expiry_times_read_in_rfc3339() {
        let soon = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(60));
        let at = instant_of(&soon.to_string()).unwrap();
        let ahead = at - Instant::now();
        assert!(ahead > Duration::from_secs(58) && ahead <= Duration::from_secs(60));
        let past = instant_of("2001-01-01T00:00:00Z").unwrap();
        assert!(past <= Instant::now());
        assert!(instant_of("tomorrow").is_none());
    }
}
