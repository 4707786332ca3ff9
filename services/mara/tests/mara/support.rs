//! Fixtures: a fresh read model with its query service, and a hand-built event log.

use std::collections::HashMap;
use std::sync::Arc;

use eventstore::testing::TestDatabase;
use eventstore::{Backend, RecordedEvent};
use mara::{MaraProjection, MaraQuery};
use projector::{BatchReport, Delivery, Projector};
use prost::Message;
use proto::common::v1::CivilDate;
use proto::registry::v1 as pb;
use registry_domain::{DivisionCatalog, KeyCounties, MonitoringRules};
use tonic::{Code, Status};
use tonic_types::StatusExt;

const DIVISIONS: &str = include_str!("../../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../../deploy/reference-data/key-counties-2021-partial.tsv");

pub(crate) use eventstore::on_every_backend;

/// A fresh read model, its projector and the query service over it.
pub struct Fixture {
    pub projector: Projector<MaraProjection>,
    pub query: MaraQuery,
    _db: TestDatabase,
}

impl Fixture {
    /// `None` when the backend is not configured (PostgreSQL without its URL).
    pub async fn new(backend: Backend) -> Option<Fixture> {
        let db = TestDatabase::new(backend).await?;
        let projector = Projector::open(MaraProjection::new(), &db.url)
            .await
            .expect("open projector");
        let catalog = Arc::new(DivisionCatalog::from_tsv(DIVISIONS).expect("division list"));
        let key = Arc::new(KeyCounties::from_tsv(KEY_COUNTIES).expect("key-county list"));
        let query = MaraQuery::new(
            projector.pool().clone(),
            catalog,
            key,
            MonitoringRules::default(),
        );
        Some(Fixture {
            projector,
            query,
            _db: db,
        })
    }

    /// Applies everything in `log` as one batch.
    pub async fn apply(&self, log: &mut Log) -> BatchReport {
        self.projector
            .apply_batch(&log.take(), &[])
            .await
            .expect("apply batch")
    }
}

/// A civil date.
pub fn date(year: i32, month: i32, day: i32) -> CivilDate {
    CivilDate { year, month, day }
}

/// Events built by hand, as the registry would record them.
#[derive(Default)]
pub struct Log {
    position: i64,
    versions: HashMap<String, u64>,
    pending: Vec<Delivery>,
    /// County of each household added so far (persons carry their household's county).
    counties: HashMap<String, String>,
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

    /// Appends a registry event: the type is the message's full proto name.
    pub fn event<M: Message>(&mut self, stream: &str, name: &str, message: M) -> &mut Self {
        self.raw(
            stream,
            &format!("bottomline.registry.v1.{name}"),
            message.encode_to_vec(),
        )
    }

    /// The events appended since the last call.
    pub fn take(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.pending)
    }

    pub fn household(&mut self, id: &str, village: &str, alleviated: bool) -> &mut Self {
        self.counties
            .insert(id.to_string(), village[..6].to_string());
        let message = pb::HouseholdRegistered {
            household_id: id.into(),
            village_code: village.into(),
            county_code: village[..6].into(),
            poverty_alleviated: alleviated,
            relocated: false,
            settlement_area: String::new(),
        };
        self.event(&format!("household-{id}"), "HouseholdRegistered", message)
    }

    pub fn person(&mut self, id: &str, household: &str, capacity: pb::LabourCapacity) -> &mut Self {
        let county = self
            .counties
            .get(household)
            .cloned()
            .unwrap_or_else(|| "150422".into());
        self.person_in(id, household, &county, capacity)
    }

    /// A person whose household's county is given explicitly (its household may come later).
    pub fn person_in(
        &mut self,
        id: &str,
        household: &str,
        county: &str,
        capacity: pb::LabourCapacity,
    ) -> &mut Self {
        let message = pb::PersonRegistered {
            person_id: id.into(),
            household_id: household.into(),
            id_hash: format!("hash-{id}"),
            id_masked: "150422********123X".into(),
            name: String::new(),
            sex: pb::Sex::Female as i32,
            birth_date: Some(date(1980, 5, 17)),
            relation: pb::Relation::Head as i32,
            labour_capacity: capacity as i32,
            disabled: false,
            county_code: county.into(),
        };
        self.event(&format!("person-{id}"), "PersonRegistered", message)
    }

    pub fn capacity(
        &mut self,
        id: &str,
        household: &str,
        from: pb::LabourCapacity,
        to: pb::LabourCapacity,
    ) -> &mut Self {
        let message = pb::LabourCapacityChanged {
            person_id: id.into(),
            household_id: household.into(),
            from: from as i32,
            to: to as i32,
            effective_on: Some(date(2024, 4, 1)),
        };
        self.event(&format!("person-{id}"), "LabourCapacityChanged", message)
    }

    pub fn exit(&mut self, id: &str, household: &str) -> &mut Self {
        let message = pb::PersonExited {
            person_id: id.into(),
            household_id: household.into(),
            reason: pb::ExitReason::Emigration as i32,
            exit_date: Some(date(2024, 5, 1)),
            note: String::new(),
        };
        self.event(&format!("person-{id}"), "PersonExited", message)
    }

    pub fn open_case(
        &mut self,
        id: &str,
        household: &str,
        county: &str,
        lead: CivilDate,
    ) -> &mut Self {
        let message = pb::MonitoringCaseOpened {
            case_id: id.into(),
            household_id: household.into(),
            case_type: pb::CaseType::Marginal as i32,
            risk_factors: vec![pb::RiskFactor::JobLoss as i32],
            lead_source: pb::LeadSource::CadreVisit as i32,
            lead_date: Some(lead),
            county_code: county.into(),
        };
        self.event(&format!("case-{id}"), "MonitoringCaseOpened", message)
    }

    /// One stage forward, `days` after the lead on `on`; `breached` only matters for REGISTERED.
    pub fn advance(
        &mut self,
        id: &str,
        household: &str,
        to: pb::CaseStage,
        on: CivilDate,
        days: i32,
        breached: bool,
    ) -> &mut Self {
        let message = pb::MonitoringCaseAdvanced {
            case_id: id.into(),
            household_id: household.into(),
            from: to as i32 - 1,
            to: to as i32,
            on: Some(on),
            days_since_lead: days,
            identification_clock_breached: breached,
            note: String::new(),
        };
        self.event(&format!("case-{id}"), "MonitoringCaseAdvanced", message)
    }

    /// Six advances, LEAD → REGISTERED, the last one on `registered_on`, `days` after the lead.
    pub fn identify(
        &mut self,
        id: &str,
        household: &str,
        registered_on: CivilDate,
        days: i32,
        breached: bool,
    ) -> &mut Self {
        use pb::CaseStage::*;
        for stage in [
            HomeVerified,
            DataCompared,
            VillageReviewed,
            TownshipReviewed,
            CountyApproved,
        ] {
            self.advance(id, household, stage, registered_on, days, false);
        }
        self.advance(id, household, Registered, registered_on, days, breached)
    }

    pub fn measure(&mut self, id: &str, household: &str) -> &mut Self {
        let message = pb::AssistanceMeasureRecorded {
            case_id: id.into(),
            household_id: household.into(),
            kind: pb::AssistanceKind::Employment as i32,
            on: Some(date(2024, 6, 1)),
            description: "job referral".into(),
        };
        self.event(&format!("case-{id}"), "AssistanceMeasureRecorded", message)
    }

    pub fn eliminate(&mut self, id: &str, household: &str) -> &mut Self {
        let message = pb::RiskEliminated {
            case_id: id.into(),
            household_id: household.into(),
            on: Some(date(2024, 12, 20)),
            months_monitored: 6,
            months_income_above_line: 6,
        };
        self.event(&format!("case-{id}"), "RiskEliminated", message)
    }

    pub fn risk_returned(&mut self, id: &str, household: &str) -> &mut Self {
        let message = pb::RiskReturned {
            case_id: id.into(),
            household_id: household.into(),
            on: Some(date(2025, 2, 1)),
            reason: "job lost again".into(),
        };
        self.event(&format!("case-{id}"), "RiskReturned", message)
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
