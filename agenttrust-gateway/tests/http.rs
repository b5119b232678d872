//! The gateway over real loopback HTTP, at the protocol level: auth, status
//! codes, error bodies, bad input, approvals' state machine, concurrency.

use std::time::Duration;

mod common;

use agenttrust_gateway::{Gateway, Policy};
use common::{Fixture, KEY};
use serde_json::{json, Value};

#[tokio::test]
async fn every_route_but_health_needs_the_api_key() {
    let f = Fixture::new(Policy::default()).await;
    let health: Value = f
        .http
        .get(format!("{}/health", f.gw.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy");
    for key in [None, Some("sk_wrong")] {
        let mut req = f.http.get(format!("{}/api/v1/agents", f.gw.url()));
        if let Some(key) = key {
            req = req.header("X-API-Key", key);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "AUTH_FAILED");
        assert!(body["message"].as_str().unwrap().contains("API key"));
    }
}

#[tokio::test]
async fn bad_input_gets_400_413_404_with_json_messages() {
    let f = Fixture::new(Policy::default()).await;
    let (status, body) = f
        .send("POST", "/api/v1/agents", Some(json!({"framework": "x"})))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("`name`"),
        "{body}"
    );
    let (status, body) = f
        .send(
            "POST",
            "/api/v1/agenttrust/check",
            Some(json!({"agent_id": "a", "action_name": ""})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("action_name"),
        "{body}"
    );

    let raw = |body: Vec<u8>| {
        f.http
            .post(format!("{}/api/v1/agents", f.gw.url()))
            .header("X-API-Key", "sk_test_http")
            .body(body)
            .send()
    };
    assert_eq!(raw(b"{not json".to_vec()).await.unwrap().status(), 400);
    let agents_before = f.send("GET", "/api/v1/agents", None).await.1;
    let not_utf8 = raw(b"{\"name\": \"caf\xe9\"}".to_vec()).await.unwrap();
    assert_eq!(not_utf8.status(), 400);
    let message = not_utf8.json::<Value>().await.unwrap()["message"].clone();
    assert!(message.as_str().unwrap().contains("utf-8"), "{message}");
    assert_eq!(f.send("GET", "/api/v1/agents", None).await.1, agents_before);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(raw(deep.into_bytes()).await.unwrap().status(), 400);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    assert_eq!(raw(huge.into_bytes()).await.unwrap().status(), 413);
    let odd = raw(b"[1, 2, 3]".to_vec()).await.unwrap();
    assert_eq!(odd.status(), 400);

    let (status, body) = f.send("GET", "/api/v1/agents/nope", None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _) = f.send("GET", "/mcp/approvals/apr_nope", None).await;
    assert_eq!(status, 404);
    let (status, _) = f.send("GET", "/no/such/route", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn agents_create_get_list_revoke() {
    let f = Fixture::new(Policy::default()).await;
    let id = f.agent("bot", &["files:read"]).await;
    let (status, body) = f
        .send("POST", "/api/v1/agents", Some(json!({"name": "bot"})))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")));
    let (_, agent) = f.send("GET", &format!("/api/v1/agents/{id}"), None).await;
    assert_eq!(
        (
            agent["name"].as_str(),
            agent["status"].as_str(),
            agent["framework"].as_str()
        ),
        (Some("bot"), Some("active"), Some("custom"))
    );
    let (_, list) = f.send("GET", "/api/v1/agents?org_id=org_local", None).await;
    assert_eq!(list["agents"].as_array().unwrap().len(), 1);
    // Revoke with no body at all, as several SDKs send it.
    let resp = f
        .http
        .post(format!("{}/api/v1/agents/{id}/revoke", f.gw.url()))
        .header("X-API-Key", "sk_test_http")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let verdict = f.check(&id, "search", Some("read")).await;
    assert_eq!(verdict["allowed"], false);
    assert!(verdict["reason"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn tokens_issue_introspect_revoke_and_session_bridge() {
    let f = Fixture::new(Policy::default()).await;
    let id = f.agent("bot", &[]).await;
    let (status, token) = f
        .send(
            "POST",
            "/api/v1/agent-tokens/issue",
            Some(json!({"agent_id": id, "scopes": ["files:read"], "ttl": 60})),
        )
        .await;
    assert_eq!(status, 200, "{token}");
    let secret = token["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("at_"));
    let (_, info) = f
        .send(
            "POST",
            "/api/v1/agent-tokens/introspect",
            Some(json!({"token": secret, "required_scopes": []})),
        )
        .await;
    assert_eq!(info["active"], true);
    let (_, info) = f
        .send(
            "POST",
            "/api/v1/agent-tokens/introspect",
            Some(json!({"token": secret, "required_scopes": ["admin"]})),
        )
        .await;
    assert_eq!(info["active"], false);
    let (status, session) = f
        .send(
            "POST",
            "/api/v1/agenttrust/api-sessions/init",
            Some(json!({"token": secret})),
        )
        .await;
    assert_eq!(
        (
            status,
            session["source"].as_str(),
            session["agent_id"].as_str()
        ),
        (200, Some("api"), Some(id.as_str()))
    );
    let (status, _) = f
        .send(
            "POST",
            "/api/v1/agent-tokens/revoke",
            Some(json!({"token": secret, "reason": "done"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, info) = f
        .send(
            "POST",
            "/api/v1/agent-tokens/introspect",
            Some(json!({"token": secret})),
        )
        .await;
    assert_eq!(info["active"], false);
    let (status, _) = f
        .send(
            "POST",
            "/api/v1/agenttrust/api-sessions/init",
            Some(json!({"token": secret})),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn approvals_decide_once_and_expire() {
    let f = Fixture::new(Policy::default().approval_expiry(Duration::from_millis(300))).await;
    let id = f.agent("bot", &[]).await;
    let verdict = f.check(&id, "wipe_disk", Some("destructive")).await;
    assert_eq!(verdict["elevation_required"], true);
    for field in ["check_id", "confidence", "guard_tier", "latency_ms"] {
        assert!(
            verdict.get(field).is_some(),
            "{field} missing from {verdict}"
        );
    }
    let apr = verdict["approval_id"].as_str().unwrap();
    let (_, approval) = f.send("GET", &format!("/mcp/approvals/{apr}"), None).await;
    assert_eq!(
        (
            approval["status"].as_str(),
            approval["agent_id"].as_str(),
            approval["action_name"].as_str()
        ),
        (Some("pending"), Some(id.as_str()), Some("wipe_disk"))
    );
    assert!(approval["decided_by"].is_null() && approval["expires_at"].is_string());
    let (status, decided) = f
        .send(
            "POST",
            &format!("/mcp/approvals/{apr}/approve"),
            Some(json!({"decided_by": "ops@example.com"})),
        )
        .await;
    assert_eq!(
        (
            status,
            decided["status"].as_str(),
            decided["decided_by"].as_str()
        ),
        (200, Some("approved"), Some("ops@example.com"))
    );
    let (status, body) = f
        .send(
            "POST",
            &format!("/mcp/approvals/{apr}/deny"),
            Some(json!({"decided_by": "x"})),
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already approved"),
        "{body}"
    );
    assert_eq!(
        f.check(&id, "wipe_disk", Some("destructive")).await["allowed"],
        true
    );

    let pending = f.check(&id, "drop_table", None).await;
    let apr = pending["approval_id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, approval) = f.send("GET", &format!("/mcp/approvals/{apr}"), None).await;
    assert_eq!(approval["status"], "expired");
    let (status, _) = f
        .send(
            "POST",
            &format!("/mcp/approvals/{apr}/approve"),
            Some(json!({"decided_by": "late"})),
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn telemetry_is_stored_and_read_back_by_agent_and_session() {
    let f = Fixture::new(Policy::default()).await;
    let (ag_1, ag_2) = (f.agent("one", &[]).await, f.agent("two", &[]).await);
    let report = json!({"agent_id": ag_1, "session_id": "s1", "events": [
        {"event_type": "tool_end", "tool_name": "a", "duration_ms": 5, "success": true, "timestamp": "2026-01-01T00:00:00Z"},
        {"tool_name": "b", "duration_ms": 7, "error_type": "IoError"},
        {"event_type": "tool_retry", "tool_name": "d", "success": true},
        {"event_type": "", "tool_name": "e", "success": true, "error_type": ""}
    ]});
    let (status, body) = f
        .send("POST", "/api/v1/telemetry/report", Some(report))
        .await;
    assert_eq!((status, body["events_processed"].as_u64()), (200, Some(4)));
    f.send("POST", "/api/v1/telemetry/report", Some(json!({"agent_id": ag_2, "session_id": "s2", "events": [{"tool_name": "c", "success": true}]}))).await;
    let (_, events) = f
        .send(
            "GET",
            &format!("/api/v1/telemetry/events?agent_id={ag_1}&session_id=s1"),
            None,
        )
        .await;
    assert_eq!(events["total"], 4);
    let kept = events["events"].as_array().unwrap();
    let field = |key: &str| -> Vec<Value> { kept.iter().map(|e| e[key].clone()).collect() };
    assert_eq!(field("tool_name"), ["a", "b", "d", "e"]);
    assert_eq!(field("agent_id"), vec![json!(ag_1); 4]);
    assert_eq!(field("session_id"), ["s1", "s1", "s1", "s1"]);
    assert_eq!(
        field("success"),
        [true, false, true, true],
        "absent success reads as false"
    );
    assert_eq!(
        field("event_type"),
        ["tool_end", "tool_error", "tool_retry", "tool_end"],
        "an absent or empty type follows success; another is kept as sent"
    );
    assert_eq!(
        field("error_type"),
        [Value::Null, json!("IoError"), Value::Null, Value::Null]
    );
    let received_at = kept[0]["received_at"].as_str().unwrap();
    assert!(received_at.starts_with("20"), "{received_at}");
    assert_eq!(
        field("timestamp"),
        [
            "2026-01-01T00:00:00Z",
            received_at,
            received_at,
            received_at
        ],
        "an event without a timestamp takes the report's arrival"
    );
    let (_, all) = f.send("GET", "/api/v1/telemetry/events", None).await;
    assert_eq!(all["total"], 5);
}

/// A report of `tools` (one event each) by `agent` in `session`.
fn report_of(agent: &str, session: &str, tools: &[&str]) -> Value {
    let events: Vec<Value> = tools
        .iter()
        .map(|t| json!({"tool_name": t, "success": true}))
        .collect();
    json!({"agent_id": agent, "session_id": session, "events": events})
}

fn tool_names(answer: &Value) -> Vec<String> {
    answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tool_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_event_log_keeps_the_newest_events_and_counts_them_all() {
    let f = Fixture::from_builder(Gateway::builder().event_log(4)).await;
    let id = f.agent("bot", &[]).await;
    for (session, tools) in [("s1", &["a", "b", "c"][..]), ("s2", &["d", "e", "f"][..])] {
        let (status, _) = f
            .send(
                "POST",
                "/api/v1/telemetry/report",
                Some(report_of(&id, session, tools)),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, all) = f.send("GET", "/api/v1/telemetry/events", None).await;
    assert_eq!(
        (all["total"].as_u64(), all["kept"].as_u64()),
        (Some(6), Some(4))
    );
    assert_eq!(
        tool_names(&all),
        ["c", "d", "e", "f"],
        "the newest, oldest first"
    );
    let (_, s1) = f
        .send(
            "GET",
            &format!("/api/v1/telemetry/events?agent_id={id}&session_id=s1"),
            None,
        )
        .await;
    assert_eq!(
        (s1["total"].as_u64(), s1["kept"].as_u64()),
        (Some(3), Some(1))
    );
    let (_, counted) = f
        .send("GET", "/api/v1/telemetry/events?limit=0", None)
        .await;
    assert_eq!(
        (counted["total"].as_u64(), tool_names(&counted).len()),
        (Some(6), 0)
    );
    assert_eq!(f.gw.events().len(), 4);
}

#[tokio::test]
async fn a_report_larger_than_the_event_log_is_refused_whole() {
    let f = Fixture::from_builder(Gateway::builder().event_log(2)).await;
    let id = f.agent("bot", &[]).await;
    let (status, body) = f
        .send(
            "POST",
            "/api/v1/telemetry/report",
            Some(report_of(&id, "s1", &["a", "b", "c"])),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("at most 2 events"),
        "{body}"
    );
    let (_, all) = f.send("GET", "/api/v1/telemetry/events", None).await;
    assert_eq!(all["total"], 0, "nothing of the refused report is counted");
    let (status, _) = f
        .send(
            "POST",
            "/api/v1/telemetry/report",
            Some(report_of(&id, "s1", &["a", "b"])),
        )
        .await;
    assert_eq!(status, 200, "a report the log can hold is taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_safe_and_counted() {
    let f = std::sync::Arc::new(Fixture::new(Policy::default()).await);
    let id = f.agent("bot", &[]).await;
    let (_, session) = f
        .send(
            "POST",
            "/mcp/sessions/init",
            Some(json!({"agent_id": id, "server_id": "files"})),
        )
        .await;
    let sid = session["session_id"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (f, id, sid) = (f.clone(), id.clone(), sid.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"agent_id": id, "action_name": format!("search_{i}"), "action_effect": "read", "session_id": sid});
            f.send("POST", "/api/v1/agenttrust/check", Some(body)).await
        }));
    }
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!((status, v["allowed"].as_bool()), (200, Some(true)));
    }
    let (_, session) = f.send("GET", &format!("/mcp/sessions/{sid}"), None).await;
    assert_eq!(
        (
            session["total_calls"].as_u64(),
            session["read_calls"].as_u64()
        ),
        (Some(64), Some(64))
    );
}

#[tokio::test]
async fn check_latency_is_applied() {
    let f = Fixture::new(Policy::default().check_latency(Duration::from_millis(50))).await;
    let id = f.agent("bot", &[]).await;
    let verdict = f.check(&id, "search", Some("read")).await;
    assert!(verdict["latency_ms"].as_u64().unwrap() >= 50, "{verdict}");
}

#[tokio::test]
async fn the_binary_serves_with_a_policy_file() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::Builder::new()
        .prefix("agenttrust-gw-")
        .tempdir()
        .unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "deny = [\"rm_rf\"]\n").unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--api-key",
            "sk_test_bin",
            "--policy",
        ])
        .arg(&policy)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let agent: Value = http
        .post(format!("{url}/api/v1/agents"))
        .header("X-API-Key", "sk_test_bin")
        .json(&json!({"name": "bot"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verdict: Value = http
        .post(format!("{url}/api/v1/agenttrust/check"))
        .header("X-API-Key", "sk_test_bin")
        .json(&json!({"agent_id": agent["id"], "action_name": "rm_rf", "action_effect": "read"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["allowed"], false);
    assert!(verdict["reason"].as_str().unwrap().contains("deny list"));
    child.kill().await.unwrap();

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "denny = []\n").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .args(["--listen", "127.0.0.1:0", "--policy"])
        .arg(&bad)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("denny"));
}

/// A2A on the wire: the sender from `X-Agent-ID`, both `id` and `task_id`,
/// and JSON-RPC errors with HTTP 200.
#[tokio::test]
async fn a2a_speaks_json_rpc_with_the_sender_from_x_agent_id() {
    let fx = Fixture::new(Policy::default()).await;
    let planner = fx.agent("planner", &["x:y"]).await;
    let worker = fx.agent("worker", &[]).await;
    let rpc = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let message = json!({"message": {"role": "user", "parts": [{"kind": "text", "text": "hi"}], "messageId": "m1"}});
    let send_as = |sender: Option<&str>, body: Value| {
        let mut request = fx
            .http
            .post(format!("{}/a2a/agents/{worker}", fx.gw.url()))
            .header("X-API-Key", KEY)
            .json(&body);
        if let Some(sender) = sender {
            request = request.header("X-Agent-ID", sender);
        }
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, refused) = send_as(Some(&planner), rpc("message/send", message.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(
        (refused["id"].clone(), refused["error"]["code"].clone()),
        (json!(7), json!(-32010))
    );
    let (_, delegation) = fx
        .send(
            "POST",
            "/api/v1/delegations",
            Some(json!({"from_agent_id": planner, "to_agent_id": worker, "scope": ["x:y"]})),
        )
        .await;
    assert!(delegation["delegation"]["id"].is_string(), "{delegation}");
    let (_, sent) = send_as(Some(&planner), rpc("message/send", message.clone())).await;
    let task_id = sent["result"]["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["result"]["status"]["state"], "submitted");
    // P's `task_id` spelling on the v0.3 route; `id` on the v1.0 route.
    let (_, got) = fx
        .send(
            "POST",
            "/a2a",
            Some(rpc("tasks/get", json!({"task_id": task_id}))),
        )
        .await;
    assert_eq!(got["result"]["source_agent_id"], json!(planner));
    let (_, got) = send_as(Some(&planner), rpc("tasks/get", json!({"id": task_id}))).await;
    assert_eq!(got["result"]["id"], json!(task_id));
    // Another sender does not see it.
    let (_, hidden) = send_as(Some(&worker), rpc("tasks/get", json!({"id": task_id}))).await;
    assert_eq!(hidden["error"]["code"], -32001);
    for (body, code) in [
        (
            json!({"jsonrpc": "1.0", "id": 1, "method": "tasks/get"}),
            -32600,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/fly", "params": {}}),
            -32601,
        ),
        (
            json!({"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"parts": []}}}),
            -32602,
        ),
    ] {
        let (status, answer) = send_as(None, body).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (200, json!(code)),
            "{answer}"
        );
    }
    let raw = fx
        .http
        .post(format!("{}/a2a", fx.gw.url()))
        .header("X-API-Key", KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    let parse: Value = raw.json().await.unwrap();
    assert_eq!(
        (parse["id"].clone(), parse["error"]["code"].clone()),
        (Value::Null, json!(-32700))
    );
    // The key is still required.
    let anonymous = fx
        .http
        .post(format!("{}/a2a", fx.gw.url()))
        .json(&rpc("tasks/list", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
