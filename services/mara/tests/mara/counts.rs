//! Totals by country, province and county; the county table.

use eventstore::Backend;
use proto::mara::v1::mara_query_service_server::MaraQueryService;
use proto::mara::v1::{Counts, ListCountiesRequest, StageCount, SummaryRequest};
use proto::registry::v1::{CaseStage, LabourCapacity};
use tonic::Request;

use crate::support::{date, on_every_backend, Fixture, Log};

on_every_backend!(
    summary_counts_by_country_province_and_county,
    exit_and_capacity_change_move_persons,
    counties_have_names_and_key_flags,
    empty_read_model_counts_nothing,
);

/// Inner Mongolia: 巴林左旗 150422 (key county) and 新城区 150102; Sichuan: 盐亭县 510723 and
/// 金川县 513226 (key county). Households h1..h5, persons p1..p8, cases c1..c5.
fn scenario(log: &mut Log) {
    use LabourCapacity::*;
    log.household("h1", "150422100001", true)
        .household("h2", "150422100002", false)
        .household("h3", "510723100001", true)
        .household("h4", "513226100001", true)
        .household("h5", "150102001001", false);
    log.person("p1", "h1", Skilled)
        .person("p2", "h1", None)
        .person("p3", "h1", Weak)
        .person("p4", "h2", Ordinary)
        .person("p5", "h3", Skilled)
        .person("p6", "h3", Ordinary)
        .person("p7", "h4", None)
        .person("p8", "h5", Weak);
    log.exit("p3", "h1")
        .capacity("p2", "h1", None, Ordinary)
        .exit("p6", "h3");

    // c1 (150422): registered, one measure, assisted.
    log.open_case("c1", "h1", "150422", date(2024, 3, 1))
        .identify("c1", "h1", date(2024, 3, 12), 11, false)
        .measure("c1", "h1")
        .advance(
            "c1",
            "h1",
            CaseStage::Assisted,
            date(2024, 3, 20),
            19,
            false,
        );
    // c2 (150422): home verified.
    log.open_case("c2", "h2", "150422", date(2024, 3, 2))
        .advance(
            "c2",
            "h2",
            CaseStage::HomeVerified,
            date(2024, 3, 4),
            2,
            false,
        );
    // c3 (510723): a lead.
    log.open_case("c3", "h3", "510723", date(2024, 3, 3));
    // c4 (513226): risk eliminated. c5 (513226): eliminated, then back to assisted.
    for case in ["c4", "c5"] {
        log.open_case(case, "h4", "513226", date(2024, 3, 4))
            .identify(case, "h4", date(2024, 3, 14), 10, false)
            .measure(case, "h4")
            .advance(
                case,
                "h4",
                CaseStage::Assisted,
                date(2024, 3, 20),
                16,
                false,
            )
            .eliminate(case, "h4");
    }
    log.risk_returned("c5", "h4");
}

fn stages(pairs: &[(CaseStage, i64)]) -> Vec<StageCount> {
    pairs
        .iter()
        .map(|(stage, cases)| StageCount {
            stage: *stage as i32,
            cases: *cases,
        })
        .collect()
}

async fn summary(f: &Fixture, province: &str, county: &str) -> (Counts, i64) {
    let request = SummaryRequest {
        province_code: province.into(),
        county_code: county.into(),
    };
    let response = f
        .query
        .summary(Request::new(request))
        .await
        .expect("summary")
        .into_inner();
    (response.counts.expect("counts"), response.checkpoint)
}

async fn summary_counts_by_country_province_and_county(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    scenario(&mut log);
    let report = f.apply(&mut log).await;
    // 5 households + 8 persons + 3 person changes + c1 9 + c2 2 + c3 1 + c4 10 + c5 11.
    assert_eq!(
        (report.applied, report.unknown, report.parked.len()),
        (49, 0, 0)
    );

    use CaseStage::*;
    let (country, checkpoint) = summary(&f, "", "").await;
    assert_eq!(checkpoint, 49);
    assert_eq!(
        country,
        Counts {
            households: 5,
            poverty_alleviated_households: 3,
            persons: 6,
            exited_persons: 2,
            labour_capable_persons: 5,
            monitoring_cases: 5,
            cases_by_stage: stages(&[
                (Lead, 1),
                (HomeVerified, 1),
                (Assisted, 2),
                (RiskEliminated, 1)
            ]),
        }
    );
    let (inner_mongolia, _) = summary(&f, "150000", "").await;
    assert_eq!(
        inner_mongolia,
        Counts {
            households: 3,
            poverty_alleviated_households: 1,
            persons: 4,
            exited_persons: 1,
            labour_capable_persons: 4,
            monitoring_cases: 2,
            cases_by_stage: stages(&[(HomeVerified, 1), (Assisted, 1)]),
        }
    );
    let (sichuan, _) = summary(&f, "510000", "").await;
    assert_eq!(
        sichuan,
        Counts {
            households: 2,
            poverty_alleviated_households: 2,
            persons: 2,
            exited_persons: 1,
            labour_capable_persons: 1,
            monitoring_cases: 3,
            cases_by_stage: stages(&[(Lead, 1), (Assisted, 1), (RiskEliminated, 1)]),
        }
    );
    let (balin_left, _) = summary(&f, "", "150422").await;
    assert_eq!(
        balin_left,
        Counts {
            households: 2,
            poverty_alleviated_households: 1,
            persons: 3,
            exited_persons: 1,
            labour_capable_persons: 3,
            monitoring_cases: 2,
            cases_by_stage: stages(&[(HomeVerified, 1), (Assisted, 1)]),
        }
    );
    // Province and county together narrow to the county.
    assert_eq!(summary(&f, "150000", "150422").await.0, balin_left);
    // A county without data counts zero.
    assert_eq!(summary(&f, "", "110105").await.0, Counts::default());
}

async fn exit_and_capacity_change_move_persons(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("h1", "150422100001", true)
        .person("p1", "h1", LabourCapacity::Skilled)
        .person("p2", "h1", LabourCapacity::None)
        .person("p3", "h1", LabourCapacity::Weak);
    f.apply(&mut log).await;
    let (before, _) = summary(&f, "", "150422").await;
    assert_eq!(
        (
            before.persons,
            before.exited_persons,
            before.labour_capable_persons
        ),
        (3, 0, 2)
    );

    log.exit("p1", "h1");
    f.apply(&mut log).await;
    let (after_exit, _) = summary(&f, "", "150422").await;
    assert_eq!(
        (
            after_exit.persons,
            after_exit.exited_persons,
            after_exit.labour_capable_persons
        ),
        (2, 1, 1)
    );

    log.capacity("p2", "h1", LabourCapacity::None, LabourCapacity::Ordinary)
        .capacity("p3", "h1", LabourCapacity::Weak, LabourCapacity::None);
    f.apply(&mut log).await;
    let (after_change, checkpoint) = summary(&f, "", "150422").await;
    assert_eq!(
        (
            after_change.persons,
            after_change.exited_persons,
            after_change.labour_capable_persons
        ),
        (2, 1, 1)
    );
    // An exited person's capacity no longer counts, whatever it becomes.
    log.capacity(
        "p1",
        "h1",
        LabourCapacity::Skilled,
        LabourCapacity::Ordinary,
    );
    f.apply(&mut log).await;
    let (last, _) = summary(&f, "", "150422").await;
    assert_eq!(last.labour_capable_persons, 1);
    assert_eq!(checkpoint, 7);
}

async fn counties_have_names_and_key_flags(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    scenario(&mut log);
    f.apply(&mut log).await;

    let list = |province: &str, key_counties_only: bool| {
        let request = ListCountiesRequest {
            province_code: province.into(),
            key_counties_only,
        };
        let query = f.query.clone();
        async move {
            query
                .list_counties(Request::new(request))
                .await
                .expect("counties")
                .into_inner()
                .counties
        }
    };
    let all = list("", false).await;
    let rows: Vec<(&str, &str, &str, &str, bool)> = all
        .iter()
        .map(|c| {
            (
                c.county_code.as_str(),
                c.county_name.as_str(),
                c.province_code.as_str(),
                c.province_name.as_str(),
                c.national_key_county,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("150102", "新城区", "150000", "内蒙古自治区", false),
            ("150422", "巴林左旗", "150000", "内蒙古自治区", true),
            ("510723", "盐亭县", "510000", "四川省", false),
            ("513226", "金川县", "510000", "四川省", true),
        ]
    );
    let jinchuan = all[3].counts.clone().expect("counts");
    assert_eq!(
        (
            jinchuan.households,
            jinchuan.persons,
            jinchuan.labour_capable_persons,
            jinchuan.monitoring_cases
        ),
        (1, 1, 0, 2)
    );
    let xincheng = all[0].counts.clone().expect("counts");
    assert_eq!(
        (
            xincheng.households,
            xincheng.persons,
            xincheng.monitoring_cases
        ),
        (1, 1, 0)
    );
    assert!(xincheng.cases_by_stage.is_empty());

    let key: Vec<String> = list("", true)
        .await
        .into_iter()
        .map(|c| c.county_code)
        .collect();
    assert_eq!(key, ["150422", "513226"]);
    let sichuan: Vec<String> = list("510000", false)
        .await
        .into_iter()
        .map(|c| c.county_code)
        .collect();
    assert_eq!(sichuan, ["510723", "513226"]);
    let sichuan_key: Vec<String> = list("510000", true)
        .await
        .into_iter()
        .map(|c| c.county_code)
        .collect();
    assert_eq!(sichuan_key, ["513226"]);
    assert!(list("110000", false).await.is_empty());
}

async fn empty_read_model_counts_nothing(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let (counts, checkpoint) = summary(&f, "", "").await;
    assert_eq!((counts, checkpoint), (Counts::default(), 0));
}
