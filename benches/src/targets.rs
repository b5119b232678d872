//! The targets of the performance issue (#14), each with the value this run
//! measured and whether it holds. Ratios are ours ÷ floor, paired within a
//! repetition or round (see `paired_ratios` and `throughput`).

use serde_json::{json, Value};

/// One target: where its value is in the results, and its bound.
struct Target {
    name: &'static str,
    path: &'static [&'static str],
    /// `true`: the value must be at most `bound`; `false`: at least.
    at_most: bool,
    bound: f64,
}

const TARGETS: &[Target] = &[
    Target {
        name: "#[guarded] async fn, current-thread runtime, p50",
        path: &[
            "gateway_latency_0ms",
            "paired_ratios",
            "ours_async/floor_async",
            "p50",
        ],
        at_most: true,
        bound: 1.10,
    },
    Target {
        name: "same, p99",
        path: &[
            "gateway_latency_0ms",
            "paired_ratios",
            "ours_async/floor_async",
            "p99",
        ],
        at_most: true,
        bound: 1.25,
    },
    Target {
        name: "#[guarded] async fn in a task, multi-thread runtime, p50",
        path: &[
            "gateway_latency_0ms",
            "paired_ratios",
            "ours_async_mt/floor_async_mt",
            "p50",
        ],
        at_most: true,
        bound: 1.10,
    },
    Target {
        name: "#[guarded] sync fn, p50 (floor: reqwest::blocking)",
        path: &[
            "gateway_latency_0ms",
            "paired_ratios",
            "ours_sync/floor_blocking",
            "p50",
        ],
        at_most: true,
        bound: 1.10,
    },
    Target {
        name: "throughput, async fns, 1 task",
        path: &[
            "gateway_latency_0ms",
            "throughput_calls_per_sec",
            "1",
            "paired_ratio_ours_async_to_floor_async",
        ],
        at_most: false,
        bound: 0.95,
    },
    Target {
        name: "throughput, async fns, 8 tasks",
        path: &[
            "gateway_latency_0ms",
            "throughput_calls_per_sec",
            "8",
            "paired_ratio_ours_async_to_floor_async",
        ],
        at_most: false,
        bound: 0.95,
    },
    Target {
        name: "throughput, async fns, 64 tasks",
        path: &[
            "gateway_latency_0ms",
            "throughput_calls_per_sec",
            "64",
            "paired_ratio_ours_async_to_floor_async",
        ],
        at_most: false,
        bound: 0.95,
    },
    Target {
        name: "instructions per async call",
        path: &["instructions_per_call", "ratio_ours_async_to_floor_async"],
        at_most: true,
        bound: 1.10,
    },
    // Guarded with the runtime's defaults; the opt-in `manifest` feature's
    // cost is in the JSON beside it (`guarded_with_manifest`).
    Target {
        name: "compile cost: debug rebuild, guarded ÷ plain",
        path: &["compile_cost", "ratio_guarded_to_plain"],
        at_most: true,
        bound: 2.0,
    },
    // The title: "compiles at a third of #[tracing::instrument]'s cost".
    Target {
        name: "compile cost: debug rebuild, guarded ÷ #[tracing::instrument]",
        path: &["compile_cost", "ratio_guarded_to_tracing_instrument"],
        at_most: true,
        bound: 0.333,
    },
];

/// Every target with its measured value and verdict (`null` when this run
/// did not measure it).
pub fn evaluate(results: &Value) -> Value {
    let rows: Vec<Value> = TARGETS
        .iter()
        .map(|t| {
            let value = t.path.iter().fold(results, |v, k| &v[*k]).as_f64();
            let pass = value.map(|v| {
                if t.at_most {
                    v <= t.bound
                } else {
                    v >= t.bound
                }
            });
            json!({
                "target": t.name,
                "measured": value,
                "bound": format!("{} {}", if t.at_most { "≤" } else { "≥" }, t.bound),
                "pass": pass,
            })
        })
        .collect();
    Value::Array(rows)
}

/// Prints the targets table.
pub fn print(targets: &Value) {
    println!("\n== targets (ratios ours ÷ floor, paired within a block) ==");
    println!("{:<58} {:>9} {:>8}  result", "target", "measured", "bound");
    for row in targets.as_array().into_iter().flatten() {
        let measured = row["measured"]
            .as_f64()
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
        let result = match row["pass"].as_bool() {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "not measured",
        };
        println!(
            "{:<58} {:>9} {:>8}  {result}",
            row["target"].as_str().unwrap_or(""),
            measured,
            row["bound"].as_str().unwrap_or("")
        );
    }
}

/// What the least any guard adds costs in the same rounds: the minimal
/// guard's throughput ÷ its own floor at each caller count, where the
/// throughput targets read ours ÷ floor. No bound: the target's margin
/// is read against it (a bound the minimal guard misses too is one this
/// machine sets, not the guard).
pub fn print_references(results: &Value) {
    let at = |callers: &str| {
        results["gateway_latency_0ms"]["throughput_calls_per_sec"][callers]
            ["paired_ratio_floor_async_minimal_guard_to_floor_async"]
            .as_f64()
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
    };
    println!(
        "{:<58} {:>9}  (no bound; ours ÷ floor above)",
        "reference: minimal guard ÷ floor, throughput 1 / 8 / 64",
        format!("{} / {} / {}", at("1"), at("8"), at("64"))
    );
}
