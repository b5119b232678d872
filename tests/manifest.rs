//! Every guarded tool in the examples appears in the manifest exactly once,
//! with the effect written in its attribute.

#[path = "../examples/mcp_server.rs"]
#[allow(dead_code)]
mod mcp_server;
#[path = "../examples/quickstart.rs"]
#[allow(dead_code)]
mod quickstart;
#[path = "../examples/rig_tools.rs"]
#[allow(dead_code)]
mod rig_tools;

/// `(function, line, effect)` of each `#[guarded(effect = "...")]` in
/// `source`, read from the text: the attribute's effect, then the next
/// `fn`'s name and line.
fn declared(source: &str) -> Vec<(String, u32, String)> {
    let mut found = Vec::new();
    let mut pending: Option<String> = None;
    for (index, line) in source.lines().map(str::trim_start).enumerate() {
        if let Some(rest) = line.strip_prefix("#[guarded(") {
            let effect = rest
                .split("effect = \"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or("");
            pending = Some(effect.to_owned());
        } else if let (Some(effect), Some(pos)) = (&pending, line.find("fn ")) {
            let name = line[pos + 3..].split(['(', '<']).next().unwrap().to_owned();
            found.push((name, u32::try_from(index + 1).unwrap(), effect.clone()));
            pending = None;
        }
    }
    found
}

#[test]
fn every_guarded_tool_of_the_examples_is_in_the_manifest_once() {
    let examples = [
        ("mcp_server", include_str!("../examples/mcp_server.rs")),
        ("quickstart", include_str!("../examples/quickstart.rs")),
        ("rig_tools", include_str!("../examples/rig_tools.rs")),
    ];
    let manifest = agenttrust_runtime::tools();
    let mut total = 0;
    for (module, source) in examples {
        let declared = declared(source);
        assert!(!declared.is_empty(), "{module} declares guarded tools");
        let in_module: Vec<_> = manifest
            .iter()
            .filter(|t| t.module_path.ends_with(module))
            .collect();
        assert_eq!(in_module.len(), declared.len(), "{module}: {in_module:#?}");
        for (function, line, effect) in &declared {
            let entries: Vec<_> = in_module
                .iter()
                .filter(|t| t.function == function && t.line == *line)
                .collect();
            assert_eq!(
                entries.len(),
                1,
                "{module}::{function} (line {line}) appears once"
            );
            assert_eq!(
                entries[0].effect,
                Some(effect.as_str()),
                "{module}::{function}"
            );
            assert!(entries[0].file.ends_with(&format!("{module}.rs")));
        }
        total += declared.len();
    }
    assert_eq!(total, 9, "4 MCP tools, 3 quickstart tools, 2 rig tools");
    let rig_names: Vec<_> = manifest
        .iter()
        .filter(|t| t.module_path.ends_with("rig_tools"))
        .map(|t| (t.name, t.name_is_path))
        .collect();
    assert_eq!(rig_names, [("Tool::NAME", true), ("Tool::NAME", true)]);
}
