//! Protobuf requests → validated domain commands. Every refusal names the request field.

use chrono::NaiveDate;
use proto::registry::v1 as pb;
use registry_domain::{CaseId, CitizenId, DomainError, HouseholdId, PersonId, RegistryCommand};
use uuid::Uuid;

use writer::fields::{date_field, line_field, text_field, uuid_field};

use crate::codec::enum_field;
use crate::handler::IdHashKey;

/// Namespace of ids derived from command ids (a new household's id is derived from the command
/// that registers it, so a retry names the same household).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a4e_9b3d_4c57_8e21_b0d4_17a9_c3e5);

fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::invalid(field, reason)
}

pub(crate) fn register_household(
    r: &pb::RegisterHouseholdRequest,
    command: Uuid,
) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::RegisterHousehold {
        household_id: HouseholdId(Uuid::new_v5(&ID_NAMESPACE, command.as_bytes())),
        village_code: r.village_code.trim().to_string(),
        poverty_alleviated: r.poverty_alleviated,
        relocated: r.relocated,
        settlement_area: Some(line_field("settlement_area", &r.settlement_area)?)
            .filter(|s| !s.is_empty()),
    })
}

pub(crate) fn register_person(
    r: &pb::RegisterPersonRequest,
    key: &IdHashKey,
    today: NaiveDate,
) -> Result<RegistryCommand, DomainError> {
    let household_id = HouseholdId(uuid_field("household_id", &r.household_id)?);
    let citizen_id = CitizenId::parse(&r.citizen_id, today)?;
    let id_hash = key.hash(&citizen_id);
    Ok(RegistryCommand::RegisterPerson {
        household_id,
        citizen_id,
        id_hash,
        name: r.name.clone(),
        relation: enum_field("relation", r.relation)?,
        labour_capacity: enum_field("labour_capacity", r.labour_capacity)?,
        disabled: r.disabled,
    })
}

pub(crate) fn change_labour_capacity(
    r: &pb::ChangeLabourCapacityRequest,
) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::ChangeLabourCapacity {
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        labour_capacity: enum_field("labour_capacity", r.labour_capacity)?,
        effective_on: date_field("effective_on", &r.effective_on)?,
    })
}

pub(crate) fn record_exit(r: &pb::RecordExitRequest) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::RecordExit {
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        reason: enum_field("reason", r.reason)?,
        exit_date: date_field("exit_date", &r.exit_date)?,
        note: text_field("note", &r.note)?,
    })
}

pub(crate) fn open_case(
    r: &pb::OpenMonitoringCaseRequest,
    command: Uuid,
) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::OpenMonitoringCase {
        case_id: CaseId(Uuid::new_v5(&ID_NAMESPACE, command.as_bytes())),
        household_id: HouseholdId(uuid_field("household_id", &r.household_id)?),
        case_type: enum_field("case_type", r.case_type)?,
        risk_factors: r
            .risk_factors
            .iter()
            .map(|v| enum_field("risk_factors", *v))
            .collect::<Result<_, _>>()?,
        lead_source: enum_field("lead_source", r.lead_source)?,
        lead_date: date_field("lead_date", &r.lead_date)?,
    })
}

pub(crate) fn advance_case(
    r: &pb::AdvanceMonitoringCaseRequest,
) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::AdvanceMonitoringCase {
        case_id: CaseId(uuid_field("case_id", &r.case_id)?),
        to: enum_field("to", r.to)?,
        on: date_field("on", &r.on)?,
        note: text_field("note", &r.note)?,
    })
}

pub(crate) fn record_measure(
    r: &pb::RecordAssistanceMeasureRequest,
) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::RecordAssistanceMeasure {
        case_id: CaseId(uuid_field("case_id", &r.case_id)?),
        kind: enum_field("kind", r.kind)?,
        on: date_field("on", &r.on)?,
        description: text_field("description", &r.description)?,
    })
}

pub(crate) fn eliminate_risk(r: &pb::EliminateRiskRequest) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::EliminateRisk {
        case_id: CaseId(uuid_field("case_id", &r.case_id)?),
        on: date_field("on", &r.on)?,
        months_income_above_line: u32::try_from(r.months_income_above_line)
            .map_err(|_| invalid("months_income_above_line", "must not be negative"))?,
    })
}

pub(crate) fn return_to_assisted(
    r: &pb::ReturnToAssistedRequest,
) -> Result<RegistryCommand, DomainError> {
    Ok(RegistryCommand::ReturnToAssisted {
        case_id: CaseId(uuid_field("case_id", &r.case_id)?),
        on: date_field("on", &r.on)?,
        reason: text_field("reason", &r.reason)?,
    })
}
