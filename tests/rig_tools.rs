//! The guarded rig tools of `examples/rig_tools.rs`, dispatched by name with
//! JSON arguments through rig's erased tool interface, against the local
//! gateway.

#[path = "../examples/rig_tools.rs"]
#[allow(dead_code)]
mod rig_tools;

mod common;

use std::time::Duration;

use agenttrust_gateway::Policy;
use rig_core::tool::{Tool, ToolContext, ToolExecutionError};
use rig_tools::{approval_id, DeleteRecord, SearchArgs, Toolbox, WebSearch};

/// `WebSearch` without `#[guarded]`: its definition must be the same.
struct PlainSearch;

impl Tool for PlainSearch {
    const NAME: &'static str = "web_search";
    type Args = SearchArgs;
    type Output = Vec<String>;
    type Error = ToolExecutionError;

    fn description(&self) -> String {
        "Search the web for pages about a topic.".to_owned()
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
    }

    async fn call(
        &self,
        _context: &mut ToolContext,
        args: SearchArgs,
    ) -> Result<Vec<String>, ToolExecutionError> {
        Ok(vec![args.query])
    }
}

#[test]
fn definitions_are_unchanged_by_guarded() {
    let guarded = rig_core::tool::tool_definition(&WebSearch);
    let plain = rig_core::tool::tool_definition(&PlainSearch);
    assert_eq!(
        serde_json::to_value(&guarded).unwrap(),
        serde_json::to_value(&plain).unwrap()
    );
    let names: Vec<String> = Toolbox::new()
        .definitions()
        .iter()
        .map(|d| d.name.to_string())
        .collect();
    assert_eq!(names, [WebSearch::NAME, DeleteRecord::NAME]);
}

#[tokio::test]
async fn allow_elevation_approval_and_telemetry_through_the_toolbox() {
    let world = common::World::new(Policy::default(), &[]).await;
    let rt = world.runtime();
    let toolbox = Toolbox::new();

    let found = rt
        .scope(toolbox.call("web_search", r#"{"query":"rust"}"#))
        .await
        .unwrap();
    assert!(found.is_success(), "{found:?}");

    let refused = rt
        .scope(toolbox.call("delete_record", r#"{"id":7}"#))
        .await
        .unwrap();
    assert_eq!(refused.status_name(), "denied");
    let refusal = refused.refusal().expect("a refusal, not an error");
    assert_eq!(refusal.code(), Some("ELEVATION_REQUIRED"));
    assert!(refusal.model_feedback().unwrap().contains("approve"));
    let approval = approval_id(refusal).expect("the approval id is in the refusal");
    world
        .client
        .approvals()
        .approve(&approval, "ops@example.com")
        .await
        .unwrap();
    let deleted = rt
        .scope(toolbox.call("delete_record", r#"{"id":7}"#))
        .await
        .unwrap();
    assert!(deleted.is_success(), "{deleted:?}");

    assert!(rt.flush(Duration::from_secs(10)).await.is_delivered());
    let names: Vec<String> = world
        .events(rt.session_id())
        .await
        .iter()
        .map(|e| e["tool_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["web_search", "delete_record"],
        "named by Tool::NAME, not `call`"
    );
}

#[tokio::test]
async fn a_denied_tool_is_a_refusal_with_the_action_denied_code() {
    let world = common::World::new(Policy::default().deny_tool("web_search"), &[]).await;
    let rt = world.runtime();
    let result = rt
        .scope(Toolbox::new().call("web_search", r#"{"query":"x"}"#))
        .await
        .unwrap();
    let refusal = result.refusal().expect("refused");
    assert_eq!(refusal.code(), Some("ACTION_DENIED"));
    assert!(
        refusal.message().contains("deny list"),
        "{}",
        refusal.message()
    );
    assert!(approval_id(refusal).is_none());
}
