//! Counters a projector keeps, for health endpoints and benchmarks.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Most end-to-end lag samples kept (about 8 MB); later ones are dropped.
const MAX_LAG_SAMPLES: usize = 1 << 20;

/// Live counters of one projector (monotonic since start).
#[derive(Debug, Default)]
pub struct ProjectorMetrics {
    applied: AtomicU64,
    duplicates: AtomicU64,
    unknown: AtomicU64,
    parked: AtomicU64,
    batches: AtomicU64,
    last_position: AtomicI64,
    last_recorded_at: AtomicI64,
    /// Whether [`ProjectorMetrics::lag_samples`] are being collected (benchmarks turn it on).
    sampling: AtomicBool,
    lag_samples: Mutex<Vec<i64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Events applied to the read model.
    pub applied: u64,
    /// Redelivered events skipped: at or below their source's watermark.
    pub duplicates: u64,
    /// Events of unknown type passed over.
    pub unknown: u64,
    /// Events parked in the dead-letter store.
    pub parked: u64,
    /// Committed batches.
    pub batches: u64,
    /// Global position (in its source store) of the last event handled.
    pub last_position: i64,
    /// Recorded-at (UTC microseconds) of the last event handled: now minus this is the lag.
    pub last_recorded_at_micros: i64,
}

impl ProjectorMetrics {
    pub(crate) fn record(&self, report: &crate::BatchReport) {
        self.applied.fetch_add(report.applied, Ordering::Relaxed);
        self.duplicates
            .fetch_add(report.duplicates, Ordering::Relaxed);
        self.unknown.fetch_add(report.unknown, Ordering::Relaxed);
        self.parked
            .fetch_add(report.parked.len() as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        if let Some((position, recorded_at)) = report.last_event {
            self.last_position.store(position, Ordering::Relaxed);
            self.last_recorded_at.store(recorded_at, Ordering::Relaxed);
        }
        if self.sampling.load(Ordering::Relaxed) && !report.applied_recorded_at.is_empty() {
            let now = chrono::Utc::now().timestamp_micros();
            let mut samples = self.lag_samples.lock().expect("lag samples");
            let room = MAX_LAG_SAMPLES.saturating_sub(samples.len());
            samples.extend(
                report
                    .applied_recorded_at
                    .iter()
                    .take(room)
                    .map(|recorded| now - recorded),
            );
        }
    }

    /// Starts (or stops) keeping one end-to-end lag sample per applied event: the time from the
    /// event being recorded in its store (the command accepted) to the commit of the read-model
    /// batch that applied it. Off by default (it costs memory); benchmarks turn it on.
    pub fn sample_lags(&self, on: bool) {
        self.sampling.store(on, Ordering::Relaxed);
    }

    /// Takes the lag samples kept so far (microseconds), leaving none.
    pub fn take_lag_samples(&self) -> Vec<i64> {
        std::mem::take(&mut *self.lag_samples.lock().expect("lag samples"))
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            applied: self.applied.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            unknown: self.unknown.load(Ordering::Relaxed),
            parked: self.parked.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            last_position: self.last_position.load(Ordering::Relaxed),
            last_recorded_at_micros: self.last_recorded_at.load(Ordering::Relaxed),
        }
    }
}
