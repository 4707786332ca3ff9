use registry_domain::*;

use crate::support::*;

fn open(case: CaseId, factors: Vec<RiskFactor>, lead_date: chrono::NaiveDate) -> RegistryCommand {
    RegistryCommand::OpenMonitoringCase {
        case_id: case,
        household_id: household_id(1),
        case_type: CaseType::UnstableAlleviated,
        risk_factors: factors,
        lead_source: LeadSource::DepartmentAlert,
        lead_date,
    }
}

#[test]
fn opens_a_case_at_lead_in_the_household_county() {
    let state = given(&[household_registered(household_id(1))]);
    let decision = then_ok(when(
        &state,
        open(
            case_id(1),
            vec![RiskFactor::JobLoss, RiskFactor::Illness],
            d(2024, 7, 30),
        ),
    ));
    assert_eq!(decision.stream_id, case_id(1).stream_id());
    assert_eq!(decision.expected_version, 0);
    assert_eq!(
        decision.events,
        vec![RegistryEvent::MonitoringCaseOpened {
            case_id: case_id(1),
            household_id: household_id(1),
            case_type: CaseType::UnstableAlleviated,
            risk_factors: vec![RiskFactor::JobLoss, RiskFactor::Illness],
            lead_source: LeadSource::DepartmentAlert,
            lead_date: d(2024, 7, 30),
            county_code: COUNTY.into(),
        }]
    );
}

#[test]
fn the_household_must_exist() {
    let state = given(&[]);
    assert_eq!(
        when(&state, open(case_id(1), vec![RiskFactor::Illness], today())),
        Err(DomainError::NotFound {
            what: "household",
            id: household_id(1).to_string()
        })
    );
}

#[test]
fn at_least_one_distinct_risk_factor() {
    let state = given(&[household_registered(household_id(1))]);
    then_invalid(
        when(&state, open(case_id(1), vec![], today())),
        "risk_factors",
    );
    let twice = vec![RiskFactor::Illness, RiskFactor::Illness];
    then_invalid(
        when(&state, open(case_id(1), twice, today())),
        "risk_factors",
    );
}

#[test]
fn lead_date_is_not_in_the_future() {
    let state = given(&[household_registered(household_id(1))]);
    let tomorrow = today().succ_opt().unwrap();
    then_invalid(
        when(
            &state,
            open(case_id(1), vec![RiskFactor::Illness], tomorrow),
        ),
        "lead_date",
    );
}

#[test]
fn one_open_case_per_household() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    let message = then_rule(
        when(&state, open(case_id(2), vec![RiskFactor::Illness], today())),
        "case_open",
    );
    assert!(message.contains(&case_id(1).to_string()), "{message}");
}

#[test]
fn a_new_case_may_open_once_the_risk_is_eliminated() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::RiskEliminated,
    ));
    then_ok(when(
        &state,
        open(case_id(2), vec![RiskFactor::Disaster], today()),
    ));
    assert_eq!(
        when(
            &state,
            open(case_id(1), vec![RiskFactor::Disaster], today())
        ),
        Err(DomainError::AlreadyExists {
            what: "case",
            existing_id: case_id(1).to_string()
        })
    );
}
