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

/// The examples' manifest, in the form `cargo run --example manifest` prints.
fn examples_manifest() -> agenttrust_gateway::Manifest {
    let json = serde_json::json!({
        "tools": agenttrust_runtime::tools(),
        "capabilities": agenttrust_runtime::tool_capabilities(),
    });
    agenttrust_gateway::Manifest::from_json(&json.to_string()).expect("the manifest parses")
}

#[test]
fn the_policy_skeleton_lists_every_tool_with_its_effect_and_is_in_step() {
    let manifest = examples_manifest();
    let text = manifest.policy_skeleton();
    let policy = agenttrust_gateway::Policy::from_toml(&text).expect("the skeleton is a policy");
    for tool in agenttrust_runtime::tools() {
        if tool.name_is_path {
            assert!(text.contains(&format!("#   {} (", tool.name)), "{text}");
            continue;
        }
        let line = format!("{} = \"{}\"", tool.name, tool.effect.unwrap());
        assert!(text.contains(&line), "{line:?} missing from:\n{text}");
        assert!(
            text.contains(&format!("{}:{}", tool.file, tool.line)),
            "{text}"
        );
    }
    let drift = policy.drift(&manifest);
    assert!(drift.is_empty(), "{drift}");
    assert_eq!(
        drift.unchecked.len(),
        2,
        "the rig tools are named at run time"
    );
    assert!(drift.to_string().contains("code and policy are in step"));
}

#[test]
fn an_edited_policy_reports_every_way_it_drifted() {
    let manifest = examples_manifest();
    let skeleton = manifest.policy_skeleton();
    // A reviewer forgot delete_file, marked read_file destructive, and
    // denies a tool the code no longer has.
    let edited = skeleton
        .replace("delete_file = \"destructive\"", "")
        .replace("read_file = \"read\"", "read_file = \"destructive\"")
        .replace("deny = []", "deny = [\"format_disk\"]");
    let policy = agenttrust_gateway::Policy::from_toml(&edited).unwrap();
    let drift = policy.drift(&manifest);
    // Both functions declaring the name, each at its place.
    let unmentioned: Vec<(&str, &str)> = drift
        .unmentioned
        .iter()
        .map(|t| (t.name.as_str(), t.function.as_str()))
        .collect();
    assert_eq!(unmentioned, [("delete_file", "delete_file"); 2]);
    assert!(drift.unmentioned[0].file.ends_with("mcp_server.rs"));
    assert!(drift.unmentioned[1].file.ends_with("quickstart.rs"));
    assert_eq!(drift.unused, ["format_disk"]);
    assert_eq!(
        drift.effect_mismatches,
        [(
            "read_file".to_owned(),
            Some("read".to_owned()),
            "destructive".to_owned()
        )]
    );
    let report = drift.to_string();
    assert!(
        report.contains("not in the policy: delete_file (destructive) at "),
        "{report}"
    );
    assert!(
        report.contains("no such tool in the code: format_disk"),
        "{report}"
    );
    assert!(
        report.contains("effect differs: read_file is read in the code, destructive in the policy"),
        "{report}"
    );
}

/// The skeleton's effects bind: on a gateway serving it with unlisted tools
/// denied, a tool whose code claims less than its reviewed effect is judged
/// by the reviewed one, and a tool the file does not list is refused.
#[tokio::test]
async fn a_served_skeleton_judges_by_the_reviewed_effects() {
    let text = examples_manifest()
        .policy_skeleton()
        .replace("write_file = \"mutating\"", "write_file = \"destructive\"")
        .replace("unlisted_tools = \"allow\"", "unlisted_tools = \"deny\"");
    let policy = agenttrust_gateway::Policy::from_toml(&text).unwrap();
    let gateway = agenttrust_gateway::Gateway::builder()
        .policy(policy)
        .spawn()
        .await
        .unwrap();
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(gateway.url())
        .api_key(gateway.api_key())
        .build()
        .unwrap();
    let agent = client
        .agents()
        .create(&agenttrust_runtime::api::agents::CreateAgentRequest::new(
            "reviewed",
        ))
        .await
        .unwrap();
    let guard = agenttrust_runtime::AgentTrustGuard::builder(client, agent.id).build();
    let code = |r: agenttrust_runtime::Result<agenttrust_runtime::Decision>| match r {
        Ok(d) => d.kind().to_owned(),
        Err(e) => e.code().to_owned(),
    };
    assert_eq!(
        code(guard.check_with_effect("read_file", "", "read").await),
        "allowed"
    );
    assert_eq!(
        code(guard.check_with_effect("write_file", "", "mutating").await),
        "ELEVATION_REQUIRED"
    );
    assert_eq!(
        code(guard.check_with_effect("format_disk", "", "read").await),
        "ACTION_DENIED"
    );
}
