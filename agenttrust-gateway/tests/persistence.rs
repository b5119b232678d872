//! `--db`: a gateway restarted on the same SQLite file finds everything,
//! a SIGKILL loses no acknowledged write, and a file it cannot use stops it
//! at start with a clear error, never a silent reset.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agenttrust_gateway::{Gateway, GatewayHandle};
use serde_json::{json, Value};

const KEY: &str = "sk_test_db";

/// A database path in a new scratch folder, removed when the folder is dropped.
fn db_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("agenttrust-db-{name}-"))
        .tempdir()
        .unwrap();
    let path = dir.path().join("gateway.db");
    (dir, path)
}

async fn open(path: &Path) -> std::io::Result<GatewayHandle> {
    Gateway::builder().api_key(KEY).db(path).spawn().await
}

async fn send(url: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http
        .request(method, format!("{url}{path}"))
        .header("X-API-Key", KEY);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The dump without what is not stored (the check log).
fn stored(gateway: &GatewayHandle) -> Value {
    let mut dump = gateway.dump();
    dump.as_object_mut().unwrap().remove("checks_total");
    dump
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_finds_everything_and_a_pending_approval_can_still_be_waited_out() {
    let (_restart_dir, path) = db_path("restart");
    let gateway = open(&path).await.unwrap();
    let url = gateway.url().to_owned();
    let (_, agent) = send(
        &url,
        "POST",
        "/api/v1/agents",
        Some(json!({"name": "bot", "capabilities": ["files:read"]})),
    )
    .await;
    let agent = agent["id"].as_str().unwrap().to_owned();
    let (status, _) = send(
        &url,
        "POST",
        "/api/v1/agent-tokens/issue",
        Some(json!({"agent_id": agent, "scopes": ["files:read"], "ttl": 600})),
    )
    .await;
    assert_eq!(status, 200);
    let check = |tool: &str, effect: &str| json!({"agent_id": agent, "action_name": tool, "action_effect": effect, "session_id": "sess_1", "action_input_summary": "x"});
    let (_, read) = send(
        &url,
        "POST",
        "/api/v1/agenttrust/check",
        Some(check("search", "read")),
    )
    .await;
    assert_eq!(read["allowed"], true);
    let (_, elevated) = send(
        &url,
        "POST",
        "/api/v1/agenttrust/check",
        Some(check("wipe", "destructive")),
    )
    .await;
    let approval = elevated["approval_id"].as_str().unwrap().to_owned();
    let (status, _) = send(
        &url,
        "POST",
        "/api/v1/telemetry/report",
        Some(json!({"agent_id": agent, "session_id": "sess_1",
        "events": [{"tool_name": "search", "duration_ms": 3, "success": true}]})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, worker) = send(
        &url,
        "POST",
        "/api/v1/agents",
        Some(json!({"name": "worker"})),
    )
    .await;
    let worker = worker["id"].as_str().unwrap().to_owned();
    let (status, delegation) = send(
        &url,
        "POST",
        "/api/v1/delegations",
        Some(json!({"from_agent_id": agent, "to_agent_id": worker, "scope": ["files:read"]})),
    )
    .await;
    assert_eq!(status, 201, "{delegation}");
    let delegation = delegation["delegation"]["id"].as_str().unwrap().to_owned();
    let (_, delegated) = send(
        &url,
        "POST",
        &format!("/api/v1/delegations/{delegation}/session"),
        None,
    )
    .await;
    let delegated = delegated["session_id"].as_str().unwrap().to_owned();
    let before = stored(&gateway);
    gateway.shutdown().await.unwrap();

    let gateway = open(&path).await.unwrap();
    assert_eq!(stored(&gateway), before, "everything is back");
    assert_eq!(gateway.events().len(), 1);
    // The delegated session still acts within its scope, and only there.
    let in_delegation = |tool: &str| json!({"agent_id": worker, "action_name": tool, "action_effect": "read", "session_id": delegated});
    let url = gateway.url().to_owned();
    let (_, inside) = send(
        &url,
        "POST",
        "/api/v1/agenttrust/check",
        Some(in_delegation("files:read")),
    )
    .await;
    assert_eq!(inside["allowed"], true, "{inside}");
    let (_, outside) = send(
        &url,
        "POST",
        "/api/v1/agenttrust/check",
        Some(in_delegation("search")),
    )
    .await;
    assert_eq!(outside["allowed"], false, "{outside}");
    // The approval created before the restart: a waiting agent gets it approved.
    let client = agenttrust_runtime::AgentTrustClient::builder()
        .base_url(gateway.url())
        .api_key(KEY)
        .build()
        .unwrap();
    let guard = agenttrust_runtime::AgentTrustGuard::builder(client.clone(), agent.clone())
        .session_id("sess_1")
        .build();
    let waiting = tokio::spawn(async move {
        guard
            .check_and_wait("wipe", "x", "destructive", Duration::from_secs(20))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .approvals()
        .approve(&approval, "ops@x")
        .await
        .unwrap();
    assert!(waiting.await.unwrap().unwrap().is_allowed());
    let decided = stored(&gateway);
    gateway.shutdown().await.unwrap();
    let gateway = open(&path).await.unwrap();
    assert_eq!(
        stored(&gateway)["approvals"][&approval]["status"],
        "approved"
    );
    assert_eq!(stored(&gateway), decided);
}

#[tokio::test]
async fn the_file_keeps_every_event_and_a_restart_keeps_the_newest_in_memory() {
    let (_dir, path) = db_path("event-log");
    let small = |path: &Path| {
        Gateway::builder()
            .api_key(KEY)
            .db(path)
            .event_log(3)
            .spawn()
    };
    let gateway = small(&path).await.unwrap();
    let url = gateway.url().to_owned();
    let (_, agent) = send(&url, "POST", "/api/v1/agents", Some(json!({"name": "bot"}))).await;
    let agent = agent["id"].as_str().unwrap().to_owned();
    for batch in [["a", "b"], ["c", "d"], ["e", "f"]] {
        let events: Vec<Value> = batch.iter().map(|t| json!({"tool_name": t})).collect();
        let report = json!({"agent_id": agent, "session_id": "s1", "events": events});
        let (status, _) = send(&url, "POST", "/api/v1/telemetry/report", Some(report)).await;
        assert_eq!(status, 200);
    }
    gateway.shutdown().await.unwrap();
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows, 6,
        "the file keeps every event, also those the memory let go"
    );

    let tools = |gateway: &GatewayHandle| -> Vec<String> {
        gateway.events().into_iter().map(|e| e.tool_name).collect()
    };
    let gateway = small(&path).await.unwrap();
    assert_eq!(tools(&gateway), ["d", "e", "f"]);
    let (_, counted) = send(
        gateway.url(),
        "GET",
        "/api/v1/telemetry/events?session_id=s1&limit=0",
        None,
    )
    .await;
    assert_eq!(
        (counted["total"].as_u64(), counted["kept"].as_u64()),
        (Some(6), Some(3))
    );
    gateway.shutdown().await.unwrap();

    let gateway = open(&path).await.unwrap();
    assert_eq!(tools(&gateway), ["a", "b", "c", "d", "e", "f"]);
}

#[tokio::test]
async fn an_unusable_file_stops_the_gateway_at_start() {
    // Not SQLite at all.
    let (_garbage_dir, garbage) = db_path("garbage");
    std::fs::write(&garbage, b"this is not a database, just bytes ".repeat(200)).unwrap();
    let err = open(&garbage).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string()
            .contains("not a usable agenttrust-gateway database"),
        "{err}"
    );
    assert!(
        std::fs::read(&garbage).unwrap().starts_with(b"this is not"),
        "left untouched"
    );

    // A newer schema.
    let (_newer_dir, newer) = db_path("newer");
    {
        let path = open(&newer).await.unwrap();
        path.shutdown().await.unwrap();
        let conn = rusqlite::Connection::open(&newer).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let err = open(&newer).await.unwrap_err();
    assert!(
        err.to_string().contains("schema version 99, newer"),
        "{err}"
    );

    // A schema-1 file (before delegations) is migrated, its records kept.
    let (_schema1_dir, old) = db_path("schema1");
    {
        let conn = rusqlite::Connection::open(&old).unwrap();
        conn.execute_batch(
            "CREATE TABLE agenttrust_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO agenttrust_meta (key, value) VALUES ('application', 'agenttrust-gateway');
             CREATE TABLE agents (id TEXT PRIMARY KEY, record TEXT NOT NULL);
             CREATE TABLE tokens (id TEXT PRIMARY KEY, record TEXT NOT NULL);
             CREATE TABLE sessions (id TEXT PRIMARY KEY, record TEXT NOT NULL);
             CREATE TABLE approvals (id TEXT PRIMARY KEY, record TEXT NOT NULL);
             CREATE TABLE events (seq INTEGER PRIMARY KEY, record TEXT NOT NULL);
             INSERT INTO agents (id, record) VALUES ('ag_old', '{\"id\":\"ag_old\",\"name\":\"old\",\"org_id\":\"org_local\",\"framework\":\"custom\",\"status\":\"active\",\"capabilities\":[],\"metadata\":{},\"created_at\":\"2026-01-01T00:00:00.000Z\"}');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let migrated = open(&old).await.unwrap();
    assert_eq!(stored(&migrated)["agents"]["ag_old"]["name"], "old");
    migrated.shutdown().await.unwrap();
    let version: i64 = rusqlite::Connection::open(&old)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);

    // Another program's database.
    let (_foreign_dir, foreign) = db_path("foreign");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('x');")
        .unwrap();
    let err = open(&foreign).await.unwrap_err();
    assert!(err.to_string().contains("another program"), "{err}");
    let rows: i64 = rusqlite::Connection::open(&foreign)
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "left untouched");

    // A damaged page in a real database.
    let (_damaged_dir, damaged) = db_path("damaged");
    {
        let gateway = open(&damaged).await.unwrap();
        gateway.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_file(damaged.with_extension("db-wal"));
    let mut bytes = std::fs::read(&damaged).unwrap();
    for b in bytes.iter_mut().take(100) {
        *b = 0xAB;
    }
    std::fs::write(&damaged, bytes).unwrap();
    assert!(open(&damaged).await.is_err());
}

/// The gateway binary on `path`, and the URL it printed.
fn serve(path: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agenttrust-gateway"))
        .args(["--listen", "127.0.0.1:0", "--api-key", KEY, "--db"])
        .arg(path)
        .env_remove("AGENTTRUST_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// Whether the gateway answered 2xx and the whole answer arrived.
async fn acknowledged(answer: reqwest::Result<reqwest::Response>) -> bool {
    match answer {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_write() {
    let (_sigkill_dir, path) = db_path("sigkill");
    let (mut child, url) = serve(&path);
    let (status, agent) = send(&url, "POST", "/api/v1/agents", Some(json!({"name": "bot"}))).await;
    assert_eq!(status, 201);
    let agent = agent["id"].as_str().unwrap().to_owned();
    let sessions: Arc<Mutex<Vec<String>>> = Arc::default();
    let reports: Arc<Mutex<Vec<String>>> = Arc::default();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..4 {
        let (url, agent, sessions, reports) = (
            url.clone(),
            agent.clone(),
            sessions.clone(),
            reports.clone(),
        );
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0.. {
                let session = format!("s_{w}_{i}");
                let check = http
                    .post(format!("{url}/api/v1/agenttrust/check"))
                    .header("X-API-Key", KEY)
                    .json(&json!({"agent_id": agent, "action_name": "search", "action_effect": "read", "session_id": session}))
                    .send()
                    .await;
                if !acknowledged(check).await {
                    break;
                }
                sessions.lock().unwrap().push(session.clone());
                let report = http
                    .post(format!("{url}/api/v1/telemetry/report"))
                    .header("X-API-Key", KEY)
                    .json(&json!({"agent_id": agent, "session_id": session, "events": [{"tool_name": "search", "success": true}]}))
                    .send()
                    .await;
                if !acknowledged(report).await {
                    break;
                }
                reports.lock().unwrap().push(session);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let (sessions, reports) = (
        sessions.lock().unwrap().clone(),
        reports.lock().unwrap().clone(),
    );
    assert!(
        sessions.len() > 20,
        "traffic ran: {} checks in {:?}",
        sessions.len(),
        started.elapsed()
    );
    eprintln!(
        "acknowledged before SIGKILL: {} checks (new sessions), {} telemetry reports",
        sessions.len(),
        reports.len()
    );

    let (mut child, url) = serve(&path);
    for session in &sessions {
        let (status, body) = send(&url, "GET", &format!("/mcp/sessions/{session}"), None).await;
        assert_eq!(status, 200, "acknowledged session {session} lost: {body}");
        assert_eq!(body["total_calls"], 1);
    }
    let (_, events) = send(
        &url,
        "GET",
        &format!("/api/v1/telemetry/events?agent_id={agent}&limit=0"),
        None,
    )
    .await;
    let stored = events["total"].as_u64().unwrap() as usize;
    assert!(
        stored >= reports.len(),
        "{stored} events stored, {} acknowledged",
        reports.len()
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
