//! Set-based writing keeps the meaning of one event at a time: the same log applied as one
//! batch and event by event gives the same read model.

use eventstore::Backend;
use proto::mara::v1::mara_query_service_server::MaraQueryService;
use proto::mara::v1::{ListCasesRequest, ListCountiesRequest, SummaryRequest};
use proto::registry::v1 as pb;
use tonic::Request;

use crate::support::{date, on_every_backend, Fixture, Log};

on_every_backend!(
    one_batch_equals_one_event_at_a_time,
    values_are_written_as_given,
    batches_of_hundreds_of_rows_are_written_whole
);

/// Registrations, second registrations of the same rows inside the run, a person before its
/// household, updates between registrations, and a poison event in the middle.
fn log() -> Log {
    let mut log = Log::default();
    // A stretch of registrations only, with the same rows registered again inside it.
    log.person("p3", "h2", pb::LabourCapacity::Ordinary)
        .household("h1", "150422100001", true)
        .household("h2", "150423100001", false)
        .person("p1", "h1", pb::LabourCapacity::Ordinary)
        .household("h1", "150422100001", false)
        .person("p2", "h1", pb::LabourCapacity::Weak)
        .open_case("c2", "h2", "150423", date(2024, 4, 1))
        .person("p1", "h1", pb::LabourCapacity::Weak)
        .open_case("c2", "h2", "150423", date(2024, 4, 2))
        .person("p4", "h2", pb::LabourCapacity::Ordinary)
        // Updates between registrations, and a poison one.
        .capacity(
            "p1",
            "h1",
            pb::LabourCapacity::Weak,
            pb::LabourCapacity::None,
        )
        .exit("p2", "h1")
        .open_case("c1", "h1", "150422", date(2024, 3, 1))
        .identify("c1", "h1", date(2024, 3, 10), 9, false)
        .measure("c1", "h1")
        .exit("nobody", "h1")
        .person("p4", "h2", pb::LabourCapacity::Weak)
        .measure("c2", "h2")
        .measure("c1", "h1");
    log
}

async fn one_batch_equals_one_event_at_a_time(backend: Backend) {
    let (Some(whole), Some(single)) = (Fixture::new(backend).await, Fixture::new(backend).await)
    else {
        return;
    };
    let parked =
        projector::testing::apply_both_ways(&whole.projector, &single.projector, log().take())
            .await;
    assert_eq!(parked, 1, "the exit of an unknown person is parked");
    for f in [&whole, &single] {
        assert!(f.projector.parked().await.unwrap()[0]
            .reason
            .contains("nobody"));
    }
    let (a, b) = (views(&whole).await, views(&single).await);
    assert_eq!(a, b);
    // And the figures themselves, counted from the log by hand: h1 re-registered as not
    // poverty-alleviated; four persons, p2 exited; c1 with two measures, c2 re-opened on 2 April.
    let counts = a.0.counts.unwrap();
    assert_eq!(
        (
            counts.households,
            counts.poverty_alleviated_households,
            counts.persons,
            counts.exited_persons,
            counts.monitoring_cases
        ),
        (2, 0, 3, 1, 2)
    );
    let measures: i64 =
        a.1.cases
            .iter()
            .map(|c| i64::from(c.assistance_measures))
            .sum();
    assert_eq!(measures, 3);
}

/// Text that means something to SQL or JSON (quotes, backslashes, a new line, non-ASCII) and
/// dates reach the tables exactly as the events carry them, whatever way a backend sends rows.
async fn values_are_written_as_given(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let area = "易地搬迁\"安置区\" 2\\3\n'); DROP TABLE mara_households; -- 🏠";
    let mut log = Log::default();
    log.event(
        "household-h1",
        "HouseholdRegistered",
        pb::HouseholdRegistered {
            household_id: "h1".into(),
            village_code: "150422100001".into(),
            county_code: "150422".into(),
            poverty_alleviated: true,
            relocated: true,
            settlement_area: area.into(),
        },
    )
    .person("p1", "h1", pb::LabourCapacity::Weak)
    .open_case("c1", "h1", "150422", date(2024, 2, 29));
    f.apply(&mut log).await;
    let household: (String, String, String, i64, i64, String) = sqlx::query_as(
        "SELECT village_code, county_code, province_code, poverty_alleviated, relocated, \
         settlement_area FROM mara_households WHERE household_id = 'h1'",
    )
    .fetch_one(f.projector.pool())
    .await
    .unwrap();
    assert_eq!(
        household,
        (
            "150422100001".into(),
            "150422".into(),
            "150000".into(),
            1,
            1,
            area.into()
        )
    );
    let person: (String, String, i64, i64) = sqlx::query_as(
        "SELECT household_id, county_code, labour_capacity, exited FROM mara_persons \
         WHERE person_id = 'p1'",
    )
    .fetch_one(f.projector.pool())
    .await
    .unwrap();
    let weak = pb::LabourCapacity::Weak as i64;
    assert_eq!(person, ("h1".into(), "150422".into(), weak, 0));
    let case: (String, i64, String, Option<String>, i64, i64, i64) = sqlx::query_as(
        "SELECT household_id, stage, lead_date, registered_on, days_to_register, clock_breached, \
         measures FROM mara_cases WHERE case_id = 'c1'",
    )
    .fetch_one(f.projector.pool())
    .await
    .unwrap();
    let lead = pb::CaseStage::Lead as i64;
    assert_eq!(
        case,
        ("h1".into(), lead, "2024-02-29".into(), None, -1, 0, 0)
    );
}

/// A batch with more rows per table than one statement takes (written in several, of prepared
/// sizes), and a second such batch over the same statements: every row is there.
async fn batches_of_hundreds_of_rows_are_written_whole(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    // One log: its positions go on from the first batch to the second.
    let mut log = Log::default();
    for batch in 0..2 {
        for h in 0..300 {
            let household = format!("h{batch}-{h}");
            log.household(&household, "150422100001", h % 3 == 0);
            // 400 persons: two in the first 100 households, one in the others.
            let persons = if h < 100 { 2 } else { 1 };
            for p in 0..persons {
                log.person(
                    &format!("p{batch}-{h}-{p}"),
                    &household,
                    pb::LabourCapacity::Ordinary,
                );
            }
        }
        let report = f.apply(&mut log).await;
        assert_eq!(report.applied, 700, "batch {batch}");
    }
    let counts = f
        .query
        .summary(Request::new(SummaryRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(
        (
            counts.households,
            counts.poverty_alleviated_households,
            counts.persons
        ),
        (600, 200, 800)
    );
}

/// What the queries show of a read model.
async fn views(
    f: &Fixture,
) -> (
    proto::mara::v1::SummaryResponse,
    proto::mara::v1::ListCasesResponse,
    proto::mara::v1::ListCountiesResponse,
) {
    let q = &f.query;
    let summary = q
        .summary(Request::new(SummaryRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let cases = q
        .list_cases(Request::new(ListCasesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let counties = q
        .list_counties(Request::new(ListCountiesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    (summary, cases, counties)
}
