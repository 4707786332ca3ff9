//! The registry's write model: everything `decide` needs, rebuilt by applying every event in
//! order, plus each stream's current version for optimistic concurrency.
//!
//! [`RegistryState::apply`] is total: it never panics, whatever the event sequence (an event
//! naming an unknown household or case is still counted in its stream's version but changes no
//! aggregate it cannot find). Deciding lives in `decide.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use decision::StreamVersions;

use chrono::NaiveDate;

use crate::divisions::DivisionCatalog;
use crate::events::RegistryEvent;
use crate::rules::MonitoringRules;
use crate::types::{CaseId, CaseStage, CaseType, HouseholdId, LabourCapacity, PersonId, Relation};

mod decide;

pub use decide::Decision;

/// A registered household, as the write model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    village_code: String,
    county_code: String,
    members: Vec<PersonId>,
    cases: Vec<CaseId>,
}

impl Household {
    /// 12-digit village code.
    pub fn village_code(&self) -> &str {
        &self.village_code
    }
    /// 6-digit county code.
    pub fn county_code(&self) -> &str {
        &self.county_code
    }
    /// Members ever registered, exited ones included, in registration order.
    pub fn members(&self) -> &[PersonId] {
        &self.members
    }
    /// Monitoring cases ever opened on the household, in opening order.
    pub fn cases(&self) -> &[CaseId] {
        &self.cases
    }
}

/// A registered person, as the write model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    household_id: HouseholdId,
    labour_capacity: LabourCapacity,
    exited_on: Option<NaiveDate>,
    birth_date: NaiveDate,
    relation: Relation,
    /// Effective date of the last labour-capacity change (changes only move forward in time).
    capacity_since: Option<NaiveDate>,
}

impl Person {
    /// The person's household.
    pub fn household_id(&self) -> HouseholdId {
        self.household_id
    }
    /// Current labour capacity.
    pub fn labour_capacity(&self) -> LabourCapacity {
        self.labour_capacity
    }
    /// Whether the person has exited.
    pub fn exited(&self) -> bool {
        self.exited_on.is_some()
    }
    /// Exit date, if exited.
    pub fn exited_on(&self) -> Option<NaiveDate> {
        self.exited_on
    }
}

/// A monitoring case, as the write model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringCase {
    household_id: HouseholdId,
    case_type: CaseType,
    stage: CaseStage,
    lead_date: NaiveDate,
    last_transition_on: NaiveDate,
    village_reviewed_on: Option<NaiveDate>,
    registered_on: Option<NaiveDate>,
    measures: u32,
}

impl MonitoringCase {
    /// The household at risk.
    pub fn household_id(&self) -> HouseholdId {
        self.household_id
    }
    /// Case type.
    pub fn case_type(&self) -> CaseType {
        self.case_type
    }
    /// Current stage.
    pub fn stage(&self) -> CaseStage {
        self.stage
    }
    /// Date of the lead.
    pub fn lead_date(&self) -> NaiveDate {
        self.lead_date
    }
    /// Date of the latest stage change (the lead date for a new case).
    pub fn last_transition_on(&self) -> NaiveDate {
        self.last_transition_on
    }
    /// Date of the village review, when the public notice went up.
    pub fn village_reviewed_on(&self) -> Option<NaiveDate> {
        self.village_reviewed_on
    }
    /// Date of registration.
    pub fn registered_on(&self) -> Option<NaiveDate> {
        self.registered_on
    }
    /// Number of assistance measures recorded.
    pub fn measures(&self) -> u32 {
        self.measures
    }
}

/// The whole write model of the registry, in memory.
#[derive(Debug, Clone)]
pub struct RegistryState {
    catalog: Arc<DivisionCatalog>,
    rules: MonitoringRules,
    households: HashMap<HouseholdId, Household>,
    persons: HashMap<PersonId, Person>,
    cases: HashMap<CaseId, MonitoringCase>,
    /// Citizen ID keyed hash (32 bytes; its 64-character hex form elsewhere) → person.
    by_id_hash: HashMap<[u8; 32], PersonId>,
    versions: StreamVersions,
}

impl RegistryState {
    /// An empty registry validating village codes against `catalog` and monitoring cases
    /// against `rules`.
    pub fn new(catalog: Arc<DivisionCatalog>, rules: MonitoringRules) -> Self {
        RegistryState {
            catalog,
            rules,
            households: HashMap::new(),
            persons: HashMap::new(),
            cases: HashMap::new(),
            by_id_hash: HashMap::new(),
            versions: StreamVersions::new(),
        }
    }

    /// The rules in force for this state.
    pub fn rules(&self) -> &MonitoringRules {
        &self.rules
    }

    /// The division catalog used to validate village codes.
    pub fn catalog(&self) -> &DivisionCatalog {
        &self.catalog
    }

    /// Current version of a stream: the number of events applied to it, 0 if it does not exist.
    pub fn stream_version(&self, stream_id: &str) -> u64 {
        self.versions.get(stream_id)
    }

    /// County code of a household.
    pub fn household_county(&self, id: &HouseholdId) -> Option<&str> {
        self.households.get(id).map(|h| h.county_code.as_str())
    }

    /// A household.
    pub fn household(&self, id: &HouseholdId) -> Option<&Household> {
        self.households.get(id)
    }

    /// A person.
    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.persons.get(id)
    }

    /// A monitoring case.
    pub fn case(&self, id: &CaseId) -> Option<&MonitoringCase> {
        self.cases.get(id)
    }

    /// The person registered with this citizen ID keyed hash.
    pub fn person_by_id_hash(&self, id_hash: &str) -> Option<PersonId> {
        hash_bytes(id_hash).and_then(|key| self.by_id_hash.get(&key).copied())
    }

    /// Number of households.
    pub fn household_count(&self) -> usize {
        self.households.len()
    }

    /// Number of persons, exited ones included.
    pub fn person_count(&self) -> usize {
        self.persons.len()
    }

    /// Number of monitoring cases.
    pub fn case_count(&self) -> usize {
        self.cases.len()
    }

    /// Folds one event into the model and bumps its stream's version by one. Events must be
    /// applied in the order they were stored.
    pub fn apply(&mut self, event: &RegistryEvent) {
        self.versions.bump(&event.stream_id());
        match event {
            RegistryEvent::HouseholdRegistered {
                household_id,
                village_code,
                county_code,
                ..
            } => {
                self.households
                    .entry(*household_id)
                    .or_insert_with(|| Household {
                        village_code: village_code.clone(),
                        county_code: county_code.clone(),
                        members: Vec::new(),
                        cases: Vec::new(),
                    });
            }
            RegistryEvent::PersonRegistered {
                person_id,
                household_id,
                id_hash,
                labour_capacity,
                birth_date,
                relation,
                ..
            } => {
                self.persons.insert(
                    *person_id,
                    Person {
                        household_id: *household_id,
                        labour_capacity: *labour_capacity,
                        exited_on: None,
                        birth_date: *birth_date,
                        relation: *relation,
                        capacity_since: None,
                    },
                );
                if let Some(key) = hash_bytes(id_hash) {
                    self.by_id_hash.insert(key, *person_id);
                }
                if let Some(household) = self.households.get_mut(household_id) {
                    if !household.members.contains(person_id) {
                        household.members.push(*person_id);
                    }
                }
            }
            RegistryEvent::LabourCapacityChanged {
                person_id,
                to,
                effective_on,
                ..
            } => {
                if let Some(person) = self.persons.get_mut(person_id) {
                    person.labour_capacity = *to;
                    person.capacity_since = Some(*effective_on);
                }
            }
            RegistryEvent::PersonExited {
                person_id,
                exit_date,
                ..
            } => {
                if let Some(person) = self.persons.get_mut(person_id) {
                    person.exited_on = Some(*exit_date);
                }
            }
            RegistryEvent::MonitoringCaseOpened {
                case_id,
                household_id,
                case_type,
                lead_date,
                ..
            } => {
                self.cases.insert(
                    *case_id,
                    MonitoringCase {
                        household_id: *household_id,
                        case_type: *case_type,
                        stage: CaseStage::Lead,
                        lead_date: *lead_date,
                        last_transition_on: *lead_date,
                        village_reviewed_on: None,
                        registered_on: None,
                        measures: 0,
                    },
                );
                if let Some(household) = self.households.get_mut(household_id) {
                    if !household.cases.contains(case_id) {
                        household.cases.push(*case_id);
                    }
                }
            }
            RegistryEvent::MonitoringCaseAdvanced {
                case_id, to, on, ..
            } => {
                if let Some(case) = self.cases.get_mut(case_id) {
                    case.stage = *to;
                    case.last_transition_on = *on;
                    match to {
                        CaseStage::VillageReviewed => case.village_reviewed_on = Some(*on),
                        CaseStage::Registered => case.registered_on = Some(*on),
                        _ => {}
                    }
                }
            }
            RegistryEvent::AssistanceMeasureRecorded { case_id, .. } => {
                if let Some(case) = self.cases.get_mut(case_id) {
                    case.measures = case.measures.saturating_add(1);
                }
            }
            RegistryEvent::RiskEliminated { case_id, on, .. } => {
                if let Some(case) = self.cases.get_mut(case_id) {
                    case.stage = CaseStage::RiskEliminated;
                    case.last_transition_on = *on;
                }
            }
            RegistryEvent::RiskReturned { case_id, on, .. } => {
                if let Some(case) = self.cases.get_mut(case_id) {
                    case.stage = CaseStage::Assisted;
                    case.last_transition_on = *on;
                }
            }
        }
    }
}

/// The 32 bytes of a 64-character hex citizen ID hash (`None` for anything else: such a hash was
/// never produced by [`crate::CitizenId::keyed_hash`], so it matches no one).
fn hash_bytes(id_hash: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(id_hash, &mut key).ok()?;
    Some(key)
}
