//! The tool manifest: every `#[guarded]` function registers its name,
//! effect and location at compile time (collected by `inventory`), so a
//! program can list what it guards, and prove it to a security team.

use serde::Serialize;

/// One guarded function, as its attribute declared it.
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

inventory::collect!(ToolInfo);

/// Every guarded function linked into this program, sorted by module and
/// function name (empty when the `manifest` feature is off).
///
/// ```
/// let manifest = serde_json::to_string_pretty(&agenttrust_runtime::tools()).unwrap();
/// println!("{manifest}");
/// ```
pub fn tools() -> Vec<&'static ToolInfo> {
    let mut tools: Vec<&'static ToolInfo> = inventory::iter::<ToolInfo>.into_iter().collect();
    tools.sort_by_key(|t| (t.module_path, t.function, t.line));
    tools
}

/// The capabilities an agent needs to run every guarded tool of this
/// program, one `tool:<name>` per tool name (for a gateway policy that maps
/// each tool to such a capability), sorted and without duplicates. Tools
/// named by a constant path are left out: their names are not known here.
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
