//! Registry event payloads decoded and validated into the changes the read model makes.
//!
//! Everything that can make an event poison *by itself* (undecodable bytes, empty ids, malformed
//! codes and dates) is found here, before the projection touches the database. Enum values are kept
//! as their numbers, so a value added by a newer producer is stored, not refused.

use chrono::NaiveDate;
use prost::Message;
use proto::registry::v1 as pb;

use crate::convert::date_of;
use crate::validate::{is_county_code, province_of};

/// Package prefix of every registry event type.
const PACKAGE: &str = "bottomline.registry.v1.";

/// Longest id the read model accepts (ids are UUIDs in practice).
const MAX_ID_LEN: usize = 100;

/// Stage numbers the projection writes itself (see `bottomline.registry.v1.CaseStage`).
pub(crate) const STAGE_LEAD: i64 = pb::CaseStage::Lead as i64;
pub(crate) const STAGE_REGISTERED: i64 = pb::CaseStage::Registered as i64;
pub(crate) const STAGE_ASSISTED: i64 = pb::CaseStage::Assisted as i64;
pub(crate) const STAGE_RISK_ELIMINATED: i64 = pb::CaseStage::RiskEliminated as i64;

/// One event's effect on the read model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A row written whole (an upsert).
    Row(Row),
    /// A change to rows that must exist already.
    Update(Update),
}

/// Registrations and case openings: each writes one whole row, so a run of them can be written
/// set-based (see `upsert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Row {
    /// `HouseholdRegistered`.
    Household {
        household_id: String,
        village_code: String,
        county_code: String,
        province_code: String,
        poverty_alleviated: bool,
        relocated: bool,
        settlement_area: String,
    },
    /// `PersonRegistered`: the event carries the household's county, so the person counts in the
    /// right county even when its household's event arrives later (another partition).
    Person {
        person_id: String,
        household_id: String,
        county_code: String,
        province_code: String,
        labour_capacity: i64,
    },
    /// `MonitoringCaseOpened`.
    CaseOpened {
        case_id: String,
        household_id: String,
        county_code: String,
        province_code: String,
        case_type: i64,
        lead_date: NaiveDate,
    },
}

/// Changes to existing rows: the row is looked up first, a missing one makes the event poison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Update {
    /// `LabourCapacityChanged`.
    LabourCapacity { person_id: String, to: i64 },
    /// `PersonExited` (soft: the row stays, flagged).
    Exit { person_id: String },
    /// `MonitoringCaseAdvanced`; `registration` is set when `to` is `REGISTERED`.
    CaseAdvanced {
        case_id: String,
        to: i64,
        registration: Option<Registration>,
    },
    /// `AssistanceMeasureRecorded`.
    Measure { case_id: String },
    /// `RiskEliminated` or `RiskReturned`: the case moves to `stage`.
    CaseStage { case_id: String, stage: i64 },
}

/// What registering a case records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) on: NaiveDate,
    pub(crate) days_since_lead: i64,
    pub(crate) clock_breached: bool,
}

/// Decodes one registry event. `Ok(None)`: a type this read model does not know. `Err`: the
/// reason the event is poison.
pub(crate) fn decode(event_type: &str, payload: &[u8]) -> Result<Option<Change>, String> {
    let Some(name) = event_type.strip_prefix(PACKAGE) else {
        return Ok(None);
    };
    let change = match name {
        "HouseholdRegistered" => household(parse(name, payload)?)?,
        "PersonRegistered" => {
            let e: pb::PersonRegistered = parse(name, payload)?;
            let county_code = county(e.county_code)?;
            Change::Row(Row::Person {
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                province_code: province_of(&county_code),
                county_code,
                labour_capacity: e.labour_capacity.into(),
            })
        }
        "LabourCapacityChanged" => {
            let e: pb::LabourCapacityChanged = parse(name, payload)?;
            Change::Update(Update::LabourCapacity {
                person_id: id("person_id", e.person_id)?,
                to: e.to.into(),
            })
        }
        "PersonExited" => {
            let e: pb::PersonExited = parse(name, payload)?;
            Change::Update(Update::Exit {
                person_id: id("person_id", e.person_id)?,
            })
        }
        "MonitoringCaseOpened" => case_opened(parse(name, payload)?)?,
        "MonitoringCaseAdvanced" => case_advanced(parse(name, payload)?)?,
        "AssistanceMeasureRecorded" => {
            let e: pb::AssistanceMeasureRecorded = parse(name, payload)?;
            Change::Update(Update::Measure {
                case_id: id("case_id", e.case_id)?,
            })
        }
        "RiskEliminated" => {
            let e: pb::RiskEliminated = parse(name, payload)?;
            Change::Update(Update::CaseStage {
                case_id: id("case_id", e.case_id)?,
                stage: STAGE_RISK_ELIMINATED,
            })
        }
        "RiskReturned" => {
            let e: pb::RiskReturned = parse(name, payload)?;
            Change::Update(Update::CaseStage {
                case_id: id("case_id", e.case_id)?,
                stage: STAGE_ASSISTED,
            })
        }
        _ => return Ok(None),
    };
    Ok(Some(change))
}

fn parse<M: Message + Default>(name: &str, payload: &[u8]) -> Result<M, String> {
    M::decode(payload).map_err(|e| format!("{name} payload does not decode: {e}"))
}

fn id(field: &str, value: String) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("{field} is empty"));
    }
    if value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(format!("{field} is not a valid id"));
    }
    Ok(value)
}

fn county(value: String) -> Result<String, String> {
    if is_county_code(&value) {
        Ok(value)
    } else {
        Err(format!("county_code {value:?} is not a county-level code"))
    }
}

fn household(e: pb::HouseholdRegistered) -> Result<Change, String> {
    let county_code = county(e.county_code)?;
    let village_ok = e.village_code.len() == 12
        && e.village_code.bytes().all(|b| b.is_ascii_digit())
        && e.village_code.starts_with(&county_code);
    if !village_ok {
        return Err(format!(
            "village_code {:?} is not a 12-digit code inside county {county_code}",
            e.village_code
        ));
    }
    Ok(Change::Row(Row::Household {
        household_id: id("household_id", e.household_id)?,
        village_code: e.village_code,
        province_code: province_of(&county_code),
        county_code,
        poverty_alleviated: e.poverty_alleviated,
        relocated: e.relocated,
        settlement_area: e.settlement_area,
    }))
}

fn case_opened(e: pb::MonitoringCaseOpened) -> Result<Change, String> {
    let county_code = county(e.county_code)?;
    let lead_date = e
        .lead_date
        .as_ref()
        .and_then(date_of)
        .ok_or_else(|| "lead_date is missing or not a valid date".to_string())?;
    Ok(Change::Row(Row::CaseOpened {
        case_id: id("case_id", e.case_id)?,
        household_id: id("household_id", e.household_id)?,
        province_code: province_of(&county_code),
        county_code,
        case_type: e.case_type.into(),
        lead_date,
    }))
}

fn case_advanced(e: pb::MonitoringCaseAdvanced) -> Result<Change, String> {
    let case_id = id("case_id", e.case_id)?;
    let to = i64::from(e.to);
    if to <= 0 {
        return Err(format!("stage {to} is not a stage a case can advance to"));
    }
    let registration = if to == STAGE_REGISTERED {
        let on =
            e.on.as_ref()
                .and_then(date_of)
                .ok_or_else(|| "on is missing or not a valid date".to_string())?;
        if e.days_since_lead < 0 {
            return Err(format!("days_since_lead {} is negative", e.days_since_lead));
        }
        Some(Registration {
            on,
            days_since_lead: e.days_since_lead.into(),
            clock_breached: e.identification_clock_breached,
        })
    } else {
        None
    };
    Ok(Change::Update(Update::CaseAdvanced {
        case_id,
        to,
        registration,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::common::v1::CivilDate;

    fn full(name: &str) -> String {
        format!("{PACKAGE}{name}")
    }

    #[test]
    fn unknown_types_are_not_poison() {
        assert_eq!(
            decode("bottomline.registry.v1.SomethingNew", b"\xff"),
            Ok(None)
        );
        assert_eq!(decode("bottomline.employment.v1.JobLost", b""), Ok(None));
    }

    #[test]
    fn bad_payloads_are_poison() {
        assert!(decode(&full("PersonRegistered"), b"\xff\xff\xff").is_err());
        let empty = pb::PersonExited::default().encode_to_vec();
        assert_eq!(
            decode(&full("PersonExited"), &empty),
            Err("person_id is empty".into())
        );
        let household = pb::HouseholdRegistered {
            household_id: "h".into(),
            village_code: "150423000000".into(),
            county_code: "150422".into(),
            ..Default::default()
        };
        assert!(decode(&full("HouseholdRegistered"), &household.encode_to_vec()).is_err());
        let case = pb::MonitoringCaseOpened {
            case_id: "c".into(),
            household_id: "h".into(),
            county_code: "150422".into(),
            lead_date: Some(CivilDate {
                year: 2024,
                month: 2,
                day: 30,
            }),
            ..Default::default()
        };
        assert!(decode(&full("MonitoringCaseOpened"), &case.encode_to_vec()).is_err());
    }

    #[test]
    fn registration_carries_the_clock() {
        let e = pb::MonitoringCaseAdvanced {
            case_id: "c".into(),
            household_id: "h".into(),
            from: pb::CaseStage::CountyApproved as i32,
            to: pb::CaseStage::Registered as i32,
            on: Some(CivilDate {
                year: 2024,
                month: 3,
                day: 20,
            }),
            days_since_lead: 19,
            identification_clock_breached: true,
            note: String::new(),
        };
        let change = decode(&full("MonitoringCaseAdvanced"), &e.encode_to_vec()).unwrap();
        assert_eq!(
            change,
            Some(Change::Update(Update::CaseAdvanced {
                case_id: "c".into(),
                to: STAGE_REGISTERED,
                registration: Some(Registration {
                    on: NaiveDate::from_ymd_opt(2024, 3, 20).unwrap(),
                    days_since_lead: 19,
                    clock_breached: true,
                }),
            }))
        );
    }
}
