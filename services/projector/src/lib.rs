//! The projector runtime: everything a read model needs to follow an event log exactly once.
//!
//! - [`Projection`] is what a read model implements: its tables and how one event changes them.
//! - [`Projector`] applies a batch of [`Delivery`]s in **one database transaction** together with the
//!   source [`Checkpoint`]s (Kafka offsets or an event-store cursor), skips events it has already
//!   applied (the relay delivers at least once: dedupe by a per-source watermark of global
//!   positions, see [`Projector::apply_batch`]), and **parks** poison
//!   events (undecodable, invalid) with their reason. Later events of a parked key are parked behind
//!   it, so each stream's order is kept; other keys flow on.
//! - [`embedded::run`] feeds a projector straight from an event store's commit-safe global order
//!   (embedded mode, no Kafka). The Kafka consumer lives in the `kafka` crate and drives the same
//!   [`Projector`].
//!
//! Layout: `projection` (the trait), `runtime` (batches, checkpoints, dedupe watermarks, parking),
//! `metrics`, `embedded` (event-store source), `testing` (helpers for projections' tests).

pub mod embedded;
mod metrics;
mod projection;
pub mod query;
mod runtime;
pub mod testing;

pub use metrics::{MetricsSnapshot, ProjectorMetrics};
pub use projection::{apply_one, Applied, Projection, ProjectionError, RunError};
pub use runtime::{BatchReport, Checkpoint, Delivery, ParkedEvent, Projector};
