//! Events of the employment context: facts that happened.
//!
//! A person's events go to `employment-<person>`, a post's creation and subsidy payments to
//! `post-<uuid>`, a workshop's events to `workshop-<uuid>`. Money is integer fen; dates are civil
//! dates in China Standard Time; months are the first day of the month.

use chrono::NaiveDate;

use crate::reference::RegistryFact;
use crate::types::{
    EndReason, EnrolmentId, FollowUpChannel, FollowUpOutcome, HouseholdId, PersonId, PostCategory,
    PostId, SpellId, SpellTerms, TrainingKind, WorkshopClass2023, WorkshopId, WorkshopType,
};

/// Something that happened in the employment context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmploymentEvent {
    /// A person started working; they are *employed* while the spell is open.
    SpellStarted {
        /// The new spell.
        spell_id: SpellId,
        /// The worker.
        person_id: PersonId,
        /// The worker's household, so projections need no join.
        household_id: HouseholdId,
        /// The worker's home county, so the employed scale can be counted per county.
        county_code: String,
        /// The spell's facts.
        terms: SpellTerms,
    },
    /// A spell ended.
    SpellEnded {
        /// The spell.
        spell_id: SpellId,
        /// The worker.
        person_id: PersonId,
        /// The worker's household.
        household_id: HouseholdId,
        /// Last day of work.
        end_date: NaiveDate,
        /// Why.
        reason: EndReason,
        /// After this ending nobody in the household (the worker included) has an open spell.
        left_household_without_employment: bool,
    },
    /// A spell's recorded facts were corrected; the event carries the full corrected values.
    SpellCorrected {
        /// The spell.
        spell_id: SpellId,
        /// The worker.
        person_id: PersonId,
        /// The complete corrected facts.
        terms: SpellTerms,
        /// Why the record was wrong.
        reason: String,
    },
    /// A job loss that the risk view (MARA) must see: the worker has no open spell left, and the
    /// household is monitored or has nobody employed any more.
    JobLossRiskRaised {
        /// The worker.
        person_id: PersonId,
        /// The household.
        household_id: HouseholdId,
        /// The spell that ended.
        spell_id: SpellId,
        /// End date of the spell.
        on: NaiveDate,
        /// The household is a monitoring object.
        monitored_household: bool,
        /// Nobody in the household has an open spell.
        household_without_employment: bool,
    },
    /// A follow-up contact with a worker.
    FollowUpRecorded {
        /// The worker.
        person_id: PersonId,
        /// The household.
        household_id: HouseholdId,
        /// Date of the contact.
        date: NaiveDate,
        /// How.
        channel: FollowUpChannel,
        /// What it led to.
        outcome: FollowUpOutcome,
    },
    /// A public-welfare post was created.
    PostCreated {
        /// The post.
        post_id: PostId,
        /// County of the post.
        county_code: String,
        /// Category.
        category: PostCategory,
        /// Funding source (e.g. bridging funds, county budget).
        funding_source: String,
        /// Monthly subsidy, fen.
        monthly_subsidy_fen: i64,
        /// Term, months.
        term_months: u32,
        /// First day of the term.
        starts_on: NaiveDate,
        /// Lower end of the band it was checked against, fen.
        band_min_fen: i64,
        /// Upper end of that band, fen.
        band_max_fen: i64,
        /// Source of that band.
        band_source: String,
    },
    /// A person took a post (event in the person's stream).
    PostAssigned {
        /// The post.
        post_id: PostId,
        /// The holder.
        person_id: PersonId,
        /// The holder's household.
        household_id: HouseholdId,
        /// First day.
        on: NaiveDate,
        /// Age on `on`, whole years.
        age: u32,
        /// Why a holder above the normal maximum age was allowed.
        age_override_reason: Option<String>,
    },
    /// A person left a post (event in the person's stream).
    PostAssignmentEnded {
        /// The post.
        post_id: PostId,
        /// The holder.
        person_id: PersonId,
        /// Last day.
        on: NaiveDate,
        /// Why.
        reason: EndReason,
    },
    /// A month's subsidy was paid for a post (event in the post's stream).
    PostSubsidyPaid {
        /// The post.
        post_id: PostId,
        /// The holder in that month.
        person_id: PersonId,
        /// First day of the month paid for.
        month: NaiveDate,
        /// Amount, fen.
        amount_fen: i64,
    },
    /// A workshop was registered.
    WorkshopRegistered {
        /// The workshop.
        workshop_id: WorkshopId,
        /// Name.
        name: String,
        /// Type.
        workshop_type: WorkshopType,
        /// 6-digit county.
        county_code: String,
        /// Date of registration.
        registered_on: NaiveDate,
    },
    /// A workshop got (or changed) its 2023 classification.
    WorkshopClassified {
        /// The workshop.
        workshop_id: WorkshopId,
        /// The classification.
        class: WorkshopClass2023,
        /// Date of the classification.
        on: NaiveDate,
    },
    /// Poverty-alleviated workers a workshop employed in a month.
    WorkshopWorkersReported {
        /// The workshop.
        workshop_id: WorkshopId,
        /// First day of the month.
        month: NaiveDate,
        /// Workers.
        workers: u32,
        /// Fewer than the minimum in force on `month`.
        below_minimum: bool,
        /// The count this report replaces, when the month was reported before.
        replaces: Option<u32>,
    },
    /// A person enrolled in vocational training.
    TrainingEnrolled {
        /// The enrolment.
        enrolment_id: EnrolmentId,
        /// The trainee.
        person_id: PersonId,
        /// Kind of training.
        kind: TrainingKind,
        /// Course name.
        course: String,
        /// First day.
        starts_on: NaiveDate,
    },
    /// A person finished a training.
    TrainingCompleted {
        /// The enrolment.
        enrolment_id: EnrolmentId,
        /// The trainee.
        person_id: PersonId,
        /// Last day.
        on: NaiveDate,
        /// A certificate was obtained.
        certified: bool,
    },
    /// A student was enrolled in the Rain and Dew Plan for a semester.
    RainAndDewEnrolled {
        /// The enrolment.
        enrolment_id: EnrolmentId,
        /// The student.
        person_id: PersonId,
        /// The student's household.
        household_id: HouseholdId,
        /// School.
        school: String,
        /// First day of the term, when eligibility was judged.
        term_starts_on: NaiveDate,
        /// Subsidy for the semester, fen.
        subsidy_fen: i64,
    },
    /// A fact learnt from the registry's events, recorded so that this context's reference view
    /// is rebuilt from its own store (never from the registry's database).
    RegistryFactRecorded {
        /// The fact.
        fact: RegistryFact,
        /// Id of the registry event it was learnt from.
        source_event_id: String,
    },
}

impl EmploymentEvent {
    /// The stream the event belongs to.
    pub fn stream_id(&self) -> String {
        use EmploymentEvent::*;
        match self {
            SpellStarted { person_id, .. }
            | SpellEnded { person_id, .. }
            | SpellCorrected { person_id, .. }
            | JobLossRiskRaised { person_id, .. }
            | FollowUpRecorded { person_id, .. }
            | PostAssigned { person_id, .. }
            | PostAssignmentEnded { person_id, .. }
            | TrainingEnrolled { person_id, .. }
            | TrainingCompleted { person_id, .. }
            | RainAndDewEnrolled { person_id, .. } => person_id.stream_id(),
            PostCreated { post_id, .. } | PostSubsidyPaid { post_id, .. } => post_id.stream_id(),
            WorkshopRegistered { workshop_id, .. }
            | WorkshopClassified { workshop_id, .. }
            | WorkshopWorkersReported { workshop_id, .. } => workshop_id.stream_id(),
            RegistryFactRecorded { fact, .. } => fact.stream_id(),
        }
    }

    /// The event type: the protobuf message name the payload will have, e.g.
    /// `bottomline.employment.v1.SpellStarted`.
    pub fn event_type(&self) -> &'static str {
        use EmploymentEvent::*;
        match self {
            SpellStarted { .. } => "bottomline.employment.v1.SpellStarted",
            SpellEnded { .. } => "bottomline.employment.v1.SpellEnded",
            SpellCorrected { .. } => "bottomline.employment.v1.SpellCorrected",
            JobLossRiskRaised { .. } => "bottomline.employment.v1.JobLossRiskRaised",
            FollowUpRecorded { .. } => "bottomline.employment.v1.FollowUpRecorded",
            PostCreated { .. } => "bottomline.employment.v1.PostCreated",
            PostAssigned { .. } => "bottomline.employment.v1.PostAssigned",
            PostAssignmentEnded { .. } => "bottomline.employment.v1.PostAssignmentEnded",
            PostSubsidyPaid { .. } => "bottomline.employment.v1.PostSubsidyPaid",
            WorkshopRegistered { .. } => "bottomline.employment.v1.WorkshopRegistered",
            WorkshopClassified { .. } => "bottomline.employment.v1.WorkshopClassified",
            WorkshopWorkersReported { .. } => "bottomline.employment.v1.WorkshopWorkersReported",
            TrainingEnrolled { .. } => "bottomline.employment.v1.TrainingEnrolled",
            TrainingCompleted { .. } => "bottomline.employment.v1.TrainingCompleted",
            RainAndDewEnrolled { .. } => "bottomline.employment.v1.RainAndDewEnrolled",
            RegistryFactRecorded { fact, .. } => match fact {
                RegistryFact::HouseholdKnown { .. } => {
                    "bottomline.employment.v1.RegistryHouseholdKnown"
                }
                RegistryFact::PersonKnown { .. } => "bottomline.employment.v1.RegistryPersonKnown",
                RegistryFact::LabourCapacityChanged { .. } => {
                    "bottomline.employment.v1.RegistryLabourCapacityChanged"
                }
                RegistryFact::PersonExited { .. } => {
                    "bottomline.employment.v1.RegistryPersonExited"
                }
                RegistryFact::HouseholdMonitored { .. } => {
                    "bottomline.employment.v1.RegistryHouseholdMonitored"
                }
                RegistryFact::HouseholdRiskEliminated { .. } => {
                    "bottomline.employment.v1.RegistryHouseholdRiskEliminated"
                }
                RegistryFact::HouseholdRiskReturned { .. } => {
                    "bottomline.employment.v1.RegistryHouseholdRiskReturned"
                }
            },
        }
    }
}
