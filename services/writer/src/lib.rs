//! The command side of a bounded context, shared by every service that owns an event store.
//!
//! A service implements [`WriteModel`] for its pure domain state (decide, apply, and the codec of
//! its events) and opens a [`CommandWriter`] over its event store. The writer rebuilds the model
//! from every stored event, then carries out commands on one writer thread (group commit): see
//! [`CommandWriter`]. [`grpc`] maps every failure to a gRPC status with details and holds the
//! request helpers every command API needs (China's civil date, W3C trace context); [`fields`]
//! turns protobuf request fields into domain values, naming the field on refusal.

pub mod fields;
pub mod grpc;
mod model;
mod run;

pub use model::WriteModel;
pub use run::{CommandWriter, ExecuteError, OpenError, Submitted};
