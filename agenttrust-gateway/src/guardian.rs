//! The local Guardian (Fast Guard): one policy decision per action check,
//! in the order the product guide gives, each denial with a reason.

use std::time::SystemTime;

use serde::Serialize;

use crate::policy::{known_effect, rank, ApprovalBinding, Policy, Unlisted};
use crate::store::{after, new_id, rfc3339, Approval, ApprovalStatus, Data, ORG_ID};

/// A check as the gateway reads it (empty strings count as absent).
pub(crate) struct Check<'a> {
    pub(crate) agent_id: &'a str,
    pub(crate) action_name: &'a str,
    pub(crate) action_effect: Option<&'a str>,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) summary: Option<&'a str>,
}

/// The Guardian's answer (PROTOCOL.md §7); `latency_ms` is set by the caller.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verdict {
    pub(crate) allowed: bool,
    pub(crate) check_id: String,
    pub(crate) confidence: f64,
    pub(crate) guard_tier: &'static str,
    pub(crate) latency_ms: u64,
    pub(crate) reason: String,
    pub(crate) elevation_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) approval_id: Option<String>,
    /// Whether this check created its approval (to notify about it).
    #[serde(skip)]
    pub(crate) new_approval: bool,
}

enum Outcome {
    Allow(String),
    Deny(String),
    /// Why, the approval, and whether this check created it.
    Elevate(String, String, bool),
}

/// A test rule's verdict, standing in for the policy (see `rules.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scripted<'a> {
    Allow,
    Deny(&'a str),
    Elevate,
}

/// How the effect a check is judged by was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EffectSource {
    /// The check named it.
    Given,
    /// Classified from the tool's name.
    Inferred,
    /// The policy's `[tools]` entry, stronger than what the check named
    /// or its name suggested.
    Policy,
}

/// The effect a tool is treated as having: the check's (or, without one,
/// the name's), raised to the policy's reviewed effect when that is stronger.
fn effect_of(policy: &Policy, check: &Check<'_>) -> (&'static str, EffectSource) {
    let (claimed, source) = match check.action_effect.and_then(known_effect) {
        Some(effect) => (effect, EffectSource::Given),
        None => (classify(check.action_name), EffectSource::Inferred),
    };
    match policy.tools.get(check.action_name) {
        Some(&reviewed) if rank(reviewed) > rank(claimed) => (reviewed, EffectSource::Policy),
        _ => (claimed, source),
    }
}

/// Classifies a tool by its name when the check carries no effect.
pub(crate) fn classify(tool: &str) -> &'static str {
    let name = tool.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["delete", "drop", "remove", "destroy", "purge", "truncate"]) {
        "destructive"
    } else if has(&[
        "write", "update", "create", "send", "insert", "put", "post", "set_",
    ]) {
        "mutating"
    } else {
        "read"
    }
}

/// The policy's verdict on `check`.
#[cfg(test)]
pub(crate) fn decide(
    policy: &Policy,
    data: &mut Data,
    check: &Check<'_>,
    now: SystemTime,
) -> Verdict {
    decide_with(policy, data, check, now, None)
}

/// The verdict on `check`: a test rule's when given, else the policy's.
pub(crate) fn decide_with(
    policy: &Policy,
    data: &mut Data,
    check: &Check<'_>,
    now: SystemTime,
    scripted: Option<Scripted<'_>>,
) -> Verdict {
    let (effect, source) = effect_of(policy, check);
    if let Some(reason) = foreign_session(data, check) {
        // Another agent's session: refused, and nothing about that session
        // (its counters, its activity) changes.
        return verdict(Outcome::Deny(reason), "");
    }
    open_session(policy, data, check);
    // A delegated session acts only while its delegation chain is live and
    // only within its scope, whatever the policy or a test rule says.
    let outcome = match delegated_refusal(policy, data, check, now) {
        Some(reason) => Outcome::Deny(reason),
        None => match scripted {
            None => evaluate(policy, data, check, effect, now),
            Some(scripted) => follow(policy, data, check, effect, now, scripted),
        },
    };
    if let Some(session) = check.session_id.and_then(|id| data.sessions.get_mut(id)) {
        session.total_calls += 1;
        if effect == "read" {
            session.read_calls += 1;
        } else {
            session.write_calls += 1;
        }
        // An elevation is a "no" on the wire (`allowed: false`): counted as
        // denied, so total = allowed + denied.
        if !matches!(outcome, Outcome::Allow(_)) {
            session.denied_calls += 1;
        }
        session.last_activity_at = rfc3339(now);
    }
    // A rule's reason is the test's own words: no note on the effect.
    let note = match (source, scripted) {
        (EffectSource::Inferred, None) => {
            format!(" (no effect given; classified as {effect} from the tool name)")
        }
        (EffectSource::Policy, None) => {
            format!(" (treated as {effect}: the policy's [tools] entry for this tool)")
        }
        _ => String::new(),
    };
    verdict(outcome, &note)
}

fn verdict(outcome: Outcome, suffix: &str) -> Verdict {
    let (allowed, reason, approval_id, new_approval) = match outcome {
        Outcome::Allow(reason) => (true, reason, None, false),
        Outcome::Deny(reason) => (false, reason, None, false),
        Outcome::Elevate(reason, approval_id, new) => (false, reason, Some(approval_id), new),
    };
    Verdict {
        allowed,
        check_id: new_id("chk"),
        confidence: 0.99,
        guard_tier: "fast",
        latency_ms: 0,
        reason: format!("{reason}{suffix}"),
        elevation_required: approval_id.is_some(),
        approval_id,
        new_approval,
    }
}

/// Why the check may not use its session: the session belongs to another agent.
fn foreign_session(data: &Data, check: &Check<'_>) -> Option<String> {
    let id = check.session_id?;
    data.session_of_another(id, check.agent_id).then(|| {
        format!(
            "session `{id}` belongs to another agent; agent `{}` may not act in it",
            check.agent_id
        )
    })
}

/// Why a check in a delegated session is refused, if it is: the chain is
/// no longer live, or the tool (or the capability the policy maps it to)
/// is outside the delegated scope.
fn delegated_refusal(
    policy: &Policy,
    data: &Data,
    check: &Check<'_>,
    now: SystemTime,
) -> Option<String> {
    let session = data.sessions.get(check.session_id?)?;
    let delegation_id = session.delegation_id.as_deref()?;
    if let Some(why) = data.delegation_refusal(delegation_id, now) {
        return Some(why);
    }
    let tool = check.action_name;
    let capability = policy.capabilities.get(tool);
    let within = session
        .scope_ceiling
        .iter()
        .any(|s| s == tool || Some(s) == capability);
    (!within).then(|| format!("`{tool}` is outside the scope delegated by `{delegation_id}`"))
}

/// The scope a delegated session carries, when the check runs in one: it
/// stands in for the agent's own capabilities.
fn delegated_scope<'a>(data: &'a Data, check: &Check<'_>) -> &'a [String] {
    check
        .session_id
        .and_then(|id| data.sessions.get(id))
        .filter(|s| s.delegation_id.is_some())
        .map_or(&[], |s| s.scope_ceiling.as_slice())
}

/// Creates the check's session when it names one the gateway has not seen
/// (the guards' random session ids), for active agents only: a check from
/// an unknown or revoked agent creates nothing.
fn open_session(policy: &Policy, data: &mut Data, check: &Check<'_>) {
    let Some(id) = check.session_id else { return };
    if data
        .agents
        .get(check.agent_id)
        .is_some_and(|a| a.is_active())
    {
        data.session_for_check(id, check.agent_id, &policy.session_mode);
    }
}

fn evaluate(
    policy: &Policy,
    data: &mut Data,
    check: &Check<'_>,
    effect: &str,
    now: SystemTime,
) -> Outcome {
    let tool = check.action_name;
    let Some(agent) = data.agents.get(check.agent_id) else {
        return Outcome::Deny(format!("unknown agent `{}`", check.agent_id));
    };
    if !agent.is_active() {
        return Outcome::Deny(format!("agent `{}` is {}", agent.id, agent.status));
    }
    if policy.denies(tool) {
        return Outcome::Deny(format!("tool `{tool}` is on the policy's deny list"));
    }
    if policy.unlisted_tools == Unlisted::Deny && !policy.tools.contains_key(tool) {
        return Outcome::Deny(format!(
            "tool `{tool}` is not in the policy's [tools] table, and unlisted tools are denied"
        ));
    }
    let capability = policy.capabilities.get(tool);
    if let Some(capability) = capability {
        if !agent.capabilities.contains(capability)
            && !delegated_scope(data, check).contains(capability)
        {
            return Outcome::Deny(format!(
                "agent lacks the capability `{capability}` that `{tool}` requires"
            ));
        }
    }
    let session = check.session_id.and_then(|id| data.sessions.get(id));
    let mode = match (check.session_id, session) {
        (Some(id), Some(session)) => {
            let within = session
                .scope_ceiling
                .iter()
                .any(|s| s == tool || Some(s) == capability);
            if session.mode == "restricted" && !within {
                return Outcome::Deny(format!(
                    "session `{id}` is restricted and `{tool}` is outside its scope ceiling"
                ));
            }
            session.mode.clone()
        }
        _ => policy.session_mode.clone(),
    };
    if effect == "admin"
        && !policy
            .admin_allow
            .contains(&(check.agent_id.to_owned(), tool.to_owned()))
    {
        return Outcome::Deny(format!(
            "admin action `{tool}` is not allowed for this agent"
        ));
    }
    if effect == "destructive" || mode == "supervised" {
        if let Some(by) = approved_within_window(policy, data, check, now) {
            return Outcome::Allow(format!("{effect} action approved by {by}"));
        }
        let why = if effect == "destructive" {
            format!("destructive action `{tool}` requires approval")
        } else {
            format!("session is supervised: `{tool}` requires approval")
        };
        let (id, new) = pending_approval(policy, data, check, effect, now);
        return Outcome::Elevate(why, id, new);
    }
    Outcome::Allow(format!("{effect} action allowed"))
}

/// A test rule's verdict; an elevation goes through approvals as the
/// policy's own elevations do.
fn follow(
    policy: &Policy,
    data: &mut Data,
    check: &Check<'_>,
    effect: &str,
    now: SystemTime,
    scripted: Scripted<'_>,
) -> Outcome {
    let tool = check.action_name;
    match scripted {
        Scripted::Allow => Outcome::Allow(format!("`{tool}` allowed by the test rule")),
        Scripted::Deny(reason) => Outcome::Deny(reason.to_owned()),
        Scripted::Elevate => match approved_within_window(policy, data, check, now) {
            Some(by) => Outcome::Allow(format!("`{tool}` approved by {by}")),
            None => {
                let (id, new) = pending_approval(policy, data, check, effect, now);
                Outcome::Elevate(format!("`{tool}` requires approval (test rule)"), id, new)
            }
        },
    }
}

/// Whether `approval` was asked for what `check` asks, as the policy's
/// binding reads it.
fn covers(policy: &Policy, approval: &Approval, check: &Check<'_>) -> bool {
    let same_tool =
        approval.agent_id == check.agent_id && approval.action_name == check.action_name;
    let same_session = approval.session_id.as_deref() == check.session_id;
    let same_input = approval.action_input_summary.as_deref() == check.summary;
    match policy.approval_binding {
        ApprovalBinding::Tool => same_tool,
        ApprovalBinding::Session => same_tool && same_session,
        ApprovalBinding::Input => same_tool && same_session && same_input,
    }
}

/// Who approved this check within the elevation window. An `input`-bound
/// approval is used up by the check it allows.
fn approved_within_window(
    policy: &Policy,
    data: &mut Data,
    check: &Check<'_>,
    now: SystemTime,
) -> Option<String> {
    let approval = data
        .approvals
        .values_mut()
        .filter(|a| covers(policy, a, check))
        .filter(|a| a.status == ApprovalStatus::Approved && a.used_at.is_none())
        .find(|a| {
            a.decided
                .is_some_and(|d| now < after(d, policy.elevation_window))
        })?;
    if policy.approval_binding == ApprovalBinding::Input {
        approval.used_at = Some(rfc3339(now));
    }
    approval.decided_by.clone()
}

/// The pending approval for this check (as the binding reads it), creating
/// one if none waits; `true` when it is new.
fn pending_approval(
    policy: &Policy,
    data: &mut Data,
    check: &Check<'_>,
    effect: &str,
    now: SystemTime,
) -> (String, bool) {
    for approval in data.approvals.values_mut() {
        approval.refresh(now);
        if approval.status == ApprovalStatus::Pending && covers(policy, approval, check) {
            return (approval.id.clone(), false);
        }
    }
    let expires = after(now, policy.approval_expiry);
    let approval = Approval {
        id: new_id("apr"),
        agent_id: check.agent_id.to_owned(),
        org_id: ORG_ID.to_owned(),
        session_id: check.session_id.map(str::to_owned),
        action_name: check.action_name.to_owned(),
        action_effect: effect.to_owned(),
        action_input_summary: check.summary.map(str::to_owned),
        status: ApprovalStatus::Pending,
        created_at: rfc3339(now),
        expires_at: rfc3339(expires),
        decided_by: None,
        decided_at: None,
        used_at: None,
        expires,
        decided: None,
    };
    let id = approval.id.clone();
    data.approvals.insert(id.clone(), approval);
    (id, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{new_session, Agent};

    fn data_with_agent(capabilities: &[&str]) -> Data {
        let mut data = Data::default();
        data.agents.insert(
            "ag".into(),
            Agent {
                id: "ag".into(),
                name: "bot".into(),
                org_id: ORG_ID.into(),
                framework: "custom".into(),
                status: "active".into(),
                capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
                metadata: serde_json::Map::new(),
                public_key: None,
                created_at: String::new(),
            },
        );
        data
    }

    /// Active agents with these ids and no capabilities.
    fn data_with_agents(ids: &[&str]) -> Data {
        let mut data = data_with_agent(&[]);
        let template = data.agents["ag"].clone();
        for id in ids {
            let mut agent = template.clone();
            agent.id = (*id).to_owned();
            data.agents.insert((*id).to_owned(), agent);
        }
        data
    }

    fn check<'a>(tool: &'a str, effect: Option<&'a str>) -> Check<'a> {
        Check {
            agent_id: "ag",
            action_name: tool,
            action_effect: effect,
            session_id: Some("s"),
            summary: None,
        }
    }

    #[test]
    fn rules_apply_in_order() {
        let policy = Policy::default()
            .deny_tool("rm_rf")
            .require_capability("read_file", "files:read")
            .allow_admin("ag", "rotate_keys");
        let now = SystemTime::now();
        let mut data = data_with_agent(&[]);
        let v = decide(
            &policy,
            &mut data,
            &Check {
                agent_id: "nobody",
                ..check("x", None)
            },
            now,
        );
        assert!(!v.allowed && v.reason.contains("unknown agent"));
        let v = decide(&policy, &mut data, &check("rm_rf", Some("read")), now);
        assert!(v.reason.contains("deny list"), "{}", v.reason);
        let v = decide(&policy, &mut data, &check("read_file", Some("read")), now);
        assert!(v.reason.contains("files:read"));
        let v = decide(&policy, &mut data, &check("drop_db", Some("admin")), now);
        assert!(!v.allowed && v.reason.contains("admin"));
        assert!(
            decide(
                &policy,
                &mut data,
                &check("rotate_keys", Some("admin")),
                now
            )
            .allowed
        );
        let v = decide(&policy, &mut data, &check("wipe", Some("destructive")), now);
        assert!(v.elevation_required && v.approval_id.is_some());
        let again = decide(&policy, &mut data, &check("wipe", Some("destructive")), now);
        assert_eq!(
            again.approval_id, v.approval_id,
            "a pending approval is reused"
        );
        let v = decide(&policy, &mut data, &check("delete_user", None), now);
        assert!(v.elevation_required && v.reason.contains("classified as destructive"));
        let v = decide(&policy, &mut data, &check("search", None), now);
        assert!(v.allowed && v.reason.contains("classified as read"));
        let s = &data.sessions["s"];
        // The unknown agent's check neither created nor counted in "s"; the
        // two elevations count as denied.
        assert_eq!((s.total_calls, s.denied_calls, s.read_calls), (8, 6, 3));
    }

    #[test]
    fn restricted_and_supervised_sessions() {
        let policy = Policy::default().require_capability("read_file", "files:read");
        let now = SystemTime::now();
        let mut data = data_with_agent(&["files:read"]);
        data.sessions.insert(
            "s".into(),
            new_session(
                "s".into(),
                "ag",
                "mcp",
                None,
                "restricted",
                vec!["files:read".into()],
            ),
        );
        assert!(decide(&policy, &mut data, &check("read_file", Some("read")), now).allowed);
        let v = decide(
            &policy,
            &mut data,
            &check("send_mail", Some("mutating")),
            now,
        );
        assert!(!v.allowed && v.reason.contains("scope ceiling"));
        data.sessions.insert(
            "s".into(),
            new_session("s".into(), "ag", "mcp", None, "supervised", vec![]),
        );
        assert!(decide(&policy, &mut data, &check("search", Some("read")), now).elevation_required);
    }

    #[test]
    fn another_agents_session_is_refused_and_untouched() {
        let policy = Policy::default();
        let now = SystemTime::now();
        let mut data = data_with_agents(&["ag", "intruder"]);
        data.sessions.insert(
            "s".into(),
            new_session(
                "s".into(),
                "ag",
                "mcp",
                None,
                "restricted",
                vec!["search".into()],
            ),
        );
        let v = decide(
            &policy,
            &mut data,
            &Check {
                agent_id: "intruder",
                ..check("search", Some("read"))
            },
            now,
        );
        assert!(
            !v.allowed && v.reason.contains("belongs to another agent"),
            "{}",
            v.reason
        );
        let s = &data.sessions["s"];
        assert_eq!(
            (s.agent_id.as_str(), s.total_calls, s.denied_calls),
            ("ag", 0, 0)
        );
    }

    #[test]
    fn unknown_and_revoked_agents_create_no_session() {
        let policy = Policy::default();
        let now = SystemTime::now();
        let mut data = data_with_agent(&[]);
        let ghost = Check {
            agent_id: "ghost",
            session_id: Some("new"),
            ..check("search", Some("read"))
        };
        assert!(!decide(&policy, &mut data, &ghost, now).allowed);
        data.agents.get_mut("ag").unwrap().status = "revoked".into();
        let revoked = Check {
            session_id: Some("new2"),
            ..check("search", Some("read"))
        };
        assert!(!decide(&policy, &mut data, &revoked, now).allowed);
        assert!(data.sessions.is_empty(), "{:?}", data.sessions.keys());
    }

    #[test]
    fn a_given_effect_wins_over_the_name() {
        let policy = Policy::default();
        let now = SystemTime::now();
        let mut data = data_with_agent(&[]);
        // A destructive-sounding name with a read effect is a read.
        let v = decide(
            &policy,
            &mut data,
            &check("delete_cache", Some("read")),
            now,
        );
        assert!(
            v.allowed && v.reason == "read action allowed",
            "{}",
            v.reason
        );
        // A read-sounding name with a mutating (or "write") effect is a write.
        for effect in ["mutating", "write"] {
            let v = decide(&policy, &mut data, &check("search", Some(effect)), now);
            assert!(
                v.allowed && v.reason == "mutating action allowed",
                "{}",
                v.reason
            );
        }
        let s = &data.sessions["s"];
        assert_eq!((s.read_calls, s.write_calls), (1, 2));
    }

    #[test]
    fn the_policys_tools_table_raises_an_effect_and_never_lowers_it() {
        let policy = Policy::default()
            .tool_effect("purge_cache", "destructive")
            .unwrap()
            .tool_effect("drop_table", "read")
            .unwrap();
        let now = SystemTime::now();
        let mut data = data_with_agent(&[]);
        // The code claims read: the reviewed destructive wins, so it needs approval.
        let v = decide(&policy, &mut data, &check("purge_cache", Some("read")), now);
        assert!(v.elevation_required, "{}", v.reason);
        assert!(
            v.reason
                .contains("treated as destructive: the policy's [tools] entry"),
            "{}",
            v.reason
        );
        // The code claims destructive: a weaker reviewed effect changes nothing.
        let v = decide(
            &policy,
            &mut data,
            &check("drop_table", Some("destructive")),
            now,
        );
        assert!(v.elevation_required, "{}", v.reason);
        assert!(!v.reason.contains("[tools]"), "{}", v.reason);
    }

    #[test]
    fn unlisted_tools_can_be_denied() {
        let policy = Policy::default()
            .tool_effect("read_file", "read")
            .unwrap()
            .unlisted_tools(Unlisted::Deny);
        let now = SystemTime::now();
        let mut data = data_with_agent(&[]);
        assert!(decide(&policy, &mut data, &check("read_file", Some("read")), now).allowed);
        let v = decide(&policy, &mut data, &check("web_search", Some("read")), now);
        assert!(!v.allowed && !v.elevation_required);
        assert!(
            v.reason.contains("not in the policy's [tools] table"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn elevation_reasons_say_why() {
        let policy = Policy::default();
        let now = SystemTime::now();
        let mut data = data_with_agent(&[]);
        let v = decide(&policy, &mut data, &check("wipe", Some("destructive")), now);
        assert_eq!(v.reason, "destructive action `wipe` requires approval");
        data.sessions.insert(
            "s".into(),
            new_session("s".into(), "ag", "mcp", None, "supervised", vec![]),
        );
        let v = decide(&policy, &mut data, &check("search", Some("read")), now);
        assert_eq!(
            v.reason,
            "session is supervised: `search` requires approval"
        );
    }

    #[test]
    fn an_approval_allows_until_the_window_ends_not_at_its_end() {
        let window = std::time::Duration::from_secs(60);
        let policy = Policy::default().elevation_window(window);
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let mut data = data_with_agent(&[]);
        let v = decide(&policy, &mut data, &check("wipe", Some("destructive")), t0);
        let id = v.approval_id.unwrap();
        let approval = data.approvals.get_mut(&id).unwrap();
        approval.status = ApprovalStatus::Approved;
        approval.decided = Some(t0);
        approval.decided_by = Some("ops".into());
        let at = |secs| t0 + std::time::Duration::from_secs(secs);
        assert!(
            decide(
                &policy,
                &mut data,
                &check("wipe", Some("destructive")),
                at(59)
            )
            .allowed
        );
        let v = decide(
            &policy,
            &mut data,
            &check("wipe", Some("destructive")),
            at(60),
        );
        assert!(
            !v.allowed && v.elevation_required,
            "the window is over at its end"
        );
    }

    #[test]
    fn a_pending_approval_is_reused_only_for_the_same_agent_and_tool() {
        let policy = Policy::default();
        let now = SystemTime::now();
        let mut data = data_with_agents(&["ag", "other"]);
        let id = |data: &mut Data, agent, tool| {
            let c = Check {
                agent_id: agent,
                session_id: None,
                ..check(tool, Some("destructive"))
            };
            decide(&policy, data, &c, now).approval_id.unwrap()
        };
        let first = id(&mut data, "ag", "wipe");
        assert_eq!(id(&mut data, "ag", "wipe"), first);
        assert_ne!(id(&mut data, "ag", "drop_db"), first, "another tool");
        assert_ne!(id(&mut data, "other", "wipe"), first, "another agent");
    }

    #[test]
    fn classification() {
        assert_eq!(classify("delete_file"), "destructive");
        assert_eq!(classify("DropTable"), "destructive");
        assert_eq!(classify("send_email"), "mutating");
        assert_eq!(classify("web_search"), "read");
    }
}
