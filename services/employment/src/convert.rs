//! Protobuf requests → domain commands. Every refusal names the request field; business rules
//! (dates against today, bands, eligibility) are left to the domain's `decide`.

use employment_domain::{
    EmploymentCommand, EndReason, EnrolmentId, PersonId, PostId, SpellId, SpellTerms, Uscc,
    WorkshopId,
};
use proto::employment::v1 as pb;
use writer::fields::{date_field, line_field, optional_date_field, text_field, uuid_field};

use crate::codec::{enum_field, optional_enum_field};
use decision::DomainError;
use registry_domain::DivisionCatalog;

fn uscc(field: &'static str, raw: &str) -> Result<Uscc, DomainError> {
    Uscc::parse(raw.trim()).map_err(|e| DomainError::invalid(field, e.to_string()))
}

fn count(field: &'static str, value: i32) -> Result<u32, DomainError> {
    u32::try_from(value)
        .map_err(|_| DomainError::invalid(field, format!("must not be negative (got {value})")))
}

/// An end reason a user may give: any but `PERSON_EXITED`, which only the exit reaction sets.
fn manual_end_reason(value: i32) -> Result<EndReason, DomainError> {
    let reason = enum_field("reason", value)?;
    if reason == EndReason::PersonExited {
        return Err(DomainError::invalid(
            "reason",
            "PERSON_EXITED is set by the registry-exit reaction only; record the exit in the registry",
        ));
    }
    Ok(reason)
}

fn terms(t: &Option<pb::SpellTerms>) -> Result<SpellTerms, DomainError> {
    let t = t
        .as_ref()
        .ok_or_else(|| DomainError::invalid("terms", "is required"))?;
    Ok(SpellTerms {
        employer_uscc: uscc("terms.employer_uscc", &t.employer_uscc)?,
        place_of_work: line_field("terms.place_of_work", &t.place_of_work)?,
        location_class: enum_field("terms.location_class", t.location_class)?,
        channel: enum_field("terms.channel", t.channel)?,
        start_date: date_field("terms.start_date", &t.start_date)?,
        monthly_income_fen: t.monthly_income_fen,
        evidence: enum_field("terms.evidence", t.evidence)?,
    })
}

pub(crate) fn start_spell(r: &pb::StartSpellRequest) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::StartSpell {
        spell_id: SpellId(uuid_field("spell_id", &r.spell_id)?),
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        terms: terms(&r.terms)?,
    })
}

pub(crate) fn end_spell(r: &pb::EndSpellRequest) -> Result<EmploymentCommand, DomainError> {
    let reason = manual_end_reason(r.reason)?;
    Ok(EmploymentCommand::EndSpell {
        spell_id: SpellId(uuid_field("spell_id", &r.spell_id)?),
        end_date: date_field("end_date", &r.end_date)?,
        reason,
    })
}

pub(crate) fn correct_spell(r: &pb::CorrectSpellRequest) -> Result<EmploymentCommand, DomainError> {
    let command = EmploymentCommand::CorrectSpell {
        spell_id: SpellId(uuid_field("spell_id", &r.spell_id)?),
        employer_uscc: r
            .employer_uscc
            .as_deref()
            .map(|u| uscc("employer_uscc", u))
            .transpose()?,
        place_of_work: r
            .place_of_work
            .as_deref()
            .map(|p| line_field("place_of_work", p))
            .transpose()?,
        location_class: optional_enum_field("location_class", r.location_class)?,
        channel: optional_enum_field("channel", r.channel)?,
        start_date: optional_date_field("start_date", &r.start_date)?,
        monthly_income_fen: r.monthly_income_fen,
        evidence: optional_enum_field("evidence", r.evidence)?,
        reason: text_field("reason", &r.reason)?,
    };
    Ok(command)
}

pub(crate) fn record_follow_up(
    r: &pb::RecordFollowUpRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::RecordFollowUp {
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        date: date_field("date", &r.date)?,
        channel: enum_field("channel", r.channel)?,
        outcome: enum_field("outcome", r.outcome)?,
    })
}

pub(crate) fn register_workshop(
    r: &pb::RegisterWorkshopRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::RegisterWorkshop {
        workshop_id: WorkshopId(uuid_field("workshop_id", &r.workshop_id)?),
        name: line_field("name", &r.name)?,
        workshop_type: enum_field("workshop_type", r.workshop_type)?,
        county_code: line_field("county_code", &r.county_code)?,
        registered_on: date_field("registered_on", &r.registered_on)?,
    })
}

pub(crate) fn classify_workshop(
    r: &pb::ClassifyWorkshopRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::ClassifyWorkshop {
        workshop_id: WorkshopId(uuid_field("workshop_id", &r.workshop_id)?),
        class: enum_field("class", r.class)?,
        on: date_field("on", &r.on)?,
    })
}

pub(crate) fn report_workshop_workers(
    r: &pb::ReportWorkshopWorkersRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::ReportWorkshopWorkers {
        workshop_id: WorkshopId(uuid_field("workshop_id", &r.workshop_id)?),
        month: date_field("month", &r.month)?,
        workers: count("workers", r.workers)?,
    })
}

pub(crate) fn create_post(r: &pb::CreatePostRequest) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::CreatePost {
        post_id: PostId(uuid_field("post_id", &r.post_id)?),
        county_code: line_field("county_code", &r.county_code)?,
        category: enum_field("category", r.category)?,
        funding_source: line_field("funding_source", &r.funding_source)?,
        monthly_subsidy_fen: r.monthly_subsidy_fen,
        term_months: count("term_months", r.term_months)?,
        starts_on: date_field("starts_on", &r.starts_on)?,
    })
}

pub(crate) fn assign_post(r: &pb::AssignPostRequest) -> Result<EmploymentCommand, DomainError> {
    let reason = text_field("age_override_reason", &r.age_override_reason)?;
    Ok(EmploymentCommand::AssignPost {
        post_id: PostId(uuid_field("post_id", &r.post_id)?),
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        on: date_field("on", &r.on)?,
        age_override_reason: Some(reason).filter(|r| !r.is_empty()),
    })
}

pub(crate) fn end_post_assignment(
    r: &pb::EndPostAssignmentRequest,
) -> Result<EmploymentCommand, DomainError> {
    let reason = manual_end_reason(r.reason)?;
    Ok(EmploymentCommand::EndPostAssignment {
        post_id: PostId(uuid_field("post_id", &r.post_id)?),
        on: date_field("on", &r.on)?,
        reason,
    })
}

pub(crate) fn record_post_subsidy_paid(
    r: &pb::RecordPostSubsidyPaidRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::RecordPostSubsidyPaid {
        post_id: PostId(uuid_field("post_id", &r.post_id)?),
        month: date_field("month", &r.month)?,
        amount_fen: r.amount_fen,
    })
}

pub(crate) fn enrol_training(
    r: &pb::EnrolTrainingRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::EnrolTraining {
        enrolment_id: EnrolmentId(uuid_field("enrolment_id", &r.enrolment_id)?),
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        kind: enum_field("kind", r.kind)?,
        course: line_field("course", &r.course)?,
        starts_on: date_field("starts_on", &r.starts_on)?,
    })
}

pub(crate) fn complete_training(
    r: &pb::CompleteTrainingRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::CompleteTraining {
        enrolment_id: EnrolmentId(uuid_field("enrolment_id", &r.enrolment_id)?),
        on: date_field("on", &r.on)?,
        certified: r.certified,
    })
}

pub(crate) fn enrol_rain_and_dew(
    r: &pb::EnrolRainAndDewRequest,
) -> Result<EmploymentCommand, DomainError> {
    Ok(EmploymentCommand::EnrolRainAndDew {
        enrolment_id: EnrolmentId(uuid_field("enrolment_id", &r.enrolment_id)?),
        person_id: PersonId(uuid_field("person_id", &r.person_id)?),
        school: line_field("school", &r.school)?,
        term_starts_on: date_field("term_starts_on", &r.term_starts_on)?,
    })
}

/// Division codes of a command must be counties of the division list: a post's or workshop's
/// county, and a spell's place of work (the domain checks the code's shape and its distance class
/// from the worker's home).
pub(crate) fn known_divisions(
    command: &EmploymentCommand,
    catalog: &DivisionCatalog,
) -> Result<(), DomainError> {
    let (field, code) = match command {
        EmploymentCommand::CreatePost { county_code, .. }
        | EmploymentCommand::RegisterWorkshop { county_code, .. } => ("county_code", county_code),
        EmploymentCommand::StartSpell { terms, .. } => {
            ("terms.place_of_work", &terms.place_of_work)
        }
        EmploymentCommand::CorrectSpell {
            place_of_work: Some(place),
            ..
        } => ("place_of_work", place),
        _ => return Ok(()),
    };
    if !catalog.is_county(code) {
        return Err(DomainError::invalid(
            field,
            format!("{code} is not a county-level division in the division list"),
        ));
    }
    Ok(())
}
