//! Case lists: filters, paging and the identification clock.

use eventstore::Backend;
use proto::mara::v1::mara_query_service_server::MaraQueryService;
use proto::mara::v1::{CaseRow, ListCasesRequest, ListOverdueCasesRequest};
use proto::registry::v1::{CaseStage, CaseType};
use tonic::Request;

use crate::support::{date, on_every_backend, Fixture, Log};

on_every_backend!(
    cases_filter_by_stage_province_and_county,
    paging_returns_every_case_once,
    overdue_cases_on_a_date,
    overdue_defaults_to_today,
);

/// k1..k3 in 巴林左旗 150422, k4..k6 in 金川县 513226.
fn scenario(log: &mut Log) {
    log.household("h1", "150422100001", true)
        .household("h2", "513226100001", true);
    // k1: still a lead, 31 days on 2024-04-01.
    log.open_case("k1", "h1", "150422", date(2024, 3, 1));
    // k2: village reviewed, lead 12 days before 2024-04-01.
    log.open_case("k2", "h1", "150422", date(2024, 3, 20));
    for stage in [
        CaseStage::HomeVerified,
        CaseStage::DataCompared,
        CaseStage::VillageReviewed,
    ] {
        log.advance("k2", "h1", stage, date(2024, 3, 22), 2, false);
    }
    // k3: registered 24 days after the lead.
    log.open_case("k3", "h1", "150422", date(2024, 3, 1))
        .identify("k3", "h1", date(2024, 3, 25), 24, true);
    // k4: registered in 10 days, one measure, assisted.
    log.open_case("k4", "h2", "513226", date(2024, 3, 5))
        .identify("k4", "h2", date(2024, 3, 15), 10, false)
        .measure("k4", "h2")
        .advance(
            "k4",
            "h2",
            CaseStage::Assisted,
            date(2024, 3, 18),
            13,
            false,
        );
    // k5: a lead of 2024-03-16 (16 days on 2024-04-01); k6: 2024-03-17 (15 days), home verified.
    log.open_case("k5", "h2", "513226", date(2024, 3, 16));
    log.open_case("k6", "h2", "513226", date(2024, 3, 17))
        .advance(
            "k6",
            "h2",
            CaseStage::HomeVerified,
            date(2024, 3, 18),
            1,
            false,
        );
}

fn ids(rows: &[CaseRow]) -> Vec<&str> {
    rows.iter().map(|r| r.case_id.as_str()).collect()
}

async fn list(f: &Fixture, stage: CaseStage, province: &str, county: &str) -> Vec<CaseRow> {
    let request = ListCasesRequest {
        stage: stage as i32,
        province_code: province.into(),
        county_code: county.into(),
        ..Default::default()
    };
    let response = f
        .query
        .list_cases(Request::new(request))
        .await
        .expect("list cases")
        .into_inner();
    assert_eq!(response.next_page_token, "");
    response.cases
}

async fn overdue(
    f: &Fixture,
    as_of: Option<(i32, i32, i32)>,
    province: &str,
    county: &str,
) -> Vec<CaseRow> {
    let request = ListOverdueCasesRequest {
        as_of: as_of.map(|(y, m, d)| date(y, m, d)),
        province_code: province.into(),
        county_code: county.into(),
        ..Default::default()
    };
    let response = f
        .query
        .list_overdue_cases(Request::new(request))
        .await
        .expect("overdue")
        .into_inner();
    assert_eq!(response.next_page_token, "");
    response.cases
}

async fn cases_filter_by_stage_province_and_county(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    scenario(&mut log);
    // 2 households, k1 1, k2 4, k3 7, k4 9, k5 1, k6 2.
    assert_eq!(f.apply(&mut log).await.applied, 26);

    use CaseStage::*;
    let all = list(&f, Unspecified, "", "").await;
    assert_eq!(ids(&all), ["k1", "k3", "k4", "k5", "k6", "k2"]);
    assert_eq!(ids(&list(&f, Lead, "", "").await), ["k1", "k5"]);
    assert_eq!(ids(&list(&f, Registered, "", "").await), ["k3"]);
    assert_eq!(
        ids(&list(&f, Unspecified, "", "513226").await),
        ["k4", "k5", "k6"]
    );
    assert_eq!(
        ids(&list(&f, Unspecified, "150000", "").await),
        ["k1", "k3", "k2"]
    );
    assert_eq!(ids(&list(&f, HomeVerified, "510000", "").await), ["k6"]);
    assert!(list(&f, RiskEliminated, "", "").await.is_empty());

    let k1 = &all[0];
    assert_eq!(
        *k1,
        CaseRow {
            case_id: "k1".into(),
            household_id: "h1".into(),
            county_code: "150422".into(),
            case_type: CaseType::Marginal as i32,
            stage: Lead as i32,
            lead_date: Some(date(2024, 3, 1)),
            registered_on: None,
            days_to_register: -1,
            assistance_measures: 0,
        }
    );
    let k4 = &list(&f, Assisted, "", "").await[0];
    assert_eq!(k4.case_id, "k4");
    assert_eq!(
        k4.registered_on,
        Some(date(2024, 3, 15)),
        "kept after moving on to assisted"
    );
    assert_eq!((k4.days_to_register, k4.assistance_measures), (10, 1));
    let k3 = &all[1];
    assert_eq!(
        (k3.stage, k3.registered_on, k3.days_to_register),
        (Registered as i32, Some(date(2024, 3, 25)), 24)
    );
}

async fn paging_returns_every_case_once(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("h1", "150422100001", true);
    for (id, day) in [("e", 1), ("b", 1), ("d", 3), ("a", 5), ("c", 5)] {
        log.open_case(id, "h1", "150422", date(2024, 3, day));
    }
    f.apply(&mut log).await;

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let request = ListCasesRequest {
            page_size: 2,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = f
            .query
            .list_cases(Request::new(request))
            .await
            .expect("page")
            .into_inner();
        pages.push(page.cases.len());
        seen.extend(page.cases.into_iter().map(|c| c.case_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(seen, ["b", "e", "d", "a", "c"]);
    assert_eq!(pages, [2, 2, 1]);

    // A page exactly as large as what is left says there is no next page.
    let request = ListCasesRequest {
        page_size: 5,
        ..Default::default()
    };
    let page = f
        .query
        .list_cases(Request::new(request))
        .await
        .expect("page")
        .into_inner();
    assert_eq!((page.cases.len(), page.next_page_token.as_str()), (5, ""));
    // Paging overdue cases works the same way.
    let request = ListOverdueCasesRequest {
        page_size: 3,
        ..Default::default()
    };
    let first = f
        .query
        .list_overdue_cases(Request::new(request))
        .await
        .expect("overdue")
        .into_inner();
    assert_eq!(ids(&first.cases), ["b", "e", "d"]);
    let request = ListOverdueCasesRequest {
        page_size: 3,
        page_token: first.next_page_token,
        ..Default::default()
    };
    let second = f
        .query
        .list_overdue_cases(Request::new(request))
        .await
        .expect("overdue")
        .into_inner();
    assert_eq!(
        (ids(&second.cases), second.next_page_token.as_str()),
        (vec!["a", "c"], "")
    );
}

async fn overdue_cases_on_a_date(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    scenario(&mut log);
    f.apply(&mut log).await;

    // On 2024-04-01: k1 (31 days unregistered), k3 (registered after 24 days), k5 (16 days).
    // Not k6 (exactly 15 days), k2 (12 days), k4 (registered after 10 days).
    assert_eq!(
        ids(&overdue(&f, Some((2024, 4, 1)), "", "").await),
        ["k1", "k3", "k5"]
    );
    assert_eq!(
        ids(&overdue(&f, Some((2024, 3, 31)), "", "").await),
        ["k1", "k3"]
    );
    // 15 days after k1's and k3's lead nothing is overdue yet; the day after, both are (k3 was
    // then still unregistered: its late registration came on 2024-03-25).
    assert!(overdue(&f, Some((2024, 3, 16)), "", "").await.is_empty());
    assert_eq!(
        ids(&overdue(&f, Some((2024, 3, 17)), "", "").await),
        ["k1", "k3"]
    );
    assert_eq!(
        ids(&overdue(&f, Some((2024, 4, 2)), "", "").await),
        ["k1", "k3", "k5", "k6"]
    );
    assert_eq!(
        ids(&overdue(&f, Some((2024, 4, 1)), "", "513226").await),
        ["k5"]
    );
    assert_eq!(
        ids(&overdue(&f, Some((2024, 4, 1)), "150000", "").await),
        ["k1", "k3"]
    );
    assert!(overdue(&f, Some((2024, 4, 1)), "110000", "")
        .await
        .is_empty());
}

async fn overdue_defaults_to_today(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    scenario(&mut log);
    f.apply(&mut log).await;
    // Today is long after every lead: every unregistered case and the late registration.
    assert_eq!(
        ids(&overdue(&f, None, "", "").await),
        ["k1", "k3", "k5", "k6", "k2"]
    );
}
