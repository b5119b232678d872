//! The page's HTML. maud escapes every interpolated value, so a tool name
//! or summary containing markup renders as text.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use maud::{html, Markup, DOCTYPE};

use crate::store::{Approval, ApprovalStatus, Data, EventRecord};

/// Recently decided approvals shown.
const DECIDED_SHOWN: usize = 20;
/// Latest telemetry events shown per agent.
const EVENTS_PER_AGENT: usize = 5;

/// What the dashboard shows, read under the lock and rendered after it.
pub(crate) struct View {
    pending: Vec<(Approval, Duration)>,
    decided: Vec<Approval>,
    events: BTreeMap<String, Vec<EventRecord>>,
}

impl View {
    pub(crate) fn of(data: &mut Data, now: SystemTime) -> View {
        let mut pending = Vec::new();
        let mut decided = Vec::new();
        for approval in data.approvals.values_mut() {
            approval.refresh(now);
            if approval.status == ApprovalStatus::Pending {
                let left = approval.expires.duration_since(now).unwrap_or_default();
                pending.push((approval.clone(), left));
            } else {
                decided.push(approval.clone());
            }
        }
        pending.sort_by(|a, b| b.0.created_at.cmp(&a.0.created_at));
        let when = |a: &Approval| a.decided_at.clone().unwrap_or_else(|| a.expires_at.clone());
        decided.sort_by_key(|a| std::cmp::Reverse(when(a)));
        decided.truncate(DECIDED_SHOWN);
        let mut events: BTreeMap<String, Vec<EventRecord>> = BTreeMap::new();
        for event in data.events.kept().iter().rev() {
            let list = events.entry(event.agent_id().to_owned()).or_default();
            if list.len() < EVENTS_PER_AGENT {
                list.push(event.record());
            }
        }
        View {
            pending,
            decided,
            events,
        }
    }
}

fn layout(title: &str, refresh: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if refresh { meta http-equiv="refresh" content="2"; }
                title { (title) }
                style { (STYLE) }
            }
            body { (body) }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}\
.notice{background:#fff3cd;padding:.5rem 1rem}.error{background:#f8d7da;padding:.5rem 1rem}form.inline{display:inline}\
code{font-size:.9em}";

/// The login form: the key goes in a POST body, never a URL.
pub(crate) fn login(error: Option<&str>) -> Markup {
    layout(
        "agenttrust-gateway: log in",
        false,
        html! {
            h1 { "Approvals" }
            @if let Some(error) = error { p.error { (error) } }
            form method="post" action="/ui/login" {
                p { label { "Organization API key " input type="password" name="api_key" autocomplete="off" required; } }
                p { label { "Your name or e-mail (recorded with each decision) " input type="text" name="name" required; } }
                p { button type="submit" { "Log in" } }
            }
        },
    )
}

fn left(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

fn status_word(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Denied => "denied",
        ApprovalStatus::Expired => "expired",
    }
}

/// Pending approvals with their buttons, recent decisions, recent telemetry.
pub(crate) fn dashboard(view: &View, name: &str, csrf: &str, notice: Option<&str>) -> Markup {
    layout(
        "agenttrust-gateway: approvals",
        true,
        html! {
            h1 { "Approvals" }
            p {
                "Logged in as " strong { (name) } ". "
                form.inline method="post" action="/ui/logout" {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Log out" }
                }
            }
            @if let Some(notice) = notice { p.notice { (notice) } }
            h2 { "Pending (" (view.pending.len()) ")" }
            @if view.pending.is_empty() {
                p #no-pending { "Nothing is waiting for a decision." }
            } @else {
                table #pending {
                    tr { th { "Agent" } th { "Tool" } th { "Effect" } th { "Input summary" } th { "Session" } th { "Requested at" } th { "Time left" } th { "Decide" } }
                    @for (a, time_left) in &view.pending {
                        tr id=(a.id) {
                            td { code { (a.agent_id) } }
                            td.tool { (a.action_name) }
                            td { (a.action_effect) }
                            td.summary { (a.action_input_summary.as_deref().unwrap_or("")) }
                            td { code { (a.session_id.as_deref().unwrap_or("")) } }
                            td { (a.created_at) }
                            td.left { (left(*time_left)) }
                            td {
                                form.inline method="post" action={ "/ui/approvals/" (a.id) "/approve" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.approve type="submit" { "Approve" }
                                }
                                " "
                                form.inline method="post" action={ "/ui/approvals/" (a.id) "/deny" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.deny type="submit" { "Deny" }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Recently decided" }
            @if view.decided.is_empty() {
                p { "None yet." }
            } @else {
                table #decided {
                    tr { th { "Agent" } th { "Tool" } th { "Input summary" } th { "Status" } th { "Decided by" } th { "At" } }
                    @for a in &view.decided {
                        tr id=(a.id) {
                            td { code { (a.agent_id) } }
                            td.tool { (a.action_name) }
                            td.summary { (a.action_input_summary.as_deref().unwrap_or("")) }
                            td.status { (status_word(a.status)) }
                            td { (a.decided_by.as_deref().unwrap_or("")) }
                            td { (a.decided_at.as_deref().unwrap_or(&a.expires_at)) }
                        }
                    }
                }
            }
            h2 { "Latest telemetry" }
            @if view.events.is_empty() {
                p { "No tool calls reported yet." }
            }
            @for (agent, events) in &view.events {
                h3 { code { (agent) } }
                table.events {
                    tr { th { "Tool" } th { "Success" } th { "Duration" } th { "Error type" } th { "At" } }
                    @for e in events {
                        tr {
                            td.tool { (e.tool_name) }
                            td { (if e.success { "yes" } else { "no" }) }
                            td { (e.duration_ms) " ms" }
                            td { (e.error_type.as_deref().unwrap_or("")) }
                            td { (e.timestamp) }
                        }
                    }
                }
            }
        },
    )
}
