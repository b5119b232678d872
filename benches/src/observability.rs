//! What tracing and the counters add to a guarded call.
//!
//! The same async guarded fn against the same gateway, in interleaved
//! blocks (so machine noise falls on every mode alike): with no
//! subscriber, with a subscriber whose level filter (WARN) turns the INFO
//! span off, and with tracing-subscriber's fmt layer formatting every span
//! and event into `io::sink`. The counters' own cost is their exact hot
//! path (a decision and a latency recorded) timed on its own, in ns.

use std::time::{Duration, Instant};

use agenttrust_runtime::Decision;
use serde_json::{json, Value};
use tracing_subscriber::fmt::format::FmtSpan;

use crate::stats::{median, Summary};
use crate::{current_thread, time_guarded_async, Setup};

const MODES: [&str; 3] = ["no_subscriber", "filtered_out", "fmt_subscriber"];

/// The subscriber of `mode`, `None` for none.
pub fn dispatch(mode: &str) -> Option<tracing::Dispatch> {
    match mode {
        "filtered_out" => Some(tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::WARN)
                .with_writer(std::io::sink)
                .finish(),
        )),
        "fmt_subscriber" => Some(tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_span_events(FmtSpan::CLOSE)
                .with_writer(std::io::sink)
                .finish(),
        )),
        _ => None,
    }
}

/// Per-call ns of `n` guarded async calls under `mode`'s subscriber.
fn block(s: &Setup, mode: &str, n: usize) -> Vec<u64> {
    let rt = current_thread();
    let run = || time_guarded_async(&rt, &s.ours, n, crate::warm_up(n));
    match dispatch(mode) {
        Some(d) => tracing::dispatcher::with_default(&d, run),
        None => run(),
    }
}

/// The counters' hot path, ns per recorded check (median of `reps` runs).
fn counters_ns(s: &Setup, reps: usize) -> f64 {
    let client = s.ours.client();
    let decision = Decision::Allowed {
        check_id: None,
        reason: None,
    };
    let per_call: Vec<f64> = (0..reps)
        .map(|i| {
            let n = 1_000_000u32;
            let start = Instant::now();
            for j in 0..n {
                let latency = Duration::from_micros(u64::from(j % 4096) + i as u64);
                agenttrust_runtime::__private::count_check(
                    client,
                    std::hint::black_box(&decision),
                    std::hint::black_box(latency),
                );
            }
            start.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    median(per_call)
}

pub fn measure(s: &Setup, reps: usize, calls: usize) -> Value {
    let mut p50s: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    let mut summaries: Vec<Vec<Summary>> = vec![Vec::new(); MODES.len()];
    for rep in 0..reps {
        eprintln!("  tracing cost: repetition {}/{reps}", rep + 1);
        // Rotate the order each repetition so no mode always runs first.
        for k in 0..MODES.len() {
            let m = (k + rep) % MODES.len();
            let summary = Summary::of(block(s, MODES[m], calls));
            p50s[m].push(summary.p50());
            summaries[m].push(summary);
        }
    }
    let mut result = serde_json::Map::new();
    for (m, mode) in MODES.iter().enumerate() {
        let refs: Vec<&Summary> = summaries[m].iter().collect();
        result.insert((*mode).to_owned(), crate::stats::median_of(&refs));
    }
    // Per repetition differences of p50 against no subscriber, then their median.
    let added = |m: usize| {
        median(
            p50s[m]
                .iter()
                .zip(&p50s[0])
                .map(|(with, without)| with - without)
                .collect(),
        )
    };
    result.insert(
        "added_p50_us".to_owned(),
        json!({"filtered_out": added(1), "fmt_subscriber": added(2)}),
    );
    result.insert("counters_ns_per_check".to_owned(), json!(counters_ns(s, 5)));
    Value::Object(result)
}
