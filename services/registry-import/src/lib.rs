//! Bulk loading of the registry (MARA) through its gRPC API: the CSV importer behind
//! `bottomline import`, and the synthetic population and end-to-end check behind
//! `bottomline demo`.
//!
//! This crate is a client. It never touches the registry's storage: every household, person and
//! monitoring case goes through `RegistryService`, so the service's validation (citizen ID check
//! characters, village codes, case rules) applies to imported data exactly as to interactive
//! commands, and MARA's read model (`MaraQueryService`) is how the demo checks the outcome.
//!
//! Layout, one purpose per module:
//! - [`format`](mod@format): the CSV columns and the pure parsing of one row into typed fields.
//! - [`import`](mod@import): [`import_csv`] — reading, local rejects, bounded-parallel registration.
//! - [`generate`](mod@generate): [`generate()`] — a deterministic synthetic population with valid citizen IDs and
//!   monitoring-case plans that obey the rules, plus the counts it must produce.
//! - [`demo`](mod@demo): [`run_demo`] — generate, import, play the cases, wait for MARA to agree,
//!   then play the employment scenario and wait for the employed scale to agree.
//! - [`employment_plan`](mod@employment_plan): [`plan_employment`] — the deterministic employment
//!   scenario of a population (spells, churn, follow-ups, workshops, posts) and its figures.
//! - [`employment_demo`](mod@employment_demo): playing it through `EmploymentService`.
//! - `rpc`: deterministic command ids, retries of transient failures, reject reasons from
//!   `google.rpc` error details.
//! - `convert`: domain enums and dates to protobuf values.
//!
//! Idempotency is the design's backbone: every command id is a UUID v5 of stable inputs, so any
//! run can be repeated after a crash and the registry answers with the first outcome
//! (`ack.replayed`) instead of duplicating or refusing.
//!
#![doc = include_str!("../FORMAT.md")]

pub mod demo;
pub mod employment_demo;
pub mod employment_plan;
pub mod format;
pub mod generate;
pub mod import;

pub mod convert;
mod progress;
mod rpc;

pub use demo::{run_demo, DemoReport};
pub use employment_demo::EmploymentReport;
pub use employment_plan::{plan_employment, EmploymentPlan, ExpectedEmployment};
pub use generate::{
    generate, CasePlan, CaseStep, ExpectedCounts, Population, SyntheticHousehold, SyntheticPerson,
};
pub use import::{import_csv, ImportOptions, ImportSummary};
