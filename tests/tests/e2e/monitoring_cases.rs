//! The monitoring-case rules of the 2021 MARA guidance as a client meets them over gRPC: stages
//! in order, the public notice, assistance before elimination, six months of monitoring and of
//! stable income, someone able to work — and the 15-day identification clock in MARA's overdue
//! list.

use e2e_tests::{
    citizen_id, civil, embedded_config, eventually, household_of_one, mara_client, registry_client,
    start,
};
use proto::mara::v1::{ListCasesRequest, ListOverdueCasesRequest, SummaryRequest};
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use proto::registry::v1::{
    AdvanceMonitoringCaseRequest, AssistanceKind, CaseStage, CaseType, EliminateRiskRequest,
    LabourCapacity, LeadSource, OpenMonitoringCaseRequest, RecordAssistanceMeasureRequest,
    RiskFactor,
};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

type Client = RegistryServiceClient<Channel>;

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

async fn open(registry: &mut Client, household: &str, lead: (i32, i32, i32)) -> String {
    try_open(registry, household, lead).await.unwrap()
}

async fn try_open(
    registry: &mut Client,
    household: &str,
    lead: (i32, i32, i32),
) -> Result<String, Status> {
    registry
        .open_monitoring_case(OpenMonitoringCaseRequest {
            command_id: new_id(),
            household_id: household.to_owned(),
            case_type: CaseType::UnstableAlleviated as i32,
            risk_factors: vec![RiskFactor::Illness as i32, RiskFactor::JobLoss as i32],
            lead_source: LeadSource::CadreVisit as i32,
            lead_date: civil(lead.0, lead.1, lead.2),
        })
        .await
        .map(|r| r.into_inner().case_id)
}

async fn advance(
    registry: &mut Client,
    case: &str,
    to: CaseStage,
    on: (i32, i32, i32),
) -> Result<(), Status> {
    registry
        .advance_monitoring_case(AdvanceMonitoringCaseRequest {
            command_id: new_id(),
            case_id: case.to_owned(),
            to: to as i32,
            on: civil(on.0, on.1, on.2),
            note: "e2e".to_owned(),
        })
        .await
        .map(|_| ())
}

async fn measure(registry: &mut Client, case: &str, on: (i32, i32, i32)) -> Result<(), Status> {
    registry
        .record_assistance_measure(RecordAssistanceMeasureRequest {
            command_id: new_id(),
            case_id: case.to_owned(),
            kind: AssistanceKind::Employment as i32,
            on: civil(on.0, on.1, on.2),
            description: "公益岗位".to_owned(),
        })
        .await
        .map(|_| ())
}

async fn eliminate(
    registry: &mut Client,
    case: &str,
    on: (i32, i32, i32),
    months_income: i32,
) -> Result<(), Status> {
    registry
        .eliminate_risk(EliminateRiskRequest {
            command_id: new_id(),
            case_id: case.to_owned(),
            on: civil(on.0, on.1, on.2),
            months_income_above_line: months_income,
        })
        .await
        .map(|_| ())
}

/// Identification from the lead to registration, one stage a day after `start` except the
/// five-day public notice, registering on `registered`.
async fn identify(
    registry: &mut Client,
    case: &str,
    start: (i32, i32, i32),
    registered: (i32, i32, i32),
) {
    let (y, m, d) = start;
    advance(registry, case, CaseStage::HomeVerified, (y, m, d + 1))
        .await
        .unwrap();
    advance(registry, case, CaseStage::DataCompared, (y, m, d + 2))
        .await
        .unwrap();
    advance(registry, case, CaseStage::VillageReviewed, (y, m, d + 3))
        .await
        .unwrap();
    advance(registry, case, CaseStage::TownshipReviewed, (y, m, d + 8))
        .await
        .unwrap();
    advance(registry, case, CaseStage::CountyApproved, (y, m, d + 9))
        .await
        .unwrap();
    advance(registry, case, CaseStage::Registered, registered)
        .await
        .unwrap();
}

/// Asserts a FAILED_PRECONDITION naming `rule` in the message and in a PreconditionFailure.
fn assert_rule(result: Result<(), Status>, rule: &str) {
    let status = result.expect_err(rule);
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "{rule}: {status:?}"
    );
    assert!(
        status.message().contains(rule),
        "{rule}: {}",
        status.message()
    );
    let failure = status
        .get_error_details()
        .precondition_failure()
        .cloned()
        .expect("PreconditionFailure");
    assert_eq!(failure.violations.len(), 1, "{failure:?}");
    assert_eq!(failure.violations[0].r#type, "RULE");
    assert_eq!(failure.violations[0].subject, rule);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_rules_hold_and_late_registration_is_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let endpoint = app.endpoint();
    let mut registry = registry_client(&endpoint).await;
    let village = "150422101001";
    let ha = household_of_one(
        &mut registry,
        village,
        &citizen_id("150422", "19700101", 11),
        LabourCapacity::Ordinary,
    )
    .await;
    let hb = household_of_one(
        &mut registry,
        village,
        &citizen_id("150422", "19400202", 22),
        LabourCapacity::None,
    )
    .await;
    let hc = household_of_one(
        &mut registry,
        village,
        &citizen_id("150422", "19750303", 31),
        LabourCapacity::Weak,
    )
    .await;
    let hd = household_of_one(
        &mut registry,
        village,
        &citizen_id("150422", "19800404", 42),
        LabourCapacity::Skilled,
    )
    .await;
    let he = household_of_one(
        &mut registry,
        village,
        &citizen_id("150422", "19850505", 51),
        LabourCapacity::Ordinary,
    )
    .await;

    // Case A: every rule on the way to elimination.
    let a = open(&mut registry, &ha, (2025, 1, 2)).await;
    assert_rule(
        advance(&mut registry, &a, CaseStage::DataCompared, (2025, 1, 3)).await,
        "stage_order",
    );
    assert_rule(
        advance(&mut registry, &a, CaseStage::Assisted, (2025, 1, 3)).await,
        "stage_order",
    );
    advance(&mut registry, &a, CaseStage::HomeVerified, (2025, 1, 3))
        .await
        .unwrap();
    assert_rule(
        advance(&mut registry, &a, CaseStage::HomeVerified, (2025, 1, 3)).await,
        "stage_order",
    );
    advance(&mut registry, &a, CaseStage::DataCompared, (2025, 1, 4))
        .await
        .unwrap();
    advance(&mut registry, &a, CaseStage::VillageReviewed, (2025, 1, 5))
        .await
        .unwrap();
    assert_rule(
        advance(&mut registry, &a, CaseStage::TownshipReviewed, (2025, 1, 7)).await,
        "public_notice_days",
    );
    advance(
        &mut registry,
        &a,
        CaseStage::TownshipReviewed,
        (2025, 1, 10),
    )
    .await
    .unwrap();
    advance(&mut registry, &a, CaseStage::CountyApproved, (2025, 1, 11))
        .await
        .unwrap();
    // A date before the previous step is malformed input, not a rule.
    let status = advance(&mut registry, &a, CaseStage::Registered, (2025, 1, 9))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(
        status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "on"
    );
    advance(&mut registry, &a, CaseStage::Registered, (2025, 1, 12))
        .await
        .unwrap();
    assert_rule(
        eliminate(&mut registry, &a, (2025, 8, 1), 6).await,
        "stage_order",
    );
    measure(&mut registry, &a, (2025, 1, 15)).await.unwrap();
    assert_rule(
        eliminate(&mut registry, &a, (2025, 3, 15), 6).await,
        "min_monitoring_months",
    );
    assert_rule(
        eliminate(&mut registry, &a, (2025, 7, 11), 6).await,
        "min_monitoring_months",
    );
    assert_rule(
        eliminate(&mut registry, &a, (2025, 8, 1), 5).await,
        "income_stable_months",
    );
    assert_rule(
        try_open(&mut registry, &ha, (2025, 2, 1)).await.map(|_| ()),
        "case_open",
    );
    eliminate(&mut registry, &a, (2025, 7, 12), 6)
        .await
        .unwrap();

    // Case B: the only member cannot work, so the risk cannot be marked eliminated.
    let b = open(&mut registry, &hb, (2025, 1, 2)).await;
    identify(&mut registry, &b, (2025, 1, 2), (2025, 1, 12)).await;
    measure(&mut registry, &b, (2025, 1, 15)).await.unwrap();
    assert_rule(
        eliminate(&mut registry, &b, (2025, 8, 1), 6).await,
        "nobody_can_work",
    );

    // Case C: registered 20 days after the lead — accepted, and overdue in MARA.
    let c = open(&mut registry, &hc, (2025, 2, 1)).await;
    identify(&mut registry, &c, (2025, 2, 1), (2025, 2, 21)).await;
    // Case D: still a lead 19 days later (overdue); case E: a lead 9 days old (not yet).
    let d = open(&mut registry, &hd, (2025, 2, 10)).await;
    let e = open(&mut registry, &he, (2025, 2, 20)).await;

    let mut mara = mara_client(&endpoint).await;
    let stages = |counts: &proto::mara::v1::Counts| {
        let mut by_stage: Vec<(i32, i64)> = counts
            .cases_by_stage
            .iter()
            .filter(|s| s.cases > 0)
            .map(|s| (s.stage, s.cases))
            .collect();
        by_stage.sort();
        by_stage
    };
    let expected_stages = vec![
        (CaseStage::Lead as i32, 2),
        (CaseStage::Registered as i32, 1),
        (CaseStage::Assisted as i32, 1),
        (CaseStage::RiskEliminated as i32, 1),
    ];
    eventually("MARA to show the five cases at their stages", || {
        let mut mara = mara.clone();
        let expected_stages = expected_stages.clone();
        async move {
            let counts = mara
                .summary(SummaryRequest::default())
                .await
                .ok()?
                .into_inner()
                .counts?;
            (counts.monitoring_cases == 5 && stages(&counts) == expected_stages).then_some(())
        }
    })
    .await;

    let overdue = mara
        .list_overdue_cases(ListOverdueCasesRequest {
            as_of: civil(2025, 3, 1),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = overdue.cases.iter().map(|r| r.case_id.as_str()).collect();
    assert_eq!(
        ids,
        [c.as_str(), d.as_str()],
        "ordered by lead date; A, B (10 days) and E (9 days) are not overdue"
    );
    let late = &overdue.cases[0];
    assert_eq!(late.stage, CaseStage::Registered as i32);
    assert_eq!(late.days_to_register, 20);
    assert_eq!(late.registered_on, civil(2025, 2, 21));
    assert_eq!(late.household_id, hc);
    assert_eq!(late.county_code, "150422");
    let waiting = &overdue.cases[1];
    assert_eq!(
        (waiting.stage, waiting.days_to_register),
        (CaseStage::Lead as i32, -1)
    );
    assert!(waiting.registered_on.is_none());
    // Nine days after C's lead (2025-02-01) nothing is overdue yet: C was then still inside its
    // 15 days, and its late registration came only on 2025-02-21.
    let early = mara
        .list_overdue_cases(ListOverdueCasesRequest {
            as_of: civil(2025, 2, 10),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(early.cases.is_empty(), "{:?}", early.cases);

    let all = mara
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let row = |id: &str| all.cases.iter().find(|r| r.case_id == id).cloned().unwrap();
    assert_eq!(row(&a).stage, CaseStage::RiskEliminated as i32);
    assert_eq!(row(&a).assistance_measures, 1);
    assert_eq!(row(&a).days_to_register, 10);
    assert_eq!(row(&b).stage, CaseStage::Assisted as i32);
    assert_eq!(row(&e).stage, CaseStage::Lead as i32);
    assert_eq!(all.cases.len(), 5);
    assert_eq!(app.registry().unwrap().counts().await, (5, 5, 5));
    app.stop().await;
}
