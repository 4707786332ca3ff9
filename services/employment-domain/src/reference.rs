//! The employment context's own view of registry persons and households.
//!
//! It is fed with [`RegistryFact`]s that the service derives from registry events on the bus; the
//! employment context never reads the registry's database. Facts are idempotent and
//! [`ReferenceView::observe`] is total: a fact about an unknown person or household is kept where
//! it can be (household facts wait for the household's members) and otherwise ignored.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::types::{HouseholdId, PersonId};

/// A fact learnt from the registry. Each one is recorded in this context's own event store (see
/// [`crate::EmploymentEvent::RegistryFactRecorded`]) so the view is rebuilt with the write model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryFact {
    /// A household is registered (from `HouseholdRegistered`).
    HouseholdKnown {
        /// The household.
        household: HouseholdId,
        /// 6-digit county of the household.
        county_code: String,
        /// The household was lifted out of poverty.
        poverty_alleviated: bool,
    },
    /// A person is registered (from `PersonRegistered`).
    PersonKnown {
        /// The person.
        person: PersonId,
        /// Their household.
        household: HouseholdId,
        /// From the citizen ID number.
        birth_date: NaiveDate,
        /// 6-digit county of the household.
        county_code: String,
        /// Labour capacity skilled, ordinary or weak/half (not "none").
        labour_capable: bool,
    },
    /// A person's labour capacity changed (from `LabourCapacityChanged`).
    LabourCapacityChanged {
        /// The person.
        person: PersonId,
        /// Their household.
        household: HouseholdId,
        /// The new capacity is skilled, ordinary or weak/half.
        labour_capable: bool,
    },
    /// A person left the registry.
    PersonExited {
        /// The person.
        person: PersonId,
        /// Their household.
        household: HouseholdId,
        /// Exit date.
        date: NaiveDate,
    },
    /// A household became a monitoring object (its case reached `Registered`).
    HouseholdMonitored {
        /// The household.
        household: HouseholdId,
        /// Registration date of the case.
        from: NaiveDate,
    },
    /// The household's risk was marked eliminated.
    HouseholdRiskEliminated {
        /// The household.
        household: HouseholdId,
        /// Date of elimination.
        on: NaiveDate,
    },
    /// An eliminated household is at risk again.
    HouseholdRiskReturned {
        /// The household.
        household: HouseholdId,
        /// Date of the return.
        on: NaiveDate,
    },
}

impl RegistryFact {
    /// The stream the fact is recorded in: the person's record `employment-<person>` for facts
    /// about a person, `employment-household-<household>` for facts about a household.
    pub fn stream_id(&self) -> String {
        use RegistryFact::*;
        match self {
            PersonKnown { person, .. }
            | LabourCapacityChanged { person, .. }
            | PersonExited { person, .. } => person.stream_id(),
            HouseholdKnown { household, .. }
            | HouseholdMonitored { household, .. }
            | HouseholdRiskEliminated { household, .. }
            | HouseholdRiskReturned { household, .. } => {
                format!("employment-household-{household}")
            }
        }
    }
}

/// What the employment context knows about a registry person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRef {
    /// The person's household.
    pub household_id: HouseholdId,
    /// Birth date, for age limits.
    pub birth_date: NaiveDate,
    /// 6-digit county of the household as a number (a write model holds millions of persons:
    /// four bytes instead of a string); read it with [`PersonRef::county_code`].
    county: u32,
    /// The household is (or was) a monitoring object.
    pub monitored_household: bool,
    /// The household was lifted out of poverty (as last learnt about the household).
    pub poverty_alleviated: bool,
    /// Labour capacity skilled, ordinary or weak/half.
    pub labour_capable: bool,
    /// Exit date, once exited.
    pub exited_on: Option<NaiveDate>,
}

impl PersonRef {
    /// 6-digit county of the household, e.g. `150422`.
    pub fn county_code(&self) -> String {
        format!("{:06}", self.county)
    }

    /// Province of the household: the county's first 2 digits followed by `0000`.
    pub fn province_code(&self) -> String {
        format!("{:02}0000", self.county / 10_000)
    }
}

/// What the employment context knows about a registry household.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HouseholdRef {
    /// Members known so far, in order of arrival.
    pub members: Vec<PersonId>,
    /// The household was lifted out of poverty (`false` until the household fact arrives).
    pub poverty_alleviated: bool,
    /// Date the household became a monitoring object.
    pub monitored_from: Option<NaiveDate>,
    /// Date the risk was eliminated, `None` if not eliminated or returned since.
    pub risk_eliminated_on: Option<NaiveDate>,
}

impl HouseholdRef {
    /// Whether the household is a monitoring object on `on` whose risk is not yet eliminated.
    pub fn monitored_at_risk_on(&self, on: NaiveDate) -> bool {
        self.monitored_from.is_some_and(|from| from <= on)
            && self.risk_eliminated_on.is_none_or(|elim| elim > on)
    }
}

/// Province code (`PP0000`) of a 6-digit county code.
pub fn province_of(county_code: &str) -> String {
    let prefix: String = county_code.chars().take(2).collect();
    format!("{prefix}0000")
}

/// Persons and households as learnt from registry facts.
#[derive(Debug, Clone, Default)]
pub struct ReferenceView {
    persons: HashMap<PersonId, PersonRef>,
    households: HashMap<HouseholdId, HouseholdRef>,
}

impl ReferenceView {
    /// An empty view.
    pub fn new() -> Self {
        ReferenceView::default()
    }

    /// A person.
    pub fn person(&self, id: &PersonId) -> Option<&PersonRef> {
        self.persons.get(id)
    }

    /// A household.
    pub fn household(&self, id: &HouseholdId) -> Option<&HouseholdRef> {
        self.households.get(id)
    }

    /// Folds one fact in. Redelivering a fact changes nothing.
    pub fn observe(&mut self, fact: &RegistryFact) {
        match fact {
            RegistryFact::HouseholdKnown {
                household,
                poverty_alleviated,
                ..
            } => {
                let hh = self.households.entry(*household).or_default();
                hh.poverty_alleviated = *poverty_alleviated;
                for member in hh.members.clone() {
                    if let Some(p) = self.persons.get_mut(&member) {
                        p.poverty_alleviated = *poverty_alleviated;
                    }
                }
            }
            RegistryFact::PersonKnown {
                person,
                household,
                birth_date,
                county_code,
                labour_capable,
            } => {
                let hh = self.households.entry(*household).or_default();
                if !hh.members.contains(person) {
                    hh.members.push(*person);
                }
                let monitored_household = hh.monitored_from.is_some();
                let poverty_alleviated = hh.poverty_alleviated;
                let exited_on = self.persons.get(person).and_then(|p| p.exited_on);
                self.persons.insert(
                    *person,
                    PersonRef {
                        household_id: *household,
                        birth_date: *birth_date,
                        county: county_code.parse().unwrap_or(0),
                        monitored_household,
                        poverty_alleviated,
                        labour_capable: *labour_capable,
                        exited_on,
                    },
                );
            }
            RegistryFact::LabourCapacityChanged {
                person,
                labour_capable,
                ..
            } => {
                if let Some(p) = self.persons.get_mut(person) {
                    p.labour_capable = *labour_capable;
                }
            }
            RegistryFact::PersonExited { person, date, .. } => {
                if let Some(p) = self.persons.get_mut(person) {
                    p.exited_on.get_or_insert(*date);
                }
            }
            RegistryFact::HouseholdMonitored { household, from } => {
                let hh = self.households.entry(*household).or_default();
                hh.monitored_from.get_or_insert(*from);
                for member in hh.members.clone() {
                    if let Some(p) = self.persons.get_mut(&member) {
                        p.monitored_household = true;
                    }
                }
            }
            RegistryFact::HouseholdRiskEliminated { household, on } => {
                self.households
                    .entry(*household)
                    .or_default()
                    .risk_eliminated_on = Some(*on);
            }
            RegistryFact::HouseholdRiskReturned { household, .. } => {
                self.households
                    .entry(*household)
                    .or_default()
                    .risk_eliminated_on = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn province_is_the_first_two_digits() {
        assert_eq!(province_of("150422"), "150000");
    }

    #[test]
    fn monitoring_reaches_members_known_before_and_after() {
        let hh = HouseholdId(Uuid::from_u128(1));
        let (a, b) = (PersonId(Uuid::from_u128(2)), PersonId(Uuid::from_u128(3)));
        let known = |person| RegistryFact::PersonKnown {
            person,
            household: hh,
            birth_date: d(1990, 1, 1),
            county_code: "150422".into(),
            labour_capable: true,
        };
        let mut view = ReferenceView::new();
        view.observe(&known(a));
        view.observe(&RegistryFact::HouseholdMonitored {
            household: hh,
            from: d(2024, 1, 14),
        });
        view.observe(&known(b));
        assert!(view.person(&a).unwrap().monitored_household);
        assert!(view.person(&b).unwrap().monitored_household);
        assert_eq!(view.person(&a).unwrap().province_code(), "150000");
        assert_eq!(view.person(&a).unwrap().county_code(), "150422");

        let household = view.household(&hh).unwrap();
        assert!(!household.monitored_at_risk_on(d(2024, 1, 13)));
        assert!(household.monitored_at_risk_on(d(2024, 1, 14)));
        view.observe(&RegistryFact::HouseholdRiskEliminated {
            household: hh,
            on: d(2024, 7, 20),
        });
        let household = view.household(&hh).unwrap();
        assert!(household.monitored_at_risk_on(d(2024, 7, 19)));
        assert!(!household.monitored_at_risk_on(d(2024, 7, 20)));
        view.observe(&RegistryFact::HouseholdRiskReturned {
            household: hh,
            on: d(2024, 9, 1),
        });
        assert!(view
            .household(&hh)
            .unwrap()
            .monitored_at_risk_on(d(2024, 9, 1)));
    }

    #[test]
    fn exits_are_kept_and_redelivery_keeps_the_first_date() {
        let hh = HouseholdId(Uuid::from_u128(1));
        let a = PersonId(Uuid::from_u128(2));
        let mut view = ReferenceView::new();
        view.observe(&RegistryFact::PersonExited {
            person: a,
            household: hh,
            date: d(2024, 1, 1),
        });
        assert!(view.person(&a).is_none());
        view.observe(&RegistryFact::PersonKnown {
            person: a,
            household: hh,
            birth_date: d(1990, 1, 1),
            county_code: "150422".into(),
            labour_capable: true,
        });
        for date in [d(2024, 3, 1), d(2024, 4, 1)] {
            view.observe(&RegistryFact::PersonExited {
                person: a,
                household: hh,
                date,
            });
        }
        assert_eq!(view.person(&a).unwrap().exited_on, Some(d(2024, 3, 1)));
    }
}
