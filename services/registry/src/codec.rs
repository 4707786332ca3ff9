//! Domain events ↔ protobuf payloads (`bottomline.registry.v1`), and domain enums ↔ protobuf enums.

use prost::Message;
use proto::common::v1::CivilDate;
use proto::registry::v1 as pb;
use registry_domain::{
    AssistanceKind, CaseId, CaseStage, CaseType, ExitReason, HouseholdId, LabourCapacity,
    LeadSource, PersonId, RegistryEvent, Relation, RiskFactor, Sex,
};
use uuid::Uuid;
use writer::fields::{civil, date_of};

/// Why a stored payload could not be turned back into a domain event.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {event_type}: {reason}")]
pub struct DecodeError {
    /// The stored event type.
    pub event_type: String,
    /// What was wrong.
    pub reason: String,
}

writer::proto_enum! {
    pb;
    Sex => Sex { Male, Female }
    Relation => Relation { Head, Spouse, Child, Parent, Grandchild, Sibling, Other }
    LabourCapacity => LabourCapacity { Skilled, Ordinary, Weak, None }
    ExitReason => ExitReason { Death, Emigration, Error }
    CaseType => CaseType { UnstableAlleviated, Marginal, SuddenHardship }
    RiskFactor => RiskFactor {
        Illness, Schooling, Disaster, Accident, JobLoss, FailedBusiness, LackOfLabour, Housing,
        DrinkingWater
    }
    LeadSource => LeadSource { SelfReport, CadreVisit, DepartmentAlert }
    CaseStage => CaseStage {
        Lead, HomeVerified, DataCompared, VillageReviewed, TownshipReviewed, CountyApproved,
        Registered, Assisted, RiskEliminated
    }
    AssistanceKind => AssistanceKind {
        Employment, Industry, Health, Education, Housing, SocialSecurity, Other
    }
}

/// Encodes a domain event as its protobuf payload; returns (event type, bytes).
pub fn encode(event: &RegistryEvent) -> (&'static str, Vec<u8>) {
    use RegistryEvent as E;
    let bytes = match event.clone() {
        E::HouseholdRegistered {
            household_id,
            village_code,
            county_code,
            poverty_alleviated,
            relocated,
            settlement_area,
        } => pb::HouseholdRegistered {
            household_id: household_id.to_string(),
            village_code,
            county_code,
            poverty_alleviated,
            relocated,
            settlement_area: settlement_area.unwrap_or_default(),
        }
        .encode_to_vec(),
        E::PersonRegistered {
            person_id,
            household_id,
            id_hash,
            id_masked,
            name,
            sex,
            birth_date,
            relation,
            labour_capacity,
            disabled,
            county_code,
        } => pb::PersonRegistered {
            person_id: person_id.to_string(),
            household_id: household_id.to_string(),
            id_hash,
            id_masked,
            name,
            sex: sex.to_proto(),
            birth_date: civil(birth_date),
            relation: relation.to_proto(),
            labour_capacity: labour_capacity.to_proto(),
            disabled,
            county_code,
        }
        .encode_to_vec(),
        E::LabourCapacityChanged {
            person_id,
            household_id,
            from,
            to,
            effective_on,
        } => pb::LabourCapacityChanged {
            person_id: person_id.to_string(),
            household_id: household_id.to_string(),
            from: from.to_proto(),
            to: to.to_proto(),
            effective_on: civil(effective_on),
        }
        .encode_to_vec(),
        E::PersonExited {
            person_id,
            household_id,
            reason,
            exit_date,
            note,
        } => pb::PersonExited {
            person_id: person_id.to_string(),
            household_id: household_id.to_string(),
            reason: reason.to_proto(),
            exit_date: civil(exit_date),
            note,
        }
        .encode_to_vec(),
        E::MonitoringCaseOpened {
            case_id,
            household_id,
            case_type,
            risk_factors,
            lead_source,
            lead_date,
            county_code,
        } => pb::MonitoringCaseOpened {
            case_id: case_id.to_string(),
            household_id: household_id.to_string(),
            case_type: case_type.to_proto(),
            risk_factors: risk_factors.into_iter().map(ProtoEnum::to_proto).collect(),
            lead_source: lead_source.to_proto(),
            lead_date: civil(lead_date),
            county_code,
        }
        .encode_to_vec(),
        E::MonitoringCaseAdvanced {
            case_id,
            household_id,
            from,
            to,
            on,
            days_since_lead,
            identification_clock_breached,
            note,
        } => pb::MonitoringCaseAdvanced {
            case_id: case_id.to_string(),
            household_id: household_id.to_string(),
            from: from.to_proto(),
            to: to.to_proto(),
            on: civil(on),
            days_since_lead: days_since_lead as i32,
            identification_clock_breached,
            note,
        }
        .encode_to_vec(),
        E::AssistanceMeasureRecorded {
            case_id,
            household_id,
            kind,
            on,
            description,
        } => pb::AssistanceMeasureRecorded {
            case_id: case_id.to_string(),
            household_id: household_id.to_string(),
            kind: kind.to_proto(),
            on: civil(on),
            description,
        }
        .encode_to_vec(),
        E::RiskEliminated {
            case_id,
            household_id,
            on,
            months_monitored,
            months_income_above_line,
        } => pb::RiskEliminated {
            case_id: case_id.to_string(),
            household_id: household_id.to_string(),
            on: civil(on),
            months_monitored: months_monitored as i32,
            months_income_above_line: months_income_above_line as i32,
        }
        .encode_to_vec(),
        E::RiskReturned {
            case_id,
            household_id,
            on,
            reason,
        } => pb::RiskReturned {
            case_id: case_id.to_string(),
            household_id: household_id.to_string(),
            on: civil(on),
            reason,
        }
        .encode_to_vec(),
    };
    (event.event_type(), bytes)
}

/// Decodes a stored payload back into the domain event (used to rebuild the write model).
pub fn decode(event_type: &str, payload: &[u8]) -> Result<RegistryEvent, DecodeError> {
    let fail = |reason: String| DecodeError {
        event_type: event_type.to_string(),
        reason,
    };
    let short = event_type
        .strip_prefix("bottomline.registry.v1.")
        .unwrap_or("");
    macro_rules! msg {
        ($t:ty) => {
            <$t>::decode(payload).map_err(|e| fail(e.to_string()))?
        };
    }
    let id = |s: &str| Uuid::parse_str(s).map_err(|e| fail(format!("id {s:?}: {e}")));
    let date = |d: &Option<CivilDate>, f: &str| {
        d.as_ref()
            .and_then(date_of)
            .ok_or_else(|| fail(format!("{f} is not a valid date")))
    };
    fn en<T: ProtoEnum>(
        v: i32,
        f: &str,
        fail: &dyn Fn(String) -> DecodeError,
    ) -> Result<T, DecodeError> {
        T::from_proto(v).ok_or_else(|| fail(format!("{f} has unknown value {v}")))
    }
    Ok(match short {
        "HouseholdRegistered" => {
            let m = msg!(pb::HouseholdRegistered);
            RegistryEvent::HouseholdRegistered {
                household_id: HouseholdId(id(&m.household_id)?),
                village_code: m.village_code,
                county_code: m.county_code,
                poverty_alleviated: m.poverty_alleviated,
                relocated: m.relocated,
                settlement_area: Some(m.settlement_area).filter(|s| !s.is_empty()),
            }
        }
        "PersonRegistered" => {
            let m = msg!(pb::PersonRegistered);
            RegistryEvent::PersonRegistered {
                person_id: PersonId(id(&m.person_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                birth_date: date(&m.birth_date, "birth_date")?,
                sex: en(m.sex, "sex", &fail)?,
                relation: en(m.relation, "relation", &fail)?,
                labour_capacity: en(m.labour_capacity, "labour_capacity", &fail)?,
                id_hash: m.id_hash,
                id_masked: m.id_masked,
                name: m.name,
                disabled: m.disabled,
                county_code: m.county_code,
            }
        }
        "LabourCapacityChanged" => {
            let m = msg!(pb::LabourCapacityChanged);
            RegistryEvent::LabourCapacityChanged {
                person_id: PersonId(id(&m.person_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                from: en(m.from, "from", &fail)?,
                to: en(m.to, "to", &fail)?,
                effective_on: date(&m.effective_on, "effective_on")?,
            }
        }
        "PersonExited" => {
            let m = msg!(pb::PersonExited);
            RegistryEvent::PersonExited {
                person_id: PersonId(id(&m.person_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                reason: en(m.reason, "reason", &fail)?,
                exit_date: date(&m.exit_date, "exit_date")?,
                note: m.note,
            }
        }
        "MonitoringCaseOpened" => {
            let m = msg!(pb::MonitoringCaseOpened);
            RegistryEvent::MonitoringCaseOpened {
                case_id: CaseId(id(&m.case_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                case_type: en(m.case_type, "case_type", &fail)?,
                risk_factors: m
                    .risk_factors
                    .iter()
                    .map(|v| en(*v, "risk_factors", &fail))
                    .collect::<Result<_, _>>()?,
                lead_source: en(m.lead_source, "lead_source", &fail)?,
                lead_date: date(&m.lead_date, "lead_date")?,
                county_code: m.county_code,
            }
        }
        "MonitoringCaseAdvanced" => {
            let m = msg!(pb::MonitoringCaseAdvanced);
            RegistryEvent::MonitoringCaseAdvanced {
                case_id: CaseId(id(&m.case_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                from: en(m.from, "from", &fail)?,
                to: en(m.to, "to", &fail)?,
                on: date(&m.on, "on")?,
                days_since_lead: i64::from(m.days_since_lead),
                identification_clock_breached: m.identification_clock_breached,
                note: m.note,
            }
        }
        "AssistanceMeasureRecorded" => {
            let m = msg!(pb::AssistanceMeasureRecorded);
            RegistryEvent::AssistanceMeasureRecorded {
                case_id: CaseId(id(&m.case_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                kind: en(m.kind, "kind", &fail)?,
                on: date(&m.on, "on")?,
                description: m.description,
            }
        }
        "RiskEliminated" => {
            let m = msg!(pb::RiskEliminated);
            RegistryEvent::RiskEliminated {
                case_id: CaseId(id(&m.case_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                on: date(&m.on, "on")?,
                months_monitored: m.months_monitored.max(0) as u32,
                months_income_above_line: m.months_income_above_line.max(0) as u32,
            }
        }
        "RiskReturned" => {
            let m = msg!(pb::RiskReturned);
            RegistryEvent::RiskReturned {
                case_id: CaseId(id(&m.case_id)?),
                household_id: HouseholdId(id(&m.household_id)?),
                on: date(&m.on, "on")?,
                reason: m.reason,
            }
        }
        _ => return Err(fail("unknown event type".into())),
    })
}
