//! The employment service as MOHRSS and MARA users meet it over gRPC, embedded and on PostgreSQL +
//! Kafka: persons learnt from registry events, the post and spell rules refusing bad commands
//! without changing anything, a job loss reaching the follow-up queue and the risk view, and a
//! registry exit ending a spell and a post exactly once even when the exit is delivered twice.

use std::time::Instant;

use bottomline::app::App;
use e2e_tests::{
    channel, citizen_id, civil, distributed_config, embedded_config, eventually, kafka_lock,
    registry_client, start, uscc,
};
use employment::RegistryIntake;
use projector::Projection;
use proto::employment::v1::employment_query_service_client::EmploymentQueryServiceClient;
use proto::employment::v1::employment_service_client::EmploymentServiceClient;
use proto::employment::v1::{
    AssignPostRequest, Channel as JobChannel, CreatePostRequest, EmployedScaleRequest, EndReason,
    EndSpellRequest, EvidenceSource, FollowUpChannel, FollowUpOutcome, FollowUpQueueRequest,
    HouseholdsLostWorkRequest, LocationClass, PostCategory, PostOccupancyRequest,
    RecordFollowUpRequest, SpellTerms, StartSpellRequest, SuspiciousPatternsRequest,
};
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use proto::registry::v1::{
    AdvanceMonitoringCaseRequest, CaseStage, CaseType, ExitReason, LabourCapacity, LeadSource,
    OpenMonitoringCaseRequest, RecordExitRequest, RegisterHouseholdRequest, RegisterPersonRequest,
    Relation, RiskFactor,
};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

/// 巴林左旗, a national key county in Inner Mongolia.
const COUNTY: &str = "150422";
const VILLAGE: &str = "150422100001";

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

pub(crate) struct Clients {
    pub(crate) registry: RegistryServiceClient<Channel>,
    pub(crate) employment: EmploymentServiceClient<Channel>,
    pub(crate) views: EmploymentQueryServiceClient<Channel>,
}

async fn clients(endpoint: &str) -> Clients {
    Clients {
        registry: registry_client(endpoint).await,
        employment: EmploymentServiceClient::new(channel(endpoint).await),
        views: EmploymentQueryServiceClient::new(channel(endpoint).await),
    }
}

/// A household with one member per `(birth date, sequence)`; returns (household, persons).
pub(crate) async fn household(
    c: &mut Clients,
    poverty_alleviated: bool,
    members: &[(&str, u16)],
) -> (String, Vec<String>) {
    let household = c
        .registry
        .register_household(RegisterHouseholdRequest {
            command_id: new_id(),
            village_code: VILLAGE.into(),
            poverty_alleviated,
            relocated: false,
            settlement_area: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .household_id;
    let mut persons = Vec::new();
    for (i, (birth, sequence)) in members.iter().enumerate() {
        let person = c
            .registry
            .register_person(RegisterPersonRequest {
                command_id: new_id(),
                household_id: household.clone(),
                citizen_id: citizen_id(COUNTY, birth, *sequence),
                name: "测试".into(),
                relation: if i == 0 {
                    Relation::Head
                } else {
                    Relation::Spouse
                } as i32,
                labour_capacity: LabourCapacity::Ordinary as i32,
                disabled: false,
            })
            .await
            .unwrap()
            .into_inner()
            .person_id;
        persons.push(person);
    }
    (household, persons)
}

/// Takes a household's monitoring case from lead to registered (2026-09-01 .. 2026-09-12).
async fn monitor(c: &mut Clients, household: &str) {
    let case = c
        .registry
        .open_monitoring_case(OpenMonitoringCaseRequest {
            command_id: new_id(),
            household_id: household.into(),
            case_type: CaseType::UnstableAlleviated as i32,
            risk_factors: vec![RiskFactor::JobLoss as i32],
            lead_source: LeadSource::CadreVisit as i32,
            lead_date: civil(2026, 9, 1),
        })
        .await
        .unwrap()
        .into_inner()
        .case_id;
    let steps = [
        (CaseStage::HomeVerified, 2),
        (CaseStage::DataCompared, 3),
        (CaseStage::VillageReviewed, 4),
        (CaseStage::TownshipReviewed, 10),
        (CaseStage::CountyApproved, 11),
        (CaseStage::Registered, 12),
    ];
    for (to, day) in steps {
        c.registry
            .advance_monitoring_case(AdvanceMonitoringCaseRequest {
                command_id: new_id(),
                case_id: case.clone(),
                to: to as i32,
                on: civil(2026, 9, day),
                note: "e2e".into(),
            })
            .await
            .unwrap();
    }
}

fn terms(start: (i32, i32, i32), class: LocationClass) -> Option<SpellTerms> {
    Some(SpellTerms {
        employer_uscc: uscc("150422", 7),
        place_of_work: "440303".into(),
        location_class: class as i32,
        channel: JobChannel::OrganisedLabourExport as i32,
        start_date: civil(start.0, start.1, start.2),
        monthly_income_fen: 450_000,
        evidence: EvidenceSource::EmployerReport as i32,
    })
}

pub(crate) fn start_spell(spell: &str, person: &str, start: (i32, i32, i32)) -> StartSpellRequest {
    StartSpellRequest {
        command_id: new_id(),
        spell_id: spell.into(),
        person_id: person.into(),
        terms: terms(start, LocationClass::OutOfProvince),
    }
}

/// Starts a spell, retrying while the employment intake has not learnt the person yet.
pub(crate) async fn start_when_known(c: &mut Clients, request: StartSpellRequest) {
    eventually("the employment service to know the person", || {
        let (mut employment, request) = (c.employment.clone(), request.clone());
        async move {
            match employment.start_spell(request).await {
                Ok(_) => Some(()),
                Err(s) if s.code() == Code::NotFound => None,
                Err(s) => panic!("start spell refused: {s:?}"),
            }
        }
    })
    .await;
}

fn create_post(post: &str, subsidy_fen: i64) -> CreatePostRequest {
    CreatePostRequest {
        command_id: new_id(),
        post_id: post.into(),
        county_code: COUNTY.into(),
        category: PostCategory::Ordinary as i32,
        funding_source: "衔接推进乡村振兴补助资金".into(),
        monthly_subsidy_fen: subsidy_fen,
        term_months: 12,
        starts_on: civil(2026, 1, 1),
    }
}

fn assign(post: &str, person: &str, override_reason: &str) -> AssignPostRequest {
    AssignPostRequest {
        command_id: new_id(),
        post_id: post.into(),
        person_id: person.into(),
        on: civil(2026, 2, 1),
        age_override_reason: override_reason.into(),
    }
}

/// The rule named in a FAILED_PRECONDITION status.
fn rule_of(status: &Status) -> String {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let details = status.get_error_details();
    let failure = details
        .precondition_failure()
        .expect("precondition failure details");
    failure.violations[0].subject.clone()
}

/// The field named in an INVALID_ARGUMENT status.
fn field_of(status: &Status) -> String {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    details
        .bad_request()
        .expect("bad request details")
        .field_violations[0]
        .field
        .clone()
}

/// Events in one stream of the employment store.
async fn stream_len(app: &App, stream: &str) -> usize {
    app.employment()
        .unwrap()
        .store()
        .read_stream(stream, 1)
        .await
        .unwrap()
        .len()
}

/// The whole scenario against a running app.
async fn scenario(app: &App) {
    let endpoint = app.endpoint();
    let mut c = clients(&endpoint).await;
    let (_worker_household, worker) = household(&mut c, true, &[("19900101", 11)]).await;
    let (_elder_household, elder) = household(&mut c, true, &[("19550301", 13)]).await;
    let (monitored, loser) = household(&mut c, false, &[("19880808", 15)]).await;
    monitor(&mut c, &monitored).await;
    let (a, elder, loser) = (&worker[0], &elder[0], &loser[0]);

    // A spell for the worker, once the intake has learnt them from the registry's events.
    let spell_a = new_id();
    start_when_known(&mut c, start_spell(&spell_a, a, (2026, 1, 5))).await;
    let post = new_id();
    c.employment
        .create_post(create_post(&post, 100_000))
        .await
        .unwrap();
    // The household's poverty status is its own fact, on its own Kafka partition: it may reach
    // the employment service after the person (eligibility says "neither … poverty-alleviated"
    // until it does).
    eventually("the employment service to know the household", || {
        let (mut employment, request) = (c.employment.clone(), assign(&post, a, ""));
        async move {
            match employment.assign_post(request).await {
                Ok(_) => Some(()),
                Err(s)
                    if s.code() == Code::FailedPrecondition
                        && s.message().contains("rule post_eligibility") =>
                {
                    None
                }
                Err(s) => panic!("assignment refused: {s:?}"),
            }
        }
    })
    .await;

    // Refusals: each names its reason and leaves the streams it would touch as they were.
    let second_post = new_id();
    let above_band = c
        .employment
        .create_post(create_post(&second_post, 300_000))
        .await
        .unwrap_err();
    assert_eq!(rule_of(&above_band), "subsidy_band", "{above_band:?}");
    assert_eq!(stream_len(app, &format!("post-{second_post}")).await, 0);
    for county in ["150400", "159999"] {
        let unknown = c
            .employment
            .create_post(CreatePostRequest {
                county_code: county.into(),
                ..create_post(&second_post, 100_000)
            })
            .await
            .unwrap_err();
        assert_eq!(field_of(&unknown), "county_code", "{unknown:?}");
    }
    c.employment
        .create_post(create_post(&second_post, 120_000))
        .await
        .unwrap();
    let touched = [
        format!("employment-{a}"),
        format!("employment-{elder}"),
        format!("post-{second_post}"),
    ];
    // The intake may not have recorded the elder's registration yet: its fact landing between
    // the count and the refusal would look like a write by the refusal.
    eventually("the intake to record the elder", || async {
        (stream_len(app, &touched[1]).await > 0).then_some(())
    })
    .await;
    let mut before = Vec::new();
    for stream in &touched {
        before.push(stream_len(app, stream).await);
    }
    let two_posts = c
        .employment
        .assign_post(assign(&second_post, a, ""))
        .await
        .unwrap_err();
    assert_eq!(rule_of(&two_posts), "one_post", "{two_posts:?}");
    let too_old = c
        .employment
        .assign_post(assign(&second_post, elder, ""))
        .await
        .unwrap_err();
    assert_eq!(rule_of(&too_old), "post_age", "{too_old:?}");
    assert!(
        too_old.message().contains(" is 70 on 2026-02-01"),
        "{too_old:?}"
    );
    let end_before_start = c
        .employment
        .end_spell(EndSpellRequest {
            command_id: new_id(),
            spell_id: spell_a.clone(),
            end_date: civil(2025, 12, 31),
            reason: EndReason::Dismissed as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(
        field_of(&end_before_start),
        "end_date",
        "{end_before_start:?}"
    );
    for (stream, len) in touched.iter().zip(before) {
        assert_eq!(
            stream_len(app, stream).await,
            len,
            "a refusal wrote to {stream}"
        );
    }

    // A post holder working out of province is a suspicious pattern MARA sees.
    let mut views = c.views.clone();
    eventually(
        "the out-of-province post holder in the suspicious patterns",
        || {
            let mut views = views.clone();
            let a = a.clone();
            async move {
                let rows = views
                    .suspicious_patterns(SuspiciousPatternsRequest::default())
                    .await
                    .unwrap()
                    .into_inner()
                    .rows;
                rows.iter().any(|r| r.person_id == a).then_some(())
            }
        },
    )
    .await;

    // A job loss in a monitored household: the follow-up queue (MOHRSS) and the risk view (MARA).
    let spell_l = new_id();
    start_when_known(&mut c, start_spell(&spell_l, loser, (2026, 3, 1))).await;
    let ack = c
        .employment
        .end_spell(EndSpellRequest {
            command_id: new_id(),
            spell_id: spell_l.clone(),
            end_date: civil(2026, 10, 20),
            reason: EndReason::Dismissed as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ack.event_types,
        [
            "bottomline.employment.v1.SpellEnded",
            "bottomline.employment.v1.JobLossRiskRaised"
        ]
    );
    let ended = Instant::now();
    let queue_request = FollowUpQueueRequest {
        as_of: civil(2026, 11, 1),
        follow_up_days: Some(7),
        ..Default::default()
    };
    let row = eventually("the job loss in the follow-up queue", || {
        let (mut views, request, loser) = (views.clone(), queue_request.clone(), loser.clone());
        async move {
            let rows = views
                .follow_up_queue(request)
                .await
                .unwrap()
                .into_inner()
                .rows;
            rows.into_iter().find(|r| r.person_id == loser)
        }
    })
    .await;
    eprintln!(
        "job loss reached the follow-up queue {:?} after the command",
        ended.elapsed()
    );
    assert_eq!(row.days_since_end, 12);
    assert_eq!(row.follow_up_due, civil(2026, 10, 27));
    assert!(row.overdue);
    assert!(row.monitored_household);
    assert_eq!(row.end_date, civil(2026, 10, 20));
    let lost = views
        .households_lost_work(HouseholdsLostWorkRequest {
            monitored_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(
        (
            lost[0].household_id.as_str(),
            lost[0].person_id.as_str(),
            lost[0].spell_id.as_str()
        ),
        (monitored.as_str(), loser.as_str(), spell_l.as_str())
    );
    assert!(lost[0].household_without_employment);
    eprintln!(
        "job loss reached the risk view {:?} after the command",
        ended.elapsed()
    );

    // A follow-up takes the person off the queue.
    c.employment
        .record_follow_up(RecordFollowUpRequest {
            command_id: new_id(),
            person_id: loser.clone(),
            date: civil(2026, 10, 28),
            channel: FollowUpChannel::HomeVisit as i32,
            outcome: FollowUpOutcome::TrainingReferral as i32,
        })
        .await
        .unwrap();
    eventually("the followed-up person to leave the queue", || {
        let (mut views, request, loser) = (views.clone(), queue_request.clone(), loser.clone());
        async move {
            let rows = views
                .follow_up_queue(request)
                .await
                .unwrap()
                .into_inner()
                .rows;
            (!rows.iter().any(|r| r.person_id == loser)).then_some(())
        }
    })
    .await;

    // October 2026: the worker and the loser were employed (distinct persons).
    let october = views
        .employed_scale(EmployedScaleRequest {
            month: civil(2026, 10, 1),
            county_code: COUNTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(october.employed, 2);
    assert_eq!(october.previous_year_employed, 0);
    assert_eq!(october.target.map(|t| t.employed), Some(30_000_000));

    // The worker exits the registry: the spell and the post end once, with the exit date.
    c.registry
        .record_exit(RecordExitRequest {
            command_id: new_id(),
            person_id: a.clone(),
            reason: ExitReason::Emigration as i32,
            exit_date: civil(2026, 10, 15),
            note: String::new(),
        })
        .await
        .unwrap();
    let stream = format!("employment-{a}");
    let person_events = eventually("the exit reaction in the employment store", || {
        let (store, stream) = (app.employment().unwrap().store().clone(), stream.clone());
        async move {
            let events = store.read_stream(&stream, 1).await.unwrap();
            events
                .iter()
                .any(|e| e.event_type.ends_with("RegistryPersonExited"))
                .then_some(events)
        }
    })
    .await;
    // Deliver the registry's exit event a second time, straight to the intake.
    let exit = app
        .registry()
        .unwrap()
        .store()
        .read_stream(&format!("person-{a}"), 1)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "bottomline.registry.v1.PersonExited")
        .expect("the registry recorded the exit");
    let intake = RegistryIntake::new(app.employment().unwrap().clone());
    let mut scratch = scratch_connection().await;
    intake.apply(&mut scratch, &exit).await.unwrap();
    intake.before_commit().await.unwrap();
    let after = app
        .employment()
        .unwrap()
        .store()
        .read_stream(&stream, 1)
        .await
        .unwrap();
    assert_eq!(
        after.len(),
        person_events.len(),
        "a redelivered exit wrote nothing"
    );
    let count = |t: &str| after.iter().filter(|e| e.event_type.ends_with(t)).count();
    assert_eq!(count("RegistryPersonExited"), 1);
    assert_eq!(count("SpellEnded"), 1);
    assert_eq!(count("PostAssignmentEnded"), 1);
    eventually("the post to be vacant again", || {
        let mut views = views.clone();
        async move {
            let rows = views
                .post_occupancy(PostOccupancyRequest::default())
                .await
                .unwrap()
                .into_inner()
                .rows;
            let occupied: i64 = rows.iter().map(|r| r.occupied).sum();
            let posts: i64 = rows.iter().map(|r| r.posts).sum();
            (posts == 2 && occupied == 0).then_some(())
        }
    })
    .await;
    // A start date after today is named by its request path.
    let future = c
        .employment
        .start_spell(StartSpellRequest {
            terms: terms((2100, 1, 1), LocationClass::OutOfProvince),
            ..start_spell(&new_id(), loser, (2026, 1, 1))
        })
        .await
        .unwrap_err();
    assert_eq!(field_of(&future), "terms.start_date", "{future:?}");
    // Nothing is recorded for an exited person any more.
    let exited = c
        .employment
        .start_spell(start_spell(&new_id(), a, (2026, 10, 20)))
        .await
        .unwrap_err();
    assert_eq!(rule_of(&exited), "person_exited", "{exited:?}");
    let suspicious = views
        .suspicious_patterns(SuspiciousPatternsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .rows;
    assert!(suspicious.is_empty(), "{suspicious:?}");
}

/// A connection the intake ignores (it writes to the employment store, not this one).
async fn scratch_connection() -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect("sqlite::memory:")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employment_rules_reactions_and_views_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    scenario(&app).await;
    // A dashboard still watching does not keep the server from stopping.
    let mut views = clients(&app.endpoint()).await.views;
    let mut watch = views
        .watch_post_occupancy(PostOccupancyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(watch.message().await.unwrap().is_some());
    tokio::time::timeout(std::time::Duration::from_secs(15), app.stop())
        .await
        .expect("stop with a watch open");
    let end = watch.message().await;
    assert!(
        matches!(&end, Err(s) if s.code() == Code::Unavailable) || matches!(end, Ok(None)),
        "{end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employment_rules_reactions_and_views_on_postgres_and_kafka() {
    let Some((config, _database, _dir)) = distributed_config().await else {
        return;
    };
    let _kafka = kafka_lock().await;
    let app = start(config).await;
    scenario(&app).await;
    app.stop().await;
}
