//! `decide`: what a command means given the current state — new events for one stream, or the
//! reason it is refused. Read-only, so a refusal leaves the state untouched.
//!
//! Monitoring-case rules follow the 2021 MARA guidance (see [`crate::rules`]); thresholds come
//! from the state's [`MonitoringRules`](crate::rules::MonitoringRules), never from constants here.

use chrono::NaiveDate;

use super::RegistryState;
use crate::commands::RegistryCommand;
use crate::error::DomainError;
use crate::events::RegistryEvent;
use crate::types::HouseholdId;
pub(crate) use decision::{not_after_today, not_before};

mod case;
mod household;

/// The outcome of an accepted registry command: its events for one stream.
pub type Decision = decision::Decision<RegistryEvent>;

impl RegistryState {
    /// For a `RegisterPerson`, the refusal its decision would give whatever its household (an
    /// invalid name, a citizen ID registered before), if any; `None` for other commands. Lets a
    /// bulk registration leave out a household none of whose members can be registered.
    pub fn refusal_of_new_person(&self, cmd: &RegistryCommand) -> Option<DomainError> {
        match cmd {
            RegistryCommand::RegisterPerson { id_hash, name, .. } => {
                self.new_person(id_hash, name).err()
            }
            _ => None,
        }
    }

    /// Decides a command against the current state. `today` is the current civil date in China
    /// Standard Time; no date in a command may be after it.
    pub fn decide(&self, cmd: &RegistryCommand, today: NaiveDate) -> Result<Decision, DomainError> {
        use RegistryCommand::*;
        match cmd {
            RegisterHousehold {
                household_id,
                village_code,
                poverty_alleviated,
                relocated,
                settlement_area,
            } => self.register_household(
                *household_id,
                village_code,
                *poverty_alleviated,
                *relocated,
                settlement_area.as_deref(),
            ),
            RegisterPerson {
                household_id,
                citizen_id,
                id_hash,
                name,
                relation,
                labour_capacity,
                disabled,
            } => self.register_person(
                *household_id,
                citizen_id,
                id_hash,
                name,
                *relation,
                *labour_capacity,
                *disabled,
            ),
            ChangeLabourCapacity {
                person_id,
                labour_capacity,
                effective_on,
            } => self.change_labour_capacity(*person_id, *labour_capacity, *effective_on, today),
            RecordExit {
                person_id,
                reason,
                exit_date,
                note,
            } => self.record_exit(*person_id, *reason, *exit_date, note, today),
            OpenMonitoringCase {
                case_id,
                household_id,
                case_type,
                risk_factors,
                lead_source,
                lead_date,
            } => self.open_case(
                *case_id,
                *household_id,
                *case_type,
                risk_factors,
                *lead_source,
                *lead_date,
                today,
            ),
            AdvanceMonitoringCase {
                case_id,
                to,
                on,
                note,
            } => self.advance_case(*case_id, *to, *on, note, today),
            RecordAssistanceMeasure {
                case_id,
                kind,
                on,
                description,
            } => self.record_measure(*case_id, *kind, *on, description, today),
            EliminateRisk {
                case_id,
                on,
                months_income_above_line,
            } => self.eliminate_risk(*case_id, *on, *months_income_above_line, today),
            ReturnToAssisted {
                case_id,
                on,
                reason,
            } => self.return_to_assisted(*case_id, *on, reason, today),
        }
    }

    fn decision(&self, stream_id: String, events: Vec<RegistryEvent>) -> Decision {
        let expected_version = self.stream_version(&stream_id);
        Decision {
            stream_id,
            expected_version,
            events,
        }
    }
}

fn not_found_household(id: HouseholdId) -> DomainError {
    DomainError::NotFound {
        what: "household",
        id: id.to_string(),
    }
}

/// `date` must be neither before `earliest` (the previous transition) nor after `today`.
fn on_between(
    field: &'static str,
    date: NaiveDate,
    earliest: NaiveDate,
    today: NaiveDate,
) -> Result<(), DomainError> {
    not_before("the previous step", field, date, earliest)?;
    not_after_today(field, date, today)
}
