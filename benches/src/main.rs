//! What a guarded call costs, measured in one run against the same local
//! gateway: the bare HTTP round trip (floor), our `#[guarded]` functions,
//! and the official `agenttrustid` SDK's check-then-report guard.
//!
//! `cargo run --release --manifest-path benches/Cargo.toml -- [--quick] [--json FILE] [--only-burst] [--no-burst] [--only-tracing] [--only-instructions] [--only-compile] [--compile-instructions] [--only-latency] [--reps N] [--calls N] [--rounds N]`
//!
//! Prints one table per gateway latency (0 and 1 ms) with medians over
//! repetitions, the ratios ours/floor and ours/official, throughput at 1, 8
//! and 64 callers, telemetry delivery, instruction counts (callgrind, when
//! valgrind is installed) and compile cost, and writes it all as JSON.

mod burst;
mod compile_cost;
mod floor;
mod gateway_instructions;
mod instructions;
mod observability;
mod primitives;
mod stats;
mod steal;
mod targets;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use agenttrust_gateway::{Gateway, GatewayHandle, Policy};
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::{
    guarded, with_runtime, AgentTrustClient, AgentTrustError, AgentTrustGuard, Runtime,
};
use serde_json::{json, Value};
use stats::{median_of, Summary};

#[guarded(effect = "read", name = "bench_tool")]
pub async fn guarded_async() -> Result<(), AgentTrustError> {
    Ok(())
}

/// The guard's parts of a guarded call without the span or the body's
/// timing: the check, then (with `report`) the report of a success.
pub async fn check_then_report(guard: AgentTrustGuard, report: bool) {
    guard
        .check_with_effect("bench_tool", "", "read")
        .await
        .expect("allowed");
    if report {
        guard.report("bench_tool", true, 1);
    }
}

#[guarded(effect = "read", name = "bench_tool")]
pub fn guarded_sync() -> Result<(), AgentTrustError> {
    Ok(())
}

/// Command-line settings.
pub struct Settings {
    quick: bool,
    reps: usize,
    rounds: usize,
    calls: usize,
    json_path: String,
    compile: bool,
    callgrind: bool,
    only_compile: bool,
    compile_instructions: bool,
    only_burst: bool,
    only_tracing: bool,
    only_instructions: bool,
    only_caches: bool,
    only_latency: bool,
    decompose_telemetry: bool,
    burst: bool,
}

impl Settings {
    fn parse() -> Settings {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let flag = |name: &str| args.iter().any(|a| a == name);
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1).cloned())
        };
        let quick = flag("--quick");
        Settings {
            quick,
            reps: value("--reps")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 5 } else { 10 }),
            rounds: value("--rounds")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 4 } else { 24 }),
            calls: value("--calls")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 400 } else { 1_000 }),
            json_path: value("--json").unwrap_or_else(|| "target/bench-results.json".to_owned()),
            compile: !flag("--no-compile"),
            callgrind: !flag("--no-callgrind"),
            only_compile: flag("--only-compile"),
            compile_instructions: flag("--compile-instructions"),
            only_burst: flag("--only-burst"),
            only_tracing: flag("--only-tracing"),
            only_instructions: flag("--only-instructions"),
            only_caches: flag("--only-caches"),
            only_latency: flag("--only-latency"),
            decompose_telemetry: flag("--decompose-telemetry"),
            burst: !flag("--no-burst"),
        }
    }
}

/// A gateway with an agent on it, and both SDKs' clients for it.
struct Setup {
    gateway: GatewayHandle,
    io: tokio::runtime::Runtime,
    agent_id: String,
    ours: Runtime,
}

fn setup(latency: Duration) -> Setup {
    // The gateway serves from a runtime of its own, on its own thread.
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| {
            if let (_, Some(last)) = cpus() {
                core_affinity::set_for_current(last);
            }
        })
        .enable_all()
        .build()
        .expect("gateway runtime");
    let gateway = io
        .block_on(
            Gateway::builder()
                .policy(Policy::default().check_latency(latency))
                .spawn(),
        )
        .expect("gateway starts");
    let client = AgentTrustClient::builder()
        .base_url(gateway.url())
        .api_key(gateway.api_key())
        .build()
        .expect("client");
    let agent = client
        .blocking()
        .agents()
        .create(&CreateAgentRequest::new("bench-agent"))
        .expect("agent registers");
    let ours = Runtime::builder(client, agent.id.clone()).build();
    Setup {
        gateway,
        io,
        agent_id: agent.id,
        ours,
    }
}

fn check_body(agent_id: &str, session: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "agent_id": agent_id, "action_name": "bench_tool", "action_source": "api",
        "action_effect": "read", "session_id": session,
    }))
    .expect("json")
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Untimed calls before a block's first timed one (connections open,
/// caches warm).
fn warm_up(n: usize) -> usize {
    n / 10 + 20
}

/// Per-call nanoseconds of `n` sequential calls of `call`, after `warm`
/// untimed ones.
fn time_calls(n: usize, warm: usize, mut call: impl FnMut()) -> Vec<u64> {
    for _ in 0..warm {
        call();
    }
    (0..n)
        .map(|_| {
            let start = Instant::now();
            call();
            u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .collect()
}

/// Per-call nanoseconds of `n` sequential awaits of `call`, after `warm`
/// untimed ones.
async fn time_async<F, Fut>(n: usize, warm: usize, mut call: F) -> Vec<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..warm + n {
        let start = Instant::now();
        call().await;
        if i >= warm {
            samples.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
    }
    samples
}

/// Per-call nanoseconds of `n` sequential `guarded_async` calls, after
/// `warm` untimed ones; the caller puts a runtime in scope.
async fn guarded_calls(n: usize, warm: usize) -> Vec<u64> {
    time_async(n, warm, || async {
        guarded_async().await.expect("allowed");
    })
    .await
}

/// [`guarded_calls`] on `rt` with `ours` in scope.
fn time_guarded_async(
    rt: &tokio::runtime::Runtime,
    ours: &Runtime,
    n: usize,
    warm: usize,
) -> Vec<u64> {
    rt.block_on(ours.scope(guarded_calls(n, warm)))
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn official_guard(s: &Setup) -> agenttrustid::AgentTrustGuard {
    let client = agenttrustid::AgentTrustClient::builder()
        .base_url(s.gateway.url())
        .api_key(s.gateway.api_key())
        .build()
        .expect("official client");
    agenttrustid::AgentTrustGuard::builder(client, &s.agent_id)
        .action_effect("read")
        .build()
}

/// The rows of the latency table: the three pairs of ours and its floor,
/// then the single rows (see [`paired_units`]).
const LATENCY_ROWS: [&str; 8] = [
    "floor_async",
    "ours_async",
    "floor_async_mt",
    "ours_async_mt",
    "floor_blocking",
    "ours_sync",
    "official",
    "floor_async_h2",
];

/// The first and the last CPU of the machine, read once (a pinned thread
/// sees only its own CPU): the client side runs on the first
/// ([`on_client_cpu`]), the gateway's worker on the last.
fn cpus() -> (Option<core_affinity::CoreId>, Option<core_affinity::CoreId>) {
    static CPUS: OnceLock<(Option<core_affinity::CoreId>, Option<core_affinity::CoreId>)> =
        OnceLock::new();
    *CPUS.get_or_init(|| {
        let ids = core_affinity::get_core_ids().unwrap_or_default();
        match (ids.first(), ids.last()) {
            (Some(first), Some(last)) if first.id != last.id => (Some(*first), Some(*last)),
            _ => (None, None),
        }
    })
}

/// Runs `measure` on a thread pinned to the first CPU. Every thread it
/// starts inherits that CPU (the callers, their runtimes' workers, the
/// clients' own threads and the toolkit's I/O runtime, first used here),
/// while the gateway's worker pins itself to the last: as if the gateway
/// ran on another machine, and the same placement in every block and
/// window. Unpinned, the scheduler sometimes put a caller and the gateway
/// on one CPU, where a request and its answer are a cheap local switch:
/// a latency row's median jumped between ~45 and ~140 µs from block to
/// block, and a throughput window's rate by a third.
fn on_client_cpu<T: Send>(measure: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let (Some(first), _) = cpus() {
                    core_affinity::set_for_current(first);
                }
                measure()
            })
            .join()
            .expect("measurement thread")
    })
}

/// A latency row ready to run, made once per repetition: its runtime and
/// client, kept across the repetition's sub-blocks. Called with `(n, warm)`
/// it times `n` calls after `warm` untimed ones: per-call ns.
type LatencyCaller<'a> = Box<dyn FnMut(usize, usize) -> Vec<u64> + 'a>;

fn latency_caller<'a>(s: &'a Setup, row: &str) -> LatencyCaller<'a> {
    let url = format!("{}/api/v1/agenttrust/check", s.gateway.url());
    // Our runtime's own session: the gateway does the same work for both.
    let body = check_body(&s.agent_id, s.ours.session_id());
    let key = s.gateway.api_key().to_owned();
    match row {
        "floor_async" | "floor_async_h2" => {
            let http = if row == "floor_async" {
                floor::client()
            } else {
                floor::client_h2()
            };
            let rt = current_thread();
            Box::new(move |n, warm| {
                rt.block_on(time_async(n, warm, || {
                    floor::call(&http, &url, &key, &body)
                }))
            })
        }
        "ours_async" => {
            let rt = current_thread();
            Box::new(move |n, warm| time_guarded_async(&rt, &s.ours, n, warm))
        }
        // A task on a multi-thread runtime: the caller's future runs on a
        // worker, not on the thread that blocks on it.
        "floor_async_mt" => {
            let rt = multi_thread();
            let (http, url, key, body) = (
                floor::client(),
                Arc::new(url),
                Arc::new(key),
                Arc::new(body),
            );
            Box::new(move |n, warm| {
                let (http, url, key, body) = (http.clone(), url.clone(), key.clone(), body.clone());
                rt.block_on(async move {
                    tokio::spawn(async move {
                        time_async(n, warm, || floor::call(&http, &url, &key, &body)).await
                    })
                    .await
                    .expect("task")
                })
            })
        }
        "ours_async_mt" => {
            let rt = multi_thread();
            Box::new(move |n, warm| {
                rt.block_on(async {
                    tokio::spawn(s.ours.scope(guarded_calls(n, warm)))
                        .await
                        .expect("task")
                })
            })
        }
        "floor_blocking" => {
            let blocking = floor::blocking_client();
            Box::new(move |n, warm| {
                time_calls(n, warm, || {
                    floor::call_blocking(&blocking, &url, &key, &body)
                })
            })
        }
        "ours_sync" => Box::new(move |n, warm| {
            with_runtime(&s.ours, || {
                time_calls(n, warm, || guarded_sync().expect("allowed"))
            })
        }),
        _ => {
            let official = official_guard(s);
            Box::new(move |n, warm| {
                time_calls(n, warm, || {
                    official.check("bench_tool", "").expect("official allowed");
                    official.report("bench_tool", true, 0);
                })
            })
        }
    }
}

/// Sub-blocks a pair's block is cut into, ours and its floor alternating.
const SUB_BLOCKS: usize = 10;

/// One repetition of the latency measurements, `n` calls of every row, in
/// the units of [`paired_units`]. A pair (ours and its floor) runs as
/// [`SUB_BLOCKS`] alternating sub-blocks on callers kept across them, so
/// the two rows see the same stretch of machine noise (with one whole block
/// each, even side by side, the noise between two blocks moved a
/// repetition's ratio by more than the targets' margins). Name → per-call ns.
fn latency_rep(s: &Setup, n: usize, rep: usize) -> Vec<(&'static str, Vec<u64>)> {
    let mut out: Vec<(&'static str, Vec<u64>)> = Vec::new();
    for unit in paired_units(rep, 3, LATENCY_ROWS.len()) {
        let rows: Vec<&'static str> = unit.iter().map(|&r| LATENCY_ROWS[r]).collect();
        let mut callers: Vec<LatencyCaller> =
            rows.iter().map(|row| latency_caller(s, row)).collect();
        let subs = if unit.len() == 2 { SUB_BLOCKS } else { 1 };
        let mut samples = vec![Vec::with_capacity(n); unit.len()];
        for sub in 0..subs {
            let warm = if sub == 0 { warm_up(n) } else { 0 };
            for (caller, samples) in callers.iter_mut().zip(&mut samples) {
                samples.extend(caller(n.div_ceil(subs), warm));
            }
        }
        out.extend(rows.into_iter().zip(samples));
    }
    out.sort_by_key(|(row, _)| LATENCY_ROWS.iter().position(|r| r == row));
    out
}

/// `report()` alone: ours (enqueue) and the official guard's (buffer, and
/// a synchronous post every tenth call).
fn report_rep(s: &Setup, n: usize) -> Vec<(&'static str, Vec<u64>)> {
    let guard = s.ours.guard().clone();
    let ours = time_calls(n, warm_up(n), || {
        guard.report("bench_tool", true, 1);
    });
    let official = official_guard(s);
    let theirs = time_calls(n, warm_up(n), || official.report("bench_tool", true, 1));
    vec![("ours_report", ours), ("official_report", theirs)]
}

/// How long each throughput measurement runs, after a warm-up of a fifth of it.
fn window(quick: bool) -> Duration {
    Duration::from_millis(if quick { 100 } else { 200 })
}

/// One throughput window: a warm-up, then `span` during which finished
/// calls are counted. Shared by every caller of one measurement.
struct Window {
    counted: AtomicU64,
    warm_until: Instant,
    end: Instant,
    span: Duration,
}

impl Window {
    fn start(span: Duration) -> Arc<Window> {
        let warm_until = Instant::now() + span / 5;
        Arc::new(Window {
            counted: AtomicU64::new(0),
            warm_until,
            end: warm_until + span,
            span,
        })
    }

    /// Records one finished call; `false` once the window is over.
    fn tick(&self) -> bool {
        let now = Instant::now();
        if now >= self.end {
            return false;
        }
        if now >= self.warm_until {
            self.counted.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    fn rate(&self) -> f64 {
        self.counted.load(Ordering::Relaxed) as f64 / self.span.as_secs_f64()
    }
}

/// Calls per second of `callers` async tasks on `rt` running `call` in a
/// loop. With `scope`, each task runs its whole loop in `scope.scope(..)`:
/// ours' runtime put in scope once per task, as the latency rows do once
/// per block, so each call pays the guard's lookup of its runtime and not
/// a task-local scope of its own, which a floor call does not pay either.
fn async_rate<F, Fut>(
    rt: &tokio::runtime::Runtime,
    callers: usize,
    span: Duration,
    scope: Option<&Runtime>,
    call: F,
) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
    let window = Window::start(span);
    rt.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (call, window) = (call.clone(), window.clone());
                spawn_caller(scope, async move {
                    call().await;
                    while window.tick() {
                        call().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    window.rate()
}

/// Spawns one caller task's loop, inside `scope.scope(..)` when given.
fn spawn_caller<F>(scope: Option<&Runtime>, caller: F) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    match scope {
        Some(runtime) => tokio::spawn(runtime.scope(caller)),
        None => tokio::spawn(caller),
    }
}

/// Calls per second of `callers` threads running `call` in a loop.
fn thread_rate(callers: usize, span: Duration, call: Arc<dyn Fn() + Send + Sync>) -> f64 {
    let window = Window::start(span);
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let (call, window) = (call.clone(), window.clone());
            std::thread::spawn(move || {
                call();
                while window.tick() {
                    call();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    window.rate()
}

/// A table of throughput rows: each row's name in the JSON and what it
/// runs (see [`throughput_row`]), the pairs of its floor and ours first
/// (see [`paired_units`]), and the ratios it reports (`name`, ours' row,
/// its floor's row), each the median over rounds of the round's ratio.
struct ThroughputTable {
    rows: &'static [(&'static str, &'static str)],
    pairs: usize,
    ratios: &'static [(&'static str, usize, usize)],
}

/// The throughput table of every run. Besides ours' rows and their floors,
/// the minimal guard ([`floor::minimal_guard`]: the async floor reading
/// the answer's `allowed` and reporting each call) with a floor window of
/// its own, as in [`TELEMETRY_DECOMPOSITION`]: the least any guard adds to
/// the bare request, in the same rounds as ours, so a throughput ratio of
/// ours can be read against what reading the decision and reporting every
/// call costs on this machine at that moment.
const THROUGHPUT: ThroughputTable = ThroughputTable {
    rows: &[
        ("floor_async", "floor_async"),
        ("ours_async", "ours_async"),
        ("floor_blocking", "floor_blocking"),
        ("ours_sync", "ours_sync"),
        ("floor_async_for_minimal_guard", "floor_async"),
        ("floor_async_minimal_guard", "floor_async_minimal_guard"),
        ("official", "official"),
        ("floor_async_h2", "floor_async_h2"),
    ],
    pairs: 3,
    ratios: &[
        ("ours_async_to_floor_async", 1, 0),
        ("ours_sync_to_floor_blocking", 3, 2),
        ("floor_async_minimal_guard_to_floor_async", 5, 4),
        ("floor_async_h2_to_floor_async", 7, 0),
    ],
};

/// `--decompose-telemetry`: where a guarded call's throughput goes. Each
/// part with a floor of its own in alternating sub-windows: our check
/// alone (no span, no report), our check then `report()`, the reporting
/// floor ([`floor::Reporter`]: the async floor plus the least a client
/// reporting every call must do), and the minimal guard (the async floor
/// reading the answer's `allowed` and reporting each call's own event: the
/// least any guard adds), and the whole `#[guarded]` async call (the
/// throughput table's row, here beside its parts in the same rounds).
/// Unless `--no-callgrind`, it also counts ours' and the reporting floor's
/// instructions per report, and the 8-task shapes' cache misses and clock
/// reads per call; and it times the primitives callgrind counts as cheap
/// ([`primitives`]: a clock read, a locked add) on the client's CPU.
const TELEMETRY_DECOMPOSITION: ThroughputTable = ThroughputTable {
    rows: &[
        ("floor_async_for_check", "floor_async"),
        ("ours_check", "ours_check"),
        ("floor_async_for_check_report", "floor_async"),
        ("ours_check_report", "ours_check_report"),
        ("floor_async_for_reporting", "floor_async"),
        ("floor_async_reporting", "floor_async_reporting"),
        ("floor_async_for_minimal_guard", "floor_async"),
        ("floor_async_minimal_guard", "floor_async_minimal_guard"),
        ("floor_async_for_guarded", "floor_async"),
        ("ours_async", "ours_async"),
    ],
    pairs: 5,
    ratios: &[
        ("ours_check_to_floor_async", 1, 0),
        ("ours_check_report_to_floor_async", 3, 2),
        ("floor_async_reporting_to_floor_async", 5, 4),
        ("floor_async_minimal_guard_to_floor_async", 7, 6),
        ("ours_async_to_floor_async", 9, 8),
    ],
};

/// The rows of round (or repetition) `round`, as the units they run in:
/// each of ours with its floor (the two measurements of a ratio see the
/// same stretch of machine noise), which of the two first alternating by
/// round, the pairs and the single rows rotating. Rows `2k` and `2k + 1`
/// for `k < pairs` are the pairs, the rest up to `rows` single.
fn paired_units(round: usize, pairs: usize, rows: usize) -> Vec<Vec<usize>> {
    let units: Vec<Vec<usize>> = (0..pairs)
        .map(|k| {
            if round.is_multiple_of(2) {
                vec![2 * k, 2 * k + 1]
            } else {
                vec![2 * k + 1, 2 * k]
            }
        })
        .chain((2 * pairs..rows).map(|row| vec![row]))
        .collect();
    (0..units.len())
        .map(|k| units[(k + round) % units.len()].clone())
        .collect()
}

/// What the throughput rows call with, made once per caller count and kept
/// across its windows: the async rows' 2-worker runtime (so ours' pool for
/// it, and the floor's client, keep their connections from window to
/// window), the blocking floor's client and the official guard.
struct Callers {
    rt: tokio::runtime::Runtime,
    floor_async: reqwest::Client,
    floor_async_h2: reqwest::Client,
    floor_blocking: reqwest::blocking::Client,
    official: Arc<agenttrustid::AgentTrustGuard>,
    /// The reporting floor's (and the minimal guard's), when the table has them.
    reporter: Option<Arc<floor::Reporter>>,
    url: Arc<String>,
    body: Arc<Vec<u8>>,
    key: Arc<String>,
}

impl Callers {
    fn new(s: &Setup, table: &ThroughputTable) -> Callers {
        let reporting = table.rows.iter().any(|(_, runs)| {
            matches!(*runs, "floor_async_reporting" | "floor_async_minimal_guard")
        });
        Callers {
            rt: multi_thread(),
            floor_async: floor::client(),
            floor_async_h2: floor::client_h2(),
            floor_blocking: floor::blocking_client(),
            official: Arc::new(official_guard(s)),
            reporter: reporting.then(|| {
                Arc::new(floor::Reporter::new(
                    s.gateway.url(),
                    s.gateway.api_key(),
                    &s.agent_id,
                    s.ours.session_id(),
                ))
            }),
            url: Arc::new(format!("{}/api/v1/agenttrust/check", s.gateway.url())),
            body: Arc::new(check_body(&s.agent_id, s.ours.session_id())),
            key: Arc::new(s.gateway.api_key().to_owned()),
        }
    }
}

/// Calls per second of one row with `callers` concurrent callers: async
/// rows are tasks on the 2-worker runtime, the others threads.
fn throughput_row(s: &Setup, with: &Callers, row: &str, callers: usize, span: Duration) -> f64 {
    let (url, body, key) = (with.url.clone(), with.body.clone(), with.key.clone());
    match row {
        "floor_async" | "floor_async_h2" => {
            let http = if row == "floor_async" {
                with.floor_async.clone()
            } else {
                with.floor_async_h2.clone()
            };
            async_rate(&with.rt, callers, span, None, move || {
                let request = floor::post(&http, &url, &key, &body);
                async move {
                    let resp = request.send().await.expect("post");
                    let _ = resp.bytes().await;
                }
            })
        }
        "ours_async" => async_rate(&with.rt, callers, span, Some(&s.ours), || async {
            guarded_async().await.expect("allowed");
        }),
        "ours_check" | "ours_check_report" => {
            let report = row == "ours_check_report";
            let guard = s.ours.guard().clone();
            async_rate(&with.rt, callers, span, None, move || {
                check_then_report(guard.clone(), report)
            })
        }
        "floor_async_reporting" => {
            let http = with.floor_async.clone();
            let reporter = with.reporter.clone().expect("the table's reporter");
            async_rate(&with.rt, callers, span, None, move || {
                let request = floor::post(&http, &url, &key, &body);
                let reporter = reporter.clone();
                async move {
                    let resp = request.send().await.expect("post");
                    let _ = resp.bytes().await;
                    reporter.report();
                }
            })
        }
        "floor_async_minimal_guard" => {
            let http = with.floor_async.clone();
            let reporter = with.reporter.clone().expect("the table's reporter");
            async_rate(&with.rt, callers, span, None, move || {
                let started = Instant::now();
                let request = floor::post(&http, &url, &key, &body);
                let reporter = reporter.clone();
                async move { floor::minimal_guard(request, started, &reporter).await }
            })
        }
        "floor_blocking" => {
            let blocking = with.floor_blocking.clone();
            thread_rate(
                callers,
                span,
                Arc::new(move || floor::call_blocking(&blocking, &url, &key, &body)),
            )
        }
        "ours_sync" => {
            let runtime = s.ours.clone();
            thread_rate(
                callers,
                span,
                Arc::new(move || with_runtime(&runtime, || guarded_sync().expect("allowed"))),
            )
        }
        _ => {
            let official = with.official.clone();
            thread_rate(
                callers,
                span,
                Arc::new(move || {
                    official.check("bench_tool", "").expect("allowed");
                    official.report("bench_tool", true, 0);
                }),
            )
        }
    }
}

/// Sub-windows a pair's window is cut into, ours and its floor alternating
/// (each with its own warm-up, a fifth of it).
const SUB_WINDOWS: usize = 5;

/// Calls per second of `table`'s rows with `callers` concurrent callers:
/// in each of `rounds` rounds a window of every row, in the units of
/// [`paired_units`], a pair's two windows as [`SUB_WINDOWS`] alternating
/// sub-windows (a row's rate in the round is their mean). The median rate
/// of each row, and the median over rounds of each of the table's ratios
/// in the same round.
fn throughput(
    s: &Setup,
    table: &ThroughputTable,
    callers: usize,
    span: Duration,
    rounds: usize,
) -> Value {
    let with = Callers::new(s, table);
    let rows = table.rows.len();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); rows];
    let mut steal: Vec<Vec<f64>> = vec![Vec::new(); rows];
    let mut drain_ms: Vec<Vec<f64>> = vec![Vec::new(); rows];
    for round in 0..rounds {
        for unit in paired_units(round, table.pairs, rows) {
            let subs = if unit.len() == 2 { SUB_WINDOWS } else { 1 };
            let sub_span = span / subs as u32;
            let clock = steal::StealClock::start();
            let mut sums = vec![0.0; unit.len()];
            for _ in 0..subs {
                for (&r, sum) in unit.iter().zip(&mut sums) {
                    *sum += throughput_row(s, &with, table.rows[r].1, callers, sub_span);
                }
            }
            let stolen = steal::fraction_of(clock.as_ref());
            // The telemetry a unit left queued is delivered before the
            // next unit starts, so no row runs while another's drains.
            let started = Instant::now();
            let flushed = s.ours.client().flush_blocking(Duration::from_secs(60));
            assert!(flushed.is_delivered(), "telemetry delivered: {flushed:?}");
            let drained = started.elapsed().as_secs_f64() * 1e3;
            for (&r, sum) in unit.iter().zip(sums) {
                rates[r].push(sum / subs as f64);
                steal[r].push(stolen);
                drain_ms[r].push(drained);
            }
        }
    }
    if let Some(reporter) = &with.reporter {
        assert_eq!(
            reporter.failed_posts(),
            0,
            "the reporting floor's reports accepted"
        );
    }
    let mut out = serde_json::Map::new();
    let by_row = |values: &[Vec<f64>]| -> Value {
        table
            .rows
            .iter()
            .zip(values)
            .map(|((row, _), v)| (row.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    out.insert("rates_per_round".to_owned(), by_row(&rates));
    out.insert("steal_per_window".to_owned(), by_row(&steal));
    out.insert(
        "telemetry_drain_ms_after_window".to_owned(),
        by_row(&drain_ms),
    );
    let mut all_steal: Vec<f64> = steal.iter().flatten().copied().collect();
    all_steal.retain(|f| f.is_finite());
    out.insert(
        "steal".to_owned(),
        json!({
            "median": stats::median(all_steal.clone()),
            "max": all_steal.iter().copied().fold(0.0, f64::max),
        }),
    );
    for (r, (row, _)) in table.rows.iter().enumerate() {
        out.insert((*row).to_owned(), json!(stats::median(rates[r].clone())));
    }
    // Each round's ratio is kept too: their spread within a run says how
    // far one run's median can be trusted.
    let per_round = |a: usize, b: usize| -> Vec<f64> {
        rates[a].iter().zip(&rates[b]).map(|(x, y)| x / y).collect()
    };
    for &(name, ours, floor) in table.ratios {
        let rounds = per_round(ours, floor);
        out.insert(
            format!("paired_ratio_{name}"),
            json!(stats::median(rounds.clone())),
        );
        out.insert(format!("round_ratios_{name}"), json!(rounds));
    }
    Value::Object(out)
}

/// [`throughput`] of `table` at 1, 8 and 64 concurrent callers, keyed by
/// the count; `phase` names the measurement in the progress lines.
fn throughput_by_callers(
    s: &Setup,
    table: &ThroughputTable,
    settings: &Settings,
    phase: &str,
) -> Value {
    let mut by_callers = serde_json::Map::new();
    for callers in [1usize, 8, 64] {
        eprintln!("  {phase}: {callers} concurrent callers");
        let measured = throughput(s, table, callers, window(settings.quick), settings.rounds);
        by_callers.insert(callers.to_string(), measured);
    }
    Value::Object(by_callers)
}

/// Events the gateway received for a session: its exact count (`total`),
/// which holds when its memory keeps only the newest events.
fn stored_events(s: &Setup, session: &str) -> usize {
    let url = format!(
        "{}/api/v1/telemetry/events?session_id={session}&limit=0",
        s.gateway.url()
    );
    let body: Value = reqwest::blocking::Client::new()
        .get(url)
        .header("X-API-Key", s.gateway.api_key())
        .send()
        .and_then(reqwest::blocking::Response::json)
        .unwrap_or(Value::Null);
    body["total"].as_u64().map_or(0, |n| n as usize)
}

/// `calls` guarded calls then a flush (ours) and `calls` check+report then
/// flush and drop (official): how many events each delivered.
fn delivery(s: &Setup, calls: usize) -> Value {
    let rt = current_thread();
    // A session of its own, so only these calls are counted.
    let fresh = Runtime::builder(s.ours.client().clone(), s.agent_id.clone()).build();
    let before = fresh.client().telemetry_stats();
    let started = Instant::now();
    rt.block_on(fresh.scope(async {
        for _ in 0..calls {
            guarded_async().await.expect("allowed");
        }
    }));
    let outcome = fresh.guard().flush_blocking(Duration::from_secs(60));
    let ours_secs = started.elapsed().as_secs_f64();
    let ours = stored_events(s, fresh.session_id());
    let after = fresh.client().telemetry_stats();
    let stats = agenttrust_runtime::TelemetryStats {
        dropped: after.dropped - before.dropped,
        failed_posts: after.failed_posts - before.failed_posts,
        posts: after.posts - before.posts,
        ..after
    };

    let official = official_guard(s);
    let session = official.session_id().to_owned();
    let started = Instant::now();
    let mut official_errors = 0usize;
    for _ in 0..calls {
        official.check("bench_tool", "").expect("allowed");
        official.report("bench_tool", true, 0);
    }
    if official.flush().is_err() {
        official_errors += 1;
    }
    drop(official);
    let official_secs = started.elapsed().as_secs_f64();
    let theirs = stored_events(s, &session);
    json!({
        "calls": calls,
        "ours": {"stored": ours, "lost": calls.saturating_sub(ours), "flush": format!("{outcome:?}"),
                 "dropped_counter": stats.dropped, "failed_posts": stats.failed_posts, "report_posts": stats.posts,
                 "seconds": ours_secs},
        "official": {"stored": theirs, "lost": calls.saturating_sub(theirs), "flush_errors": official_errors, "seconds": official_secs},
    })
}

/// Ours ÷ floor within each repetition (the same noise on both sides),
/// then the median over repetitions, for p50, p99 and the mean; the p50
/// ratio of each repetition too, for the spread behind the median.
fn paired_ratios(reps: &[Vec<(&'static str, Summary)>]) -> Value {
    let pick = |rep: &[(&'static str, Summary)], name: &str| {
        rep.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .expect("every row in every repetition")
    };
    let mut out = serde_json::Map::new();
    for (ours, floor) in [
        ("ours_async", "floor_async"),
        ("ours_async_mt", "floor_async_mt"),
        ("ours_sync", "floor_blocking"),
        ("ours_sync", "official"),
        ("floor_async_h2", "floor_async"),
    ] {
        let per_rep = |f: fn(&Summary) -> f64| -> Vec<f64> {
            reps.iter()
                .map(|rep| f(&pick(rep, ours)) / f(&pick(rep, floor)))
                .collect()
        };
        let p50s = per_rep(Summary::p50);
        out.insert(
            format!("{ours}/{floor}"),
            json!({
                "p50": stats::median(p50s.clone()),
                "p99": stats::median(per_rep(Summary::p99)),
                "mean": stats::median(per_rep(Summary::mean)),
                "p50_per_rep": p50s,
            }),
        );
    }
    Value::Object(out)
}

fn measure_latency(settings: &Settings, latency: Duration) -> Value {
    let s = setup(latency);
    // With gateway latency every call takes milliseconds: a quarter of the
    // calls per block keeps the run short, the blocks still in the hundreds.
    let calls = if latency.is_zero() {
        settings.calls
    } else {
        settings.calls / 4
    };
    let mut reps: Vec<Vec<(&'static str, Summary)>> = Vec::new();
    let mut report_reps: Vec<Vec<(&'static str, Summary)>> = Vec::new();
    for rep in 0..settings.reps {
        eprintln!(
            "  latency {latency:?}: repetition {}/{}",
            rep + 1,
            settings.reps
        );
        reps.push(
            latency_rep(&s, calls, rep)
                .into_iter()
                .map(|(k, v)| (k, Summary::of(v)))
                .collect(),
        );
        report_reps.push(
            report_rep(&s, settings.calls * 10)
                .into_iter()
                .map(|(k, v)| (k, Summary::of(v)))
                .collect(),
        );
    }
    let mut result = serde_json::Map::new();
    for rep_set in [&reps, &report_reps] {
        for (name, _) in &rep_set[0] {
            let all: Vec<&Summary> = rep_set
                .iter()
                .map(|r| &r.iter().find(|(k, _)| k == name).expect("same keys").1)
                .collect();
            result.insert((*name).to_owned(), median_of(&all));
        }
    }
    result.insert("paired_ratios".to_owned(), paired_ratios(&reps));
    let phase = format!("latency {latency:?}");
    result.insert(
        "throughput_calls_per_sec".to_owned(),
        throughput_by_callers(&s, &THROUGHPUT, settings, &phase),
    );
    if latency.is_zero() {
        let calls = if settings.quick { 10_000 } else { 100_000 };
        eprintln!("  delivery of {calls} calls");
        result.insert("delivery".to_owned(), delivery(&s, calls));
    }
    drop(s.gateway);
    drop(s.io);
    Value::Object(result)
}

/// The decomposition's callgrind tables of one 8-task call: the client's
/// simulated cache misses, then both sides' instructions (the gateway's
/// counted beside the client's).
fn measure_per_call(results: &mut serde_json::Map<String, Value>) {
    eprintln!("telemetry decomposition: simulated cache misses per call");
    let caches = instructions::measure_caches();
    eprintln!("telemetry decomposition: the gateway's instructions per call");
    let both = gateway_instructions::measure(&caches);
    results.insert("cache_misses_per_call_8_tasks".to_owned(), caches);
    results.insert("instructions_per_call_both_sides_8_tasks".to_owned(), both);
}

/// Prints what [`measure_per_call`] measured.
fn print_per_call(results: &serde_json::Map<String, Value>) {
    if let Some(caches) = results.get("cache_misses_per_call_8_tasks") {
        stats::print_cache_misses(caches);
    }
    if let Some(both) = results.get("instructions_per_call_both_sides_8_tasks") {
        stats::print_both_sides(both);
    }
}

fn main() {
    if let Some(code) = compile_cost::wrapper_mode() {
        std::process::exit(code);
    }
    if gateway_instructions::child_mode() {
        gateway_instructions::run_child();
    }
    let settings = Settings::parse();
    if let Some(mode) = instructions::child_mode() {
        instructions::run_child(&mode);
        return;
    }
    if let Some(args) = burst::child_mode() {
        burst::run_child(&args);
        return;
    }
    eprintln!(
        "agenttrust bench: {} repetitions of {} calls per measurement",
        settings.reps, settings.calls
    );
    let mut results = serde_json::Map::new();
    if settings.only_compile {
        let cost = compile_cost::measure(settings.quick, settings.compile_instructions);
        println!(
            "{}",
            serde_json::to_string_pretty(&cost).unwrap_or_default()
        );
        return;
    }
    if settings.only_instructions {
        results.insert("instructions_per_call".to_owned(), instructions::measure());
        finish(&settings, Value::Object(results));
        return;
    }
    if settings.only_caches {
        // The decomposition's callgrind tables alone: deterministic and
        // about two minutes here, for trying a change to the call path
        // before timing it.
        measure_per_call(&mut results);
        print_per_call(&results);
        write_json(&settings.json_path, &Value::Object(results));
        return;
    }
    // Read before any thread is pinned.
    let _ = cpus();
    let clock = steal::StealClock::start();
    on_client_cpu(|| measure_wall_clock(&settings, &mut results));
    results.insert(
        "steal_wall_clock_phases".to_owned(),
        json!(steal::fraction_of(clock.as_ref())),
    );
    if settings.decompose_telemetry {
        let primitives = on_client_cpu(primitives::measure);
        results.insert("primitive_costs_ns".to_owned(), primitives);
        if settings.callgrind {
            eprintln!("telemetry decomposition: instructions per report");
            let per_report = instructions::measure_reports();
            results.insert("telemetry_instructions_per_report".to_owned(), per_report);
            measure_per_call(&mut results);
        }
        stats::print_decomposition(&results["telemetry_decomposition"]);
        if let Some(per_report) = results.get("telemetry_instructions_per_report") {
            stats::print_report_instructions(per_report);
        }
        print_per_call(&results);
        primitives::print(&results["primitive_costs_ns"]);
        write_json(&settings.json_path, &Value::Object(results));
        return;
    }
    if settings.only_latency || settings.only_tracing {
        finish(&settings, Value::Object(results));
        return;
    }
    if settings.callgrind && !settings.only_burst {
        results.insert("instructions_per_call".to_owned(), instructions::measure());
    }
    if settings.compile && !settings.only_burst {
        results.insert(
            "compile_cost".to_owned(),
            compile_cost::measure(settings.quick, settings.compile_instructions),
        );
    }
    finish(&settings, Value::Object(results));
}

/// The wall-clock measurements (tracing cost, telemetry bursts, latency
/// and throughput), as the settings select them.
fn measure_wall_clock(settings: &Settings, results: &mut serde_json::Map<String, Value>) {
    if settings.decompose_telemetry {
        let s = setup(Duration::ZERO);
        let measured = throughput_by_callers(
            &s,
            &TELEMETRY_DECOMPOSITION,
            settings,
            "telemetry decomposition",
        );
        results.insert("telemetry_decomposition".to_owned(), measured);
        return;
    }
    if settings.only_latency {
        results.insert(
            "gateway_latency_0ms".to_owned(),
            measure_latency(settings, Duration::ZERO),
        );
        return;
    }
    if !settings.only_burst {
        let s = setup(Duration::ZERO);
        results.insert(
            "tracing_cost".to_owned(),
            // Three times the repetitions: the differences sought are small
            // next to the loopback round trip's block-to-block noise.
            observability::measure(&s, settings.reps * 3, settings.calls),
        );
    }
    if settings.only_tracing {
        return;
    }
    if settings.burst || settings.only_burst {
        let s = setup(Duration::ZERO);
        let count = |session: &str| stored_events(&s, session) as u64;
        results.insert(
            "telemetry_burst".to_owned(),
            burst::measure(s.gateway.url(), s.gateway.api_key(), &s.agent_id, count),
        );
    }
    for ms in [0u64, 1] {
        if settings.only_burst {
            break;
        }
        results.insert(
            format!("gateway_latency_{ms}ms"),
            measure_latency(settings, Duration::from_millis(ms)),
        );
    }
}

/// Prints the tables and the targets, and writes the JSON.
fn finish(settings: &Settings, mut results: Value) {
    stats::print_table(&results);
    let targets = targets::evaluate(&results);
    targets::print(&targets);
    targets::print_references(&results);
    if let Some(steal) = results["steal_wall_clock_phases"].as_f64() {
        println!(
            "host CPU steal during the wall-clock measurements: {:.1} % of the machine's CPU time \
             (a quiet host steals none; see the throughput windows' own figures above)",
            100.0 * steal
        );
    }
    results["targets"] = targets;
    write_json(&settings.json_path, &results);
}

fn write_json(path: &str, results: &Value) {
    if let Err(e) = std::fs::write(
        path,
        serde_json::to_string_pretty(results).unwrap_or_default(),
    ) {
        eprintln!("could not write {path}: {e}");
    } else {
        eprintln!("results written to {path}");
    }
}

#[cfg(test)]
mod tests {
    use super::{paired_units, ThroughputTable, TELEMETRY_DECOMPOSITION, THROUGHPUT};

    /// What the bare floors' rows run (the others add to them).
    const FLOORS: [&str; 2] = ["floor_async", "floor_blocking"];

    /// A table's ratios name the rows they divide (`<ours' row>_to_<what
    /// its floor runs>`, the keys the targets and readme_perf.py read), each
    /// pair is a floor then the row measured against it, and every ratio
    /// divides by a floor.
    fn check(table: &ThroughputTable) {
        let rows = table.rows;
        assert!(2 * table.pairs <= rows.len());
        for k in 0..table.pairs {
            assert!(FLOORS.contains(&rows[2 * k].1), "{:?}", rows[2 * k]);
            assert!(
                !FLOORS.contains(&rows[2 * k + 1].1),
                "{:?}",
                rows[2 * k + 1]
            );
        }
        for &(name, ours, floor) in table.ratios {
            assert!(ours < rows.len() && floor < rows.len(), "{name}");
            assert!(FLOORS.contains(&rows[floor].1), "{name}");
            assert_eq!(name, format!("{}_to_{}", rows[ours].0, rows[floor].1));
            if ours < 2 * table.pairs {
                assert_eq!(
                    (ours / 2, ours % 2, floor),
                    (floor / 2, 1, ours - 1),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn each_tables_ratios_divide_the_rows_they_name() {
        check(&THROUGHPUT);
        check(&TELEMETRY_DECOMPOSITION);
    }

    #[test]
    fn a_round_runs_every_row_once_with_each_pair_together() {
        for table in [&THROUGHPUT, &TELEMETRY_DECOMPOSITION] {
            let rows = table.rows.len();
            for round in 0..4 {
                let units = paired_units(round, table.pairs, rows);
                let mut seen: Vec<usize> = units.iter().flatten().copied().collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..rows).collect::<Vec<_>>());
                for unit in &units {
                    if unit.len() == 2 {
                        assert_eq!(unit[0] / 2, unit[1] / 2, "a pair: {unit:?}");
                        // Which of the two goes first alternates by round.
                        assert_eq!(unit[0] % 2, round % 2, "{unit:?} in round {round}");
                    }
                }
            }
        }
    }
}
