//! Post occupancy and subsidy, and the suspicious-pattern rule.

use eventstore::Backend;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    Channel, EndReason, LocationClass, PostCategory, PostOccupancyRequest, PostOccupancyRow,
    SuspicionRule, SuspiciousPatternsRequest,
};
use tonic::Request;

use crate::support::{assert_invalid, date, on_every_backend, Fixture, Log};

on_every_backend!(
    occupancy_and_subsidy_by_county_and_category,
    post_holder_out_of_province_is_suspicious
);

fn posts(log: &mut Log) {
    use PostCategory::*;
    log.post("post1", "150422", Ordinary)
        .assign("post1", "px", date(2024, 1, 1))
        .pay("post1", "px", date(2024, 1, 1), 50_000)
        .pay("post1", "px", date(2024, 2, 1), 50_000)
        .post("post2", "150422", Ordinary)
        .post("post3", "150422", Technical)
        .assign("post3", "py", date(2024, 1, 1))
        .pay("post3", "py", date(2024, 1, 1), 80_000)
        .unassign("post3", "py", date(2024, 1, 31))
        .post("post4", "510723", Special)
        .assign("post4", "pz", date(2024, 2, 1))
        .pay("post4", "pz", date(2024, 2, 1), 60_000);
}

fn row(county: &str, category: PostCategory, counts: [i64; 5]) -> PostOccupancyRow {
    let [posts, occupied, vacant, subsidy_paid_fen, holders] = counts;
    PostOccupancyRow {
        county_code: county.into(),
        category: category as i32,
        posts,
        occupied,
        vacant,
        subsidy_paid_fen,
        holders,
    }
}

async fn occupancy_and_subsidy_by_county_and_category(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    posts(&mut log);
    f.apply(&mut log).await;
    let occupancy = |request: PostOccupancyRequest| {
        let q = f.query.clone();
        async move {
            q.post_occupancy(Request::new(request))
                .await
                .unwrap()
                .into_inner()
        }
    };
    use PostCategory::*;
    let all = occupancy(Default::default()).await;
    assert_eq!(
        all.rows,
        [
            row("150422", Ordinary, [2, 1, 1, 100_000, 1]),
            row("150422", Technical, [1, 0, 1, 80_000, 0]),
            row("510723", Special, [1, 1, 0, 60_000, 1]),
        ]
    );
    let february = occupancy(PostOccupancyRequest {
        from_month: Some(date(2024, 2, 1)),
        to_month: Some(date(2024, 2, 1)),
        ..Default::default()
    })
    .await;
    let paid: Vec<i64> = february.rows.iter().map(|r| r.subsidy_paid_fen).collect();
    assert_eq!(paid, [50_000, 0, 60_000]);
    let technical = occupancy(PostOccupancyRequest {
        category: Technical as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(
        technical.rows,
        [row("150422", Technical, [1, 0, 1, 80_000, 0])]
    );
    let sichuan = occupancy(PostOccupancyRequest {
        province_code: "510000".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(sichuan.rows.len(), 1);
    let paged = occupancy(PostOccupancyRequest {
        page_size: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(paged.rows, all.rows[..2]);
    let rest = occupancy(PostOccupancyRequest {
        page_size: 2,
        page_token: paged.next_page_token,
        ..Default::default()
    })
    .await;
    assert_eq!(rest.rows, all.rows[2..]);

    for (request, field) in [
        (
            PostOccupancyRequest {
                from_month: Some(date(2024, 2, 15)),
                ..Default::default()
            },
            "from_month",
        ),
        (
            PostOccupancyRequest {
                from_month: Some(date(2024, 3, 1)),
                to_month: Some(date(2024, 2, 1)),
                ..Default::default()
            },
            "to_month",
        ),
        (
            PostOccupancyRequest {
                category: 42,
                ..Default::default()
            },
            "category",
        ),
    ] {
        assert_invalid(
            f.query
                .post_occupancy(Request::new(request))
                .await
                .unwrap_err(),
            field,
        );
    }
}

async fn post_holder_out_of_province_is_suspicious(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    posts(&mut log);
    log.start(
        "sx",
        "px",
        "hx",
        "150422",
        LocationClass::OutOfProvince,
        Channel::OrganisedLabourExport,
        date(2024, 3, 1),
    )
    // pz works in the county: nothing suspicious.
    .start(
        "sz",
        "pz",
        "hz",
        "510723",
        LocationClass::InCountyOutOfTownship,
        Channel::Flexible,
        date(2023, 1, 1),
    );
    f.apply(&mut log).await;
    let suspicious = |request: SuspiciousPatternsRequest| {
        let q = f.query.clone();
        async move {
            q.suspicious_patterns(Request::new(request))
                .await
                .unwrap()
                .into_inner()
                .rows
        }
    };
    let rows = suspicious(Default::default()).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.person_id.as_str(),
            row.post_id.as_str(),
            row.spell_id.as_str()
        ),
        ("px", "post1", "sx")
    );
    assert_eq!(
        row.rule,
        SuspicionRule::PostHolderWorkingOutOfProvince as i32
    );
    assert_eq!(row.rule_name, "post_holder_working_out_of_province");
    assert_eq!(row.county_code, "150422");
    assert_eq!(row.since, Some(date(2024, 3, 1)));
    let by_rule = SuspiciousPatternsRequest {
        rule: SuspicionRule::PostHolderWorkingOutOfProvince as i32,
        ..Default::default()
    };
    assert_eq!(suspicious(by_rule).await.len(), 1);
    let elsewhere = SuspiciousPatternsRequest {
        county_code: "510723".into(),
        ..Default::default()
    };
    assert!(suspicious(elsewhere).await.is_empty());

    // The spell ends: nothing suspicious any more.
    log.end("sx", "px", "hx", date(2024, 4, 1), EndReason::ContractEnded);
    f.apply(&mut log).await;
    assert!(suspicious(Default::default()).await.is_empty());

    let bad = SuspiciousPatternsRequest {
        rule: 9,
        ..Default::default()
    };
    assert_invalid(
        f.query
            .suspicious_patterns(Request::new(bad))
            .await
            .unwrap_err(),
        "rule",
    );
}
