//! Zero-employment households and households that lost work, including deliveries out of order
//! across streams.

use eventstore::Backend;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    Channel, EndReason, HouseholdsLostWorkRequest, LocationClass, ZeroEmploymentHouseholdRow,
    ZeroEmploymentHouseholdsRequest,
};
use tonic::Request;

use crate::support::{date, on_every_backend, Fixture, Log};

on_every_backend!(
    zero_employment_follows_spells_and_exits,
    facts_in_any_stream_order_end_in_the_same_view,
    households_that_lost_work_newest_first,
);

async fn zero(
    f: &Fixture,
    request: ZeroEmploymentHouseholdsRequest,
) -> Vec<ZeroEmploymentHouseholdRow> {
    f.query
        .zero_employment_households(Request::new(request))
        .await
        .unwrap()
        .into_inner()
        .rows
}

fn start(log: &mut Log, spell: &str, person: &str, household: &str) {
    log.start(
        spell,
        person,
        household,
        "150422",
        LocationClass::InCityOutOfCounty,
        Channel::Flexible,
        date(2024, 2, 1),
    );
}

async fn zero_employment_follows_spells_and_exits(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("h1", "150422", true)
        .monitored("h1")
        .person("p1", "h1", "150422", true)
        .person("p2", "h1", "150422", false)
        // h2: nobody can work, never listed.
        .household("h2", "150422", true)
        .person("p3", "h2", "150422", false);
    start(&mut log, "s1", "p1", "h1");
    f.apply(&mut log).await;
    assert!(zero(&f, Default::default()).await.is_empty());

    // The last open spell ends: h1 has labour and nobody employed.
    log.end("s1", "p1", "h1", date(2024, 5, 10), EndReason::Dismissed);
    f.apply(&mut log).await;
    let rows = zero(&f, Default::default()).await;
    assert_eq!(
        rows,
        [ZeroEmploymentHouseholdRow {
            household_id: "h1".into(),
            county_code: "150422".into(),
            labour_capable_members: 1,
            monitored: true,
            poverty_alleviated: true,
            since: Some(date(2024, 5, 10)),
        }]
    );
    let monitored_only = ZeroEmploymentHouseholdsRequest {
        monitored_only: true,
        ..Default::default()
    };
    assert_eq!(zero(&f, monitored_only.clone()).await.len(), 1);
    let elsewhere = ZeroEmploymentHouseholdsRequest {
        province_code: "510000".into(),
        ..Default::default()
    };
    assert!(zero(&f, elsewhere).await.is_empty());

    // p2 (not counted as labour) finds work: somebody is employed, h1 leaves the view.
    start(&mut log, "s2", "p2", "h1");
    f.apply(&mut log).await;
    assert!(zero(&f, Default::default()).await.is_empty());

    // p2 exits: an exited member's spell does not employ the household.
    log.exit("p2", "h1");
    f.apply(&mut log).await;
    assert_eq!(zero(&f, Default::default()).await.len(), 1);

    // Risk eliminated: no longer monitored.
    log.risk_eliminated("h1");
    f.apply(&mut log).await;
    assert!(zero(&f, monitored_only).await.is_empty());

    // p1 loses labour capacity: nobody can work any more.
    log.capacity("p1", "h1", false);
    f.apply(&mut log).await;
    assert!(zero(&f, Default::default()).await.is_empty());
}

/// Kafka partitions by stream: a person's record (own stream) may arrive before the household's
/// facts, and a household's monitoring before its registration fact.
async fn facts_in_any_stream_order_end_in_the_same_view(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.monitored("h9").person("p9", "h9", "510723", true);
    start(&mut log, "s9", "p9", "h9");
    log.end("s9", "p9", "h9", date(2024, 3, 1), EndReason::Health);
    f.apply(&mut log).await;
    // The household is known through its member (county) and its monitoring, not yet registered.
    let rows = zero(&f, Default::default()).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].county_code.as_str(),
            rows[0].monitored,
            rows[0].poverty_alleviated
        ),
        ("510723", true, false)
    );
    // The household's own facts arrive last; monitoring is kept.
    log.household("h9", "510723", true);
    f.apply(&mut log).await;
    let rows = zero(&f, Default::default()).await;
    assert_eq!(
        (
            rows[0].county_code.as_str(),
            rows[0].monitored,
            rows[0].poverty_alleviated
        ),
        ("510723", true, true)
    );
    assert_eq!(rows[0].labour_capable_members, 1);
}

async fn households_that_lost_work_newest_first(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.job_loss("p1", "h1", "s1", date(2024, 3, 1), true, false)
        .job_loss("p2", "h2", "s2", date(2024, 4, 1), false, true)
        .job_loss("p3", "h3", "s3", date(2024, 5, 1), true, true)
        // Counties learnt later, from other streams (h3 only through its member).
        .household("h1", "150422", true)
        .household("h2", "510723", true)
        .person("p3", "h3", "150422", true);
    f.apply(&mut log).await;
    let lost = |request: HouseholdsLostWorkRequest| {
        let q = f.query.clone();
        async move {
            q.households_lost_work(Request::new(request))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let all = lost(Default::default()).await;
    let order: Vec<&str> = all.rows.iter().map(|r| r.household_id.as_str()).collect();
    assert_eq!(order, ["h3", "h2", "h1"]);
    assert_eq!(all.rows[0].county_code, "150422");
    assert_eq!(all.rows[0].on, Some(date(2024, 5, 1)));
    assert!(all.rows[0].monitored_household && all.rows[0].household_without_employment);

    let monitored = lost(HouseholdsLostWorkRequest {
        monitored_only: true,
        ..Default::default()
    })
    .await;
    assert_eq!(monitored.rows.len(), 2);
    let province = lost(HouseholdsLostWorkRequest {
        province_code: "150000".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(province.rows.len(), 2);
    let april = lost(HouseholdsLostWorkRequest {
        from: Some(date(2024, 4, 1)),
        to: Some(date(2024, 4, 30)),
        ..Default::default()
    })
    .await;
    assert_eq!(april.rows.len(), 1);
    assert_eq!(april.rows[0].person_id, "p2");

    let first = lost(HouseholdsLostWorkRequest {
        page_size: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(first.rows, all.rows[..2]);
    let second = lost(HouseholdsLostWorkRequest {
        page_size: 2,
        page_token: first.next_page_token,
        ..Default::default()
    })
    .await;
    assert_eq!(second.rows, all.rows[2..]);
    assert_eq!(second.next_page_token, "");
}
