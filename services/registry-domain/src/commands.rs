//! Commands of the registry context: what a caller asks for, already converted from protobuf into
//! domain types (ids parsed, enums without `UNSPECIFIED`, dates as China civil dates). Whether a
//! command is allowed is decided by [`crate::state::RegistryState::decide`].

use chrono::NaiveDate;

use crate::citizen_id::CitizenId;
use crate::types::{
    AssistanceKind, CaseId, CaseStage, CaseType, ExitReason, HouseholdId, LabourCapacity,
    LeadSource, PersonId, Relation, RiskFactor,
};

/// A request to change the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryCommand {
    /// Register a household. The caller chooses the new id.
    RegisterHousehold {
        /// Id for the new household.
        household_id: HouseholdId,
        /// 12-digit statistical village code; its first 6 digits must be a county in the list.
        village_code: String,
        /// Lifted out of poverty.
        poverty_alleviated: bool,
        /// Relocated from inhospitable areas.
        relocated: bool,
        /// Required (1..=100 characters) when relocated, absent otherwise.
        settlement_area: Option<String>,
    },
    /// Register a member of an existing household.
    RegisterPerson {
        /// The household.
        household_id: HouseholdId,
        /// The validated citizen ID number; used only for sex, birth date and masking.
        citizen_id: CitizenId,
        /// Keyed hash of `citizen_id` under the deployment key (see [`CitizenId::keyed_hash`]).
        id_hash: String,
        /// Full name, 1..=50 characters, no control characters.
        name: String,
        /// Relation to the head of household.
        relation: Relation,
        /// Assessed labour capacity.
        labour_capacity: LabourCapacity,
        /// Holds a disability certificate.
        disabled: bool,
    },
    /// Record a reassessed labour capacity.
    ChangeLabourCapacity {
        /// The person.
        person_id: PersonId,
        /// New capacity; must differ from the current one.
        labour_capacity: LabourCapacity,
        /// Date from which it holds; not after today.
        effective_on: NaiveDate,
    },
    /// Record that a person left the registry.
    RecordExit {
        /// The person.
        person_id: PersonId,
        /// Why.
        reason: ExitReason,
        /// When; not after today.
        exit_date: NaiveDate,
        /// Free-text note.
        note: String,
    },
    /// Open a monitoring case on a household from a lead.
    OpenMonitoringCase {
        /// Id for the new case.
        case_id: CaseId,
        /// The household at risk.
        household_id: HouseholdId,
        /// Case type.
        case_type: CaseType,
        /// At least one.
        risk_factors: Vec<RiskFactor>,
        /// How the lead came in.
        lead_source: LeadSource,
        /// Date of the lead; not after today.
        lead_date: NaiveDate,
    },
    /// Move a case one stage forward, from `Lead` up to `Registered`.
    AdvanceMonitoringCase {
        /// The case.
        case_id: CaseId,
        /// The next stage.
        to: CaseStage,
        /// Date of the transition.
        on: NaiveDate,
        /// Free-text note.
        note: String,
    },
    /// Record an assistance measure on a registered case.
    RecordAssistanceMeasure {
        /// The case.
        case_id: CaseId,
        /// Kind of measure.
        kind: AssistanceKind,
        /// Date of the measure.
        on: NaiveDate,
        /// What was done.
        description: String,
    },
    /// Mark the household's risk eliminated.
    EliminateRisk {
        /// The case.
        case_id: CaseId,
        /// Date of elimination.
        on: NaiveDate,
        /// Months the household income has been stably above the line.
        months_income_above_line: u32,
    },
    /// Put an eliminated case back to `Assisted`.
    ReturnToAssisted {
        /// The case.
        case_id: CaseId,
        /// Date of the return.
        on: NaiveDate,
        /// Why; must not be empty.
        reason: String,
    },
}
