//! What a few primitives cost on this machine, in nanoseconds: a clock
//! read (`Instant::now`, `SystemTime::now`) and a locked atomic add (what
//! an `Arc` clone, a counter or a lock taken does). Callgrind
//! counts each as a handful of instructions; on a virtual machine a clock
//! read can cost as much as a few hundred of them, and with the client's
//! one CPU saturated (the 8- and 64-task throughput rows) a guarded call
//! pays every one of them in throughput. Measured on the client's CPU,
//! after the decomposition's windows.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

/// Operations per timed loop; each figure is the median of [`ROUNDS`].
const OPS: u32 = 1_000_000;
const ROUNDS: usize = 5;

/// Nanoseconds per operation of each primitive, less the loop's own.
pub fn measure() -> Value {
    let counter = AtomicU64::new(0);
    let mut sink = 0u64;
    let baseline = per_op(|| sink = sink.wrapping_add(black_box(1)));
    let instant = per_op(|| {
        black_box(Instant::now());
    });
    let system_time = per_op(|| {
        black_box(SystemTime::now());
    });
    let locked_add = per_op(|| {
        black_box(&counter).fetch_add(1, Ordering::Relaxed);
    });
    black_box(sink);
    let less = |ns: f64| (ns - baseline).max(0.0);
    json!({
        "instant_now": less(instant),
        "system_time_now": less(system_time),
        "locked_add": less(locked_add),
        "loop": baseline,
    })
}

/// The median over rounds of one round's nanoseconds per call of `op`.
fn per_op(mut op: impl FnMut()) -> f64 {
    let rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..OPS {
                op();
            }
            started.elapsed().as_nanos() as f64 / f64::from(OPS)
        })
        .collect();
    crate::stats::median(rounds)
}

/// One line of the figures, for the run's output.
pub fn print(costs: &Value) {
    let ns = |name: &str| costs[name].as_f64().unwrap_or(f64::NAN);
    println!(
        "primitives on the client's CPU: Instant::now {:.1} ns, SystemTime::now {:.1} ns, a locked \
         add {:.1} ns (the loop's own {:.1} ns taken off)",
        ns("instant_now"),
        ns("system_time_now"),
        ns("locked_add"),
        ns("loop")
    );
}
