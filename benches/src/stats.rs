//! Percentiles, medians over repetitions, and the printed table.

use serde_json::{json, Value};

/// p50/p90/p99/max of one measurement, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

impl Summary {
    /// The median, µs.
    pub fn p50(&self) -> f64 {
        self.p50
    }

    /// Summarizes per-call nanoseconds.
    pub fn of(mut samples: Vec<u64>) -> Summary {
        samples.sort_unstable();
        let at = |q: f64| {
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples.get(index).copied().unwrap_or(0) as f64 / 1_000.0
        };
        Summary {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or(0) as f64 / 1_000.0,
        }
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The median of each percentile across repetitions, as JSON (µs).
pub fn median_of(reps: &[&Summary]) -> Value {
    let field = |f: fn(&Summary) -> f64| median(reps.iter().map(|s| f(s)).collect());
    json!({
        "p50_us": field(|s| s.p50), "p90_us": field(|s| s.p90),
        "p99_us": field(|s| s.p99), "max_us": field(|s| s.max),
    })
}

fn get(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// Prints the human-readable table.
pub fn print_table(results: &Value) {
    for (name, r) in results.as_object().into_iter().flatten() {
        if !name.starts_with("gateway_latency") {
            continue;
        }
        println!("\n== {name} (medians over repetitions, µs per call) ==");
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>10}",
            "", "p50", "p90", "p99", "max"
        );
        for key in [
            "floor_async",
            "ours_async",
            "floor_blocking",
            "ours_sync",
            "official",
            "ours_report",
            "official_report",
        ] {
            println!(
                "{key:<16} {:>9.1} {:>9.1} {:>9.1} {:>10.1}",
                get(r, &[key, "p50_us"]),
                get(r, &[key, "p90_us"]),
                get(r, &[key, "p99_us"]),
                get(r, &[key, "max_us"])
            );
        }
        let ratio = |a: &str, b: &str, p: &str| get(r, &[a, p]) / get(r, &[b, p]);
        println!(
            "ratios p50/p99: ours_async/floor_async {:.3}/{:.3}  ours_sync/floor_blocking {:.3}/{:.3}  ours_sync/official {:.3}/{:.3}  ours_async/official {:.3}/{:.3}",
            ratio("ours_async", "floor_async", "p50_us"), ratio("ours_async", "floor_async", "p99_us"),
            ratio("ours_sync", "floor_blocking", "p50_us"), ratio("ours_sync", "floor_blocking", "p99_us"),
            ratio("ours_sync", "official", "p50_us"), ratio("ours_sync", "official", "p99_us"),
            ratio("ours_async", "official", "p50_us"), ratio("ours_async", "official", "p99_us"),
        );
        println!("throughput (calls/s): callers  floor_async  ours_async  floor_blocking  ours_sync  official");
        for callers in ["1", "8", "64"] {
            let t = |k: &str| get(r, &["throughput_calls_per_sec", callers, k]);
            println!(
                "                      {callers:>7} {:>12.0} {:>11.0} {:>15.0} {:>10.0} {:>9.0}",
                t("floor_async"),
                t("ours_async"),
                t("floor_blocking"),
                t("ours_sync"),
                t("official")
            );
        }
        if let Some(d) = r.get("delivery") {
            println!(
                "delivery of {} calls: ours stored {} (lost {}), official stored {} (lost {})",
                d["calls"],
                d["ours"]["stored"],
                d["ours"]["lost"],
                d["official"]["stored"],
                d["official"]["lost"]
            );
        }
    }
    if let Some(t) = results.get("tracing_cost") {
        println!("\n== tracing and counters (one guarded async call, gateway latency 0, interleaved blocks) ==");
        for mode in ["no_subscriber", "filtered_out", "fmt_subscriber"] {
            println!(
                "{mode:<16} p50 {:>7.1} µs  p99 {:>7.1} µs",
                get(t, &[mode, "p50_us"]),
                get(t, &[mode, "p99_us"])
            );
        }
        println!(
            "added p50 vs no subscriber: filtered out {:+.2} µs, fmt subscriber {:+.2} µs; counters {:.1} ns per check",
            get(t, &["added_p50_us", "filtered_out"]),
            get(t, &["added_p50_us", "fmt_subscriber"]),
            get(t, &["counters_ns_per_check"])
        );
    }
    if let Some(b) = results.get("telemetry_burst") {
        println!(
            "\n== telemetry bursts (one thread calling report(); {} bytes per queued event, bound {}) ==",
            b["queued_event_bytes"], b["capacity"]
        );
        println!(
            "{:<22} {:>9} {:>9} {:>8} {:>10} {:>10} {:>12}",
            "", "accepted", "stored", "dropped", "enqueue s", "drain s", "peak RSS MiB"
        );
        for (name, r) in b["runs"].as_object().into_iter().flatten() {
            println!(
                "{name:<22} {:>9} {:>9} {:>8} {:>10.2} {:>10.2} {:>12.1}",
                get(r, &["accepted"]),
                r.get("stored_by_gateway")
                    .unwrap_or(&r["sent"])
                    .as_f64()
                    .unwrap_or(f64::NAN),
                get(r, &["dropped"]),
                get(r, &["enqueue_secs"]),
                get(r, &["drain_secs"]),
                get(r, &["peak_rss_mib"]) - get(r, &["baseline_rss_mib"]),
            );
        }
    }
    if let Some(i) = results.get("instructions_per_call") {
        println!(
            "\n== instructions per call (callgrind) ==\n{}",
            serde_json::to_string_pretty(i).unwrap_or_default()
        );
    }
    if let Some(c) = results.get("compile_cost") {
        println!(
            "\n== compile cost of 200 guarded functions ==\n{}",
            serde_json::to_string_pretty(c).unwrap_or_default()
        );
    }
}
