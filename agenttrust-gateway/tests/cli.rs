//! The subcommands as a script runs them: `approvals` against a
//! gateway on loopback (exit codes, `--json`), and `policy init | check`.

mod common;

use std::process::Output;

use agenttrust_gateway::{Approver, Gateway, Rule};
use common::{Fixture, KEY};
use serde_json::Value;

fn cli(fx: &Fixture, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .env_remove("AGENTTRUST_URL")
        .env_remove("AGENTTRUST_API_KEY")
        .arg("approvals")
        .args(["--url", fx.gw.url(), "--api-key", KEY])
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn fixture() -> (Fixture, String, String) {
    let fx =
        Fixture::from_builder(Gateway::builder().default_rule(Rule::elevate(Approver::nobody())))
            .await;
    let agent = fx.agent("bot", &[]).await;
    let first = fx.check(&agent, "delete_file", Some("destructive")).await;
    let second = fx.check(&agent, "drop_table", Some("destructive")).await;
    let id = |v: &Value| v["approval_id"].as_str().unwrap().to_owned();
    (fx, id(&first), id(&second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_approve_and_deny_with_exit_codes_a_script_can_use() {
    let (fx, delete_id, drop_id) = fixture().await;

    let listed = cli(&fx, &["--json", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    let pending: Vec<Value> = serde_json::from_str(&stdout(&listed)).unwrap();
    let ids: Vec<&str> = pending.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&delete_id.as_str()) && ids.contains(&drop_id.as_str()));
    let table = stdout(&cli(&fx, &["list"]));
    assert!(
        table.contains("delete_file") && table.contains(&delete_id),
        "{table}"
    );

    let approved = cli(&fx, &["--json", "approve", &delete_id, "--by", "ops@x"]);
    assert_eq!(approved.status.code(), Some(0), "{approved:?}");
    let body: Value = serde_json::from_str(&stdout(&approved)).unwrap();
    assert_eq!(
        (body["status"].as_str(), body["decided_by"].as_str()),
        (Some("approved"), Some("ops@x"))
    );
    let denied = cli(&fx, &["deny", &drop_id, "--by", "alice"]);
    assert_eq!(denied.status.code(), Some(0));
    assert!(
        stdout(&denied).contains("denied (decided by alice)"),
        "{}",
        stdout(&denied)
    );

    // Deciding again: 4. Unknown id: 3. Nothing pending is left.
    assert_eq!(cli(&fx, &["approve", &delete_id]).status.code(), Some(4));
    assert_eq!(cli(&fx, &["deny", "apr_nope"]).status.code(), Some(3));
    assert_eq!(stdout(&cli(&fx, &["list"])).trim(), "no approvals");
    let all: Vec<Value> =
        serde_json::from_str(&stdout(&cli(&fx, &["--json", "list", "--status", "all"]))).unwrap();
    assert_eq!(all.len(), 2);
    let bad = cli(&fx, &["list", "--status", "maybe"]);
    assert_eq!(bad.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_or_no_gateway_has_its_own_exit_code_and_changes_nothing() {
    let (fx, id, _) = fixture().await;
    let before = fx.gw.dump();
    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .args([
            "approvals",
            "--url",
            fx.gw.url(),
            "--api-key",
            "sk_wrong",
            "approve",
            &id,
        ])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(5), "{wrong:?}");
    assert_eq!(fx.gw.dump(), before, "a refused approval changed nothing");
    // From the environment, like the runtime reads it.
    let by_env = std::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .env("AGENTTRUST_URL", fx.gw.url())
        .env("AGENTTRUST_API_KEY", KEY)
        .args(["approvals", "list"])
        .output()
        .unwrap();
    assert!(by_env.status.success());
    assert!(stdout(&by_env).contains(&id));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = std::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .args([
            "approvals",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--api-key",
            KEY,
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(6));
}

#[tokio::test]
async fn the_list_route_filters_and_needs_the_key() {
    let (fx, delete_id, _) = fixture().await;
    let (status, body) = fx.send("GET", "/mcp/approvals?status=pending", None).await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(2)));
    let (_, body) = fx
        .send("GET", "/mcp/approvals?agent_id=someone_else", None)
        .await;
    assert_eq!(body.as_array().map(Vec::len), Some(0));
    let (status, _) = fx.send("GET", "/mcp/approvals?status=maybe", None).await;
    assert_eq!(status, 400);
    let anonymous = fx
        .http
        .get(format!("{}/mcp/approvals", fx.gw.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(body.to_string().find(&delete_id).is_none());
}

#[agenttrust_runtime::guarded(effect = "destructive", summary = path, on_elevation = "wait", wait = "20s")]
async fn delete_file(path: &str) -> Result<String, agenttrust_runtime::AgentTrustError> {
    Ok(format!("deleted {path}"))
}

/// The whole loop at a terminal: a guarded call waits, a person approves it
/// with the CLI, the call completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_guarded_call_completes_when_the_cli_approves() {
    let fx = Fixture::new(agenttrust_gateway::Policy::default()).await;
    let agent = fx.agent("bot", &[]).await;
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(fx.gw.url())
        .api_key(KEY)
        .build()
        .unwrap();
    let runtime = agenttrust_runtime::Runtime::builder(client, agent.clone()).build();
    let call = tokio::spawn(runtime.scope(async { delete_file("/srv/data").await }));
    let id = loop {
        let listed = cli(&fx, &["--json", "list", "--agent", &agent]);
        let pending: Vec<Value> = serde_json::from_str(&stdout(&listed)).unwrap();
        if let Some(id) = pending.first().and_then(|a| a["id"].as_str()) {
            assert_eq!(pending[0]["action_input_summary"], "/srv/data");
            break id.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(!call.is_finished(), "the call waits for the decision");
    let approved = cli(&fx, &["approve", &id, "--by", "ops@x"]);
    assert_eq!(approved.status.code(), Some(0), "{approved:?}");
    assert_eq!(call.await.unwrap().unwrap(), "deleted /srv/data");
}

fn policy_cli(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .arg("policy")
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A manifest as `cargo run --example manifest` prints it.
const MANIFEST: &str = r#"{"tools": [
  {"name": "read_file", "name_is_path": false, "effect": "read", "function": "read_file",
   "module_path": "agent::files", "file": "src/files.rs", "line": 10},
  {"name": "delete_file", "name_is_path": false, "effect": "destructive", "function": "delete_file",
   "module_path": "agent::files", "file": "src/files.rs", "line": 20}
], "capabilities": ["tool:delete_file", "tool:read_file"]}"#;

#[test]
fn policy_init_writes_a_skeleton_and_check_exits_by_drift() {
    let scratch = tempfile::Builder::new()
        .prefix("agenttrust-policy-cli-")
        .tempdir()
        .unwrap();
    let dir = scratch.path();
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let policy = dir.join("policy.toml");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();

    let printed = policy_cli(&["init", "--from-manifest", &path(&manifest)]);
    assert!(printed.status.success(), "{printed:?}");
    assert!(stdout(&printed).contains("delete_file = \"destructive\""));
    assert!(stdout(&printed).contains("# destructive: src/files.rs:20 (agent::files::delete_file)"));

    let init = [
        "init",
        "--from-manifest",
        &path(&manifest),
        "--output",
        &path(&policy),
    ];
    assert!(policy_cli(&init).status.success());
    let again = policy_cli(&init);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing file is not replaced"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced: Vec<&str> = init.iter().copied().chain(["--force"]).collect();
    assert!(policy_cli(&forced).status.success());

    let check = [
        "check",
        "--policy",
        &path(&policy),
        "--manifest",
        &path(&manifest),
    ];
    let in_step = policy_cli(&check);
    assert_eq!(in_step.status.code(), Some(0), "{in_step:?}");
    assert_eq!(stdout(&in_step), "code and policy are in step\n");

    let skeleton = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        skeleton.replace("read_file = \"read\"", "web_search = \"read\""),
    )
    .unwrap();
    let drifted = policy_cli(&check);
    assert_eq!(drifted.status.code(), Some(1), "{drifted:?}");
    let report = stdout(&drifted);
    assert!(
        report.contains("not in the policy: read_file (read) at src/files.rs:10"),
        "{report}"
    );
    assert!(
        report.contains("no such tool in the code: web_search"),
        "{report}"
    );

    std::fs::write(&manifest, "[{\"name\": 3}]").unwrap();
    let broken = policy_cli(&check);
    assert_eq!(broken.status.code(), Some(2), "{broken:?}");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("invalid manifest"));
    let missing = policy_cli(&[
        "check",
        "--policy",
        "/nonexistent.toml",
        "--manifest",
        &path(&manifest),
    ]);
    assert_eq!(missing.status.code(), Some(2));
}
