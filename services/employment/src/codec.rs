//! Domain events ↔ protobuf payloads (`bottomline.employment.v1`), and domain enums ↔ protobuf
//! enums.

use employment_domain::{
    Channel, EmploymentEvent, EndReason, EnrolmentId, EvidenceSource, FollowUpChannel,
    FollowUpOutcome, HouseholdId, LocationClass, PersonId, PostCategory, PostId, RegistryFact,
    SpellId, SpellTerms, TrainingKind, Uscc, WorkshopClass2023, WorkshopId, WorkshopType,
};
use prost::Message;
use proto::common::v1::CivilDate;
use proto::employment::v1 as pb;
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
    LocationClass => LocationClass {
        OutOfProvince, InProvinceOutOfCity, InCityOutOfCounty, InCountyOutOfTownship, InTownship
    }
    Channel => Channel {
        OrganisedLabourExport, Workshop, WorkRelief, PublicWelfarePost, SelfEmployed, Flexible,
        Other
    }
    EvidenceSource => EvidenceSource {
        SelfReport, SocialInsuranceMatch, EmployerReport, Payroll
    }
    EndReason => EndReason {
        ContractEnded, Dismissed, BusinessClosed, Health, Moved, Other, PersonExited
    }
    FollowUpChannel => FollowUpChannel { HomeVisit, Phone, Online, Other }
    FollowUpOutcome => FollowUpOutcome { JobReferral, TrainingReferral, PostReferral, None }
    PostCategory => PostCategory { Ordinary, Technical, Special }
    WorkshopType => WorkshopType { Factory, HomeBased, PlantingBreeding, Trade, CultureTourism }
    WorkshopClass2023 => WorkshopClass2023 { Upgrade, Support, New, Adjust }
    TrainingKind => TrainingKind { OrderBased, Targeted, JobSpecific }
}

/// The protobuf form of a spell's facts.
pub(crate) fn terms_to_proto(t: &SpellTerms) -> pb::SpellTerms {
    pb::SpellTerms {
        employer_uscc: t.employer_uscc.as_str().to_owned(),
        place_of_work: t.place_of_work.clone(),
        location_class: t.location_class.to_proto(),
        channel: t.channel.to_proto(),
        start_date: civil(t.start_date),
        monthly_income_fen: t.monthly_income_fen,
        evidence: t.evidence.to_proto(),
    }
}

/// Encodes an event: (event type, protobuf payload).
pub fn encode(event: &EmploymentEvent) -> (&'static str, Vec<u8>) {
    use EmploymentEvent as E;
    let s = |id: &dyn ToString| id.to_string();
    let bytes = match event {
        E::SpellStarted {
            spell_id,
            person_id,
            household_id,
            county_code,
            terms,
        } => pb::SpellStarted {
            spell_id: s(spell_id),
            person_id: s(person_id),
            household_id: s(household_id),
            county_code: county_code.clone(),
            terms: Some(terms_to_proto(terms)),
        }
        .encode_to_vec(),
        E::SpellEnded {
            spell_id,
            person_id,
            household_id,
            end_date,
            reason,
            left_household_without_employment,
        } => pb::SpellEnded {
            spell_id: s(spell_id),
            person_id: s(person_id),
            household_id: s(household_id),
            end_date: civil(*end_date),
            reason: reason.to_proto(),
            left_household_without_employment: *left_household_without_employment,
        }
        .encode_to_vec(),
        E::SpellCorrected {
            spell_id,
            person_id,
            terms,
            reason,
        } => pb::SpellCorrected {
            spell_id: s(spell_id),
            person_id: s(person_id),
            terms: Some(terms_to_proto(terms)),
            reason: reason.clone(),
        }
        .encode_to_vec(),
        E::JobLossRiskRaised {
            person_id,
            household_id,
            spell_id,
            on,
            monitored_household,
            household_without_employment,
        } => pb::JobLossRiskRaised {
            person_id: s(person_id),
            household_id: s(household_id),
            spell_id: s(spell_id),
            on: civil(*on),
            monitored_household: *monitored_household,
            household_without_employment: *household_without_employment,
        }
        .encode_to_vec(),
        E::FollowUpRecorded {
            person_id,
            household_id,
            date,
            channel,
            outcome,
        } => pb::FollowUpRecorded {
            person_id: s(person_id),
            household_id: s(household_id),
            date: civil(*date),
            channel: channel.to_proto(),
            outcome: outcome.to_proto(),
        }
        .encode_to_vec(),
        E::PostCreated {
            post_id,
            county_code,
            category,
            funding_source,
            monthly_subsidy_fen,
            term_months,
            starts_on,
            band_min_fen,
            band_max_fen,
            band_source,
        } => pb::PostCreated {
            post_id: s(post_id),
            county_code: county_code.clone(),
            category: category.to_proto(),
            funding_source: funding_source.clone(),
            monthly_subsidy_fen: *monthly_subsidy_fen,
            term_months: *term_months as i32,
            starts_on: civil(*starts_on),
            band_min_fen: *band_min_fen,
            band_max_fen: *band_max_fen,
            band_source: band_source.clone(),
        }
        .encode_to_vec(),
        E::PostAssigned {
            post_id,
            person_id,
            household_id,
            on,
            age,
            age_override_reason,
        } => pb::PostAssigned {
            post_id: s(post_id),
            person_id: s(person_id),
            household_id: s(household_id),
            on: civil(*on),
            age: *age as i32,
            age_override_reason: age_override_reason.clone().unwrap_or_default(),
        }
        .encode_to_vec(),
        E::PostAssignmentEnded {
            post_id,
            person_id,
            on,
            reason,
        } => pb::PostAssignmentEnded {
            post_id: s(post_id),
            person_id: s(person_id),
            on: civil(*on),
            reason: reason.to_proto(),
        }
        .encode_to_vec(),
        E::PostSubsidyPaid {
            post_id,
            person_id,
            month,
            amount_fen,
        } => pb::PostSubsidyPaid {
            post_id: s(post_id),
            person_id: s(person_id),
            month: civil(*month),
            amount_fen: *amount_fen,
        }
        .encode_to_vec(),
        E::WorkshopRegistered {
            workshop_id,
            name,
            workshop_type,
            county_code,
            registered_on,
        } => pb::WorkshopRegistered {
            workshop_id: s(workshop_id),
            name: name.clone(),
            workshop_type: workshop_type.to_proto(),
            county_code: county_code.clone(),
            registered_on: civil(*registered_on),
        }
        .encode_to_vec(),
        E::WorkshopClassified {
            workshop_id,
            class,
            on,
        } => pb::WorkshopClassified {
            workshop_id: s(workshop_id),
            class: class.to_proto(),
            on: civil(*on),
        }
        .encode_to_vec(),
        E::WorkshopWorkersReported {
            workshop_id,
            month,
            workers,
            below_minimum,
            replaces,
        } => pb::WorkshopWorkersReported {
            workshop_id: s(workshop_id),
            month: civil(*month),
            workers: *workers as i32,
            below_minimum: *below_minimum,
            replaces_earlier: replaces.is_some(),
            replaced_workers: replaces.unwrap_or(0) as i32,
        }
        .encode_to_vec(),
        E::TrainingEnrolled {
            enrolment_id,
            person_id,
            kind,
            course,
            starts_on,
        } => pb::TrainingEnrolled {
            enrolment_id: s(enrolment_id),
            person_id: s(person_id),
            kind: kind.to_proto(),
            course: course.clone(),
            starts_on: civil(*starts_on),
        }
        .encode_to_vec(),
        E::TrainingCompleted {
            enrolment_id,
            person_id,
            on,
            certified,
        } => pb::TrainingCompleted {
            enrolment_id: s(enrolment_id),
            person_id: s(person_id),
            on: civil(*on),
            certified: *certified,
        }
        .encode_to_vec(),
        E::RainAndDewEnrolled {
            enrolment_id,
            person_id,
            household_id,
            school,
            term_starts_on,
            subsidy_fen,
        } => pb::RainAndDewEnrolled {
            enrolment_id: s(enrolment_id),
            person_id: s(person_id),
            household_id: s(household_id),
            school: school.clone(),
            term_starts_on: civil(*term_starts_on),
            subsidy_fen: *subsidy_fen,
        }
        .encode_to_vec(),
        E::RegistryFactRecorded {
            fact,
            source_event_id,
        } => encode_fact(fact, source_event_id.clone()),
    };
    (event.event_type(), bytes)
}

fn encode_fact(fact: &RegistryFact, source_event_id: String) -> Vec<u8> {
    use RegistryFact as F;
    match fact {
        F::HouseholdKnown {
            household,
            county_code,
            poverty_alleviated,
        } => pb::RegistryHouseholdKnown {
            household_id: household.to_string(),
            county_code: county_code.clone(),
            poverty_alleviated: *poverty_alleviated,
            source_event_id,
        }
        .encode_to_vec(),
        F::PersonKnown {
            person,
            household,
            birth_date,
            county_code,
            labour_capable,
        } => pb::RegistryPersonKnown {
            person_id: person.to_string(),
            household_id: household.to_string(),
            birth_date: civil(*birth_date),
            county_code: county_code.clone(),
            labour_capable: *labour_capable,
            source_event_id,
        }
        .encode_to_vec(),
        F::LabourCapacityChanged {
            person,
            household,
            labour_capable,
        } => pb::RegistryLabourCapacityChanged {
            person_id: person.to_string(),
            household_id: household.to_string(),
            labour_capable: *labour_capable,
            source_event_id,
        }
        .encode_to_vec(),
        F::PersonExited {
            person,
            household,
            date,
        } => pb::RegistryPersonExited {
            person_id: person.to_string(),
            household_id: household.to_string(),
            exit_date: civil(*date),
            source_event_id,
        }
        .encode_to_vec(),
        F::HouseholdMonitored { household, from } => pb::RegistryHouseholdMonitored {
            household_id: household.to_string(),
            from: civil(*from),
            source_event_id,
        }
        .encode_to_vec(),
        F::HouseholdRiskEliminated { household, on } => pb::RegistryHouseholdRiskEliminated {
            household_id: household.to_string(),
            on: civil(*on),
            source_event_id,
        }
        .encode_to_vec(),
        F::HouseholdRiskReturned { household, on } => pb::RegistryHouseholdRiskReturned {
            household_id: household.to_string(),
            on: civil(*on),
            source_event_id,
        }
        .encode_to_vec(),
    }
}

/// Decodes a stored payload back into the domain event (used to rebuild the write model).
pub fn decode(event_type: &str, payload: &[u8]) -> Result<EmploymentEvent, DecodeError> {
    let d = Decoder { event_type };
    let short = event_type
        .strip_prefix("bottomline.employment.v1.")
        .unwrap_or("");
    macro_rules! msg {
        ($t:ty) => {
            <$t>::decode(payload).map_err(|e| d.fail(e.to_string()))?
        };
    }
    use EmploymentEvent as E;
    Ok(match short {
        "SpellStarted" => {
            let m = msg!(pb::SpellStarted);
            E::SpellStarted {
                spell_id: SpellId(d.id(&m.spell_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                household_id: HouseholdId(d.id(&m.household_id)?),
                county_code: m.county_code,
                terms: d.terms(m.terms)?,
            }
        }
        "SpellEnded" => {
            let m = msg!(pb::SpellEnded);
            E::SpellEnded {
                spell_id: SpellId(d.id(&m.spell_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                household_id: HouseholdId(d.id(&m.household_id)?),
                end_date: d.date(&m.end_date, "end_date")?,
                reason: d.en(m.reason, "reason")?,
                left_household_without_employment: m.left_household_without_employment,
            }
        }
        "SpellCorrected" => {
            let m = msg!(pb::SpellCorrected);
            E::SpellCorrected {
                spell_id: SpellId(d.id(&m.spell_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                terms: d.terms(m.terms)?,
                reason: m.reason,
            }
        }
        "JobLossRiskRaised" => {
            let m = msg!(pb::JobLossRiskRaised);
            E::JobLossRiskRaised {
                person_id: PersonId(d.id(&m.person_id)?),
                household_id: HouseholdId(d.id(&m.household_id)?),
                spell_id: SpellId(d.id(&m.spell_id)?),
                on: d.date(&m.on, "on")?,
                monitored_household: m.monitored_household,
                household_without_employment: m.household_without_employment,
            }
        }
        "FollowUpRecorded" => {
            let m = msg!(pb::FollowUpRecorded);
            E::FollowUpRecorded {
                person_id: PersonId(d.id(&m.person_id)?),
                household_id: HouseholdId(d.id(&m.household_id)?),
                date: d.date(&m.date, "date")?,
                channel: d.en(m.channel, "channel")?,
                outcome: d.en(m.outcome, "outcome")?,
            }
        }
        "PostCreated" => {
            let m = msg!(pb::PostCreated);
            E::PostCreated {
                post_id: PostId(d.id(&m.post_id)?),
                county_code: m.county_code,
                category: d.en(m.category, "category")?,
                funding_source: m.funding_source,
                monthly_subsidy_fen: m.monthly_subsidy_fen,
                term_months: d.count(m.term_months, "term_months")?,
                starts_on: d.date(&m.starts_on, "starts_on")?,
                band_min_fen: m.band_min_fen,
                band_max_fen: m.band_max_fen,
                band_source: m.band_source,
            }
        }
        "PostAssigned" => {
            let m = msg!(pb::PostAssigned);
            E::PostAssigned {
                post_id: PostId(d.id(&m.post_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                household_id: HouseholdId(d.id(&m.household_id)?),
                on: d.date(&m.on, "on")?,
                age: d.count(m.age, "age")?,
                age_override_reason: Some(m.age_override_reason).filter(|r| !r.is_empty()),
            }
        }
        "PostAssignmentEnded" => {
            let m = msg!(pb::PostAssignmentEnded);
            E::PostAssignmentEnded {
                post_id: PostId(d.id(&m.post_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                on: d.date(&m.on, "on")?,
                reason: d.en(m.reason, "reason")?,
            }
        }
        "PostSubsidyPaid" => {
            let m = msg!(pb::PostSubsidyPaid);
            E::PostSubsidyPaid {
                post_id: PostId(d.id(&m.post_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                month: d.date(&m.month, "month")?,
                amount_fen: m.amount_fen,
            }
        }
        "WorkshopRegistered" => {
            let m = msg!(pb::WorkshopRegistered);
            E::WorkshopRegistered {
                workshop_id: WorkshopId(d.id(&m.workshop_id)?),
                name: m.name,
                workshop_type: d.en(m.workshop_type, "workshop_type")?,
                county_code: m.county_code,
                registered_on: d.date(&m.registered_on, "registered_on")?,
            }
        }
        "WorkshopClassified" => {
            let m = msg!(pb::WorkshopClassified);
            E::WorkshopClassified {
                workshop_id: WorkshopId(d.id(&m.workshop_id)?),
                class: d.en(m.class, "class")?,
                on: d.date(&m.on, "on")?,
            }
        }
        "WorkshopWorkersReported" => {
            let m = msg!(pb::WorkshopWorkersReported);
            E::WorkshopWorkersReported {
                workshop_id: WorkshopId(d.id(&m.workshop_id)?),
                month: d.date(&m.month, "month")?,
                workers: d.count(m.workers, "workers")?,
                below_minimum: m.below_minimum,
                replaces: if m.replaces_earlier {
                    Some(d.count(m.replaced_workers, "replaced_workers")?)
                } else {
                    None
                },
            }
        }
        "TrainingEnrolled" => {
            let m = msg!(pb::TrainingEnrolled);
            E::TrainingEnrolled {
                enrolment_id: EnrolmentId(d.id(&m.enrolment_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                kind: d.en(m.kind, "kind")?,
                course: m.course,
                starts_on: d.date(&m.starts_on, "starts_on")?,
            }
        }
        "TrainingCompleted" => {
            let m = msg!(pb::TrainingCompleted);
            E::TrainingCompleted {
                enrolment_id: EnrolmentId(d.id(&m.enrolment_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                on: d.date(&m.on, "on")?,
                certified: m.certified,
            }
        }
        "RainAndDewEnrolled" => {
            let m = msg!(pb::RainAndDewEnrolled);
            E::RainAndDewEnrolled {
                enrolment_id: EnrolmentId(d.id(&m.enrolment_id)?),
                person_id: PersonId(d.id(&m.person_id)?),
                household_id: HouseholdId(d.id(&m.household_id)?),
                school: m.school,
                term_starts_on: d.date(&m.term_starts_on, "term_starts_on")?,
                subsidy_fen: m.subsidy_fen,
            }
        }
        "RegistryHouseholdKnown" => {
            let m = msg!(pb::RegistryHouseholdKnown);
            d.fact(
                RegistryFact::HouseholdKnown {
                    household: HouseholdId(d.id(&m.household_id)?),
                    county_code: m.county_code,
                    poverty_alleviated: m.poverty_alleviated,
                },
                m.source_event_id,
            )
        }
        "RegistryPersonKnown" => {
            let m = msg!(pb::RegistryPersonKnown);
            d.fact(
                RegistryFact::PersonKnown {
                    person: PersonId(d.id(&m.person_id)?),
                    household: HouseholdId(d.id(&m.household_id)?),
                    birth_date: d.date(&m.birth_date, "birth_date")?,
                    county_code: m.county_code,
                    labour_capable: m.labour_capable,
                },
                m.source_event_id,
            )
        }
        "RegistryLabourCapacityChanged" => {
            let m = msg!(pb::RegistryLabourCapacityChanged);
            d.fact(
                RegistryFact::LabourCapacityChanged {
                    person: PersonId(d.id(&m.person_id)?),
                    household: HouseholdId(d.id(&m.household_id)?),
                    labour_capable: m.labour_capable,
                },
                m.source_event_id,
            )
        }
        "RegistryPersonExited" => {
            let m = msg!(pb::RegistryPersonExited);
            d.fact(
                RegistryFact::PersonExited {
                    person: PersonId(d.id(&m.person_id)?),
                    household: HouseholdId(d.id(&m.household_id)?),
                    date: d.date(&m.exit_date, "exit_date")?,
                },
                m.source_event_id,
            )
        }
        "RegistryHouseholdMonitored" => {
            let m = msg!(pb::RegistryHouseholdMonitored);
            d.fact(
                RegistryFact::HouseholdMonitored {
                    household: HouseholdId(d.id(&m.household_id)?),
                    from: d.date(&m.from, "from")?,
                },
                m.source_event_id,
            )
        }
        "RegistryHouseholdRiskEliminated" => {
            let m = msg!(pb::RegistryHouseholdRiskEliminated);
            d.fact(
                RegistryFact::HouseholdRiskEliminated {
                    household: HouseholdId(d.id(&m.household_id)?),
                    on: d.date(&m.on, "on")?,
                },
                m.source_event_id,
            )
        }
        "RegistryHouseholdRiskReturned" => {
            let m = msg!(pb::RegistryHouseholdRiskReturned);
            d.fact(
                RegistryFact::HouseholdRiskReturned {
                    household: HouseholdId(d.id(&m.household_id)?),
                    on: d.date(&m.on, "on")?,
                },
                m.source_event_id,
            )
        }
        _ => return Err(d.fail("unknown event type".into())),
    })
}

/// Field decoding of one stored event, every failure naming the event type.
struct Decoder<'a> {
    event_type: &'a str,
}

impl Decoder<'_> {
    fn fail(&self, reason: String) -> DecodeError {
        DecodeError {
            event_type: self.event_type.to_owned(),
            reason,
        }
    }

    fn id(&self, s: &str) -> Result<Uuid, DecodeError> {
        Uuid::parse_str(s).map_err(|e| self.fail(format!("id {s:?}: {e}")))
    }

    fn date(&self, d: &Option<CivilDate>, field: &str) -> Result<chrono::NaiveDate, DecodeError> {
        d.as_ref()
            .and_then(date_of)
            .ok_or_else(|| self.fail(format!("{field} is not a valid date")))
    }

    fn en<T: ProtoEnum>(&self, v: i32, field: &str) -> Result<T, DecodeError> {
        T::from_proto(v).ok_or_else(|| self.fail(format!("{field} has unknown value {v}")))
    }

    fn count(&self, v: i32, field: &str) -> Result<u32, DecodeError> {
        u32::try_from(v).map_err(|_| self.fail(format!("{field} is negative ({v})")))
    }

    fn terms(&self, t: Option<pb::SpellTerms>) -> Result<SpellTerms, DecodeError> {
        let t = t.ok_or_else(|| self.fail("terms missing".into()))?;
        Ok(SpellTerms {
            employer_uscc: Uscc::parse(&t.employer_uscc)
                .map_err(|e| self.fail(format!("employer_uscc: {e}")))?,
            place_of_work: t.place_of_work,
            location_class: self.en(t.location_class, "location_class")?,
            channel: self.en(t.channel, "channel")?,
            start_date: self.date(&t.start_date, "start_date")?,
            monthly_income_fen: t.monthly_income_fen,
            evidence: self.en(t.evidence, "evidence")?,
        })
    }

    fn fact(&self, fact: RegistryFact, source_event_id: String) -> EmploymentEvent {
        EmploymentEvent::RegistryFactRecorded {
            fact,
            source_event_id,
        }
    }
}
