//! Deciding employment-assistance workshops: registration, the 2023 classification, and the
//! monthly count of poverty-alleviated workers (flagged when under the minimum in force).

use chrono::NaiveDate;

use super::{division_code, first_of_month, month_of, not_after_today, not_before, text};
use crate::commands::EmploymentCommand;
use crate::error::DomainError;
use crate::events::EmploymentEvent;
use crate::state::{Decision, EmploymentState, Workshop};
use crate::types::WorkshopId;

/// Maximum characters of a workshop name.
const NAME_MAX_CHARS: usize = 100;

impl EmploymentState {
    pub(super) fn decide_workshop(
        &self,
        cmd: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        match cmd {
            EmploymentCommand::RegisterWorkshop {
                workshop_id,
                name,
                workshop_type,
                county_code,
                registered_on,
            } => {
                let name = text("name", name, NAME_MAX_CHARS)?;
                division_code("county_code", county_code)?;
                not_after_today("registered_on", *registered_on, today)?;
                let stream_id = workshop_id.stream_id();
                if self.workshops.contains_key(workshop_id) || self.stream_version(&stream_id) > 0 {
                    return Err(DomainError::already_exists("workshop", workshop_id));
                }
                let event = EmploymentEvent::WorkshopRegistered {
                    workshop_id: *workshop_id,
                    name: name.to_owned(),
                    workshop_type: *workshop_type,
                    county_code: county_code.clone(),
                    registered_on: *registered_on,
                };
                Ok(self.decision(stream_id, vec![event]))
            }
            EmploymentCommand::ClassifyWorkshop {
                workshop_id,
                class,
                on,
            } => {
                let workshop = self.workshop_or_not_found(*workshop_id)?;
                not_before("the registration", "on", *on, workshop.registered_on)?;
                not_after_today("on", *on, today)?;
                if workshop.class == Some(*class) {
                    return Err(DomainError::rule(
                        "same_class",
                        format!("workshop {workshop_id} is already classified {class:?}"),
                    ));
                }
                let event = EmploymentEvent::WorkshopClassified {
                    workshop_id: *workshop_id,
                    class: *class,
                    on: *on,
                };
                Ok(self.decision(workshop_id.stream_id(), vec![event]))
            }
            EmploymentCommand::ReportWorkshopWorkers {
                workshop_id,
                month,
                workers,
            } => {
                first_of_month("month", *month)?;
                let workshop = self.workshop_or_not_found(*workshop_id)?;
                not_before(
                    "the month of registration",
                    "month",
                    *month,
                    month_of(workshop.registered_on),
                )?;
                if *month > month_of(today) {
                    return Err(DomainError::invalid(
                        "month",
                        format!("{month} is after the current month"),
                    ));
                }
                let below_minimum = self
                    .policy
                    .workshop_minimum_on(*month)
                    .is_some_and(|m| *workers < m.min_workers);
                let event = EmploymentEvent::WorkshopWorkersReported {
                    workshop_id: *workshop_id,
                    month: *month,
                    workers: *workers,
                    below_minimum,
                    replaces: workshop.workers.get(month).copied(),
                };
                Ok(self.decision(workshop_id.stream_id(), vec![event]))
            }
            _ => unreachable!("decide_workshop is only called with workshop commands"),
        }
    }

    fn workshop_or_not_found(&self, id: WorkshopId) -> Result<&Workshop, DomainError> {
        self.workshops
            .get(&id)
            .ok_or_else(|| DomainError::not_found("workshop", id))
    }
}
