//! A client's counters: checks by decision, errors by code, the Guardian's
//! latency as measured, and (from the pipeline) telemetry delivery.
//!
//! The hot path is a few relaxed atomic adds: no lock, no allocation. Only
//! an error takes a lock, to count it under its code.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use crate::guard::Decision;
use crate::pipeline::TelemetryStats;

/// Everything a client counted since it was built; from
/// [`AgentTrustClient::stats`](crate::AgentTrustClient::stats) or
/// [`Runtime::stats`](crate::Runtime::stats).
///
/// Each counter is read on its own, so a snapshot taken while calls run may
/// be a few calls apart between fields.
///
/// ```no_run
/// # fn run(client: agenttrust_runtime::AgentTrustClient) {
/// let stats = client.stats();
/// println!(
///     "{} allowed, {} denied, {} would block; Guardian p99 {:?}; {} events dropped",
///     stats.checks.allowed,
///     stats.checks.denied,
///     stats.checks.would_block,
///     stats.guardian_latency.p99,
///     stats.telemetry.dropped,
/// );
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Checks by outcome.
    pub checks: CheckStats,
    /// How long the Guardian took to answer, measured by this client.
    pub guardian_latency: LatencySummary,
    /// The telemetry pipeline's counters.
    pub telemetry: TelemetryStats,
}

/// Checks made through guards and `#[guarded]` functions, by outcome.
/// (Raw [`actions().check`](crate::api::actions::Actions::check) calls
/// decide nothing and are not counted.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckStats {
    /// [`Decision::Allowed`].
    pub allowed: u64,
    /// [`Decision::Denied`] (enforced).
    pub denied: u64,
    /// [`Decision::ElevationRequired`] (enforced).
    pub elevation_required: u64,
    /// [`Decision::FailedOpen`].
    pub failed_open: u64,
    /// [`Decision::WouldBlock`]: denials and elevations in monitoring mode.
    pub would_block: u64,
    /// Checks that ended in an error, by [`code`](crate::AgentTrustError::code)
    /// (`GUARDIAN_UNAVAILABLE`, `AUTH_FAILED`, ...).
    pub errors: BTreeMap<String, u64>,
}

impl CheckStats {
    /// Every check counted: decisions and errors.
    pub fn total(&self) -> u64 {
        self.allowed
            + self.denied
            + self.elevation_required
            + self.failed_open
            + self.would_block
            + self.errors.values().sum::<u64>()
    }
}

/// Quantiles of the Guardian's answer time, from a cumulative histogram
/// with 8 buckets per power of two (a quantile is the upper edge of its
/// bucket: at most 12.5% above the true value, and never above `max`).
/// Only checks answered with a verdict count; a timeout, a refused
/// connection or an error status is counted as an error, not a latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Answers measured.
    pub count: u64,
    /// Median, `None` before the first answer.
    pub p50: Option<Duration>,
    /// 90th percentile.
    pub p90: Option<Duration>,
    /// 99th percentile.
    pub p99: Option<Duration>,
    /// The slowest answer.
    pub max: Option<Duration>,
}

/// Sub-buckets per power of two.
const SUB: u64 = 8;
/// Values up to 2^39 µs (about 6 days); longer ones land in the last bucket.
const BUCKETS: usize = 8 * 37;

/// The recording side, one per client.
#[derive(Default)]
pub(crate) struct CheckCounters {
    allowed: AtomicU64,
    denied: AtomicU64,
    elevation_required: AtomicU64,
    failed_open: AtomicU64,
    would_block: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    latency: Histogram,
}

impl CheckCounters {
    pub(crate) fn decision(&self, decision: &Decision) {
        let counter = match decision {
            Decision::Allowed { .. } => &self.allowed,
            Decision::Denied { .. } => &self.denied,
            Decision::ElevationRequired { .. } => &self.elevation_required,
            Decision::FailedOpen { .. } => &self.failed_open,
            Decision::WouldBlock { .. } => &self.would_block,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn error(&self, code: &str) {
        let mut errors = self
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *errors.entry(code.to_owned()).or_default() += 1;
    }

    pub(crate) fn guardian_latency(&self, measured: Duration) {
        self.latency.record(measured);
    }

    pub(crate) fn snapshot(&self, telemetry: TelemetryStats) -> Stats {
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Stats {
            checks: CheckStats {
                allowed: self.allowed.load(Relaxed),
                denied: self.denied.load(Relaxed),
                elevation_required: self.elevation_required.load(Relaxed),
                failed_open: self.failed_open.load(Relaxed),
                would_block: self.would_block.load(Relaxed),
                errors,
            },
            guardian_latency: self.latency.summary(),
            telemetry,
        }
    }
}

/// A lock-free log-linear histogram of microseconds.
struct Histogram {
    buckets: Box<[AtomicU64; BUCKETS]>,
    max_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            max_micros: AtomicU64::new(0),
        }
    }
}

/// The bucket of `micros`: exact below 16, then 8 per power of two.
fn bucket_of(micros: u64) -> usize {
    if micros < 2 * SUB {
        return micros as usize;
    }
    let exp = 63 - u64::from(micros.leading_zeros()); // >= 4
    let mantissa = micros >> (exp - 3); // 8..=15
    let index = (exp - 2) * SUB + (mantissa - SUB);
    (index as usize).min(BUCKETS - 1)
}

/// The largest value bucket `index` holds.
fn upper_edge(index: usize) -> u64 {
    let index = index as u64;
    if index < 2 * SUB {
        return index;
    }
    let exp = index / SUB + 2;
    let mantissa = index % SUB + SUB;
    ((mantissa + 1) << (exp - 3)) - 1
}

impl Histogram {
    fn record(&self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Relaxed);
        // Read first: `fetch_max` writes the line even when the maximum
        // stands, and every thread checking would then keep taking it
        // from the others.
        if micros > self.max_micros.load(Relaxed) {
            self.max_micros.fetch_max(micros, Relaxed);
        }
    }

    fn summary(&self) -> LatencySummary {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return LatencySummary::default();
        }
        let max = self.max_micros.load(Relaxed);
        let quantile = |q: f64| {
            // The smallest value with at least q of the answers at or below it.
            let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0;
            let index = counts
                .iter()
                .position(|c| {
                    seen += c;
                    seen >= rank
                })
                .unwrap_or(BUCKETS - 1);
            Some(Duration::from_micros(upper_edge(index).min(max)))
        };
        LatencySummary {
            count,
            p50: quantile(0.50),
            p90: quantile(0.90),
            p99: quantile(0.99),
            max: Some(Duration::from_micros(max)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_within_an_eighth() {
        let mut previous = None;
        for micros in (0..100_000u64).chain([u64::from(u32::MAX), 1 << 37]) {
            let index = bucket_of(micros);
            assert!(upper_edge(index) >= micros, "{micros} above bucket {index}");
            if index > 0 {
                assert!(
                    upper_edge(index - 1) < micros,
                    "{micros} in too high a bucket"
                );
            }
            // Relative width: at most 1/8 of the value.
            assert!(
                (upper_edge(index) - micros) * 8 <= micros.max(1) + 7,
                "{micros}"
            );
            if let Some(p) = previous {
                assert!(index >= p);
            }
            previous = Some(index);
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_known_answers() {
        let h = Histogram::default();
        assert_eq!(h.summary(), LatencySummary::default());
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.max, Some(Duration::from_millis(100)));
        let within = |got: Option<Duration>, want_ms: u64| {
            let got = got.unwrap().as_micros() as u64;
            let want = want_ms * 1000;
            assert!(got >= want && got <= want + want / 8, "{got} vs {want}");
        };
        within(s.p50, 50);
        within(s.p90, 90);
        within(s.p99, 99);
    }

    #[test]
    fn counters_count_each_decision_and_error_code() {
        let c = CheckCounters::default();
        c.decision(&Decision::Allowed {
            check_id: None,
            reason: None,
        });
        c.decision(&Decision::WouldBlock {
            reason: "no".into(),
            check_id: None,
            approval_id: None,
        });
        c.error("AUTH_FAILED");
        c.error("AUTH_FAILED");
        c.error("GUARDIAN_UNAVAILABLE");
        let s = c.snapshot(TelemetryStats::default()).checks;
        assert_eq!((s.allowed, s.would_block, s.denied), (1, 1, 0));
        assert_eq!(s.errors["AUTH_FAILED"], 2);
        assert_eq!(s.errors["GUARDIAN_UNAVAILABLE"], 1);
        assert_eq!(s.total(), 5);
    }
}
