//! The `otel` example as a user runs it: every guarded call's span reaches
//! the OpenTelemetry stdout exporter with its decision, under the agent
//! turn's span.

mod common;

#[test]
fn the_example_exports_one_span_per_guarded_call_with_its_decision() {
    let stdout = common::run_unconfigured::<&str>("otel", &[]);
    assert_eq!(
        stdout.matches("Name         : agenttrust.guard").count(),
        3,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("Name         : agent_turn").count(),
        1,
        "{stdout}"
    );
    for decision in ["allowed", "denied", "would_block"] {
        let field = format!("agenttrust.decision: String(Owned(\"{decision}\"))");
        assert!(stdout.contains(&field), "no {decision} span:\n{stdout}");
    }
    assert!(
        stdout.contains("error.type: String(Owned(\"ACTION_DENIED\"))"),
        "{stdout}"
    );
    assert!(stdout.contains("gen_ai.tool.name: String(Owned(\"archive_logs\"))"));
    assert!(
        stdout.contains("checks: 1 allowed, 1 denied, 1 would block"),
        "{stdout}"
    );
    assert!(stdout.contains("telemetry: Delivered"), "{stdout}");
}
