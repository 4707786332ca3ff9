//! Training and Rain and Dew coverage.

use eventstore::Backend;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    RainAndDewCoverageRequest, RainAndDewCoverageRow, TrainingCoverageRequest, TrainingCoverageRow,
    TrainingKind,
};
use tonic::Request;

use crate::support::{assert_invalid, date, on_every_backend, Fixture, Log};

on_every_backend!(training_by_county_and_kind, rain_and_dew_by_county_and_term);

async fn training_by_county_and_kind(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    use TrainingKind::*;
    log.person("p1", "h1", "150422", true)
        .person("p2", "h2", "150422", true)
        .person("p3", "h3", "510723", true)
        .train("e1", "p1", OrderBased, date(2024, 3, 1))
        .complete("e1", "p1", true)
        .train("e2", "p2", OrderBased, date(2024, 4, 1))
        .complete("e2", "p2", false)
        .train("e3", "p2", Targeted, date(2024, 5, 1))
        .train("e4", "p3", JobSpecific, date(2024, 6, 1))
        .complete("e4", "p3", true);
    f.apply(&mut log).await;
    let coverage = |request: TrainingCoverageRequest| {
        let q = f.query.clone();
        async move {
            q.training_coverage(Request::new(request))
                .await
                .unwrap()
                .into_inner()
                .rows
        }
    };
    let row =
        |county: &str, kind: TrainingKind, enrolled, completed, certified| TrainingCoverageRow {
            county_code: county.into(),
            kind: kind as i32,
            enrolled,
            completed,
            certified,
        };
    assert_eq!(
        coverage(Default::default()).await,
        [
            row("150422", OrderBased, 2, 2, 1),
            row("150422", Targeted, 1, 0, 0),
            row("510723", JobSpecific, 1, 1, 1),
        ]
    );
    let spring = TrainingCoverageRequest {
        from: Some(date(2024, 3, 15)),
        to: Some(date(2024, 5, 31)),
        ..Default::default()
    };
    assert_eq!(
        coverage(spring).await,
        [
            row("150422", OrderBased, 1, 1, 0),
            row("150422", Targeted, 1, 0, 0)
        ]
    );
    let sichuan = TrainingCoverageRequest {
        county_code: "510723".into(),
        ..Default::default()
    };
    assert_eq!(coverage(sichuan).await.len(), 1);
    let backwards = TrainingCoverageRequest {
        from: Some(date(2024, 5, 1)),
        to: Some(date(2024, 4, 1)),
        ..Default::default()
    };
    assert_invalid(
        f.query
            .training_coverage(Request::new(backwards))
            .await
            .unwrap_err(),
        "to",
    );
}

async fn rain_and_dew_by_county_and_term(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    // s1 and s2 in h1 (150422, known only later); s3's household unknown, the person known.
    log.rain_and_dew("r1", "s1", "h1", date(2024, 3, 1), 150_000)
        .rain_and_dew("r2", "s2", "h1", date(2024, 3, 1), 150_000)
        .rain_and_dew("r3", "s1", "h1", date(2024, 9, 1), 150_000)
        .rain_and_dew("r4", "s3", "h3", date(2024, 9, 1), 150_000)
        .person("s3", "h3-other", "510723", true)
        .household("h1", "150422", true);
    f.apply(&mut log).await;
    let coverage = |request: RainAndDewCoverageRequest| {
        let q = f.query.clone();
        async move {
            q.rain_and_dew_coverage(Request::new(request))
                .await
                .unwrap()
                .into_inner()
                .rows
        }
    };
    let row = |county: &str, term, students, fen| RainAndDewCoverageRow {
        county_code: county.into(),
        term_starts_on: Some(term),
        students,
        subsidy_total_fen: fen,
    };
    assert_eq!(
        coverage(Default::default()).await,
        [
            row("150422", date(2024, 3, 1), 2, 300_000),
            row("150422", date(2024, 9, 1), 1, 150_000),
            row("510723", date(2024, 9, 1), 1, 150_000),
        ]
    );
    let autumn = RainAndDewCoverageRequest {
        province_code: "150000".into(),
        from: Some(date(2024, 9, 1)),
        ..Default::default()
    };
    assert_eq!(
        coverage(autumn).await,
        [row("150422", date(2024, 9, 1), 1, 150_000)]
    );
}
