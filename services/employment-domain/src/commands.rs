//! Commands of the employment context, already converted from protobuf into domain types (ids
//! parsed, employer codes validated, enums without `UNSPECIFIED`). Whether a command is allowed is
//! decided by [`crate::state::EmploymentState::decide`].

use chrono::NaiveDate;

use crate::reference::RegistryFact;
use crate::types::{
    Channel, EndReason, EnrolmentId, EvidenceSource, FollowUpChannel, FollowUpOutcome,
    LocationClass, PersonId, PostCategory, PostId, SpellId, SpellTerms, TrainingKind,
    WorkshopClass2023, WorkshopId, WorkshopType,
};
use crate::uscc::Uscc;

/// A request to change the employment record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmploymentCommand {
    /// Record that a person started working.
    StartSpell {
        /// Id for the new spell.
        spell_id: SpellId,
        /// A known, not exited person.
        person_id: PersonId,
        /// The spell's facts: one open spell per employer; place a 6-digit division code; start
        /// not after today; income at least 0 fen.
        terms: SpellTerms,
    },
    /// Record that a spell ended.
    EndSpell {
        /// An open spell.
        spell_id: SpellId,
        /// Not before the start date, not after today.
        end_date: NaiveDate,
        /// Why.
        reason: EndReason,
    },
    /// Correct a spell's recorded facts; `None` keeps the recorded value.
    CorrectSpell {
        /// The spell.
        spell_id: SpellId,
        /// New employer.
        employer_uscc: Option<Uscc>,
        /// New place of work.
        place_of_work: Option<String>,
        /// New distance class.
        location_class: Option<LocationClass>,
        /// New channel.
        channel: Option<Channel>,
        /// New start date.
        start_date: Option<NaiveDate>,
        /// New monthly income.
        monthly_income_fen: Option<i64>,
        /// New evidence source.
        evidence: Option<EvidenceSource>,
        /// Why; must not be empty.
        reason: String,
    },
    /// Record a follow-up contact.
    RecordFollowUp {
        /// The worker.
        person_id: PersonId,
        /// Not after today.
        date: NaiveDate,
        /// How.
        channel: FollowUpChannel,
        /// What it led to.
        outcome: FollowUpOutcome,
    },
    /// Register an employment-assistance workshop.
    RegisterWorkshop {
        /// Id for the new workshop.
        workshop_id: WorkshopId,
        /// 1..=100 characters.
        name: String,
        /// Type.
        workshop_type: WorkshopType,
        /// 6-digit county.
        county_code: String,
        /// Not after today.
        registered_on: NaiveDate,
    },
    /// Give a workshop its 2023 classification.
    ClassifyWorkshop {
        /// The workshop.
        workshop_id: WorkshopId,
        /// Must differ from the current one.
        class: WorkshopClass2023,
        /// Not after today.
        on: NaiveDate,
    },
    /// Report the poverty-alleviated workers of a workshop for a month.
    ReportWorkshopWorkers {
        /// The workshop.
        workshop_id: WorkshopId,
        /// First day of a month, not after today's month nor before registration's month.
        month: NaiveDate,
        /// Workers.
        workers: u32,
    },
    /// Create a public-welfare post.
    CreatePost {
        /// Id for the new post.
        post_id: PostId,
        /// 6-digit county.
        county_code: String,
        /// Category.
        category: PostCategory,
        /// Funding source, 1..=100 characters.
        funding_source: String,
        /// Inside the province's band in force on `starts_on`.
        monthly_subsidy_fen: i64,
        /// 1..=60.
        term_months: u32,
        /// First day of the term.
        starts_on: NaiveDate,
    },
    /// Give a post to a person.
    AssignPost {
        /// A post not occupied.
        post_id: PostId,
        /// An eligible person without a post.
        person_id: PersonId,
        /// Inside the post's term, not after today.
        on: NaiveDate,
        /// Required when the person is older than the normal maximum age.
        age_override_reason: Option<String>,
    },
    /// End the current holder's assignment of a post.
    EndPostAssignment {
        /// An occupied post.
        post_id: PostId,
        /// Not before the assignment, not after today.
        on: NaiveDate,
        /// Why.
        reason: EndReason,
    },
    /// Record a month's subsidy payment for a post.
    RecordPostSubsidyPaid {
        /// The post.
        post_id: PostId,
        /// First day of the month paid for.
        month: NaiveDate,
        /// Fen, 1..=the post's monthly subsidy.
        amount_fen: i64,
    },
    /// Enrol a person in vocational training.
    EnrolTraining {
        /// Id for the enrolment.
        enrolment_id: EnrolmentId,
        /// A known, not exited person.
        person_id: PersonId,
        /// Kind.
        kind: TrainingKind,
        /// Course name, 1..=100 characters.
        course: String,
        /// First day.
        starts_on: NaiveDate,
    },
    /// Record that a training was completed.
    CompleteTraining {
        /// The enrolment.
        enrolment_id: EnrolmentId,
        /// Not before the start, not after today.
        on: NaiveDate,
        /// A certificate was obtained.
        certified: bool,
    },
    /// Enrol a student in the Rain and Dew Plan for a semester.
    EnrolRainAndDew {
        /// Id for the enrolment.
        enrolment_id: EnrolmentId,
        /// The student.
        person_id: PersonId,
        /// School, 1..=100 characters.
        school: String,
        /// First day of term; eligibility is judged on it.
        term_starts_on: NaiveDate,
    },
    /// Record a fact learnt from a registry event (delivered by the bus, possibly more than once:
    /// the service derives the command id from the registry event id). A `PersonExited` fact also
    /// ends what the person still holds, in the same decision (see
    /// [`crate::EmploymentState::react_to_exit`]).
    RecordRegistryFact {
        /// The fact.
        fact: RegistryFact,
        /// Id of the registry event it comes from.
        source_event_id: String,
    },
}

/// A registry person exited: end whatever they still hold. Delivered from the bus, possibly more
/// than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonExitedReaction {
    /// The person.
    pub person_id: PersonId,
    /// Exit date.
    pub exit_date: NaiveDate,
}
