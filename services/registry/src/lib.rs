//! The registry service (MARA's bounded context): a gRPC command API over the event store.
//!
//! A request goes through: `convert` (protobuf → validated domain command, field errors named) →
//! [`handler::Registry::execute`] (idempotency check, pure `decide` on the in-memory write model,
//! append with the expected stream version, apply) → `codec` (domain events ↔ protobuf payloads) →
//! `writer::grpc` (one mapping from every failure to a gRPC status with details).
//!
//! The write model ([`registry_domain::RegistryState`]) is rebuilt from the service's own event
//! store at start. Citizen ID numbers are hashed with a deployment key ([`IdHashKey`]) at the edge
//! and never stored or logged in clear.

mod bulk;
pub mod codec;
mod convert;
pub mod handler;
pub mod service;

pub use handler::{IdHashKey, Registry};
pub use service::RegistryGrpc;

/// CloudEvents source of every registry event.
pub const SOURCE: &str = "/bottomline/registry";
