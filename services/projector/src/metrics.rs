//! Counters a projector keeps, for health endpoints and benchmarks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Events applied to the read model.
    pub applied: u64,
    /// Redelivered events skipped by event id.
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
