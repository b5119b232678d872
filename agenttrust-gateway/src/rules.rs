//! Scripted answers by tool: what a test sets instead of a policy, so a
//! guarded tool can be tried against each answer the Guardian can give.
//!
//! Rules exist only through the Rust API ([`GatewayBuilder::rule`],
//! [`GatewayHandle::set_rule`]); no route reads or changes them.
//!
//! [`GatewayBuilder::rule`]: crate::GatewayBuilder::rule
//! [`GatewayHandle::set_rule`]: crate::GatewayHandle::set_rule

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

/// The answer the Guardian gives to every check of one tool, whatever the
/// policy says (a check in another agent's session is still refused).
///
/// ```
/// use std::time::Duration;
/// use agenttrust_gateway::{Approver, Rule};
///
/// let rules = [
///     Rule::allow(),
///     Rule::deny("not on Fridays"),
///     Rule::elevate(Approver::approves_after(Duration::from_millis(50))),
///     Rule::unavailable(),
///     Rule::status(429),
///     Rule::allow().latency(Duration::from_millis(200)),
/// ];
/// assert_eq!(rules[1], Rule::deny("not on Fridays"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub(crate) answer: Answer,
    pub(crate) latency: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Allow,
    Deny(String),
    Elevate(Approver),
    Unavailable,
    Status(u16),
}

impl Rule {
    /// Allowed.
    pub fn allow() -> Rule {
        Rule::answer(Answer::Allow)
    }

    /// Denied with `reason`.
    pub fn deny(reason: impl Into<String>) -> Rule {
        Rule::answer(Answer::Deny(reason.into()))
    }

    /// Elevation required: each check creates (or reuses) a pending
    /// approval, which `approver` decides; once approved, checks within the
    /// policy's elevation window are allowed, as for a destructive tool.
    pub fn elevate(approver: Approver) -> Rule {
        Rule::answer(Answer::Elevate(approver))
    }

    /// The Guardian is down: `503 Service Unavailable`.
    pub fn unavailable() -> Rule {
        Rule::answer(Answer::Unavailable)
    }

    /// An error answer with this HTTP status (401, 429, 500, ...) and the
    /// gateway's error body. A number that is not an HTTP status answers
    /// 500 saying so.
    pub fn status(status: u16) -> Rule {
        Rule::answer(Answer::Status(status))
    }

    /// Answers only after `latency` (added to the policy's own
    /// `check_latency`).
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Rule {
        self.latency = latency;
        self
    }

    fn answer(answer: Answer) -> Rule {
        Rule {
            answer,
            latency: Duration::ZERO,
        }
    }
}

/// Who decides the approvals a [`Rule::elevate`] creates, and when.
///
/// ```
/// use std::time::Duration;
/// use agenttrust_gateway::Approver;
///
/// let approver = Approver::denies_after(Duration::from_millis(10)).by("alice@example.com");
/// assert_ne!(approver, Approver::nobody());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub(crate) verdict: Option<bool>,
    pub(crate) after: Duration,
    pub(crate) by: String,
}

impl Approver {
    /// Approves each new approval `after` it was created.
    pub fn approves_after(after: Duration) -> Approver {
        Approver {
            verdict: Some(true),
            after,
            by: "test-approver".to_owned(),
        }
    }

    /// Denies each new approval `after` it was created.
    pub fn denies_after(after: Duration) -> Approver {
        Approver {
            verdict: Some(false),
            after,
            by: "test-approver".to_owned(),
        }
    }

    /// Leaves approvals pending (until they expire, or a test decides them
    /// through the approvals API).
    pub fn nobody() -> Approver {
        Approver {
            verdict: None,
            after: Duration::ZERO,
            by: String::new(),
        }
    }

    /// The `decided_by` recorded on the approvals it decides (default
    /// `test-approver`).
    #[must_use]
    pub fn by(mut self, decided_by: impl Into<String>) -> Approver {
        self.by = decided_by.into();
        self
    }
}

/// The rules of one gateway.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    inner: Mutex<RuleSet>,
}

#[derive(Debug, Default)]
struct RuleSet {
    by_tool: BTreeMap<String, Rule>,
    default: Option<Rule>,
    /// Approvals an approver already has in hand.
    scheduled: BTreeSet<String>,
}

impl Rules {
    pub(crate) fn new(by_tool: BTreeMap<String, Rule>, default: Option<Rule>) -> Rules {
        Rules {
            inner: Mutex::new(RuleSet {
                by_tool,
                default,
                scheduled: BTreeSet::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RuleSet> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rule for `tool`: its own, else the default, else none (the
    /// policy decides).
    pub(crate) fn for_tool(&self, tool: &str) -> Option<Rule> {
        let set = self.lock();
        set.by_tool.get(tool).or(set.default.as_ref()).cloned()
    }

    pub(crate) fn set(&self, tool: String, rule: Option<Rule>) {
        let mut set = self.lock();
        match rule {
            Some(rule) => set.by_tool.insert(tool, rule),
            None => set.by_tool.remove(&tool),
        };
    }

    pub(crate) fn set_default(&self, rule: Option<Rule>) {
        self.lock().default = rule;
    }

    /// Whether `approval_id` is new to the approvers (and now taken).
    pub(crate) fn schedule(&self, approval_id: &str) -> bool {
        self.lock().scheduled.insert(approval_id.to_owned())
    }
}
