//! Telemetry bursts: N `report()` calls as fast as one thread can make
//! them, then a flush. Each burst runs in a child process of this binary so
//! its peak RSS (`VmHWM`) is the client's alone; the gateway stays in this
//! process and counts what it received. A last burst goes to a port where
//! nothing listens, so every event stays queued: the memory of a full queue.

use std::process::Command;
use std::time::{Duration, Instant};

use agenttrust_runtime::{AgentTrustClient, AgentTrustGuard, TelemetryConfig};
use serde_json::{json, Value};

const CHILD_FLAG: &str = "--burst-child";

/// The child's arguments (`url key agent session events`), when this
/// process is a burst child.
pub fn child_mode() -> Option<Vec<String>> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == CHILD_FLAG)?;
    Some(args[at + 1..].to_vec())
}

/// Kibibytes of a `/proc/self/status` line (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The child: reports `events` events, flushes (unless the gateway is down),
/// and prints one JSON line.
pub fn run_child(args: &[String]) {
    let [url, key, agent, session, events, mode] = args else {
        eprintln!("usage: {CHILD_FLAG} URL KEY AGENT SESSION EVENTS deliver|queue");
        std::process::exit(2);
    };
    let events: u64 = events.parse().unwrap_or(100_000);
    let io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = AgentTrustClient::builder()
        .base_url(url)
        .api_key(key)
        // Down: retry slowly so the queue is what is measured, not retries.
        .telemetry(
            TelemetryConfig::default()
                .retry_backoff(Duration::from_secs(5), Duration::from_secs(5)),
        )
        .build()
        .expect("client");
    let guard = AgentTrustGuard::builder(client.clone(), agent.clone())
        .session_id(session.clone())
        .build();
    let baseline_kib = status_kib("VmRSS:");
    let started = Instant::now();
    let mut accepted = 0u64;
    for i in 0..events {
        if guard.report("bench_tool", i % 7 != 0, i % 1_000) {
            accepted += 1;
        }
    }
    let enqueue_secs = started.elapsed().as_secs_f64();
    let (delivered, drain_secs) = if mode == "deliver" {
        let outcome = io.block_on(guard.flush(Duration::from_secs(600)));
        (outcome.is_delivered(), started.elapsed().as_secs_f64())
    } else {
        (false, 0.0)
    };
    let stats = client.telemetry_stats();
    println!(
        "{}",
        json!({
            "events": events, "accepted": accepted, "flush_delivered": delivered,
            "sent": stats.sent, "dropped": stats.dropped, "queued": stats.queued,
            "enqueue_secs": enqueue_secs, "drain_secs": drain_secs,
            "baseline_rss_mib": baseline_kib as f64 / 1024.0,
            "peak_rss_mib": status_kib("VmHWM:") as f64 / 1024.0,
        })
    );
    // Do not wait for a down gateway on exit.
    std::process::exit(0);
}

fn child(url: &str, key: &str, agent: &str, session: &str, events: u64, mode: &str) -> Value {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .args([
            CHILD_FLAG,
            url,
            key,
            agent,
            session,
            &events.to_string(),
            mode,
        ])
        .output()
        .expect("burst child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&output.stderr).to_string()}))
}

/// Bursts of 100,000 and 1,000,000 reports delivered to `gateway`, and one
/// of 1,000,000 kept queued with no gateway.
pub fn measure(url: &str, key: &str, agent: &str, stored: impl Fn(&str) -> u64) -> Value {
    let mut runs = serde_json::Map::new();
    for events in [100_000u64, 1_000_000] {
        let session = format!("burst-{events}-{}", std::process::id());
        eprintln!("  telemetry burst of {events} reports");
        let mut run = child(url, key, agent, &session, events, "deliver");
        run["stored_by_gateway"] = json!(stored(&session));
        runs.insert(events.to_string(), run);
    }
    // Nothing listens on the port of a listener that was just closed.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    eprintln!("  1,000,000 reports queued with the gateway down");
    runs.insert(
        "queued_gateway_down".to_owned(),
        child(&down, key, agent, "burst-down", 1_000_000, "queue"),
    );
    json!({
        "queued_event_bytes": agenttrust_runtime::QUEUED_EVENT_BYTES,
        "capacity": agenttrust_runtime::DEFAULT_CAPACITY,
        "runs": runs,
    })
}
