//! Deciding training enrolments and completions, and Rain and Dew Plan enrolments.
//!
//! Rain and Dew eligibility is judged on the first day of term: a student from a
//! poverty-alleviated household qualifies; so does one from a monitored household whose risk was
//! not marked eliminated on or before that day. One enrolment per student per term.

use chrono::NaiveDate;

use super::{not_after_today, not_before, text};
use crate::commands::EmploymentCommand;
use crate::error::DomainError;
use crate::events::EmploymentEvent;
use crate::state::{Decision, EmploymentState};

/// Maximum characters of a course or school name.
const NAME_MAX_CHARS: usize = 100;

impl EmploymentState {
    pub(super) fn decide_training(
        &self,
        cmd: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        match cmd {
            EmploymentCommand::EnrolTraining {
                enrolment_id,
                person_id,
                kind,
                course,
                starts_on,
            } => {
                let course = text("course", course, NAME_MAX_CHARS)?;
                if self.enrolments.contains_key(enrolment_id) {
                    return Err(DomainError::already_exists("enrolment", enrolment_id));
                }
                self.active_person(*person_id)?;
                let event = EmploymentEvent::TrainingEnrolled {
                    enrolment_id: *enrolment_id,
                    person_id: *person_id,
                    kind: *kind,
                    course: course.to_owned(),
                    starts_on: *starts_on,
                };
                Ok(self.decision(person_id.stream_id(), vec![event]))
            }
            EmploymentCommand::CompleteTraining {
                enrolment_id,
                on,
                certified,
            } => {
                let enrolment = self
                    .enrolments
                    .get(enrolment_id)
                    .filter(|e| !e.rain_and_dew)
                    .ok_or_else(|| DomainError::not_found("enrolment", enrolment_id))?;
                if let Some(done) = enrolment.completed_on {
                    return Err(DomainError::rule(
                        "training_completed",
                        format!("enrolment {enrolment_id} was completed on {done}"),
                    ));
                }
                not_before("the start of training", "on", *on, enrolment.starts_on)?;
                not_after_today("on", *on, today)?;
                let event = EmploymentEvent::TrainingCompleted {
                    enrolment_id: *enrolment_id,
                    person_id: enrolment.person_id,
                    on: *on,
                    certified: *certified,
                };
                Ok(self.decision(enrolment.person_id.stream_id(), vec![event]))
            }
            EmploymentCommand::EnrolRainAndDew {
                enrolment_id,
                person_id,
                school,
                term_starts_on,
            } => {
                let school = text("school", school, NAME_MAX_CHARS)?;
                if self.enrolments.contains_key(enrolment_id) {
                    return Err(DomainError::already_exists("enrolment", enrolment_id));
                }
                let person = self.active_person(*person_id)?;
                if let Some((existing, _)) = self.enrolments.iter().find(|(_, e)| {
                    e.rain_and_dew && e.person_id == *person_id && e.starts_on == *term_starts_on
                }) {
                    return Err(DomainError::already_exists("enrolment", existing));
                }
                let monitored_at_risk = self
                    .reference
                    .household(&person.household_id)
                    .is_some_and(|h| h.monitored_at_risk_on(*term_starts_on));
                if !person.poverty_alleviated && !monitored_at_risk {
                    return Err(DomainError::rule(
                        "rain_and_dew_eligibility",
                        format!(
                            "on {term_starts_on} person {person_id}'s household is neither \
                             poverty-alleviated nor monitored with its risk not eliminated"
                        ),
                    ));
                }
                let rate = self
                    .policy
                    .rain_and_dew_rate_on(*term_starts_on)
                    .ok_or_else(|| {
                        DomainError::rule(
                            "rain_and_dew_eligibility",
                            format!("no Rain and Dew rate in force on {term_starts_on}"),
                        )
                    })?;
                let event = EmploymentEvent::RainAndDewEnrolled {
                    enrolment_id: *enrolment_id,
                    person_id: *person_id,
                    household_id: person.household_id,
                    school: school.to_owned(),
                    term_starts_on: *term_starts_on,
                    subsidy_fen: rate.per_semester_fen,
                };
                Ok(self.decision(person_id.stream_id(), vec![event]))
            }
            _ => unreachable!("decide_training is only called with training commands"),
        }
    }
}
