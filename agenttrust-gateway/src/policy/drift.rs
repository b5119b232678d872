//! Code and policy in step: the tools a policy does not mention, the
//! entries no tool uses, and reviewed effects that differ from the code's.

use std::collections::BTreeSet;
use std::fmt;

use super::{Manifest, ManifestTool, Policy};

/// Where a policy and a program's manifest disagree
/// ([`Policy::drift`]).
///
/// ```
/// use agenttrust_gateway::{Manifest, Policy};
/// let manifest = Manifest::from_json(r#"[{"name": "read_file", "effect": "read"},
///                                        {"name": "delete_file", "effect": "destructive"}]"#)?;
/// let policy = Policy::from_toml(r#"
///     deny = ["format_disk"]
///     [tools]
///     read_file = "read"
/// "#).unwrap();
/// let drift = policy.drift(&manifest);
/// assert_eq!(drift.unmentioned[0].name, "delete_file");
/// assert_eq!(drift.unused, ["format_disk"]);
/// assert!(!drift.is_empty());
/// # Ok::<(), agenttrust_gateway::ManifestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Drift {
    /// Tools of the program the policy mentions nowhere (not in `[tools]`,
    /// `deny`, `[capabilities]` or `admin_allow`).
    pub unmentioned: Vec<ManifestTool>,
    /// Tool names the policy mentions that no tool of the program has.
    pub unused: Vec<String>,
    /// `(tool, effect in the code, effect in [tools])` where they differ
    /// (the Guardian judges by the stronger). A name several functions
    /// declare has the strongest of their effects.
    pub effect_mismatches: Vec<(String, Option<String>, String)>,
    /// Tools named by a constant path: not checked, their names are known
    /// only at run time.
    pub unchecked: Vec<ManifestTool>,
}

impl Drift {
    /// Whether code and policy are in step (tools named at run time aside).
    pub fn is_empty(&self) -> bool {
        self.unmentioned.is_empty() && self.unused.is_empty() && self.effect_mismatches.is_empty()
    }
}

impl Policy {
    /// Compares the policy with a program's manifest.
    pub fn drift(&self, manifest: &Manifest) -> Drift {
        let named = manifest.named();
        let mentioned: BTreeSet<&str> = self
            .tools
            .keys()
            .chain(self.deny_list.iter())
            .chain(self.capabilities.keys())
            .chain(self.admin_allow.iter().map(|(_, tool)| tool))
            .map(String::as_str)
            .collect();
        let effect_mismatches = named
            .iter()
            .filter_map(|(name, tool)| {
                let reviewed = *self.tools.get(*name)?;
                (tool.effect != Some(reviewed)).then(|| {
                    let declared = tool.effect.map(str::to_owned);
                    ((*name).to_owned(), declared, reviewed.to_owned())
                })
            })
            .collect();
        Drift {
            unmentioned: named
                .iter()
                .filter(|(name, _)| !mentioned.contains(*name))
                .flat_map(|(_, tool)| tool.declarations.iter().map(|t| (*t).clone()))
                .collect(),
            unused: mentioned
                .iter()
                .filter(|name| !named.contains_key(*name))
                .map(|name| (*name).to_owned())
                .collect(),
            effect_mismatches,
            unchecked: manifest
                .tools
                .iter()
                .filter(|t| t.name_is_path)
                .cloned()
                .collect(),
        }
    }
}

/// The report `agenttrust-gateway policy check` prints.
impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for tool in &self.unmentioned {
            let effect = tool.effect.as_deref().unwrap_or("no effect");
            writeln!(
                f,
                "not in the policy: {} ({effect}) at {}",
                tool.name,
                tool.location()
            )?;
        }
        for name in &self.unused {
            writeln!(f, "no such tool in the code: {name}")?;
        }
        for (name, declared, reviewed) in &self.effect_mismatches {
            let declared = declared.as_deref().unwrap_or("no effect");
            writeln!(
                f,
                "effect differs: {name} is {declared} in the code, {reviewed} in the policy"
            )?;
        }
        for tool in &self.unchecked {
            writeln!(
                f,
                "not checked (named at run time): {} at {}",
                tool.name,
                tool.location()
            )?;
        }
        if self.is_empty() {
            writeln!(f, "code and policy are in step")?;
        }
        Ok(())
    }
}
