//! `agenttrust-gateway approvals list | approve ID | deny ID` against a
//! running gateway, for people at a terminal and for scripts (exit codes,
//! `--json`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// Exit codes a script can tell apart.
pub(crate) mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Anything else (an unexpected answer).
    pub const ERROR: u8 = 1;
    /// No such approval.
    pub const NOT_FOUND: u8 = 3;
    /// The approval was already decided or expired.
    pub const CONFLICT: u8 = 4;
    /// The API key was missing or refused.
    pub const AUTH: u8 = 5;
    /// The gateway could not be reached.
    pub const UNREACHABLE: u8 = 6;
}

/// Where the gateway is and how to talk to it.
#[derive(Args)]
pub(crate) struct Target {
    /// The gateway's base URL.
    #[arg(long, env = "AGENTTRUST_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The org API key (default: $AGENTTRUST_API_KEY).
    #[arg(long, env = "AGENTTRUST_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What to do with approvals.
#[derive(Subcommand)]
pub(crate) enum Action {
    /// List approvals, newest first.
    List {
        /// pending, approved, denied, expired or all.
        #[arg(long, default_value = "pending")]
        status: String,
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
    },
    /// Approve a pending approval.
    Approve {
        /// The approval id (apr_...).
        id: String,
        /// Who decides (recorded as decided_by).
        #[arg(long, env = "USER", default_value = "cli")]
        by: String,
    },
    /// Deny a pending approval.
    Deny {
        /// The approval id (apr_...).
        id: String,
        /// Who decides (recorded as decided_by).
        #[arg(long, env = "USER", default_value = "cli")]
        by: String,
    },
}

/// Runs `action`, printing the answer; the exit code says how it went.
pub(crate) async fn run(target: Target, action: Action) -> ExitCode {
    let http = reqwest::Client::new();
    let base = target.url.trim_end_matches('/');
    let request = match &action {
        Action::List { status, agent } => {
            let mut query = vec![("status", status.as_str())];
            if let Some(agent) = agent {
                query.push(("agent_id", agent));
            }
            http.get(format!("{base}/mcp/approvals")).query(&query)
        }
        Action::Approve { id, by } | Action::Deny { id, by } => {
            let verb = if matches!(action, Action::Approve { .. }) {
                "approve"
            } else {
                "deny"
            };
            let mut url = match reqwest::Url::parse(base) {
                Ok(url) => url,
                Err(e) => return fail(exit::ERROR, &format!("invalid --url `{base}`: {e}")),
            };
            // The id is one path segment, whatever it contains.
            if let Ok(mut segments) = url.path_segments_mut() {
                segments
                    .pop_if_empty()
                    .extend(["mcp", "approvals", id, verb]);
            }
            http.post(url).json(&json!({ "decided_by": by }))
        }
    };
    let request = match &target.api_key {
        Some(key) => request.header("X-API-Key", key),
        None => request,
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return fail(exit::UNREACHABLE, &format!("cannot reach {base}: {e}")),
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        let message = body["message"].as_str().unwrap_or("no message").to_owned();
        let code = match status {
            401 | 403 => exit::AUTH,
            404 => exit::NOT_FOUND,
            409 => exit::CONFLICT,
            _ => exit::ERROR,
        };
        if target.json {
            println!("{}", json!({"error": message, "status": status}));
        }
        return fail(code, &format!("HTTP {status}: {message}"));
    }
    if target.json {
        println!("{body}");
    } else if let Some(approvals) = body.as_array() {
        print_table(approvals);
    } else {
        println!(
            "{} {} (decided by {})",
            text(&body["id"]),
            text(&body["status"]),
            text(&body["decided_by"])
        );
    }
    ExitCode::from(exit::OK)
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

fn print_table(approvals: &[Value]) {
    if approvals.is_empty() {
        println!("no approvals");
        return;
    }
    println!(
        "{:<38} {:<9} {:<22} {:<12} {:<24} {:<26} SUMMARY",
        "ID", "STATUS", "TOOL", "EFFECT", "EXPIRES", "AGENT"
    );
    for a in approvals {
        println!(
            "{:<38} {:<9} {:<22} {:<12} {:<24} {:<26} {}",
            text(&a["id"]),
            text(&a["status"]),
            text(&a["action_name"]),
            text(&a["action_effect"]),
            text(&a["expires_at"]),
            text(&a["agent_id"]),
            a["action_input_summary"].as_str().unwrap_or("")
        );
    }
}
