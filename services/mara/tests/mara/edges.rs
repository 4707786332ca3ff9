//! What the edges refuse or tolerate: bad requests, poison events, unknown types, redelivery and
//! an unreachable store.

use eventstore::Backend;
use proto::mara::v1::mara_query_service_server::MaraQueryService;
use proto::mara::v1::{
    ListCasesRequest, ListCountiesRequest, ListOverdueCasesRequest, SummaryRequest,
};
use proto::registry::v1 as pb;
use tonic::{Code, Request};

use crate::support::{assert_invalid, date, on_every_backend, Fixture, Log};

on_every_backend!(
    invalid_requests_name_the_field,
    undecodable_payload_is_parked,
    person_before_its_household_counts_in_its_county,
    invalid_events_are_parked_before_any_write,
    unknown_event_types_are_counted_not_applied,
    redelivered_events_apply_once,
    store_failure_is_unavailable,
);

async fn invalid_requests_name_the_field(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let q = &f.query;
    let summary = |province: &str, county: &str| SummaryRequest {
        province_code: province.into(),
        county_code: county.into(),
    };
    for (request, field) in [
        (summary("150400", ""), "province_code"),
        (summary("15000", ""), "province_code"),
        (summary("1500000", ""), "province_code"),
        (summary("", "1504"), "county_code"),
        (summary("", "150400"), "county_code"),
        (summary("", "15042x"), "county_code"),
        (summary("510000", "150422"), "county_code"),
        // Well-formed but not in the division list.
        (summary("990000", ""), "province_code"),
        (summary("", "990101"), "county_code"),
    ] {
        assert_invalid(q.summary(Request::new(request)).await.unwrap_err(), field);
    }
    let counties = ListCountiesRequest {
        province_code: "abc".into(),
        key_counties_only: false,
    };
    assert_invalid(
        q.list_counties(Request::new(counties)).await.unwrap_err(),
        "province_code",
    );

    let cases = |f: fn(&mut ListCasesRequest)| {
        let mut request = ListCasesRequest::default();
        f(&mut request);
        Request::new(request)
    };
    for (request, field) in [
        (cases(|r| r.page_token = "garbage".into()), "page_token"),
        (
            cases(|r| r.page_token = "2024-02-30:k1".into()),
            "page_token",
        ),
        (cases(|r| r.page_size = -1), "page_size"),
        (cases(|r| r.stage = -3), "stage"),
        (cases(|r| r.stage = 99), "stage"),
        (cases(|r| r.county_code = "99".into()), "county_code"),
        (
            cases(|r| r.province_code = "510001".into()),
            "province_code",
        ),
    ] {
        assert_invalid(q.list_cases(request).await.unwrap_err(), field);
    }
    for (request, field) in [
        (
            ListOverdueCasesRequest {
                as_of: Some(date(2024, 2, 30)),
                ..Default::default()
            },
            "as_of",
        ),
        (
            ListOverdueCasesRequest {
                as_of: Some(date(0, 0, 0)),
                ..Default::default()
            },
            "as_of",
        ),
        (
            ListOverdueCasesRequest {
                page_token: ":".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            ListOverdueCasesRequest {
                county_code: "150422 ".into(),
                ..Default::default()
            },
            "county_code",
        ),
    ] {
        assert_invalid(
            q.list_overdue_cases(Request::new(request))
                .await
                .unwrap_err(),
            field,
        );
    }
    // A page size above the maximum is capped, not refused.
    let big = ListCasesRequest {
        page_size: 5000,
        ..Default::default()
    };
    assert!(q.list_cases(Request::new(big)).await.is_ok());
}

async fn summary(f: &Fixture) -> (i64, i64, i64) {
    let response = f
        .query
        .summary(Request::new(SummaryRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let counts = response.counts.unwrap();
    (counts.households, counts.persons, response.checkpoint)
}

async fn undecodable_payload_is_parked(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("h1", "150422100001", true).raw(
        "person-p1",
        "bottomline.registry.v1.PersonRegistered",
        vec![0xff, 0xff, 0xff],
    );
    let report = f.apply(&mut log).await;
    assert_eq!((report.applied, report.parked.len()), (1, 1));

    let parked = f.projector.parked().await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key, "person-p1");
    assert!(
        parked[0].reason.contains("does not decode"),
        "{}",
        parked[0].reason
    );
    assert_eq!(summary(&f).await, (1, 0, 1));
}

/// Streams are ordered one by one, not across each other: on Kafka a person's event can arrive
/// before its household's (another partition). It still counts, in the county it carries.
async fn person_before_its_household_counts_in_its_county(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.person_in("p2", "h2", "510723", pb::LabourCapacity::Skilled)
        .household("h1", "150422100001", true)
        .person("p1", "h1", pb::LabourCapacity::Skilled);
    let report = f.apply(&mut log).await;
    assert_eq!((report.applied, report.parked.len()), (3, 0));
    assert_eq!(summary(&f).await, (1, 2, 3));
    let county = f
        .query
        .summary(tonic::Request::new(proto::mara::v1::SummaryRequest {
            province_code: String::new(),
            county_code: "510723".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!((county.households, county.persons), (0, 1));
    log.household("h2", "510723100001", true);
    f.apply(&mut log).await;
    assert_eq!(summary(&f).await, (2, 2, 4));
}

async fn invalid_events_are_parked_before_any_write(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    let no_id = pb::HouseholdRegistered {
        village_code: "150422100001".into(),
        county_code: "150422".into(),
        ..Default::default()
    };
    let no_lead_date = pb::MonitoringCaseOpened {
        case_id: "c1".into(),
        household_id: "h1".into(),
        county_code: "150422".into(),
        ..Default::default()
    };
    let unknown_case = pb::AssistanceMeasureRecorded {
        case_id: "c9".into(),
        household_id: "h1".into(),
        ..Default::default()
    };
    log.event("household-x", "HouseholdRegistered", no_id)
        .event("case-c1", "MonitoringCaseOpened", no_lead_date)
        .event("case-c9", "AssistanceMeasureRecorded", unknown_case)
        .exit("p-missing", "h1");
    let report = f.apply(&mut log).await;
    assert_eq!((report.applied, report.parked.len()), (0, 4));
    let reasons: Vec<String> = f
        .projector
        .parked()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.reason)
        .collect();
    assert!(reasons[0].contains("household_id is empty"), "{reasons:?}");
    assert!(reasons[1].contains("lead_date"), "{reasons:?}");
    assert!(
        reasons[2].contains("monitoring case c9 is unknown"),
        "{reasons:?}"
    );
    assert!(
        reasons[3].contains("person p-missing is unknown"),
        "{reasons:?}"
    );
    assert_eq!(summary(&f).await, (0, 0, 0));
}

async fn unknown_event_types_are_counted_not_applied(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("h1", "150422100001", true)
        .raw(
            "household-h1",
            "bottomline.registry.v1.HouseholdRenamed",
            b"\x0a\x02h1".to_vec(),
        )
        .raw("job-1", "bottomline.employment.v1.JobLost", vec![0xff]);
    let report = f.apply(&mut log).await;
    assert_eq!(
        (report.applied, report.unknown, report.parked.len()),
        (1, 2, 0)
    );
    assert!(f.projector.parked().await.unwrap().is_empty());
    assert_eq!(summary(&f).await, (1, 0, 1));
}

async fn redelivered_events_apply_once(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("h1", "150422100001", true)
        .person("p1", "h1", pb::LabourCapacity::Weak)
        .open_case("c1", "h1", "150422", date(2024, 3, 1))
        .measure("c1", "h1");
    let batch = log.take();
    f.projector.apply_batch(&batch, &[]).await.unwrap();
    let again = f.projector.apply_batch(&batch, &[]).await.unwrap();
    assert_eq!((again.applied, again.duplicates), (0, 4));
    assert_eq!(summary(&f).await, (1, 1, 4));
    // The same event twice in one batch counts once: measures go from 1 to 2, not 3.
    log.measure("c1", "h1");
    let one = log.take();
    let twice: Vec<_> = one.iter().chain(&one).cloned().collect();
    let report = f.projector.apply_batch(&twice, &[]).await.unwrap();
    assert_eq!((report.applied, report.duplicates), (1, 1));
    let cases = f
        .query
        .list_cases(Request::new(ListCasesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cases.cases[0].assistance_measures, 2);

    // A second registration of the same household (another event id) overwrites, not duplicates.
    log.household("h1", "150422100001", false);
    f.apply(&mut log).await;
    let response = f
        .query
        .summary(Request::new(SummaryRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let counts = response.counts.unwrap();
    assert_eq!(
        (
            counts.households,
            counts.poverty_alleviated_households,
            response.checkpoint
        ),
        (1, 0, 6)
    );
}

async fn store_failure_is_unavailable(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    f.projector.pool().close().await;
    let status = f
        .query
        .summary(Request::new(SummaryRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let status = f
        .query
        .list_cases(Request::new(ListCasesRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
