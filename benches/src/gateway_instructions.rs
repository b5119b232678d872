//! The gateway's instructions per call under `valgrind --tool=callgrind`
//! (`--decompose-telemetry`): what each 8-task shape of [`CACHE_TARGETS`]
//! costs the gateway, beside what it costs the client.
//!
//! The client's counts ([`crate::instructions`]) see one side of a call.
//! At 8 tasks both of this machine's CPUs are busy (the client on one, the
//! gateway on the other), and a guard's reports are work for the gateway
//! too: it decodes and stores every event. So the gateway runs here in a
//! child process of this binary under callgrind ([`run_child`]: the same
//! library, the same one-worker runtime as the benchmark's), the client
//! child natively against it, and as for the client two call counts'
//! difference cancels start-up and shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use agenttrust_gateway::Gateway;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::AgentTrustClient;
use serde_json::{json, Value};

use crate::instructions::{event_totals, without_valgrind, CACHE_TARGETS, CHILD_FLAG};

const GATEWAY_CHILD_FLAG: &str = "--gateway-child";

/// Calls per count: many enough that a report's events (up to 500 a post)
/// come in several posts even in the smaller count, few enough to keep
/// `--only-caches` short (the gateway runs under callgrind).
const FEW: usize = 2_000;
const MANY: usize = 12_000;

/// Whether this process is the gateway child.
pub fn child_mode() -> bool {
    std::env::args().any(|a| a == GATEWAY_CHILD_FLAG)
}

/// The gateway child: serves on a loopback port, prints `URL KEY` on one
/// line, and exits when its standard input closes (callgrind writes its
/// profile when the process exits; a kill would lose it).
pub fn run_child() {
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("gateway runtime");
    let gateway = io
        .block_on(Gateway::builder().spawn())
        .expect("gateway starts");
    let mut stdout = std::io::stdout();
    let announced =
        writeln!(stdout, "{} {}", gateway.url(), gateway.api_key()).and_then(|()| stdout.flush());
    if announced.is_ok() {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    }
    std::process::exit(0);
}

/// The gateway's instructions per call of each of [`CACHE_TARGETS`], and
/// beside each the client's from `caches` ([`crate::instructions::measure_caches`]):
/// `{target: {"gateway": .., "client": .., "both": ..}}`, and each target's
/// floor's `both` over its own (what the two sides' instructions would let
/// its throughput be, were both CPUs' speed alike and the work all they did).
pub fn measure(caches: &Value) -> Value {
    if let Some(skipped) = without_valgrind() {
        return skipped;
    }
    let exe = std::env::current_exe().expect("own path");
    let dir = std::env::temp_dir().join(format!("agenttrust-gateway-cg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut per_target = serde_json::Map::new();
    for target in CACHE_TARGETS {
        eprintln!("  callgrind on the gateway: {target}");
        let totals: Vec<Option<u64>> = [FEW, MANY]
            .iter()
            .map(|&calls| {
                gateway_total(&exe, &dir.join(format!("{target}-{calls}")), target, calls)
            })
            .collect();
        let (Some(few), Some(many)) = (totals[0], totals[1]) else {
            continue;
        };
        let gateway = many.saturating_sub(few) as f64 / (MANY - FEW) as f64;
        let client = caches
            .get(target)
            .and_then(|c| c.get("Ir"))
            .and_then(Value::as_f64);
        per_target.insert(
            target.to_owned(),
            json!({"gateway": gateway, "client": client, "both": client.map(|c| c + gateway)}),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let both = |target: &str| per_target.get(target)?.get("both")?.as_f64();
    if let Some(floor) = both(CACHE_TARGETS[0]) {
        let ratios: serde_json::Map<String, Value> = CACHE_TARGETS[1..]
            .iter()
            .filter_map(|t| Some(((*t).to_owned(), json!(floor / both(t)?))))
            .collect();
        per_target.insert("floor_both_to_both".to_owned(), Value::Object(ratios));
    }
    Value::Object(per_target)
}

/// One gateway child's total instructions while a client child makes
/// `calls` calls of `target` against it (`None` if either failed).
fn gateway_total(
    exe: &std::path::Path,
    out: &std::path::Path,
    target: &str,
    calls: usize,
) -> Option<u64> {
    let profile = out.with_extension("out");
    let mut gateway = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", profile.display()))
        .arg(format!(
            "--log-file={}",
            out.with_extension("log").display()
        ))
        .arg(exe)
        .arg(GATEWAY_CHILD_FLAG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let served = serve(&mut gateway, exe, target, calls);
    // Closing its input ends the gateway, whatever the client did.
    drop(gateway.stdin.take());
    let exited = gateway.wait().is_ok_and(|status| status.success());
    if !(served && exited) {
        return None;
    }
    let text = std::fs::read_to_string(&profile).ok()?;
    event_totals(&text)?.get("Ir").copied()
}

/// Registers an agent with the gateway child and runs the client child
/// against it; whether both succeeded.
fn serve(gateway: &mut Child, exe: &std::path::Path, target: &str, calls: usize) -> bool {
    let Some(stdout) = gateway.stdout.take() else {
        return false;
    };
    let mut line = String::new();
    if BufReader::new(stdout).read_line(&mut line).is_err() {
        return false;
    }
    let Some((url, key)) = line.trim().split_once(' ') else {
        return false;
    };
    let agent = AgentTrustClient::builder()
        .base_url(url)
        .api_key(key)
        .build()
        .and_then(|client| {
            client
                .blocking()
                .agents()
                .create(&CreateAgentRequest::new("bench-agent"))
        });
    let Ok(agent) = agent else {
        return false;
    };
    Command::new(exe)
        .args([CHILD_FLAG, target, url, key, &agent.id, &calls.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
