//! The Guardian's policy: from a TOML file or built in code.

mod drift;
mod manifest;

pub use drift::Drift;
pub use manifest::{Manifest, ManifestError, ManifestTool};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// What the local Guardian enforces.
///
/// ```
/// use std::time::Duration;
/// use agenttrust_gateway::Policy;
///
/// let policy = Policy::default()
///     .deny_tool("rm_rf")
///     .require_capability("read_file", "files:read")
///     .allow_admin("ag_ops", "rotate_keys")
///     .elevation_window(Duration::from_secs(60));
/// assert!(policy.denies("rm_rf"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) deny_list: BTreeSet<String>,
    pub(crate) capabilities: BTreeMap<String, String>,
    pub(crate) admin_allow: BTreeSet<(String, String)>,
    pub(crate) elevation_window: Duration,
    pub(crate) approval_expiry: Duration,
    pub(crate) check_latency: Duration,
    pub(crate) session_mode: String,
    pub(crate) server_sessions: BTreeMap<String, ServerSession>,
    pub(crate) approval_binding: ApprovalBinding,
    pub(crate) notify_url: Option<String>,
    /// The reviewed effect of each tool (`[tools]`).
    pub(crate) tools: BTreeMap<String, &'static str>,
    pub(crate) unlisted_tools: Unlisted,
    /// WIMSE tokens only with a proof of possession.
    pub(crate) wimse_proof_required: bool,
}

/// What the Guardian does with a tool the policy's `[tools]` table does
/// not list.
///
/// ```
/// use agenttrust_gateway::{Policy, Unlisted};
/// let policy = Policy::default().tool_effect("read_file", "read")?.unlisted_tools(Unlisted::Deny);
/// # let _ = policy;
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unlisted {
    /// Decided by its declared effect like any tool (the default).
    #[default]
    Allow,
    /// Denied: only the tools the policy lists may run.
    Deny,
}

/// The effects in increasing order of what they may do.
pub(crate) const EFFECTS: [&str; 4] = ["read", "mutating", "destructive", "admin"];

/// `effect` as the Guardian spells it (`write` is an alias of `mutating`).
pub(crate) fn known_effect(effect: &str) -> Option<&'static str> {
    match effect {
        "write" => Some("mutating"),
        _ => EFFECTS.iter().copied().find(|e| *e == effect),
    }
}

/// The rank of a known effect in [`EFFECTS`].
pub(crate) fn rank(effect: &str) -> usize {
    EFFECTS.iter().position(|e| *e == effect).unwrap_or(0)
}

/// What one approval lets the agent do again, within the elevation window.
///
/// ```
/// use agenttrust_gateway::{ApprovalBinding, Policy};
/// let policy = Policy::default().approval_binding(ApprovalBinding::Input);
/// assert_eq!(ApprovalBinding::default(), ApprovalBinding::Tool);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalBinding {
    /// The same agent runs the same tool, in any session, with any input:
    /// the product guide's elevation window, so policies developed here
    /// behave as on the real gateway (the default).
    #[default]
    Tool,
    /// The same agent, tool and session.
    Session,
    /// The same agent, tool, session and exact input summary, once: the
    /// approval is used up by the check it allows.
    Input,
}

/// The mode and scope ceiling of sessions initialized for one MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSession {
    pub(crate) mode: String,
    #[serde(default)]
    pub(crate) scope_ceiling: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            deny_list: BTreeSet::new(),
            capabilities: BTreeMap::new(),
            admin_allow: BTreeSet::new(),
            elevation_window: Duration::from_secs(300),
            approval_expiry: Duration::from_secs(300),
            check_latency: Duration::ZERO,
            session_mode: "open".to_owned(),
            server_sessions: BTreeMap::new(),
            approval_binding: ApprovalBinding::Tool,
            notify_url: None,
            tools: BTreeMap::new(),
            unlisted_tools: Unlisted::Allow,
            wimse_proof_required: false,
        }
    }
}

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid policy.
    #[error("invalid policy file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with its location.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default)]
    capabilities: BTreeMap<String, String>,
    #[serde(default)]
    admin_allow: Vec<AdminAllow>,
    #[serde(default)]
    elevation_window_secs: Option<f64>,
    #[serde(default)]
    approval_expiry_secs: Option<f64>,
    #[serde(default)]
    check_latency_ms: Option<f64>,
    #[serde(default)]
    session_mode: Option<String>,
    #[serde(default)]
    sessions: BTreeMap<String, ServerSession>,
    #[serde(default)]
    approval_binding: Option<ApprovalBinding>,
    #[serde(default)]
    notify_url: Option<String>,
    #[serde(default)]
    tools: BTreeMap<String, String>,
    #[serde(default)]
    unlisted_tools: Option<Unlisted>,
    #[serde(default)]
    wimse_require_proof: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminAllow {
    agent: String,
    tool: String,
}

const SESSION_MODES: [&str; 3] = ["open", "restricted", "supervised"];

impl Policy {
    /// Parses a policy from TOML text (see the README for the format).
    ///
    /// ```
    /// let policy = agenttrust_gateway::Policy::from_toml(r#"
    ///     deny = ["rm_rf"]
    ///     elevation_window_secs = 60
    ///     [capabilities]
    ///     read_file = "files:read"
    /// "#).unwrap();
    /// assert!(policy.denies("rm_rf"));
    /// ```
    ///
    /// # Errors
    /// A message naming the offending key or value.
    pub fn from_toml(text: &str) -> Result<Policy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut policy = Policy {
            deny_list: file.deny.into_iter().collect(),
            capabilities: file.capabilities,
            admin_allow: file
                .admin_allow
                .into_iter()
                .map(|a| (a.agent, a.tool))
                .collect(),
            ..Policy::default()
        };
        for (server, session) in file.sessions {
            check_mode(&format!("sessions.{server}.mode"), &session.mode)?;
            policy.server_sessions.insert(server, session);
        }
        if let Some(secs) = file.elevation_window_secs {
            policy.elevation_window = seconds("elevation_window_secs", secs)?;
        }
        if let Some(secs) = file.approval_expiry_secs {
            policy.approval_expiry = seconds("approval_expiry_secs", secs)?;
        }
        if let Some(ms) = file.check_latency_ms {
            policy.check_latency = seconds("check_latency_ms", ms / 1000.0)?;
        }
        if let Some(mode) = file.session_mode {
            check_mode("session_mode", &mode)?;
            policy.session_mode = mode;
        }
        if let Some(binding) = file.approval_binding {
            policy.approval_binding = binding;
        }
        if let Some(url) = file.notify_url {
            policy = policy.notify_url(url)?;
        }
        for (tool, effect) in file.tools {
            policy = policy
                .tool_effect(&tool, &effect)
                .map_err(|e| format!("tools.{tool}: {e}"))?;
        }
        if let Some(unlisted) = file.unlisted_tools {
            policy.unlisted_tools = unlisted;
        }
        if let Some(required) = file.wimse_require_proof {
            policy.wimse_proof_required = required;
        }
        Ok(policy)
    }

    /// Reads and parses a policy file.
    ///
    /// # Errors
    /// [`PolicyError`] naming the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        Policy::from_toml(&text).map_err(|message| PolicyError::Invalid {
            path: shown,
            message,
        })
    }

    /// Denies `tool` for every agent.
    #[must_use]
    pub fn deny_tool(mut self, tool: impl Into<String>) -> Self {
        self.deny_list.insert(tool.into());
        self
    }

    /// Requires agents calling `tool` to hold `capability`.
    #[must_use]
    pub fn require_capability(
        mut self,
        tool: impl Into<String>,
        capability: impl Into<String>,
    ) -> Self {
        self.capabilities.insert(tool.into(), capability.into());
        self
    }

    /// Allows the admin-effect `tool` for `agent_id`.
    #[must_use]
    pub fn allow_admin(mut self, agent_id: impl Into<String>, tool: impl Into<String>) -> Self {
        self.admin_allow.insert((agent_id.into(), tool.into()));
        self
    }

    /// How long an approval lets the same agent run the same tool (default 5 min).
    #[must_use]
    pub fn elevation_window(mut self, window: Duration) -> Self {
        self.elevation_window = window;
        self
    }

    /// How long a pending approval waits for a decision (default 5 min).
    #[must_use]
    pub fn approval_expiry(mut self, expiry: Duration) -> Self {
        self.approval_expiry = expiry;
        self
    }

    /// What one approval covers (default [`ApprovalBinding::Tool`]).
    #[must_use]
    pub fn approval_binding(mut self, binding: ApprovalBinding) -> Self {
        self.approval_binding = binding;
        self
    }

    /// Where to POST a JSON message for each new approval (a Slack-style
    /// `text` plus the approval's fields), retried with backoff and never
    /// delaying the check.
    ///
    /// ```
    /// let policy = agenttrust_gateway::Policy::default().notify_url("http://127.0.0.1:9000/hook")?;
    /// assert!(agenttrust_gateway::Policy::default().notify_url("not a url").is_err());
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    /// A URL that is not absolute `http` or `https`.
    pub fn notify_url(mut self, url: impl Into<String>) -> Result<Self, String> {
        let url = url.into();
        match url.split_once("://") {
            Some(("http" | "https", rest)) if !rest.is_empty() => {
                self.notify_url = Some(url);
                Ok(self)
            }
            _ => Err(format!(
                "notify_url must be an http:// or https:// URL, not `{url}`"
            )),
        }
    }

    /// An artificial delay before every check answer, for experiments.
    #[must_use]
    pub fn check_latency(mut self, latency: Duration) -> Self {
        self.check_latency = latency;
        self
    }

    /// The mode of sessions created without one (`open` by default).
    #[must_use]
    pub fn session_mode(mut self, mode: impl Into<String>) -> Self {
        self.session_mode = mode.into();
        self
    }

    /// Sessions initialized for MCP server `server_id` get `mode` and, when
    /// restricted, may only call the tools (or capabilities) in `ceiling`.
    #[must_use]
    pub fn server_session<I, S>(
        mut self,
        server_id: impl Into<String>,
        mode: impl Into<String>,
        ceiling: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.server_sessions.insert(
            server_id.into(),
            ServerSession {
                mode: mode.into(),
                scope_ceiling: ceiling.into_iter().map(Into::into).collect(),
            },
        );
        self
    }

    /// The reviewed effect of `tool` (the `[tools]` table): a check of it is
    /// treated as at least this effect, whatever effect the agent sends, so
    /// code claiming `read` for a destructive tool still needs an approval.
    /// The policy raises an effect, never lowers it.
    ///
    /// ```
    /// let policy = agenttrust_gateway::Policy::default().tool_effect("purge", "destructive")?;
    /// assert!(agenttrust_gateway::Policy::default().tool_effect("purge", "deletes").is_err());
    /// # let _ = policy;
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    /// An effect other than read, mutating (or write), destructive, admin.
    pub fn tool_effect(mut self, tool: impl Into<String>, effect: &str) -> Result<Self, String> {
        let effect = known_effect(effect).ok_or_else(|| {
            format!("effect must be read, mutating, destructive or admin, not `{effect}`")
        })?;
        self.tools.insert(tool.into(), effect);
        Ok(self)
    }

    /// What happens to tools the `[tools]` table does not list (default
    /// [`Unlisted::Allow`]).
    #[must_use]
    pub fn unlisted_tools(mut self, unlisted: Unlisted) -> Self {
        self.unlisted_tools = unlisted;
        self
    }

    /// Issues WIMSE workload tokens only with a proof of possession of the
    /// agent's key (default: optional).
    #[must_use]
    pub fn require_wimse_proof(mut self, required: bool) -> Self {
        self.wimse_proof_required = required;
        self
    }

    /// Whether `tool` is on the deny list.
    pub fn denies(&self, tool: &str) -> bool {
        self.deny_list.contains(tool)
    }
}

fn check_mode(key: &str, mode: &str) -> Result<(), String> {
    if SESSION_MODES.contains(&mode) {
        Ok(())
    } else {
        Err(format!(
            "{key} must be open, restricted or supervised, not `{mode}`"
        ))
    }
}

fn seconds(key: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{key} must be a non-negative number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_file_parses() {
        let p = Policy::from_toml(
            r#"
            deny = ["rm_rf", "format_disk"]
            elevation_window_secs = 30
            approval_expiry_secs = 0.5
            check_latency_ms = 1
            session_mode = "supervised"
            [sessions.files]
            mode = "restricted"
            scope_ceiling = ["read_file"]
            [capabilities]
            read_file = "files:read"
            [[admin_allow]]
            agent = "ag_ops"
            tool = "rotate_keys"
            "#,
        )
        .unwrap();
        assert!(p.denies("format_disk"));
        assert_eq!(p.capabilities["read_file"], "files:read");
        assert!(p
            .admin_allow
            .contains(&("ag_ops".into(), "rotate_keys".into())));
        assert_eq!(p.approval_expiry, Duration::from_millis(500));
        assert_eq!(p.check_latency, Duration::from_millis(1));
        assert_eq!(p.session_mode, "supervised");
        assert_eq!(p.server_sessions["files"].scope_ceiling, ["read_file"]);
    }

    #[test]
    fn mistakes_are_named() {
        assert!(Policy::from_toml("denny = []")
            .unwrap_err()
            .contains("denny"));
        assert!(Policy::from_toml("elevation_window_secs = -1")
            .unwrap_err()
            .contains("elevation_window_secs"));
        assert!(Policy::from_toml("session_mode = \"chaos\"")
            .unwrap_err()
            .contains("session_mode"));
        let err = Policy::from_toml("[tools]\npurge = \"deletes\"").unwrap_err();
        assert!(
            err.contains("tools.purge") && err.contains("`deletes`"),
            "{err}"
        );
        assert!(Policy::from_toml("unlisted_tools = \"maybe\"")
            .unwrap_err()
            .contains("unlisted_tools"));
    }
}

#[cfg(test)]
mod readme {
    /// The commented example in the README must stay a valid policy.
    #[test]
    fn readme_policy_example_parses() {
        let readme = include_str!("../../README.md");
        let start = readme.find("```toml\n").expect("README has a TOML example") + 8;
        let end = start + readme[start..].find("```").expect("closed");
        let policy = super::Policy::from_toml(&readme[start..end]).expect("README policy parses");
        assert!(policy.denies("rm_rf"));
        assert_eq!(policy.server_sessions["files"].mode, "restricted");
        assert_eq!(policy.tools["files.delete_file"], "destructive");
    }
}
