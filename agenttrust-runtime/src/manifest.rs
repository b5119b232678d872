//! The tool manifest (feature `manifest`): every `#[guarded]` function
//! registers its name, effect and location at compile time (collected by
//! `inventory`), so a program can list what it guards, and prove it to a
//! security team.

use std::sync::OnceLock;

use serde::Serialize;

/// One guarded function, as its attribute declared it (feature `manifest`).
///
/// ```
/// for tool in agenttrust_runtime::tools() {
///     println!("{} ({:?}) at {}:{}", tool.name, tool.effect, tool.file, tool.line);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ToolInfo {
    /// The tool name sent to the Guardian. When the attribute named it with
    /// a constant path (`name = Self::NAME`), this is that path's text and
    /// `name_is_path` is set: the value is only known where the function runs.
    pub name: &'static str,
    /// Whether `name` is the text of a constant path rather than the name.
    pub name_is_path: bool,
    /// The effect written in the attribute, if any.
    pub effect: Option<&'static str>,
    /// The function's name.
    pub function: &'static str,
    /// The module the function is in.
    pub module_path: &'static str,
    /// The source file.
    pub file: &'static str,
    /// The line of the function's name.
    pub line: u32,
}

/// One guarded fn's manifest entry as its attribute registers it: a single
/// string, so each fn adds one small static rather than a seven-field one
/// (it builds faster); [`tools`] decodes the entries once.
///
/// The layout: `n` (a name) or `p` (a constant path's text), then the name,
/// the effect (empty for none) and the function, each as its byte length,
/// `:` and its text (so a name may hold any character); then the module
/// path, the file and the line, separated by NUL (which none of them can
/// hold). The attribute writes the part up to the function
/// (`agenttrust-macros`, `expand::registration`), `register_tool!` the rest.
#[doc(hidden)]
pub struct ToolEntry(pub &'static str);

inventory::collect!(ToolEntry);

impl ToolEntry {
    /// The entry's fields, or `None` when it does not follow the layout
    /// (which only a hand-written entry could do).
    fn decode(&self) -> Option<ToolInfo> {
        let entry = self.0;
        let name_is_path = match entry.as_bytes().first()? {
            b'n' => false,
            b'p' => true,
            _ => return None,
        };
        let (name, rest) = length_prefixed(entry.get(1..)?)?;
        let (effect, rest) = length_prefixed(rest)?;
        let (function, rest) = length_prefixed(rest)?;
        let mut location = rest.splitn(3, '\0');
        let (module_path, file) = (location.next()?, location.next()?);
        let line = location.next()?.parse().ok()?;
        Some(ToolInfo {
            name,
            name_is_path,
            effect: (!effect.is_empty()).then_some(effect),
            function,
            module_path,
            file,
            line,
        })
    }
}

/// `text` after `<byte length>:`, and what follows it.
fn length_prefixed(field: &'static str) -> Option<(&'static str, &'static str)> {
    let (length, rest) = field.split_once(':')?;
    let length: usize = length.parse().ok()?;
    Some((rest.get(..length)?, rest.get(length..)?))
}

/// Every entry linked in, decoded once and sorted.
fn decoded() -> &'static [ToolInfo] {
    static TOOLS: OnceLock<Vec<ToolInfo>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let mut tools: Vec<ToolInfo> = Vec::new();
        for entry in inventory::iter::<ToolEntry> {
            match entry.decode() {
                Some(tool) => tools.push(tool),
                None => tracing::warn!(
                    entry = entry.0,
                    "a manifest entry not written by #[guarded] was left out of tools()"
                ),
            }
        }
        tools.sort_by_key(|t| (t.module_path, t.function, t.line));
        tools
    })
}

/// Every guarded function linked into this program, sorted by module and
/// function name (feature `manifest`: without it this fn does not exist,
/// rather than return an empty list).
///
/// ```
/// let manifest = serde_json::to_string_pretty(&agenttrust_runtime::tools()).unwrap();
/// println!("{manifest}");
/// ```
pub fn tools() -> Vec<&'static ToolInfo> {
    decoded().iter().collect()
}

/// The capabilities an agent needs to run every guarded tool of this
/// program, one `tool:<name>` per tool name (for a gateway policy that maps
/// each tool to such a capability), sorted and without duplicates. Tools
/// named by a constant path are left out: their names are not known here
/// (feature `manifest`).
///
/// ```
/// use agenttrust_runtime::api::agents::CreateAgentRequest;
/// let request = CreateAgentRequest::new("bot").capabilities(agenttrust_runtime::tool_capabilities());
/// # let _ = request;
/// ```
pub fn tool_capabilities() -> Vec<String> {
    let mut capabilities: Vec<String> = tools()
        .into_iter()
        .filter(|t| !t.name_is_path)
        .map(|t| format!("tool:{}", t.name))
        .collect();
    capabilities.sort();
    capabilities.dedup();
    capabilities
}

#[cfg(test)]
mod tests {
    use super::{ToolEntry, ToolInfo};

    fn decode(entry: &'static str) -> Option<ToolInfo> {
        ToolEntry(entry).decode()
    }

    /// An entry as the attribute and `register_tool!` write it.
    fn written(kind: char, name: &str, effect: &str, function: &str, rest: &str) -> &'static str {
        let (n, e, f) = (name.len(), effect.len(), function.len());
        String::leak(format!("{kind}{n}:{name}{e}:{effect}{f}:{function}{rest}"))
    }

    #[test]
    fn every_field_comes_back_whatever_the_name_holds() {
        let name = "a:1\0b\u{2713} \"x7:";
        let tool = decode(written(
            'n',
            name,
            "read",
            "run",
            "my::mod\x00src/a:b.rs\x0042",
        ))
        .unwrap();
        assert_eq!(
            tool,
            ToolInfo {
                name,
                name_is_path: false,
                effect: Some("read"),
                function: "run",
                module_path: "my::mod",
                file: "src/a:b.rs",
                line: 42,
            }
        );
        let tool = decode(written('p', "Self::NAME", "", "call", "m\x00f.rs\x007")).unwrap();
        assert_eq!(
            (tool.name, tool.name_is_path, tool.effect, tool.function),
            ("Self::NAME", true, None, "call")
        );
    }

    #[test]
    fn an_entry_out_of_layout_is_refused_not_a_panic() {
        let bad = [
            "",
            "x3:abc0:1:fm\x00f\x001",
            "n",
            "n3abc",
            "n:abc",
            "n-1:abc0:1:fm\x00f\x001",
            "n99:abc0:1:fm\x00f\x001",
            "n2:\u{2713}0:1:fm\x00f\x001",
            "n3:abc0:1:fm\x00f",
            "n3:abc0:1:fm\x00f\x00x",
            "n3:abc0:1:fm\x00f\x0099999999999",
            "n18446744073709551616:a0:1:fm\x00f\x001",
        ];
        for entry in bad {
            assert_eq!(decode(entry), None, "{entry:?}");
        }
        assert!(
            decode("n3:abc0:1:fm\x00f\x001").is_some(),
            "the control is valid"
        );
    }
}
