//! `decide`: what a command means given the current state — new events for one stream, or the
//! reason it is refused. Read-only, so a refusal leaves the state untouched.
//!
//! Thresholds come from the state's [`PolicyBook`](crate::rules::PolicyBook), never from
//! constants here.

use chrono::{Datelike, NaiveDate};

use super::EmploymentState;
use crate::commands::{EmploymentCommand, PersonExitedReaction};
use crate::error::DomainError;
use crate::events::EmploymentEvent;
use crate::reference::{PersonRef, RegistryFact};
use crate::types::PersonId;
pub(crate) use decision::{not_after_today, not_before};

mod post;
mod spell;
mod training;
mod workshop;

/// The outcome of an accepted employment command: its events for one stream.
pub type Decision = decision::Decision<EmploymentEvent>;

impl EmploymentState {
    /// Decides a command against the current state. `today` is the current civil date in China
    /// Standard Time; no date recording a past fact may be after it.
    pub fn decide(
        &self,
        cmd: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        use EmploymentCommand::*;
        match cmd {
            StartSpell { .. } => self.start_spell(cmd, today),
            EndSpell {
                spell_id,
                end_date,
                reason,
            } => self.end_spell(*spell_id, *end_date, *reason, today),
            CorrectSpell { .. } => self.correct_spell(cmd, today),
            RecordFollowUp {
                person_id,
                date,
                channel,
                outcome,
            } => self.record_follow_up(*person_id, *date, *channel, *outcome, today),
            RegisterWorkshop { .. } | ClassifyWorkshop { .. } | ReportWorkshopWorkers { .. } => {
                self.decide_workshop(cmd, today)
            }
            CreatePost { .. }
            | AssignPost { .. }
            | EndPostAssignment { .. }
            | RecordPostSubsidyPaid { .. } => self.decide_post(cmd, today),
            EnrolTraining { .. } | CompleteTraining { .. } | EnrolRainAndDew { .. } => {
                self.decide_training(cmd, today)
            }
            RecordRegistryFact {
                fact,
                source_event_id,
            } => Ok(self.record_registry_fact(fact, source_event_id)),
        }
    }

    /// A registry fact is always recorded; an exit also ends the person's open spells and post
    /// assignment in the same stream and decision, so the reaction happens exactly once.
    fn record_registry_fact(&self, fact: &RegistryFact, source_event_id: &str) -> Decision {
        let mut events = vec![EmploymentEvent::RegistryFactRecorded {
            fact: fact.clone(),
            source_event_id: source_event_id.to_owned(),
        }];
        if let RegistryFact::PersonExited { person, date, .. } = fact {
            let reaction = PersonExitedReaction {
                person_id: *person,
                exit_date: *date,
            };
            if let Some(ending) = self.react_to_exit(&reaction) {
                events.extend(ending.events);
            }
        }
        self.decision(fact.stream_id(), events)
    }

    fn decision(&self, stream_id: String, events: Vec<EmploymentEvent>) -> Decision {
        let expected_version = self.stream_version(&stream_id);
        Decision {
            stream_id,
            expected_version,
            events,
        }
    }

    /// The person as the reference view knows them, refusing unknown and exited ones.
    fn active_person(&self, person_id: PersonId) -> Result<&PersonRef, DomainError> {
        let person = self
            .reference
            .person(&person_id)
            .ok_or_else(|| DomainError::not_found("person", person_id))?;
        if let Some(exited_on) = person.exited_on {
            return Err(DomainError::rule(
                "person_exited",
                format!("person {person_id} exited on {exited_on}"),
            ));
        }
        Ok(person)
    }
}

/// A month is given as its first day.
fn first_of_month(field: &'static str, month: NaiveDate) -> Result<(), DomainError> {
    if month.day() != 1 {
        return Err(DomainError::invalid(
            field,
            format!("{month} is not the first day of a month"),
        ));
    }
    Ok(())
}

/// First day of the month of `date`.
fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Last day of the month starting on `first`.
fn last_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(first)
}

/// A division code: exactly 6 digits.
fn division_code(field: &'static str, code: &str) -> Result<(), DomainError> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::invalid(field, "must be exactly 6 digits"));
    }
    Ok(())
}

/// Trimmed text of 1..=`max` characters without control characters.
fn text<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str, DomainError> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 || length > max {
        return Err(DomainError::invalid(
            field,
            format!("must have 1 to {max} characters, found {length}"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value)
}

/// Yuan with two decimals for messages, e.g. `1980.00`.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}{}.{:02}", fen / 100, fen % 100)
}
