//! Employed scale: distinct persons covering a month, previous year, target, breakdown, paging.

use eventstore::Backend;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    Channel, EmployedScaleRequest, EmployedScaleResponse, EndReason, LocationClass,
};
use tonic::Request;

use crate::support::{assert_invalid, date, on_every_backend, Fixture, Log};

on_every_backend!(
    employed_scale_counts_distinct_people_covering_the_month,
    corrections_move_spells_between_months,
    bad_scale_requests_name_the_field,
);

/// p1: two spells in March 2024 (counted once); p2 starts on March's last day; p3 ended the day
/// before March 2024 (counts in March 2023); p4 (another province) ended on March's first day.
fn population(log: &mut Log) {
    use Channel::*;
    use LocationClass::*;
    log.start(
        "a",
        "p1",
        "h1",
        "150422",
        OutOfProvince,
        OrganisedLabourExport,
        date(2024, 1, 10),
    )
    .start(
        "b",
        "p1",
        "h1",
        "150422",
        InCountyOutOfTownship,
        Workshop,
        date(2024, 2, 1),
    )
    .end("b", "p1", "h1", date(2024, 3, 5), EndReason::ContractEnded)
    .start(
        "c",
        "p2",
        "h2",
        "150422",
        InProvinceOutOfCity,
        Flexible,
        date(2024, 3, 31),
    )
    .start(
        "d",
        "p3",
        "h3",
        "150422",
        InTownship,
        Other,
        date(2023, 1, 1),
    )
    .end("d", "p3", "h3", date(2024, 2, 29), EndReason::Dismissed)
    .start(
        "e",
        "p4",
        "h4",
        "510723",
        InCityOutOfCounty,
        Other,
        date(2023, 3, 15),
    )
    .end("e", "p4", "h4", date(2024, 3, 1), EndReason::PersonExited);
}

fn march(f: impl FnOnce(&mut EmployedScaleRequest)) -> Request<EmployedScaleRequest> {
    let mut request = EmployedScaleRequest {
        month: Some(date(2024, 3, 1)),
        ..Default::default()
    };
    f(&mut request);
    Request::new(request)
}

async fn scale(f: &Fixture, request: Request<EmployedScaleRequest>) -> EmployedScaleResponse {
    f.query.employed_scale(request).await.unwrap().into_inner()
}

async fn employed_scale_counts_distinct_people_covering_the_month(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    population(&mut log);
    f.apply(&mut log).await;

    let all = scale(&f, march(|_| {})).await;
    assert_eq!((all.employed, all.previous_year_employed), (3, 2));
    let target = all.target.expect("target in force");
    assert_eq!(target.employed, 30_000_000);
    assert!(!target.source.is_empty());
    let rows: Vec<(String, i32, i32, i64)> = all
        .rows
        .iter()
        .map(|r| {
            (
                r.county_code.clone(),
                r.location_class,
                r.channel,
                r.employed,
            )
        })
        .collect();
    use Channel::*;
    use LocationClass::*;
    assert_eq!(
        rows,
        [
            (
                "150422".into(),
                OutOfProvince as i32,
                OrganisedLabourExport as i32,
                1
            ),
            (
                "150422".into(),
                InProvinceOutOfCity as i32,
                Flexible as i32,
                1
            ),
            (
                "150422".into(),
                InCountyOutOfTownship as i32,
                Workshop as i32,
                1
            ),
            ("510723".into(), InCityOutOfCounty as i32, Other as i32, 1),
        ]
    );
    assert_eq!(all.next_page_token, "");

    let province = scale(&f, march(|r| r.province_code = "150000".into())).await;
    assert_eq!((province.employed, province.previous_year_employed), (2, 1));
    let county = scale(&f, march(|r| r.county_code = "510723".into())).await;
    assert_eq!((county.employed, county.previous_year_employed), (1, 1));
    let out = scale(&f, march(|r| r.location_class = OutOfProvince as i32)).await;
    assert_eq!((out.employed, out.rows.len()), (1, 1));
    let workshop = scale(&f, march(|r| r.channel = Workshop as i32)).await;
    assert_eq!(workshop.employed, 1);

    // No target was in force in March 2023 (the national one starts 2023-09-01).
    let earlier = scale(&f, march(|r| r.month = Some(date(2023, 3, 1)))).await;
    assert_eq!(earlier.employed, 2);
    assert!(earlier.target.is_none());

    // Paging through the breakdown, two rows at a time.
    let first = scale(&f, march(|r| r.page_size = 2)).await;
    assert_eq!(first.rows, all.rows[..2]);
    assert!(!first.next_page_token.is_empty());
    let token = first.next_page_token.clone();
    let second = scale(
        &f,
        march(|r| {
            r.page_size = 2;
            r.page_token = token;
        }),
    )
    .await;
    assert_eq!(second.rows, all.rows[2..]);
    assert_eq!(second.next_page_token, "");
    // The totals do not depend on the page.
    assert_eq!(second.employed, 3);
}

async fn corrections_move_spells_between_months(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    population(&mut log);
    f.apply(&mut log).await;
    // p2's spell really started in April: March loses p2.
    log.correct(
        "c",
        "p2",
        LocationClass::InProvinceOutOfCity,
        Channel::Flexible,
        date(2024, 4, 2),
    );
    f.apply(&mut log).await;
    let march = scale(&f, march(|_| {})).await;
    assert_eq!((march.employed, march.rows.len()), (2, 3));
    let april = scale(
        &f,
        Request::new(EmployedScaleRequest {
            month: Some(date(2024, 4, 1)),
            ..Default::default()
        }),
    )
    .await;
    // April: p1 (spell a, open) and p2.
    assert_eq!(april.employed, 2);
    // A correction of the class moves p1's open spell to another breakdown row.
    log.correct(
        "a",
        "p1",
        LocationClass::InTownship,
        Channel::SelfEmployed,
        date(2024, 1, 10),
    );
    f.apply(&mut log).await;
    let out = scale(
        &f,
        Request::new(EmployedScaleRequest {
            month: Some(date(2024, 4, 1)),
            location_class: LocationClass::OutOfProvince as i32,
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(out.employed, 0);
}

async fn bad_scale_requests_name_the_field(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    for (request, field) in [
        (march(|r| r.month = None), "month"),
        (march(|r| r.month = Some(date(2024, 3, 2))), "month"),
        (march(|r| r.month = Some(date(2024, 2, 30))), "month"),
        (march(|r| r.location_class = 99), "location_class"),
        (march(|r| r.channel = -1), "channel"),
        (
            march(|r| r.province_code = "990000".into()),
            "province_code",
        ),
        (march(|r| r.county_code = "990101".into()), "county_code"),
        (march(|r| r.county_code = "1504".into()), "county_code"),
        (march(|r| r.page_token = "not hex".into()), "page_token"),
        (march(|r| r.page_size = -5), "page_size"),
    ] {
        assert_invalid(f.query.employed_scale(request).await.unwrap_err(), field);
    }
}
