//! Pure decision logic of the registry context (MARA): poverty-alleviated households, their
//! members, and the monitoring cases of households at risk of returning to poverty.
//!
//! This crate is the write-side model. It does no I/O: the gRPC service loads past events from the
//! event store, folds them into a [`RegistryState`] with [`RegistryState::apply`], asks
//! [`RegistryState::decide`] what a command means, and appends the returned events with the
//! expected stream version as an optimistic-concurrency guard.
//!
//! Layout, one purpose per module:
//! - [`citizen_id`]: parsing and protecting the 18-character citizen ID number (GB 11643).
//! - [`divisions`]: the administrative division list and the national key-county list.
//! - [`types`]: enumerations mirroring the protobuf ones, and the id newtypes with their streams.
//! - [`rules`]: policy parameters of the monitoring mechanism (configuration, not constants).
//! - [`events`] / [`commands`]: what happened / what is asked.
//! - [`error`]: why a command was refused.
//! - [`state`]: the in-memory write model and the `decide` function, rule by rule.
//!
//! Dates are [`chrono::NaiveDate`] values meaning civil dates in China Standard Time (UTC+8); the
//! caller decides what "today" is and passes it in, so decisions are reproducible.
//!
//! The citizen ID number never appears in an event: events carry a keyed hash (HMAC-SHA-256 under
//! a deployment key) and a masked form, as the Personal Information Protection Law requires.

pub mod citizen_id;
pub mod commands;
pub mod divisions;
pub mod error;
pub mod events;
pub mod rules;
pub mod state;
pub mod types;

pub use citizen_id::{CitizenId, CitizenIdError};
pub use commands::RegistryCommand;
pub use divisions::{DivisionCatalog, DivisionError, KeyCounties, KeyCounty};
pub use error::DomainError;
pub use events::RegistryEvent;
pub use rules::MonitoringRules;
pub use state::{Decision, Household, MonitoringCase, Person, RegistryState};
pub use types::{
    person_name, AssistanceKind, CaseId, CaseStage, CaseType, ExitReason, HouseholdId,
    LabourCapacity, LeadSource, PersonId, Relation, RiskFactor, Sex, NAME_MAX_CHARS,
};
