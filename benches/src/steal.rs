//! Host CPU steal: time the hypervisor gave this virtual machine's CPUs to
//! something else while they had work (`/proc/stat`, Linux). On a shared
//! host it is noise that pairing rows within a round cannot remove: a
//! window that loses a fifth of the machine's CPU runs a fifth slower
//! whichever row it measures. Each throughput window, and the whole run,
//! record it, so a reader can tell a quiet run from a contended one.

use std::time::Instant;

/// Steal since a start point.
pub struct StealClock {
    jiffies: u64,
    started: Instant,
}

/// Total steal jiffies of all CPUs, and the number of CPUs.
fn read() -> Option<(u64, usize)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut lines = stat.lines();
    // "cpu  user nice system idle iowait irq softirq steal ..."
    let steal = lines.next()?.split_whitespace().nth(8)?.parse().ok()?;
    let cpus = lines
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some((steal, cpus.max(1)))
}

impl StealClock {
    /// Starts counting; `None` where `/proc/stat` is not readable.
    pub fn start() -> Option<StealClock> {
        let (jiffies, _) = read()?;
        Some(StealClock {
            jiffies,
            started: Instant::now(),
        })
    }

    /// The share of the machine's CPU time stolen since the start (0 to 1).
    pub fn fraction(&self) -> Option<f64> {
        let (now, cpus) = read()?;
        // USER_HZ is 100 on every Linux this runs on.
        let capacity = self.started.elapsed().as_secs_f64() * 100.0 * cpus as f64;
        (capacity > 0.0).then(|| now.saturating_sub(self.jiffies) as f64 / capacity)
    }
}

/// The steal fraction of `clock` (NaN when unknown, printed as such).
pub fn fraction_of(clock: Option<&StealClock>) -> f64 {
    clock.and_then(StealClock::fraction).unwrap_or(f64::NAN)
}
