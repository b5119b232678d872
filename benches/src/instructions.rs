//! Instructions per call under `valgrind --tool=callgrind`: stable where
//! wall time is not. The client runs in a child process of this binary
//! (only it is instrumented); the gateway stays in this process. Each
//! target runs twice with different call counts, and the difference of the
//! totals over the difference of the counts cancels start-up costs.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use agenttrust_runtime::{with_runtime, AgentTrustClient, Runtime};
use serde_json::{json, Value};

pub(crate) const CHILD_FLAG: &str = "--instructions-child";
const TARGETS: [&str; 6] = [
    "floor_async",
    "ours_async",
    "floor_blocking",
    "ours_sync",
    // The async call under a subscriber that filters its span out, and
    // under one that formats every span and event (see observability.rs).
    "ours_async_filtered_out",
    "ours_async_fmt_subscriber",
];
/// Child-only targets, for profiling the 8-task throughput row's shape by
/// hand (README, Performance); not in the main table. `--decompose-telemetry`
/// counts the last three ([`measure_reports`]) and the simulated cache
/// misses of the first, second, third and fifth ([`measure_caches`]).
const PROFILE_ONLY: [&str; 8] = [
    "floor_async_8_tasks",
    // The floor reading `allowed` and reporting each call (the minimal guard).
    "minimal_guard_8_tasks",
    "ours_async_8_tasks",
    "ours_check_8_tasks",
    "ours_check_report_8_tasks",
    // Reports alone, no check: the telemetry's own work per event, from 8
    // tasks, ours (`AgentTrustGuard::report`) and the reporting floor (which
    // leaves its last partial report unsent: compare two counts' difference).
    "ours_report_8_tasks",
    "reporting_floor_8_tasks",
    // The two rows above without the report: what they share (the tasks,
    // their yields, the runtime), to subtract.
    "yield_8_tasks",
];
const FEW: usize = 100;
const MANY: usize = 600;

/// The child's arguments, when this process is a child.
pub fn child_mode() -> Option<Vec<String>> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == CHILD_FLAG)?;
    Some(args[at + 1..].to_vec())
}

/// The child: `target url key agent_id calls`.
pub fn run_child(args: &[String]) {
    let [target, url, key, agent, calls] = args else {
        eprintln!("usage: {CHILD_FLAG} TARGET URL KEY AGENT CALLS");
        std::process::exit(2);
    };
    if !TARGETS.contains(&target.as_str()) && !PROFILE_ONLY.contains(&target.as_str()) {
        eprintln!(
            "unknown target `{target}`: one of {}",
            TARGETS
                .iter()
                .chain(&PROFILE_ONLY)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::process::exit(2);
    }
    let calls: usize = calls.parse().unwrap_or(FEW);
    let check_url = format!("{url}/api/v1/agenttrust/check");
    let body = crate::check_body(agent, "callgrind-session");
    let client = AgentTrustClient::builder()
        .base_url(url)
        .api_key(key)
        .build()
        .expect("client");
    let runtime = Runtime::builder(client, agent.clone()).build();
    // The reporting floor's reporter, into ours' session (as in the
    // decomposition's rows).
    let reporter = || crate::floor::Reporter::new(url, key, agent, runtime.session_id());
    match target.as_str() {
        "floor_async" => {
            let http = crate::floor::client();
            crate::current_thread().block_on(async {
                for _ in 0..calls {
                    crate::floor::call(&http, &check_url, key, &body).await;
                }
            });
        }
        "ours_async" | "ours_async_filtered_out" | "ours_async_fmt_subscriber" => {
            let mode = target.trim_start_matches("ours_async_");
            let run = || {
                crate::current_thread().block_on(runtime.scope(async {
                    for _ in 0..calls {
                        crate::guarded_async().await.expect("allowed");
                    }
                }));
            };
            match crate::observability::dispatch(mode) {
                Some(d) => tracing::dispatcher::with_default(&d, run),
                None => run(),
            }
        }
        "floor_async_8_tasks" => {
            let http = crate::floor::client();
            let (url, key, body) = (Arc::new(check_url), Arc::new(key.clone()), Arc::new(body));
            in_tasks(calls, None, move || {
                let (http, url, key, body) = (http.clone(), url.clone(), key.clone(), body.clone());
                async move { crate::floor::call(&http, &url, &key, &body).await }
            });
        }
        "minimal_guard_8_tasks" => {
            let http = crate::floor::client();
            let reporter = Arc::new(reporter());
            let key = key.clone();
            in_tasks(calls, None, move || {
                let started = std::time::Instant::now();
                let request = crate::floor::post(&http, &check_url, &key, &body);
                let reporter = reporter.clone();
                async move { crate::floor::minimal_guard(request, started, &reporter).await }
            });
        }
        "ours_async_8_tasks" => in_tasks(calls, Some(&runtime), || async {
            crate::guarded_async().await.expect("allowed");
        }),
        "ours_check_8_tasks" | "ours_check_report_8_tasks" => {
            let guard = runtime.guard().clone();
            let report = target == "ours_check_report_8_tasks";
            in_tasks(calls, None, move || {
                crate::check_then_report(guard.clone(), report)
            });
        }
        "yield_8_tasks" => in_tasks(calls, None, tokio::task::yield_now),
        "ours_report_8_tasks" => {
            let guard = runtime.guard().clone();
            in_tasks(calls, None, move || {
                guard.report("bench_tool", true, 1);
                tokio::task::yield_now()
            });
        }
        "reporting_floor_8_tasks" => {
            let reporter = Arc::new(reporter());
            in_tasks(calls, None, move || {
                reporter.report();
                tokio::task::yield_now()
            });
        }
        "floor_blocking" => {
            let http = crate::floor::blocking_client();
            for _ in 0..calls {
                crate::floor::call_blocking(&http, &check_url, key, &body);
            }
        }
        _ => with_runtime(&runtime, || {
            for _ in 0..calls {
                crate::guarded_sync().expect("allowed");
            }
        }),
    }
    let _ = runtime.guard().flush_blocking(Duration::from_secs(10));
    if PROFILE_ONLY.contains(&target.as_str()) && target.starts_with("ours_") {
        // How ours' events went out (posts per event) in a profile by hand.
        eprintln!("telemetry: {:?}", runtime.client().telemetry_stats());
    }
}

/// `calls` calls of `call` spread over 8 tasks on a 2-worker runtime (the
/// 8-task throughput row's shape, with a fixed count instead of a window);
/// with `scope`, each task runs in `scope.scope(..)`, as that row's do.
fn in_tasks<F, Fut>(calls: usize, scope: Option<&Runtime>, call: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    const TASKS: usize = 8;
    let rt = crate::multi_thread();
    let call = Arc::new(call);
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let call = call.clone();
                let share = calls / TASKS + usize::from(task < calls % TASKS);
                crate::spawn_caller(scope, async move {
                    for _ in 0..share {
                        call().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
}

pub(crate) fn total_instructions(out: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(out).ok()?;
    event_totals(&text)?.get("Ir").copied()
}

/// A callgrind profile's totals by event name: its `events:` line names
/// the columns of its `summary:` (or `totals:`) line.
pub(crate) fn event_totals(profile: &str) -> Option<BTreeMap<String, u64>> {
    let line = |prefix: &str| profile.lines().find_map(|l| l.strip_prefix(prefix));
    let names = line("events:")?.split_whitespace();
    let totals = line("summary:").or_else(|| line("totals:"))?;
    let values = totals.split_whitespace().map(|v| v.parse().ok());
    names
        .zip(values)
        .map(|(name, value)| Some((name.to_owned(), value?)))
        .collect()
}

/// How many times a profile's code called the C library's `clock_gettime`
/// (every `Instant::now` and `SystemTime::now`): the callgrind format's
/// `calls=` lines, each after the `cfn=` of the function called, whose
/// name comes once with its id (`cfn=(12) clock_gettime@@GLIBC_2.17`) and
/// then by id alone. Callgrind counts a clock read as a few instructions;
/// on a virtual machine it costs far more than those (see
/// [`crate::primitives`]), so the count is kept apart.
fn clock_reads(profile: &str) -> u64 {
    let is_clock = |name: &str| name == "clock_gettime" || name.starts_with("clock_gettime@");
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut calling_the_clock = false;
    let mut reads = 0;
    for line in profile.lines() {
        if let Some(called) = line.strip_prefix("cfn=") {
            // `(id) name` names the id; `(id)` alone refers to it.
            calling_the_clock = match called.split_once(' ') {
                Some((id, name)) => {
                    names.insert(id, name);
                    is_clock(name)
                }
                None => names.get(called).is_some_and(|name| is_clock(name)),
            };
        } else if let Some((id, name)) = line.strip_prefix("fn=").and_then(|f| f.split_once(' ')) {
            names.insert(id, name);
        } else if let Some(calls) = line.strip_prefix("calls=") {
            if std::mem::take(&mut calling_the_clock) {
                let count = calls
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok());
                reads += count.unwrap_or(0);
            }
        }
    }
    reads
}

/// The "skipped" result when valgrind is not installed.
pub(crate) fn without_valgrind() -> Option<Value> {
    let missing = Command::new("valgrind").arg("--version").output().is_err();
    missing.then(|| json!({"skipped": "valgrind is not installed (apt-get install valgrind)"}))
}

/// Instructions per call of each target, and ours/floor ratios.
pub fn measure() -> Value {
    if let Some(skipped) = without_valgrind() {
        return skipped;
    }
    let mut per_call = per_call(&TARGETS, FEW, MANY);
    let ratio = |a: &str, b: &str| match both(&per_call, a, b) {
        Some((a, b)) if b > 0.0 => json!(a / b),
        _ => Value::Null,
    };
    let ours_async = ratio("ours_async", "floor_async");
    let ours_sync = ratio("ours_sync", "floor_blocking");
    per_call.insert("ratio_ours_async_to_floor_async".to_owned(), ours_async);
    per_call.insert("ratio_ours_sync_to_floor_blocking".to_owned(), ours_sync);
    Value::Object(per_call)
}

/// Instructions per report under callgrind (`--decompose-telemetry`): ours
/// and the reporting floor from 8 tasks, each less the same tasks without
/// the report. Counts large enough that ours' batches grow as in the
/// wall-clock rows (a few hundred events a post).
pub fn measure_reports() -> Value {
    const REPORTS: [&str; 3] = [
        "ours_report_8_tasks",
        "reporting_floor_8_tasks",
        "yield_8_tasks",
    ];
    if let Some(skipped) = without_valgrind() {
        return skipped;
    }
    let mut per_event = per_call(&REPORTS, 20_000, 100_000);
    let less_yield = |row: &str| match both(&per_event, row, "yield_8_tasks") {
        Some((row, base)) => json!(row - base),
        None => Value::Null,
    };
    let ours = less_yield("ours_report_8_tasks");
    let floor = less_yield("reporting_floor_8_tasks");
    per_event.insert("ours_report_less_yield".to_owned(), ours);
    per_event.insert("reporting_floor_less_yield".to_owned(), floor);
    Value::Object(per_event)
}

/// The 8-task row's shapes whose simulated cache misses
/// `--decompose-telemetry` counts: the async floor, the minimal guard, ours'
/// `check()` then `report()`, and ours' guarded call.
pub(crate) const CACHE_TARGETS: [&str; 4] = [
    "floor_async_8_tasks",
    "minimal_guard_8_tasks",
    "ours_check_report_8_tasks",
    "ours_async_8_tasks",
];

/// The simulated first-level caches: 32 KiB, 8-way, 64-byte lines each
/// (this machine's, fixed so that counts compare across machines). The
/// last level is fixed too; its misses are not reported.
const CACHE_SIM: [&str; 4] = [
    "--cache-sim=yes",
    "--I1=32768,8,64",
    "--D1=32768,8,64",
    "--LL=8388608,16,64",
];

/// Per call under callgrind's cache simulation (`--decompose-telemetry`),
/// from 8 tasks ([`CACHE_TARGETS`]): instructions (`Ir`), first-level
/// instruction misses (`I1mr`), data read and write misses (`D1mr`,
/// `D1mw`), each the difference of 800 and 4,000 calls over 3,200. Where
/// the instruction counts leave the wall-clock gap between ours and the
/// minimal guard unexplained, these show the memory traffic behind it.
pub fn measure_caches() -> Value {
    if let Some(skipped) = without_valgrind() {
        return skipped;
    }
    Value::Object(events_per_call(&CACHE_TARGETS, 800, 4_000, &CACHE_SIM))
}

/// Two targets' counts, when both children succeeded.
fn both(counts: &serde_json::Map<String, Value>, a: &str, b: &str) -> Option<(f64, f64)> {
    Some((counts.get(a)?.as_f64()?, counts.get(b)?.as_f64()?))
}

/// Each target's instructions per call: two children under callgrind,
/// `few` and `many` calls, the difference of their totals over `many - few`
/// (start-up and shutdown cancel). A target whose child failed is left out.
fn per_call(targets: &[&str], few: usize, many: usize) -> serde_json::Map<String, Value> {
    events_per_call(targets, few, many, &[])
        .into_iter()
        .filter_map(|(target, events)| Some((target, events.get("Ir")?.clone())))
        .collect()
}

/// [`per_call`] of every event callgrind counts with `options`, keyed by
/// the event's name (`Ir`, and with `--cache-sim=yes` the misses).
fn events_per_call(
    targets: &[&str],
    few: usize,
    many: usize,
    options: &[&str],
) -> serde_json::Map<String, Value> {
    let s = crate::setup(Duration::ZERO);
    let exe = std::env::current_exe().expect("own path");
    let dir = std::env::temp_dir().join(format!("agenttrust-callgrind-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut per_target = serde_json::Map::new();
    for target in targets {
        eprintln!("  callgrind: {target}");
        let mut totals = Vec::new();
        for calls in [few, many] {
            let out = dir.join(format!("{target}-{calls}.out"));
            let status = Command::new("valgrind")
                .args(["--tool=callgrind", "--quiet"])
                .args(options)
                .arg(format!("--callgrind-out-file={}", out.display()))
                // Valgrind's own notes (the cache simulation's warnings
                // about the host's L3) stay out of the benchmark's output.
                .arg(format!("--log-file={}.log", out.display()))
                .arg(&exe)
                .args([
                    CHILD_FLAG,
                    target,
                    s.gateway.url(),
                    s.gateway.api_key(),
                    &s.agent_id,
                    &calls.to_string(),
                ])
                .status();
            totals.push(
                status
                    .ok()
                    .filter(|st| st.success())
                    .and_then(|_| std::fs::read_to_string(&out).ok())
                    .and_then(|profile| {
                        let mut totals = event_totals(&profile)?;
                        totals.insert("clock_reads".to_owned(), clock_reads(&profile));
                        Some(totals)
                    }),
            );
        }
        if let [Some(few_totals), Some(many_totals)] = &totals[..] {
            let per_event: serde_json::Map<String, Value> = many_totals
                .iter()
                .filter_map(|(event, many_total)| {
                    let few_total = few_totals.get(event)?;
                    let per = many_total.saturating_sub(*few_total) as f64 / (many - few) as f64;
                    Some((event.clone(), json!(per)))
                })
                .collect();
            per_target.insert((*target).to_owned(), Value::Object(per_event));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    per_target
}

#[cfg(test)]
mod tests {
    use super::{clock_reads, event_totals};

    #[test]
    fn counts_the_calls_of_clock_gettime_by_name_and_by_id() {
        let profile = "events: Ir\nfn=(1) main\n\
                       cfn=(2) clock_gettime@@GLIBC_2.17\ncalls=3 0\n1 30\n\
                       cfn=(3) malloc\ncalls=5 0\n1 50\n\
                       fn=(4) other\ncfn=(2)\ncalls=4 0\n1 40\n\
                       cfn=(5) clock_gettime_not_this\ncalls=1 0\n1 1\n";
        // 3 by name, 4 by id; not malloc's, nor a name that only starts alike.
        assert_eq!(clock_reads(profile), 7);
        assert_eq!(clock_reads("events: Ir\nfn=(1) main\n"), 0);
    }

    #[test]
    fn reads_the_totals_by_event_name() {
        let profile = "version: 1\nevents: Ir Dr Dw I1mr D1mr D1mw\nfn=main\n\
                       summary: 316733797 85372335 62688488 14945034 3255476 2812213\n";
        let totals = event_totals(profile).expect("totals");
        assert_eq!(totals["Ir"], 316_733_797);
        assert_eq!(totals["D1mw"], 2_812_213);
        assert_eq!(totals.len(), 6);
        let only_totals = "events: Ir\ntotals: 42\n";
        assert_eq!(event_totals(only_totals).expect("totals")["Ir"], 42);
        assert_eq!(event_totals("events: Ir I1mr\nsummary: 1 x\n"), None);
    }
}
