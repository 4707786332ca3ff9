//! Pure decision logic of the employment context (MOHRSS): employment spells of
//! poverty-alleviated workers, follow-ups, employment-assistance workshops, rural public-welfare
//! posts, training and Rain and Dew Plan enrolments.
//!
//! This crate is the write-side model. It does no I/O: the service loads past events from the
//! event store, folds them into an [`EmploymentState`] with [`EmploymentState::apply`], feeds it
//! registry facts with [`EmploymentState::observe`], asks [`EmploymentState::decide`] what a
//! command means, and appends the returned events with the expected stream version as an
//! optimistic-concurrency guard.
//!
//! Layout, one purpose per module:
//! - [`uscc`]: parsing the employer's unified social credit code (GB 32100-2015).
//! - [`types`]: enumerations and the id newtypes with their streams.
//! - [`reference`]: this context's own view of registry persons and households, fed from registry
//!   events (never from the registry's database).
//! - [`rules`]: dated policy parameters (subsidy bands, age limits, targets) in a [`PolicyBook`].
//! - [`events`] / [`commands`]: what happened / what is asked.
//! - [`error`]: why a command was refused.
//! - [`state`]: the in-memory write model and the `decide` function, rule by rule.
//!
//! **Streams.** Every decision appends to exactly one stream. The record of a person is
//! person-centric: `employment-<person>` holds their spells, follow-ups, post assignments,
//! training and Rain and Dew enrolments, so "one open spell per employer", "one post per person"
//! and the reaction to a registry exit (which ends spells *and* the post assignment at once, see
//! [`EmploymentState::react_to_exit`]) each touch one stream and need no multi-stream decision.
//! `post-<uuid>` holds a post's creation and its subsidy payments (one payment per month is
//! guarded by that stream); `workshop-<uuid>` holds a workshop. "One holder per post" spans
//! persons and is checked against the state only; the service serialises assignments of a post.
//!
//! **Job loss.** Ending a spell for a job-loss reason (all but `Moved` and `PersonExited`, see
//! [`EndReason::is_job_loss`]) that leaves the worker without any open spell raises
//! `JobLossRiskRaised` in the same decision when the household is monitored or is left with
//! nobody employed.
//!
//! Dates are [`chrono::NaiveDate`] values meaning civil dates in China Standard Time (UTC+8); the
//! caller decides what "today" is and passes it in, so decisions are reproducible. Money is
//! integer fen.

pub mod commands;
pub mod error;
pub mod events;
pub mod reference;
pub mod rules;
pub mod state;
pub mod types;
pub mod uscc;

pub use commands::{EmploymentCommand, PersonExitedReaction};
pub use error::DomainError;
pub use events::EmploymentEvent;
pub use reference::{HouseholdRef, PersonRef, ReferenceView, RegistryFact};
pub use rules::{
    EmployedScaleTarget, PolicyBook, PostAgeRule, PostSubsidyBand, RainAndDewRate, WorkshopMinimum,
};
pub use state::{Assignment, Decision, EmploymentState, Enrolment, Post, Spell, Workshop};
pub use types::{
    Channel, EndReason, EnrolmentId, EvidenceSource, FollowUpChannel, FollowUpOutcome, HouseholdId,
    LocationClass, PersonId, PostCategory, PostId, SpellId, SpellTerms, TrainingKind,
    WorkshopClass2023, WorkshopId, WorkshopType,
};
pub use uscc::{Uscc, UsccError};
