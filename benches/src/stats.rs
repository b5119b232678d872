//! Percentiles, medians over repetitions, and the printed table.

use serde_json::{json, Value};

/// Mean, p50/p90/p99/max of one measurement, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    mean: f64,
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

    /// The 99th percentile, µs.
    pub fn p99(&self) -> f64 {
        self.p99
    }

    /// The mean, µs: a caller looping on the call makes 1 / mean calls
    /// per second.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Summarizes per-call nanoseconds.
    pub fn of(mut samples: Vec<u64>) -> Summary {
        samples.sort_unstable();
        let at = |q: f64| {
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples.get(index).copied().unwrap_or(0) as f64 / 1_000.0
        };
        let total: u64 = samples.iter().sum();
        Summary {
            mean: total as f64 / samples.len().max(1) as f64 / 1_000.0,
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
        "mean_us": field(|s| s.mean), "p50_us": field(|s| s.p50), "p90_us": field(|s| s.p90),
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
        let report_rows = ["ours_report", "official_report"];
        for &key in crate::LATENCY_ROWS.iter().chain(&report_rows) {
            println!(
                "{key:<16} {:>9.1} {:>9.1} {:>9.1} {:>10.1}",
                get(r, &[key, "p50_us"]),
                get(r, &[key, "p90_us"]),
                get(r, &[key, "p99_us"]),
                get(r, &[key, "max_us"])
            );
        }
        println!("ratios within a repetition (median over repetitions), p50 / p99 / mean:");
        for (pair, v) in r["paired_ratios"].as_object().into_iter().flatten() {
            println!(
                "  {pair:<32} {:.3} / {:.3} / {:.3}",
                get(v, &["p50"]),
                get(v, &["p99"]),
                get(v, &["mean"])
            );
        }
        println!("throughput (calls/s): callers  floor_async  ours_async  floor_blocking  ours_sync  official  async ratio  sync ratio  minimal guard ratio  host steal (median / max window)  floor over h2c (÷ floor)");
        for callers in ["1", "8", "64"] {
            let t = |k: &str| get(r, &["throughput_calls_per_sec", callers, k]);
            println!(
                "                      {callers:>7} {:>12.0} {:>11.0} {:>15.0} {:>10.0} {:>9.0} {:>12.3} {:>11.3} {:>20.3}  {:>5.1} % / {:.1} %  {:>9.0} ({:.3})",
                t("floor_async"),
                t("ours_async"),
                t("floor_blocking"),
                t("ours_sync"),
                t("official"),
                t("paired_ratio_ours_async_to_floor_async"),
                t("paired_ratio_ours_sync_to_floor_blocking"),
                t("paired_ratio_floor_async_minimal_guard_to_floor_async"),
                100.0 * get(r, &["throughput_calls_per_sec", callers, "steal", "median"]),
                100.0 * get(r, &["throughput_calls_per_sec", callers, "steal", "max"]),
                t("floor_async_h2"),
                t("paired_ratio_floor_async_h2_to_floor_async"),
            );
        }
        if let Some(d) = r.get("delivery") {
            println!(
                "delivery of {} calls: ours stored {} (lost {}) in {} report posts ({:.1} s), \
                 official stored {} (lost {})",
                d["calls"],
                d["ours"]["stored"],
                d["ours"]["lost"],
                d["ours"]["report_posts"],
                d["ours"]["seconds"].as_f64().unwrap_or(f64::NAN),
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
            "\n== compile cost: debug rebuild of {} small fns (median of {} interleaved rounds) ==",
            c["functions"], c["rounds"]
        );
        for (variant, secs) in c["debug_seconds"].as_object().into_iter().flatten() {
            println!("{variant:<26} {:>7.3} s", secs.as_f64().unwrap_or(f64::NAN));
        }
        println!(
            "ratios: guarded/plain {:.2}, guarded with manifest/plain {:.2}, \
             #[tracing::instrument]/plain {:.2}, guarded/#[tracing::instrument] {:.3}, \
             guarded with manifest/#[tracing::instrument] {:.3}",
            get(c, &["ratio_guarded_to_plain"]),
            get(c, &["ratio_guarded_with_manifest_to_plain"]),
            get(c, &["ratio_tracing_instrument_to_plain"]),
            get(c, &["ratio_guarded_to_tracing_instrument"]),
            get(c, &["ratio_guarded_with_manifest_to_tracing_instrument"]),
        );
        if let Some(counts) = c["rustc"]["instructions"].as_object() {
            println!("rustc instructions (callgrind, one build each):");
            for (variant, n) in counts {
                println!(
                    "{variant:<26} {:>14} ({:.2} of plain)",
                    n,
                    get(c, &["rustc", "ratios", &format!("{variant}_to_plain")])
                );
            }
        }
    }
}

/// Prints `--decompose-telemetry`'s ratios: for each caller count, each
/// part ÷ its floor (median over rounds, and the rounds' quartiles).
pub fn print_decomposition(by_callers: &Value) {
    println!("== telemetry decomposition: throughput ÷ the floor of the same sub-windows, median (quartiles) over rounds ==");
    for callers in ["1", "8", "64"] {
        let t = &by_callers[callers];
        let rounds = |name: &str| -> Vec<f64> {
            t[format!("round_ratios_{name}")]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_f64)
                .collect()
        };
        print!("{callers:>3} callers:");
        for (label, name) in [
            ("check", "ours_check_to_floor_async"),
            ("check + report", "ours_check_report_to_floor_async"),
            ("reporting floor", "floor_async_reporting_to_floor_async"),
            ("minimal guard", "floor_async_minimal_guard_to_floor_async"),
            ("guarded call", "ours_async_to_floor_async"),
        ] {
            let mut r = rounds(name);
            r.sort_by(f64::total_cmp);
            let q = |p: f64| {
                r.get(((r.len() as f64 - 1.0) * p).round() as usize)
                    .copied()
            };
            print!(
                "  {label} {:.3} ({:.3}-{:.3})",
                get(t, &[&format!("paired_ratio_{name}")]),
                q(0.25).unwrap_or(f64::NAN),
                q(0.75).unwrap_or(f64::NAN)
            );
        }
        println!();
    }
}

/// Prints `what: skipped (why)` when a measurement was skipped (valgrind
/// missing), and says whether it did.
fn printed_skip(result: &Value, what: &str) -> bool {
    let skipped = result.get("skipped").and_then(Value::as_str);
    if let Some(why) = skipped {
        println!("{what}: skipped ({why})");
    }
    skipped.is_some()
}

/// `--decompose-telemetry`'s instructions per report, each less the same
/// tasks with no report.
pub fn print_report_instructions(per_report: &Value) {
    if printed_skip(per_report, "instructions per report") {
        return;
    }
    println!(
        "instructions per report (callgrind, 8 tasks, less the tasks alone): ours {:.0}, reporting floor {:.0}",
        get(per_report, &["ours_report_less_yield"]),
        get(per_report, &["reporting_floor_less_yield"])
    );
}

/// The client's and the gateway's instructions per call at 8 tasks
/// (`--decompose-telemetry`), one row per target, and what the floor's two
/// sides together make of each row's.
pub fn print_both_sides(both: &Value) {
    if printed_skip(both, "the gateway's instructions per call") {
        return;
    }
    println!("instructions per call on both sides, 8 tasks (callgrind; the client's from the table above):");
    println!(
        "  {:<28} {:>9} {:>9} {:>9} {:>16}",
        "", "client", "gateway", "both", "floor ÷ this"
    );
    for target in crate::instructions::CACHE_TARGETS {
        let Some(row) = both.get(target) else {
            println!("  {target:<28} (a child failed)");
            continue;
        };
        let ratio = both
            .get("floor_both_to_both")
            .and_then(|r| r.get(target))
            .and_then(Value::as_f64);
        let value = |name: &str| row.get(name).and_then(Value::as_f64).unwrap_or(f64::NAN);
        println!(
            "  {target:<28} {:>9.0} {:>9.0} {:>9.0} {:>16}",
            value("client"),
            value("gateway"),
            value("both"),
            ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"))
        );
    }
}

/// The simulated cache misses per call (`--decompose-telemetry`), one row
/// per target.
pub fn print_cache_misses(caches: &Value) {
    if printed_skip(caches, "cache misses per call") {
        return;
    }
    println!("per call under callgrind's cache simulation, 8 tasks (32 KiB L1s):");
    println!(
        "  {:<28} {:>9} {:>7} {:>7} {:>7} {:>12}",
        "", "Ir", "I1mr", "D1mr", "D1mw", "clock reads"
    );
    for target in crate::instructions::CACHE_TARGETS {
        let Some(events) = caches.get(target) else {
            println!("  {target:<28} (its child failed)");
            continue;
        };
        let event = |name: &str| events.get(name).and_then(Value::as_f64).unwrap_or(f64::NAN);
        println!(
            "  {target:<28} {:>9.0} {:>7.0} {:>7.0} {:>7.0} {:>12.2}",
            event("Ir"),
            event("I1mr"),
            event("D1mr"),
            event("D1mw"),
            event("clock_reads")
        );
    }
}
