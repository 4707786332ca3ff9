//! Employment event payloads decoded and validated into the changes the read model makes.
//!
//! Everything that can make an event poison *by itself* (undecodable bytes, empty ids, malformed
//! county codes, missing or impossible dates) is found here, before the projection touches the
//! database. Enum values are kept as their numbers, so a value added by a newer producer is stored,
//! not refused. Workshop events are known but no view uses them yet: they are passed over.

use chrono::NaiveDate;
use prost::Message;
use proto::common::v1::CivilDate;
use proto::employment::v1 as pb;

use crate::convert::date_of;
use crate::validate::{is_county_code, province_of};

/// Package prefix of every employment event type.
const PACKAGE: &str = "bottomline.employment.v1.";

/// Longest id the read model accepts (ids are UUIDs in practice).
const MAX_ID_LEN: usize = 100;

/// The facts of a spell the views use (from `SpellTerms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Terms {
    pub(crate) location_class: i64,
    pub(crate) channel: i64,
    pub(crate) start_date: NaiveDate,
}

/// A division: county code and its province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct County {
    pub(crate) county_code: String,
    pub(crate) province_code: String,
}

/// One event's effect on the read model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    SpellStarted {
        spell_id: String,
        person_id: String,
        household_id: String,
        county: County,
        terms: Terms,
    },
    SpellEnded {
        spell_id: String,
        person_id: String,
        household_id: String,
        end_date: NaiveDate,
        reason: i64,
    },
    SpellCorrected {
        spell_id: String,
        person_id: String,
        terms: Terms,
    },
    JobLoss {
        person_id: String,
        household_id: String,
        spell_id: String,
        on: NaiveDate,
        monitored: bool,
        without_employment: bool,
    },
    FollowUp {
        person_id: String,
        date: NaiveDate,
    },
    PostCreated {
        post_id: String,
        county: County,
        category: i64,
        monthly_subsidy_fen: i64,
        starts_on: NaiveDate,
    },
    PostAssigned {
        post_id: String,
        person_id: String,
        on: NaiveDate,
    },
    PostAssignmentEnded {
        post_id: String,
        person_id: String,
        on: NaiveDate,
    },
    /// Keyed by the event id in the projection (two payments are two rows).
    PostSubsidyPaid {
        post_id: String,
        person_id: String,
        month: NaiveDate,
        amount_fen: i64,
    },
    TrainingEnrolled {
        enrolment_id: String,
        person_id: String,
        kind: i64,
        starts_on: NaiveDate,
    },
    TrainingCompleted {
        enrolment_id: String,
        person_id: String,
        certified: bool,
    },
    RainAndDew {
        enrolment_id: String,
        person_id: String,
        household_id: String,
        term_starts_on: NaiveDate,
        subsidy_fen: i64,
    },
    HouseholdKnown {
        household_id: String,
        county: County,
        poverty_alleviated: bool,
    },
    PersonKnown {
        person_id: String,
        household_id: String,
        county: County,
        birth_date: Option<NaiveDate>,
        labour_capable: bool,
    },
    LabourCapacity {
        person_id: String,
        household_id: String,
        labour_capable: bool,
    },
    PersonExited {
        person_id: String,
        household_id: String,
        exit_date: Option<NaiveDate>,
    },
    /// Monitored (`true`), risk eliminated (`false`) or risk returned (`true`).
    Monitored {
        household_id: String,
        monitored: bool,
    },
}

/// Decodes one employment event. `Ok(None)`: a type this read model does not use. `Err`: the
/// reason the event is poison.
pub(crate) fn decode(event_type: &str, payload: &[u8]) -> Result<Option<Change>, String> {
    let Some(name) = event_type.strip_prefix(PACKAGE) else {
        return Ok(None);
    };
    let change = match name {
        "SpellStarted" => {
            let e: pb::SpellStarted = parse(name, payload)?;
            Change::SpellStarted {
                spell_id: id("spell_id", e.spell_id)?,
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                county: county(e.county_code)?,
                terms: terms(e.terms)?,
            }
        }
        "SpellEnded" => {
            let e: pb::SpellEnded = parse(name, payload)?;
            Change::SpellEnded {
                spell_id: id("spell_id", e.spell_id)?,
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                end_date: date("end_date", e.end_date)?,
                reason: e.reason.into(),
            }
        }
        "SpellCorrected" => {
            let e: pb::SpellCorrected = parse(name, payload)?;
            Change::SpellCorrected {
                spell_id: id("spell_id", e.spell_id)?,
                person_id: id("person_id", e.person_id)?,
                terms: terms(e.terms)?,
            }
        }
        "JobLossRiskRaised" => {
            let e: pb::JobLossRiskRaised = parse(name, payload)?;
            Change::JobLoss {
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                spell_id: id("spell_id", e.spell_id)?,
                on: date("on", e.on)?,
                monitored: e.monitored_household,
                without_employment: e.household_without_employment,
            }
        }
        "FollowUpRecorded" => {
            let e: pb::FollowUpRecorded = parse(name, payload)?;
            Change::FollowUp {
                person_id: id("person_id", e.person_id)?,
                date: date("date", e.date)?,
            }
        }
        "PostCreated" => {
            let e: pb::PostCreated = parse(name, payload)?;
            Change::PostCreated {
                post_id: id("post_id", e.post_id)?,
                county: county(e.county_code)?,
                category: e.category.into(),
                monthly_subsidy_fen: non_negative("monthly_subsidy_fen", e.monthly_subsidy_fen)?,
                starts_on: date("starts_on", e.starts_on)?,
            }
        }
        "PostAssigned" => {
            let e: pb::PostAssigned = parse(name, payload)?;
            Change::PostAssigned {
                post_id: id("post_id", e.post_id)?,
                person_id: id("person_id", e.person_id)?,
                on: date("on", e.on)?,
            }
        }
        "PostAssignmentEnded" => {
            let e: pb::PostAssignmentEnded = parse(name, payload)?;
            Change::PostAssignmentEnded {
                post_id: id("post_id", e.post_id)?,
                person_id: id("person_id", e.person_id)?,
                on: date("on", e.on)?,
            }
        }
        "PostSubsidyPaid" => {
            let e: pb::PostSubsidyPaid = parse(name, payload)?;
            Change::PostSubsidyPaid {
                post_id: id("post_id", e.post_id)?,
                person_id: id("person_id", e.person_id)?,
                month: date("month", e.month)?,
                amount_fen: non_negative("amount_fen", e.amount_fen)?,
            }
        }
        "TrainingEnrolled" => {
            let e: pb::TrainingEnrolled = parse(name, payload)?;
            Change::TrainingEnrolled {
                enrolment_id: id("enrolment_id", e.enrolment_id)?,
                person_id: id("person_id", e.person_id)?,
                kind: e.kind.into(),
                starts_on: date("starts_on", e.starts_on)?,
            }
        }
        "TrainingCompleted" => {
            let e: pb::TrainingCompleted = parse(name, payload)?;
            Change::TrainingCompleted {
                enrolment_id: id("enrolment_id", e.enrolment_id)?,
                person_id: id("person_id", e.person_id)?,
                certified: e.certified,
            }
        }
        "RainAndDewEnrolled" => {
            let e: pb::RainAndDewEnrolled = parse(name, payload)?;
            Change::RainAndDew {
                enrolment_id: id("enrolment_id", e.enrolment_id)?,
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                term_starts_on: date("term_starts_on", e.term_starts_on)?,
                subsidy_fen: non_negative("subsidy_fen", e.subsidy_fen)?,
            }
        }
        "RegistryHouseholdKnown" => {
            let e: pb::RegistryHouseholdKnown = parse(name, payload)?;
            Change::HouseholdKnown {
                household_id: id("household_id", e.household_id)?,
                county: county(e.county_code)?,
                poverty_alleviated: e.poverty_alleviated,
            }
        }
        "RegistryPersonKnown" => {
            let e: pb::RegistryPersonKnown = parse(name, payload)?;
            Change::PersonKnown {
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                county: county(e.county_code)?,
                birth_date: optional_date("birth_date", e.birth_date)?,
                labour_capable: e.labour_capable,
            }
        }
        "RegistryLabourCapacityChanged" => {
            let e: pb::RegistryLabourCapacityChanged = parse(name, payload)?;
            Change::LabourCapacity {
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                labour_capable: e.labour_capable,
            }
        }
        "RegistryPersonExited" => {
            let e: pb::RegistryPersonExited = parse(name, payload)?;
            Change::PersonExited {
                person_id: id("person_id", e.person_id)?,
                household_id: id("household_id", e.household_id)?,
                exit_date: optional_date("exit_date", e.exit_date)?,
            }
        }
        "RegistryHouseholdMonitored" => {
            let e: pb::RegistryHouseholdMonitored = parse(name, payload)?;
            Change::Monitored {
                household_id: id("household_id", e.household_id)?,
                monitored: true,
            }
        }
        "RegistryHouseholdRiskReturned" => {
            let e: pb::RegistryHouseholdRiskReturned = parse(name, payload)?;
            Change::Monitored {
                household_id: id("household_id", e.household_id)?,
                monitored: true,
            }
        }
        "RegistryHouseholdRiskEliminated" => {
            let e: pb::RegistryHouseholdRiskEliminated = parse(name, payload)?;
            Change::Monitored {
                household_id: id("household_id", e.household_id)?,
                monitored: false,
            }
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

fn county(value: String) -> Result<County, String> {
    if is_county_code(&value) {
        Ok(County {
            province_code: province_of(&value),
            county_code: value,
        })
    } else {
        Err(format!("county_code {value:?} is not a county-level code"))
    }
}

fn date(field: &str, value: Option<CivilDate>) -> Result<NaiveDate, String> {
    value
        .as_ref()
        .and_then(date_of)
        .ok_or_else(|| format!("{field} is missing or not a valid date"))
}

fn optional_date(field: &str, value: Option<CivilDate>) -> Result<Option<NaiveDate>, String> {
    match value {
        None => Ok(None),
        Some(d) => date(field, Some(d)).map(Some),
    }
}

fn non_negative(field: &str, value: i64) -> Result<i64, String> {
    if value < 0 {
        Err(format!("{field} {value} is negative"))
    } else {
        Ok(value)
    }
}

fn terms(value: Option<pb::SpellTerms>) -> Result<Terms, String> {
    let t = value.ok_or_else(|| "terms are missing".to_string())?;
    Ok(Terms {
        location_class: t.location_class.into(),
        channel: t.channel.into(),
        start_date: date("terms.start_date", t.start_date)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(name: &str) -> String {
        format!("{PACKAGE}{name}")
    }

    #[test]
    fn unknown_and_unused_types_are_passed_over() {
        assert_eq!(
            decode("bottomline.registry.v1.PersonRegistered", b"\xff"),
            Ok(None)
        );
        assert_eq!(decode(&full("SomethingNew"), b"\xff"), Ok(None));
        assert_eq!(decode(&full("WorkshopRegistered"), b""), Ok(None));
    }

    #[test]
    fn bad_payloads_are_poison() {
        assert!(decode(&full("SpellStarted"), b"\xff\xff\xff").is_err());
        let no_terms = pb::SpellStarted {
            spell_id: "s".into(),
            person_id: "p".into(),
            household_id: "h".into(),
            county_code: "150422".into(),
            terms: None,
        };
        assert_eq!(
            decode(&full("SpellStarted"), &no_terms.encode_to_vec()),
            Err("terms are missing".into())
        );
        let bad_county = pb::RegistryHouseholdKnown {
            household_id: "h".into(),
            county_code: "150400".into(),
            ..Default::default()
        };
        assert!(decode(&full("RegistryHouseholdKnown"), &bad_county.encode_to_vec()).is_err());
        let no_end = pb::SpellEnded {
            spell_id: "s".into(),
            person_id: "p".into(),
            household_id: "h".into(),
            ..Default::default()
        };
        assert_eq!(
            decode(&full("SpellEnded"), &no_end.encode_to_vec()),
            Err("end_date is missing or not a valid date".into())
        );
    }
}
