//! The tool manifest an agent program prints (`agenttrust_runtime::tools()`
//! as JSON), read here to start a policy from it and to keep the two in
//! step.

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use std::collections::BTreeMap;

use super::{known_effect, rank};

/// The declarations of one tool name.
#[derive(Default)]
pub(crate) struct Named<'a> {
    pub(crate) declarations: Vec<&'a ManifestTool>,
    /// The strongest effect declared for it.
    pub(crate) effect: Option<&'static str>,
}

/// One guarded tool of an agent program, as its `#[guarded]` attribute
/// declared it (the JSON of `agenttrust_runtime::ToolInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestTool {
    /// The name sent to the Guardian, or a constant path's text when
    /// `name_is_path` is set.
    pub name: String,
    /// Whether `name` is a path such as `Self::NAME`, known only at run time.
    #[serde(default)]
    pub name_is_path: bool,
    /// The declared effect, if any.
    #[serde(default)]
    pub effect: Option<String>,
    /// The function's name.
    #[serde(default)]
    pub function: String,
    /// Its module.
    #[serde(default)]
    pub module_path: String,
    /// Its source file.
    #[serde(default)]
    pub file: String,
    /// The line of its name.
    #[serde(default)]
    pub line: u32,
}

impl ManifestTool {
    /// `file:line (module::function)`, for reports.
    pub fn location(&self) -> String {
        format!(
            "{}:{} ({}::{})",
            self.file, self.line, self.module_path, self.function
        )
    }
}

/// An agent program's guarded tools.
///
/// ```
/// use agenttrust_gateway::Manifest;
/// // What `serde_json::to_string(&agenttrust_runtime::tools())` prints, or
/// // `{"tools": [..]}` around it (the manifest example's form).
/// let manifest = Manifest::from_json(r#"[
///     {"name": "read_file", "name_is_path": false, "effect": "read",
///      "function": "read_file", "module_path": "files", "file": "src/files.rs", "line": 12}
/// ]"#)?;
/// assert_eq!(manifest.tools[0].effect.as_deref(), Some("read"));
/// # Ok::<(), agenttrust_gateway::ManifestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// The tools, in the manifest's order.
    pub tools: Vec<ManifestTool>,
}

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a manifest.
    #[error("invalid manifest{}: {message}", .path.as_ref().map(|p| format!(" {p}")).unwrap_or_default())]
    Invalid {
        /// The file, when read from one.
        path: Option<String>,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ManifestJson {
    Bare(Vec<ManifestTool>),
    Wrapped { tools: Vec<ManifestTool> },
}

impl Manifest {
    /// Parses the JSON list of tools, bare or as `{"tools": [..]}`.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] with what is wrong.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        let invalid = |message: String| ManifestError::Invalid {
            path: None,
            message,
        };
        let parsed: ManifestJson = serde_json::from_str(text).map_err(|_| {
            // serde's untagged error says only "did not match": parse the
            // bare form again for a message with a line and column.
            let detail = serde_json::from_str::<Vec<ManifestTool>>(text)
                .err()
                .map_or_else(String::new, |e| format!(" ({e})"));
            invalid(format!(
                "expected a JSON array of tools or {{\"tools\": [..]}}{detail}"
            ))
        })?;
        let tools = match parsed {
            ManifestJson::Bare(tools) | ManifestJson::Wrapped { tools } => tools,
        };
        for tool in &tools {
            if let Some(effect) = &tool.effect {
                if known_effect(effect).is_none() {
                    return Err(invalid(format!(
                        "tool `{}` has the unknown effect `{effect}`",
                        tool.name
                    )));
                }
            }
        }
        Ok(Manifest { tools })
    }

    /// Reads and parses a manifest file.
    ///
    /// # Errors
    /// [`ManifestError`] naming the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: shown.clone(),
            source,
        })?;
        Manifest::from_json(&text).map_err(|e| match e {
            ManifestError::Invalid { message, .. } => ManifestError::Invalid {
                path: Some(shown),
                message,
            },
            other => other,
        })
    }

    /// The tools whose names are known here (not constant paths), by name:
    /// every function declaring it, and the strongest effect they declare.
    pub(crate) fn named(&self) -> BTreeMap<&str, Named<'_>> {
        let mut named: BTreeMap<&str, Named<'_>> = BTreeMap::new();
        for tool in self.tools.iter().filter(|t| !t.name_is_path) {
            let entry = named.entry(tool.name.as_str()).or_default();
            entry.declarations.push(tool);
            let effect = tool.effect.as_deref().and_then(known_effect);
            if let Some(effect) = effect {
                if entry.effect.is_none_or(|e| rank(effect) > rank(e)) {
                    entry.effect = Some(effect);
                }
            }
        }
        named
    }

    /// A policy file listing every tool with its declared effect, for a
    /// security team to review and edit: `[tools]` entries (each with the
    /// function it came from), an empty deny list, `unlisted_tools`, and
    /// notes on what it could not list. It parses as a [`Policy`](super::Policy).
    ///
    /// ```
    /// use agenttrust_gateway::{Manifest, Policy};
    /// let manifest = Manifest::from_json(r#"[{"name": "delete_file", "effect": "destructive"}]"#)?;
    /// let text = manifest.policy_skeleton();
    /// assert!(text.contains("delete_file = \"destructive\""));
    /// assert!(Policy::from_toml(&text).is_ok());
    /// # Ok::<(), agenttrust_gateway::ManifestError>(())
    /// ```
    pub fn policy_skeleton(&self) -> String {
        let mut out = String::from(SKELETON_HEAD);
        let named = self.named();
        let _ = writeln!(out, "\n[tools]");
        for (name, tool) in &named {
            for declaration in &tool.declarations {
                let effect = declaration.effect.as_deref().unwrap_or("no effect");
                let _ = writeln!(out, "# {effect}: {}", declaration.location());
            }
            match tool.effect {
                Some(effect) => {
                    let _ = writeln!(out, "{} = \"{effect}\"", toml_key(name));
                }
                None => {
                    let _ = writeln!(
                        out,
                        "# no effect declared (the Guardian classifies it by name): choose one\n\
                         # {} = \"read\"",
                        toml_key(name)
                    );
                }
            }
        }
        let at_run_time: Vec<&ManifestTool> =
            self.tools.iter().filter(|t| t.name_is_path).collect();
        if !at_run_time.is_empty() {
            let _ = writeln!(
                out,
                "\n# Named by a constant path (`Self::NAME`), known only at run time: add\n\
                 # their entries by hand."
            );
            for tool in at_run_time {
                let effect = tool.effect.as_deref().unwrap_or("?");
                let _ = writeln!(out, "#   {} ({effect}) at {}", tool.name, tool.location());
            }
        }
        out
    }
}

const SKELETON_HEAD: &str = "\
# AgentTrust local gateway policy, started from the tool manifest
# (`agenttrust-gateway policy init --from-manifest`). Review it, then check
# code and policy stay in step with `agenttrust-gateway policy check`.
#
# [tools]: each tool's reviewed effect. A check of a listed tool is judged
# as at least this effect, whatever effect the agent's code sends.
# unlisted_tools: \"allow\" decides unlisted tools by their own effect;
# \"deny\" refuses them, once this file lists everything that may run.
unlisted_tools = \"allow\"

# Tools no agent may run:
deny = []
";

/// `name` as a TOML key: bare when it can be, quoted otherwise.
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_mistakes_are_named() {
        let bare = Manifest::from_json(r#"[{"name": "a", "effect": "read"}]"#).unwrap();
        let wrapped = Manifest::from_json(
            r#"{"tools": [{"name": "a", "effect": "read"}], "capabilities": ["tool:a"]}"#,
        )
        .unwrap();
        assert_eq!(bare, wrapped);
        let err = Manifest::from_json(r#"[{"name": "a", "effect": "deletes"}]"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown effect `deletes`"),
            "{err}"
        );
        let err = Manifest::from_json(r#"[{"effect": "read"}]"#).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
    }

    #[test]
    fn odd_names_are_quoted_and_the_skeleton_round_trips() {
        let manifest = Manifest::from_json(
            r#"[{"name": "files.read", "effect": "read"}, {"name": "say \"hi\"", "effect": "mutating"},
                {"name": "bare", "effect": null}, {"name": "Self::NAME", "name_is_path": true, "effect": "admin"}]"#,
        )
        .unwrap();
        let text = manifest.policy_skeleton();
        let policy = super::super::Policy::from_toml(&text).unwrap();
        assert_eq!(policy.tools.get("files.read"), Some(&"read"));
        assert_eq!(policy.tools.get("say \"hi\""), Some(&"mutating"));
        assert!(
            !policy.tools.contains_key("bare"),
            "no effect: left to the reviewer"
        );
        assert!(text.contains("#   Self::NAME (admin)"), "{text}");
    }
}
