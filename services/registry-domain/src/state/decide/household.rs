//! Deciding household and person commands: registration, labour capacity, exits.

use chrono::NaiveDate;

use super::{not_after_today, not_before, not_found_household};
use crate::citizen_id::CitizenId;
use crate::error::DomainError;
use crate::events::RegistryEvent;
use crate::state::{Decision, Person, RegistryState};
use crate::types::{person_name, ExitReason, HouseholdId, LabourCapacity, PersonId, Relation};

/// Maximum characters of a settlement area name.
const SETTLEMENT_AREA_MAX_CHARS: usize = 100;

impl RegistryState {
    pub(super) fn register_household(
        &self,
        household_id: HouseholdId,
        village_code: &str,
        poverty_alleviated: bool,
        relocated: bool,
        settlement_area: Option<&str>,
    ) -> Result<Decision, DomainError> {
        if village_code.len() != 12 || !village_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "village_code",
                "must be exactly 12 digits",
            ));
        }
        let county_code = &village_code[..6];
        if !self.catalog.is_county(county_code) {
            return Err(DomainError::invalid(
                "village_code",
                format!("county code {county_code} is not a county in the division list"),
            ));
        }
        let settlement_area = settlement_area.map(str::trim).filter(|s| !s.is_empty());
        match (relocated, settlement_area) {
            (true, None) => {
                return Err(DomainError::invalid(
                    "settlement_area",
                    "required when relocated",
                ));
            }
            (true, Some(area)) if area.chars().count() > SETTLEMENT_AREA_MAX_CHARS => {
                return Err(DomainError::invalid(
                    "settlement_area",
                    format!("at most {SETTLEMENT_AREA_MAX_CHARS} characters"),
                ));
            }
            (false, Some(_)) => {
                return Err(DomainError::invalid(
                    "settlement_area",
                    "only allowed when the household is relocated",
                ));
            }
            _ => {}
        }
        let stream_id = household_id.stream_id();
        if self.households.contains_key(&household_id) || self.stream_version(&stream_id) > 0 {
            return Err(DomainError::AlreadyExists {
                what: "household",
                existing_id: household_id.to_string(),
            });
        }
        let event = RegistryEvent::HouseholdRegistered {
            household_id,
            village_code: village_code.to_owned(),
            county_code: county_code.to_owned(),
            poverty_alleviated,
            relocated,
            settlement_area: settlement_area.map(str::to_owned),
        };
        Ok(self.decision(stream_id, vec![event]))
    }

    /// What registering a person checks whatever its household: a valid name (returned
    /// trimmed) and a citizen ID not registered before.
    pub(super) fn new_person<'n>(
        &self,
        id_hash: &str,
        name: &'n str,
    ) -> Result<&'n str, DomainError> {
        let name = person_name(name)?;
        let person_id = PersonId::from_id_hash(id_hash);
        let existing = self.person_by_id_hash(id_hash).or_else(|| {
            (self.persons.contains_key(&person_id)
                || self.stream_version(&person_id.stream_id()) > 0)
                .then_some(person_id)
        });
        match existing {
            Some(existing) => Err(DomainError::AlreadyExists {
                what: "person",
                existing_id: existing.to_string(),
            }),
            None => Ok(name),
        }
    }

    #[allow(clippy::too_many_arguments)] // mirrors the command's fields one to one
    pub(super) fn register_person(
        &self,
        household_id: HouseholdId,
        citizen_id: &CitizenId,
        id_hash: &str,
        name: &str,
        relation: Relation,
        labour_capacity: LabourCapacity,
        disabled: bool,
    ) -> Result<Decision, DomainError> {
        let name = self.new_person(id_hash, name)?;
        let Some(household) = self.households.get(&household_id) else {
            return Err(not_found_household(household_id));
        };
        let county_code = household.county_code.clone();
        if relation == Relation::Head {
            let head = household.members().iter().find(|m| {
                self.persons
                    .get(m)
                    .is_some_and(|p| p.relation == Relation::Head && p.exited_on.is_none())
            });
            if let Some(head) = head {
                return Err(DomainError::rule(
                    "one_head",
                    format!("household {household_id} already has head {head}"),
                ));
            }
        }
        let person_id = PersonId::from_id_hash(id_hash);
        let stream_id = person_id.stream_id();
        let event = RegistryEvent::PersonRegistered {
            person_id,
            household_id,
            id_hash: id_hash.to_owned(),
            id_masked: citizen_id.masked(),
            name: name.to_owned(),
            sex: citizen_id.sex(),
            birth_date: citizen_id.birth_date(),
            relation,
            labour_capacity,
            disabled,
            county_code,
        };
        Ok(self.decision(stream_id, vec![event]))
    }

    /// The person, refusing unknown and exited ones.
    fn active_person(&self, person_id: PersonId) -> Result<&Person, DomainError> {
        let person = self
            .persons
            .get(&person_id)
            .ok_or_else(|| DomainError::NotFound {
                what: "person",
                id: person_id.to_string(),
            })?;
        if let Some(exited_on) = person.exited_on {
            return Err(DomainError::rule(
                "person_exited",
                format!("person {person_id} exited on {exited_on}"),
            ));
        }
        Ok(person)
    }

    pub(super) fn change_labour_capacity(
        &self,
        person_id: PersonId,
        labour_capacity: LabourCapacity,
        effective_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let person = self.active_person(person_id)?;
        if person.labour_capacity == labour_capacity {
            return Err(DomainError::invalid(
                "labour_capacity",
                format!("already {labour_capacity:?}; nothing to change"),
            ));
        }
        not_before(
            "the birth date",
            "effective_on",
            effective_on,
            person.birth_date,
        )?;
        if let Some(since) = person.capacity_since {
            not_before(
                "the last capacity change",
                "effective_on",
                effective_on,
                since,
            )?;
        }
        not_after_today("effective_on", effective_on, today)?;
        let event = RegistryEvent::LabourCapacityChanged {
            person_id,
            household_id: person.household_id,
            from: person.labour_capacity,
            to: labour_capacity,
            effective_on,
        };
        Ok(self.decision(person_id.stream_id(), vec![event]))
    }

    pub(super) fn record_exit(
        &self,
        person_id: PersonId,
        reason: ExitReason,
        exit_date: NaiveDate,
        note: &str,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let person = self.active_person(person_id)?;
        not_before("the birth date", "exit_date", exit_date, person.birth_date)?;
        if let Some(since) = person.capacity_since {
            not_before("the last capacity change", "exit_date", exit_date, since)?;
        }
        not_after_today("exit_date", exit_date, today)?;
        let event = RegistryEvent::PersonExited {
            person_id,
            household_id: person.household_id,
            reason,
            exit_date,
            note: note.to_owned(),
        };
        Ok(self.decision(person_id.stream_id(), vec![event]))
    }
}
