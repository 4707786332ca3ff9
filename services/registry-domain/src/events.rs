//! Events of the registry context: facts that happened, one enum variant per protobuf payload in
//! `bottomline/registry/v1/events.proto`, with the same field names and domain types.
//!
//! Dates are civil dates in China Standard Time. No event carries a citizen ID number in clear:
//! only its keyed hash and masked form.

use chrono::NaiveDate;

use crate::types::{
    AssistanceKind, CaseId, CaseStage, CaseType, ExitReason, HouseholdId, LabourCapacity,
    LeadSource, PersonId, Relation, RiskFactor, Sex,
};

/// Something that happened in the registry. Household events go to the household's stream,
/// person events to the person's stream, case events to the case's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryEvent {
    /// A household entered the registry.
    HouseholdRegistered {
        /// The new household.
        household_id: HouseholdId,
        /// 12-digit statistical village code.
        village_code: String,
        /// First 6 digits of `village_code`, a county in the division list.
        county_code: String,
        /// Lifted out of poverty.
        poverty_alleviated: bool,
        /// Relocated from inhospitable areas.
        relocated: bool,
        /// Relocation settlement area; present only when `relocated`.
        settlement_area: Option<String>,
    },
    /// A person entered the registry as a member of a household.
    PersonRegistered {
        /// Derived from `id_hash` with [`PersonId::from_id_hash`].
        person_id: PersonId,
        /// The household the person belongs to.
        household_id: HouseholdId,
        /// Lower-case hex HMAC-SHA-256 of the citizen ID number under the deployment key.
        id_hash: String,
        /// Masked citizen ID number, e.g. `110101********123X`.
        id_masked: String,
        /// Full name.
        name: String,
        /// From the citizen ID number.
        sex: Sex,
        /// From the citizen ID number.
        birth_date: NaiveDate,
        /// Relation to the head of household.
        relation: Relation,
        /// Assessed labour capacity.
        labour_capacity: LabourCapacity,
        /// Holds a disability certificate.
        disabled: bool,
        /// County of the household (6 digits), so readers need no other stream.
        county_code: String,
    },
    /// A person's labour capacity was reassessed.
    LabourCapacityChanged {
        /// The person.
        person_id: PersonId,
        /// The person's household.
        household_id: HouseholdId,
        /// Capacity before.
        from: LabourCapacity,
        /// Capacity after.
        to: LabourCapacity,
        /// Date from which the new assessment holds.
        effective_on: NaiveDate,
    },
    /// A person left the registry (soft: records stay; downstream payments must stop).
    PersonExited {
        /// The person.
        person_id: PersonId,
        /// The person's household.
        household_id: HouseholdId,
        /// Why.
        reason: ExitReason,
        /// Date of death, emigration or of the finding of the error.
        exit_date: NaiveDate,
        /// Free-text note.
        note: String,
    },
    /// A lead about a household at risk was received; the case starts at stage `Lead`.
    MonitoringCaseOpened {
        /// The new case.
        case_id: CaseId,
        /// The household at risk.
        household_id: HouseholdId,
        /// Case type.
        case_type: CaseType,
        /// At least one risk factor.
        risk_factors: Vec<RiskFactor>,
        /// How the lead came in.
        lead_source: LeadSource,
        /// Date of the lead; the identification clock starts here.
        lead_date: NaiveDate,
        /// The household's county, copied so projections need no join.
        county_code: String,
    },
    /// A case moved one stage forward.
    MonitoringCaseAdvanced {
        /// The case.
        case_id: CaseId,
        /// The case's household.
        household_id: HouseholdId,
        /// Stage before.
        from: CaseStage,
        /// Stage after.
        to: CaseStage,
        /// Date of the transition.
        on: NaiveDate,
        /// Days from the lead date to `on`.
        days_since_lead: i64,
        /// Set only on `to = Registered`: registration came later than the identification limit.
        identification_clock_breached: bool,
        /// Free-text note.
        note: String,
    },
    /// An assistance measure was given to a registered household.
    AssistanceMeasureRecorded {
        /// The case.
        case_id: CaseId,
        /// The case's household.
        household_id: HouseholdId,
        /// Kind of measure.
        kind: AssistanceKind,
        /// Date of the measure.
        on: NaiveDate,
        /// What was done.
        description: String,
    },
    /// The household's risk was marked eliminated.
    RiskEliminated {
        /// The case.
        case_id: CaseId,
        /// The case's household.
        household_id: HouseholdId,
        /// Date of elimination.
        on: NaiveDate,
        /// Whole months from registration to `on`.
        months_monitored: u32,
        /// Months the household income has been stably above the line.
        months_income_above_line: u32,
    },
    /// A household whose risk was eliminated is at risk again and back to `Assisted`.
    RiskReturned {
        /// The case.
        case_id: CaseId,
        /// The case's household.
        household_id: HouseholdId,
        /// Date of the return.
        on: NaiveDate,
        /// Why.
        reason: String,
    },
}

impl RegistryEvent {
    /// The stream the event belongs to: `household-<uuid>`, `person-<uuid>` or `case-<uuid>`.
    pub fn stream_id(&self) -> String {
        use RegistryEvent::*;
        match self {
            HouseholdRegistered { household_id, .. } => household_id.stream_id(),
            PersonRegistered { person_id, .. }
            | LabourCapacityChanged { person_id, .. }
            | PersonExited { person_id, .. } => person_id.stream_id(),
            MonitoringCaseOpened { case_id, .. }
            | MonitoringCaseAdvanced { case_id, .. }
            | AssistanceMeasureRecorded { case_id, .. }
            | RiskEliminated { case_id, .. }
            | RiskReturned { case_id, .. } => case_id.stream_id(),
        }
    }

    /// The event type: the fully-qualified protobuf message name of the payload, e.g.
    /// `bottomline.registry.v1.PersonRegistered`.
    pub fn event_type(&self) -> &'static str {
        use RegistryEvent::*;
        match self {
            HouseholdRegistered { .. } => "bottomline.registry.v1.HouseholdRegistered",
            PersonRegistered { .. } => "bottomline.registry.v1.PersonRegistered",
            LabourCapacityChanged { .. } => "bottomline.registry.v1.LabourCapacityChanged",
            PersonExited { .. } => "bottomline.registry.v1.PersonExited",
            MonitoringCaseOpened { .. } => "bottomline.registry.v1.MonitoringCaseOpened",
            MonitoringCaseAdvanced { .. } => "bottomline.registry.v1.MonitoringCaseAdvanced",
            AssistanceMeasureRecorded { .. } => "bottomline.registry.v1.AssistanceMeasureRecorded",
            RiskEliminated { .. } => "bottomline.registry.v1.RiskEliminated",
            RiskReturned { .. } => "bottomline.registry.v1.RiskReturned",
        }
    }

    /// The household the event concerns (every registry event names one).
    pub fn household_id(&self) -> HouseholdId {
        use RegistryEvent::*;
        match self {
            HouseholdRegistered { household_id, .. }
            | PersonRegistered { household_id, .. }
            | LabourCapacityChanged { household_id, .. }
            | PersonExited { household_id, .. }
            | MonitoringCaseOpened { household_id, .. }
            | MonitoringCaseAdvanced { household_id, .. }
            | AssistanceMeasureRecorded { household_id, .. }
            | RiskEliminated { household_id, .. }
            | RiskReturned { household_id, .. } => *household_id,
        }
    }
}
