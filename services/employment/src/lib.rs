//! The employment service (MOHRSS's bounded context): a gRPC command API over its own event store,
//! and the intake that keeps its reference view of the registry.
//!
//! A request goes through: `convert` (protobuf → domain command, field errors named) →
//! [`Employment::execute`] (the shared [`writer::CommandWriter`]: idempotency, pure `decide` on the
//! in-memory [`employment_domain::EmploymentState`], group commit) → [`codec`] (domain events ↔
//! protobuf payloads) → `writer::grpc` (failures → gRPC statuses with details).
//!
//! Commands about a person are decided against the reference view the [`RegistryIntake`] builds
//! from registry events: each registry event becomes a recorded fact in this context's store
//! (stream `employment-<person>` or `employment-household-<household>`); an exit fact ends the
//! person's open spells and post assignment in the same decision.

pub mod codec;
mod convert;
pub mod handler;
pub mod intake;
pub mod service;

pub use handler::Employment;
pub use intake::RegistryIntake;
pub use service::EmploymentGrpc;

/// CloudEvents source of every employment event.
pub const SOURCE: &str = "/bottomline/employment";
