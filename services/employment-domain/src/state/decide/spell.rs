//! Deciding spells, follow-ups and the reaction to a registry exit.

use chrono::NaiveDate;

use super::{division_code, not_after_today, not_before, text};
use crate::commands::{EmploymentCommand, PersonExitedReaction};
use crate::error::DomainError;
use crate::events::EmploymentEvent;
use crate::state::{Decision, EmploymentState, Spell};
use crate::types::{
    EndReason, FollowUpChannel, FollowUpOutcome, HouseholdId, LocationClass, PersonId, SpellId,
    SpellTerms,
};
use crate::uscc::Uscc;

/// Minimum working age: 16 (Labour Law of the PRC, article 15).
const MINIMUM_WORKING_AGE: u32 = 16;

/// A spell cannot start before the worker's 16th birthday.
fn working_age(birth_date: NaiveDate, start: NaiveDate) -> Result<(), DomainError> {
    let sixteenth = birth_date
        .checked_add_months(chrono::Months::new(12 * MINIMUM_WORKING_AGE))
        .unwrap_or(NaiveDate::MAX);
    if start < sixteenth {
        return Err(DomainError::rule(
            "minimum_working_age",
            format!(
                "a spell starting {start} is before the worker turned {MINIMUM_WORKING_AGE} \
                 ({sixteenth}; Labour Law art. 15)"
            ),
        ));
    }
    Ok(())
}

/// The place of work must be a county-level division (`PPCCDD` with `DD` ≠ `00`) whose distance
/// from the worker's home county is the spell's location class: another province for
/// out-of-province work; the same province (first 2 digits) but another prefecture (first 4) for
/// in-province-out-of-city; the same prefecture but another county for in-city-out-of-county; the
/// home county itself for work inside the county (townships are not coded here). GB/T 2260 code
/// structure; a mismatch would count the worker in the wrong class of the employed scale and can
/// raise false suspicions (a post holder "working out of province" at home).
fn place_fits_class(home_county: &str, terms: &SpellTerms) -> Result<(), DomainError> {
    let place = terms.place_of_work.as_str();
    if place.ends_with("00") {
        return Err(DomainError::invalid(
            "place_of_work",
            format!("{place} is a province or prefecture code; give the county-level code"),
        ));
    }
    let same = |digits: usize| place.get(..digits) == home_county.get(..digits);
    let fits = match terms.location_class {
        LocationClass::OutOfProvince => !same(2),
        LocationClass::InProvinceOutOfCity => same(2) && !same(4),
        LocationClass::InCityOutOfCounty => same(4) && place != home_county,
        LocationClass::InCountyOutOfTownship | LocationClass::InTownship => place == home_county,
    };
    if !fits {
        return Err(DomainError::rule(
            "location_class",
            format!(
                "place of work {place} is not {:?} from the worker's home county {home_county}",
                terms.location_class
            ),
        ));
    }
    Ok(())
}

/// Maximum characters of a correction reason.
const REASON_MAX_CHARS: usize = 500;

impl EmploymentState {
    pub(super) fn start_spell(
        &self,
        cmd: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let EmploymentCommand::StartSpell {
            spell_id,
            person_id,
            terms,
        } = cmd
        else {
            unreachable!("start_spell is only called with StartSpell")
        };
        division_code("place_of_work", &terms.place_of_work)?;
        non_negative_income(terms.monthly_income_fen)?;
        not_after_today("start_date", terms.start_date, today)?;
        if self.spells.contains_key(spell_id) {
            return Err(DomainError::already_exists("spell", spell_id));
        }
        let person = self.active_person(*person_id)?;
        working_age(person.birth_date, terms.start_date)?;
        place_fits_class(&person.county_code(), terms)?;
        self.one_open_spell_per_employer(*person_id, &terms.employer_uscc, None)?;
        let event = EmploymentEvent::SpellStarted {
            spell_id: *spell_id,
            person_id: *person_id,
            household_id: person.household_id,
            county_code: person.county_code(),
            terms: terms.clone(),
        };
        Ok(self.decision(person_id.stream_id(), vec![event]))
    }

    /// A person holds at most one open spell per employer (`except` is a spell being corrected).
    fn one_open_spell_per_employer(
        &self,
        person_id: PersonId,
        employer: &Uscc,
        except: Option<SpellId>,
    ) -> Result<(), DomainError> {
        let clash = self.open_spells(&person_id).into_iter().find(|id| {
            Some(*id) != except
                && self
                    .spells
                    .get(id)
                    .is_some_and(|s| &s.terms.employer_uscc == employer)
        });
        if let Some(clash) = clash {
            return Err(DomainError::rule(
                "open_spell_per_employer",
                format!(
                    "person {person_id} already has open spell {clash} with employer {employer}"
                ),
            ));
        }
        Ok(())
    }

    fn spell_or_not_found(&self, spell_id: SpellId) -> Result<&Spell, DomainError> {
        self.spells
            .get(&spell_id)
            .ok_or_else(|| DomainError::not_found("spell", spell_id))
    }

    /// Whether anyone in `household` has an open spell other than those in `ending`.
    fn household_employed_without(&self, household: HouseholdId, ending: &[SpellId]) -> bool {
        let members = self
            .reference
            .household(&household)
            .map(|h| h.members.as_slice())
            .unwrap_or_default();
        let mut persons: Vec<PersonId> = members.to_vec();
        // Spells remember their household even if the reference view has not caught up.
        persons.extend(
            self.spells
                .values()
                .filter(|s| s.household_id == household)
                .map(|s| s.person_id),
        );
        persons
            .iter()
            .flat_map(|p| self.open_spells(p))
            .any(|id| !ending.contains(&id))
    }

    pub(super) fn end_spell(
        &self,
        spell_id: SpellId,
        end_date: NaiveDate,
        reason: EndReason,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let spell = self.spell_or_not_found(spell_id)?;
        if let Some(ended) = spell.end_date {
            return Err(DomainError::rule(
                "spell_ended",
                format!("spell {spell_id} already ended on {ended}"),
            ));
        }
        not_before(
            "the start date",
            "end_date",
            end_date,
            spell.terms.start_date,
        )?;
        not_after_today("end_date", end_date, today)?;
        let events = self.ending_events(spell_id, spell, end_date, reason, &[spell_id]);
        Ok(self.decision(spell.person_id.stream_id(), events))
    }

    /// `SpellEnded`, followed by `JobLossRiskRaised` when the ending is a job loss that leaves the
    /// worker without any open spell, in a monitored household or a household left with nobody
    /// employed. `ending` lists every spell ended by the same decision.
    fn ending_events(
        &self,
        spell_id: SpellId,
        spell: &Spell,
        end_date: NaiveDate,
        reason: EndReason,
        ending: &[SpellId],
    ) -> Vec<EmploymentEvent> {
        let household = spell.household_id;
        let household_without_employment = !self.household_employed_without(household, ending);
        let mut events = vec![EmploymentEvent::SpellEnded {
            spell_id,
            person_id: spell.person_id,
            household_id: household,
            end_date,
            reason,
            left_household_without_employment: household_without_employment,
        }];
        let worker_still_employed = self
            .open_spells(&spell.person_id)
            .iter()
            .any(|id| !ending.contains(id));
        let monitored_household = self
            .reference
            .person(&spell.person_id)
            .is_some_and(|p| p.monitored_household);
        if reason.is_job_loss()
            && !worker_still_employed
            && (monitored_household || household_without_employment)
        {
            events.push(EmploymentEvent::JobLossRiskRaised {
                person_id: spell.person_id,
                household_id: household,
                spell_id,
                on: end_date,
                monitored_household,
                household_without_employment,
            });
        }
        events
    }

    pub(super) fn correct_spell(
        &self,
        cmd: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let EmploymentCommand::CorrectSpell {
            spell_id,
            employer_uscc,
            place_of_work,
            location_class,
            channel,
            start_date,
            monthly_income_fen,
            evidence,
            reason,
        } = cmd
        else {
            unreachable!("correct_spell is only called with CorrectSpell")
        };
        let reason = text("reason", reason, REASON_MAX_CHARS)?;
        let spell = self.spell_or_not_found(*spell_id)?;
        let mut corrected = spell.terms.clone();
        if let Some(v) = employer_uscc {
            corrected.employer_uscc = v.clone();
        }
        if let Some(v) = place_of_work {
            division_code("place_of_work", v)?;
            corrected.place_of_work = v.clone();
        }
        if let Some(v) = location_class {
            corrected.location_class = *v;
        }
        if let Some(v) = channel {
            corrected.channel = *v;
        }
        if let Some(v) = start_date {
            not_after_today("start_date", *v, today)?;
            if let Some(end) = spell.end_date {
                if *v > end {
                    return Err(DomainError::invalid(
                        "start_date",
                        format!("{v} is after the end date ({end})"),
                    ));
                }
            }
            corrected.start_date = *v;
        }
        if let Some(v) = monthly_income_fen {
            non_negative_income(*v)?;
            corrected.monthly_income_fen = *v;
        }
        if let Some(v) = evidence {
            corrected.evidence = *v;
        }
        if corrected == spell.terms {
            return Err(DomainError::invalid(
                "correction",
                "changes nothing in the recorded spell",
            ));
        }
        if let Some(person) = self.reference.person(&spell.person_id) {
            working_age(person.birth_date, corrected.start_date)?;
            place_fits_class(&person.county_code(), &corrected)?;
        }
        if spell.is_open() && corrected.employer_uscc != spell.terms.employer_uscc {
            self.one_open_spell_per_employer(
                spell.person_id,
                &corrected.employer_uscc,
                Some(*spell_id),
            )?;
        }
        let event = EmploymentEvent::SpellCorrected {
            spell_id: *spell_id,
            person_id: spell.person_id,
            terms: corrected,
            reason: reason.to_owned(),
        };
        Ok(self.decision(spell.person_id.stream_id(), vec![event]))
    }

    pub(super) fn record_follow_up(
        &self,
        person_id: PersonId,
        date: NaiveDate,
        channel: FollowUpChannel,
        outcome: FollowUpOutcome,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let person = self.active_person(person_id)?;
        not_after_today("date", date, today)?;
        let event = EmploymentEvent::FollowUpRecorded {
            person_id,
            household_id: person.household_id,
            date,
            channel,
            outcome,
        };
        Ok(self.decision(person_id.stream_id(), vec![event]))
    }

    /// What a registry exit means for the person's employment record: every open spell ends with
    /// reason [`EndReason::PersonExited`] on the exit date (or on its start date, if it started
    /// later), then the active post assignment ends likewise. Spells end in start order, ties by
    /// id, so the outcome is deterministic. `None` when nothing is open any more, which makes a
    /// redelivered exit a no-op. An exit is not a job loss, so no `JobLossRiskRaised` is emitted.
    pub fn react_to_exit(&self, reaction: &PersonExitedReaction) -> Option<Decision> {
        let PersonExitedReaction {
            person_id,
            exit_date,
        } = *reaction;
        let mut open: Vec<(SpellId, &Spell)> = self
            .open_spells(&person_id)
            .into_iter()
            .filter_map(|id| self.spells.get(&id).map(|s| (id, s)))
            .collect();
        open.sort_by_key(|(id, s)| (s.terms.start_date, *id));
        let mut events = Vec::new();
        let mut ending = Vec::new();
        for (id, spell) in open {
            ending.push(id);
            let end_date = exit_date.max(spell.terms.start_date);
            events.extend(self.ending_events(
                id,
                spell,
                end_date,
                EndReason::PersonExited,
                &ending,
            ));
        }
        if let Some(post_id) = self.active_post(&person_id) {
            let from = self
                .posts
                .get(&post_id)
                .and_then(|p| p.current())
                .map_or(exit_date, |a| a.from);
            events.push(EmploymentEvent::PostAssignmentEnded {
                post_id,
                person_id,
                on: exit_date.max(from),
                reason: EndReason::PersonExited,
            });
        }
        (!events.is_empty()).then(|| self.decision(person_id.stream_id(), events))
    }
}

/// A monthly income is never negative.
fn non_negative_income(fen: i64) -> Result<(), DomainError> {
    if fen < 0 {
        return Err(DomainError::invalid(
            "monthly_income_fen",
            format!("must not be negative, found {fen}"),
        ));
    }
    Ok(())
}
