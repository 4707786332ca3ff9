//! Fixtures: a fresh read model with its query service, and a hand-built event log of the
//! employment context.

use std::collections::HashMap;
use std::sync::Arc;

use employment_domain::PolicyBook;
use employment_views::{EmploymentQuery, EmploymentViewsProjection};
use eventstore::testing::TestDatabase;
use eventstore::{Backend, RecordedEvent};
use projector::{BatchReport, Delivery, Projector};
use prost::Message;
use proto::common::v1::CivilDate;
use proto::employment::v1 as pb;
use registry_domain::DivisionCatalog;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const DIVISIONS: &str = include_str!("../../../../deploy/reference-data/divisions-mca-202112.tsv");

pub(crate) use eventstore::on_every_backend;

/// A fresh read model, its projector and the query service over it.
pub struct Fixture {
    pub projector: Projector<EmploymentViewsProjection>,
    pub query: EmploymentQuery,
    _db: TestDatabase,
}

impl Fixture {
    /// `None` when the backend is not configured (PostgreSQL without its URL).
    pub async fn new(backend: Backend) -> Option<Fixture> {
        let db = TestDatabase::new(backend).await?;
        let projector = Projector::open(EmploymentViewsProjection::new(), &db.url)
            .await
            .expect("open projector");
        let catalog = Arc::new(DivisionCatalog::from_tsv(DIVISIONS).expect("division list"));
        let query = EmploymentQuery::new(
            projector.pool().clone(),
            catalog,
            Arc::new(PolicyBook::national()),
            0,
            projector.subscribe(),
        );
        Some(Fixture {
            projector,
            query,
            _db: db,
        })
    }

    /// Applies everything in `log` as one batch.
    pub async fn apply(&self, log: &mut Log) -> BatchReport {
        let report = self
            .projector
            .apply_batch(&log.take(), &[])
            .await
            .expect("apply batch");
        assert!(report.parked.is_empty(), "{:?}", report.parked);
        report
    }
}

/// A civil date.
pub fn date(year: i32, month: i32, day: i32) -> CivilDate {
    CivilDate { year, month, day }
}

/// Events built by hand, as the employment service would record them.
#[derive(Default)]
pub struct Log {
    position: i64,
    versions: HashMap<String, u64>,
    pending: Vec<Delivery>,
}

fn person_stream(person: &str) -> String {
    format!("employment-{person}")
}

impl Log {
    /// Appends an event with an arbitrary type and payload.
    pub fn raw(&mut self, stream: &str, event_type: &str, payload: Vec<u8>) -> &mut Self {
        self.position += 1;
        let version = self.versions.entry(stream.to_string()).or_insert(0);
        *version += 1;
        let event = RecordedEvent {
            event_id: uuid::Uuid::now_v7(),
            stream_id: stream.to_string(),
            stream_version: *version,
            position: self.position,
            tx_id: self.position,
            event_type: event_type.to_string(),
            occurred_at_micros: 1_700_000_000_000_000,
            recorded_at_micros: 1_700_000_000_000_000,
            command_id: format!("command-{}", self.position),
            correlation_id: String::new(),
            causation_id: String::new(),
            actor: "test".into(),
            traceparent: String::new(),
            payload,
            hash: Vec::new(),
        };
        self.pending.push(Delivery::of_event(event, "test".into()));
        self
    }

    /// Appends an employment event: the type is the message's full proto name.
    pub fn event<M: Message>(&mut self, stream: &str, name: &str, message: M) -> &mut Self {
        self.raw(
            stream,
            &format!("bottomline.employment.v1.{name}"),
            message.encode_to_vec(),
        )
    }

    /// The events appended since the last call.
    pub fn take(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.pending)
    }

    pub fn household(&mut self, id: &str, county: &str, alleviated: bool) -> &mut Self {
        let message = pb::RegistryHouseholdKnown {
            household_id: id.into(),
            county_code: county.into(),
            poverty_alleviated: alleviated,
            source_event_id: "registry-event".into(),
        };
        self.event(
            &format!("employment-household-{id}"),
            "RegistryHouseholdKnown",
            message,
        )
    }

    pub fn monitored(&mut self, household: &str) -> &mut Self {
        let message = pb::RegistryHouseholdMonitored {
            household_id: household.into(),
            from: Some(date(2024, 1, 1)),
            source_event_id: "registry-event".into(),
        };
        self.event(
            &format!("employment-household-{household}"),
            "RegistryHouseholdMonitored",
            message,
        )
    }

    pub fn risk_eliminated(&mut self, household: &str) -> &mut Self {
        let message = pb::RegistryHouseholdRiskEliminated {
            household_id: household.into(),
            on: Some(date(2024, 12, 1)),
            source_event_id: "registry-event".into(),
        };
        self.event(
            &format!("employment-household-{household}"),
            "RegistryHouseholdRiskEliminated",
            message,
        )
    }

    pub fn person(&mut self, id: &str, household: &str, county: &str, capable: bool) -> &mut Self {
        let message = pb::RegistryPersonKnown {
            person_id: id.into(),
            household_id: household.into(),
            birth_date: Some(date(1985, 6, 1)),
            county_code: county.into(),
            labour_capable: capable,
            source_event_id: "registry-event".into(),
        };
        self.event(&person_stream(id), "RegistryPersonKnown", message)
    }

    pub fn capacity(&mut self, id: &str, household: &str, capable: bool) -> &mut Self {
        let message = pb::RegistryLabourCapacityChanged {
            person_id: id.into(),
            household_id: household.into(),
            labour_capable: capable,
            source_event_id: "registry-event".into(),
        };
        self.event(&person_stream(id), "RegistryLabourCapacityChanged", message)
    }

    pub fn exit(&mut self, id: &str, household: &str) -> &mut Self {
        let message = pb::RegistryPersonExited {
            person_id: id.into(),
            household_id: household.into(),
            exit_date: Some(date(2024, 7, 1)),
            source_event_id: "registry-event".into(),
        };
        self.event(&person_stream(id), "RegistryPersonExited", message)
    }

    /// A spell of `person` in `household` (home county `county`).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        spell: &str,
        person: &str,
        household: &str,
        county: &str,
        class: pb::LocationClass,
        channel: pb::Channel,
        start: CivilDate,
    ) -> &mut Self {
        let message = pb::SpellStarted {
            spell_id: spell.into(),
            person_id: person.into(),
            household_id: household.into(),
            county_code: county.into(),
            terms: Some(terms(class, channel, start)),
        };
        self.event(&person_stream(person), "SpellStarted", message)
    }

    pub fn end(
        &mut self,
        spell: &str,
        person: &str,
        household: &str,
        on: CivilDate,
        reason: pb::EndReason,
    ) -> &mut Self {
        let message = pb::SpellEnded {
            spell_id: spell.into(),
            person_id: person.into(),
            household_id: household.into(),
            end_date: Some(on),
            reason: reason as i32,
            left_household_without_employment: false,
        };
        self.event(&person_stream(person), "SpellEnded", message)
    }

    pub fn correct(
        &mut self,
        spell: &str,
        person: &str,
        class: pb::LocationClass,
        channel: pb::Channel,
        start: CivilDate,
    ) -> &mut Self {
        let message = pb::SpellCorrected {
            spell_id: spell.into(),
            person_id: person.into(),
            terms: Some(terms(class, channel, start)),
            reason: "wrong start date".into(),
        };
        self.event(&person_stream(person), "SpellCorrected", message)
    }

    pub fn follow_up(&mut self, person: &str, household: &str, on: CivilDate) -> &mut Self {
        let message = pb::FollowUpRecorded {
            person_id: person.into(),
            household_id: household.into(),
            date: Some(on),
            channel: pb::FollowUpChannel::HomeVisit as i32,
            outcome: pb::FollowUpOutcome::JobReferral as i32,
        };
        self.event(&person_stream(person), "FollowUpRecorded", message)
    }

    pub fn job_loss(
        &mut self,
        person: &str,
        household: &str,
        spell: &str,
        on: CivilDate,
        monitored: bool,
        without_employment: bool,
    ) -> &mut Self {
        let message = pb::JobLossRiskRaised {
            person_id: person.into(),
            household_id: household.into(),
            spell_id: spell.into(),
            on: Some(on),
            monitored_household: monitored,
            household_without_employment: without_employment,
        };
        self.event(&person_stream(person), "JobLossRiskRaised", message)
    }

    pub fn post(&mut self, id: &str, county: &str, category: pb::PostCategory) -> &mut Self {
        let message = pb::PostCreated {
            post_id: id.into(),
            county_code: county.into(),
            category: category as i32,
            funding_source: "county".into(),
            monthly_subsidy_fen: 50_000,
            term_months: 12,
            starts_on: Some(date(2024, 1, 1)),
            band_min_fen: 40_000,
            band_max_fen: 200_000,
            band_source: "test".into(),
        };
        self.event(&format!("post-{id}"), "PostCreated", message)
    }

    pub fn assign(&mut self, post: &str, person: &str, on: CivilDate) -> &mut Self {
        let message = pb::PostAssigned {
            post_id: post.into(),
            person_id: person.into(),
            household_id: "h".into(),
            on: Some(on),
            age: 40,
            age_override_reason: String::new(),
        };
        self.event(&format!("post-{post}"), "PostAssigned", message)
    }

    pub fn unassign(&mut self, post: &str, person: &str, on: CivilDate) -> &mut Self {
        let message = pb::PostAssignmentEnded {
            post_id: post.into(),
            person_id: person.into(),
            on: Some(on),
            reason: pb::EndReason::ContractEnded as i32,
        };
        self.event(&format!("post-{post}"), "PostAssignmentEnded", message)
    }

    pub fn pay(&mut self, post: &str, person: &str, month: CivilDate, fen: i64) -> &mut Self {
        let message = pb::PostSubsidyPaid {
            post_id: post.into(),
            person_id: person.into(),
            month: Some(month),
            amount_fen: fen,
        };
        self.event(&format!("post-{post}"), "PostSubsidyPaid", message)
    }

    pub fn train(
        &mut self,
        enrolment: &str,
        person: &str,
        kind: pb::TrainingKind,
        starts: CivilDate,
    ) -> &mut Self {
        let message = pb::TrainingEnrolled {
            enrolment_id: enrolment.into(),
            person_id: person.into(),
            kind: kind as i32,
            course: "welding".into(),
            starts_on: Some(starts),
        };
        self.event(&person_stream(person), "TrainingEnrolled", message)
    }

    pub fn complete(&mut self, enrolment: &str, person: &str, certified: bool) -> &mut Self {
        let message = pb::TrainingCompleted {
            enrolment_id: enrolment.into(),
            person_id: person.into(),
            on: Some(date(2024, 9, 1)),
            certified,
        };
        self.event(&person_stream(person), "TrainingCompleted", message)
    }

    pub fn rain_and_dew(
        &mut self,
        enrolment: &str,
        person: &str,
        household: &str,
        term: CivilDate,
        fen: i64,
    ) -> &mut Self {
        let message = pb::RainAndDewEnrolled {
            enrolment_id: enrolment.into(),
            person_id: person.into(),
            household_id: household.into(),
            school: "vocational school".into(),
            term_starts_on: Some(term),
            subsidy_fen: fen,
        };
        self.event(&person_stream(person), "RainAndDewEnrolled", message)
    }
}

fn terms(class: pb::LocationClass, channel: pb::Channel, start: CivilDate) -> pb::SpellTerms {
    pb::SpellTerms {
        employer_uscc: "91350100M000100Y43".into(),
        place_of_work: "440300".into(),
        location_class: class as i32,
        channel: channel as i32,
        start_date: Some(start),
        monthly_income_fen: 400_000,
        evidence: pb::EvidenceSource::EmployerReport as i32,
    }
}

/// Asserts `status` is INVALID_ARGUMENT with a bad-request violation naming `field`.
pub fn assert_invalid(status: Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_request = status
        .get_details_bad_request()
        .expect("bad request details");
    let fields: Vec<&str> = bad_request
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, [field], "{status:?}");
}
