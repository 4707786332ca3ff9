use chrono::NaiveDate;
use registry_domain::*;

use crate::support::*;

fn measure(on: NaiveDate) -> RegistryCommand {
    RegistryCommand::RecordAssistanceMeasure {
        case_id: case_id(1),
        kind: AssistanceKind::Employment,
        on,
        description: "公益性岗位".into(),
    }
}

fn eliminate(on: NaiveDate, months_income_above_line: u32) -> RegistryCommand {
    RegistryCommand::EliminateRisk {
        case_id: case_id(1),
        on,
        months_income_above_line,
    }
}

fn return_to_assisted(reason: &str) -> RegistryCommand {
    RegistryCommand::ReturnToAssisted {
        case_id: case_id(1),
        on: d(2024, 7, 25),
        reason: reason.into(),
    }
}

fn measure_recorded(on: NaiveDate) -> RegistryEvent {
    RegistryEvent::AssistanceMeasureRecorded {
        case_id: case_id(1),
        household_id: household_id(1),
        kind: AssistanceKind::Employment,
        on,
        description: "公益性岗位".into(),
    }
}

#[test]
fn the_first_measure_moves_a_registered_case_to_assisted() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Registered,
    ));
    let decision = then_ok(when(&state, measure(d(2024, 1, 20))));
    assert_eq!(decision.expected_version, 7);
    assert_eq!(
        decision.events,
        vec![
            measure_recorded(d(2024, 1, 20)),
            RegistryEvent::MonitoringCaseAdvanced {
                case_id: case_id(1),
                household_id: household_id(1),
                from: CaseStage::Registered,
                to: CaseStage::Assisted,
                on: d(2024, 1, 20),
                days_since_lead: 19,
                identification_clock_breached: false,
                note: "first assistance measure recorded".into(),
            },
        ]
    );
}

#[test]
fn later_measures_are_recorded_alone() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    let decision = then_ok(when(&state, measure(d(2024, 2, 1))));
    assert_eq!(decision.events, vec![measure_recorded(d(2024, 2, 1))]);
}

#[test]
fn measures_need_a_registered_or_assisted_case() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::CountyApproved,
    ));
    then_rule(when(&state, measure(d(2024, 1, 13))), "stage_order");
    let eliminated = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::RiskEliminated,
    ));
    then_rule(when(&eliminated, measure(d(2024, 7, 21))), "stage_order");
}

#[test]
fn a_measure_is_not_dated_before_registration() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Registered,
    ));
    then_invalid(when(&state, measure(d(2024, 1, 13))), "on");
}

#[test]
fn eliminates_the_risk_after_six_months_with_stable_income() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    // Registered on 2024-01-14: six whole months on 2024-07-14.
    let decision = then_ok(when(&state, eliminate(d(2024, 7, 14), 6)));
    assert_eq!(
        decision.events,
        vec![RegistryEvent::RiskEliminated {
            case_id: case_id(1),
            household_id: household_id(1),
            on: d(2024, 7, 14),
            months_monitored: 6,
            months_income_above_line: 6,
        }]
    );
}

#[test]
fn only_an_assisted_case_is_eliminated() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Registered,
    ));
    then_rule(when(&state, eliminate(d(2024, 7, 14), 6)), "stage_order");
}

#[test]
fn elimination_requires_an_assistance_measure() {
    let mut events = case_history(case_id(1), household_id(1), CaseStage::Registered);
    events.push(advanced(
        case_id(1),
        household_id(1),
        CaseStage::Registered,
        CaseStage::Assisted,
        d(2024, 1, 20),
    ));
    let state = given(&events);
    then_rule(
        when(&state, eliminate(d(2024, 7, 20), 6)),
        "assistance_required",
    );
}

#[test]
fn elimination_requires_six_whole_months_of_monitoring() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    let message = then_rule(
        when(&state, eliminate(d(2024, 7, 13), 6)),
        "min_monitoring_months",
    );
    assert!(
        message.contains("monitored 5 whole months") && message.contains("at least 6"),
        "{message}"
    );
}

#[test]
fn elimination_requires_six_months_of_income_above_the_line() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    let message = then_rule(
        when(&state, eliminate(d(2024, 7, 14), 5)),
        "income_stable_months",
    );
    assert!(
        message.contains("5 months") && message.contains("at least 6"),
        "{message}"
    );
}

#[test]
fn a_household_where_nobody_can_work_is_never_eliminated() {
    let (worker, _) = person_registered(household_id(1), 11, LabourCapacity::Ordinary);
    let (_, elder) = person_registered(household_id(1), 12, LabourCapacity::None);
    let mut events = case_history(case_id(1), household_id(1), CaseStage::Assisted);
    events.push(elder);
    events.push(RegistryEvent::PersonExited {
        person_id: worker,
        household_id: household_id(1),
        reason: ExitReason::Emigration,
        exit_date: d(2024, 6, 1),
        note: String::new(),
    });
    let state = given(&events);
    then_rule(
        when(&state, eliminate(d(2024, 7, 14), 6)),
        "nobody_can_work",
    );
}

#[test]
fn an_eliminated_case_returns_to_assisted() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::RiskEliminated,
    ));
    let decision = then_ok(when(&state, return_to_assisted(" 务工人员失业 ")));
    assert_eq!(
        decision.events,
        vec![RegistryEvent::RiskReturned {
            case_id: case_id(1),
            household_id: household_id(1),
            on: d(2024, 7, 25),
            reason: "务工人员失业".into(),
        }]
    );
    let mut after = state.clone();
    for event in &decision.events {
        after.apply(event);
    }
    assert_eq!(
        after.case(&case_id(1)).unwrap().stage(),
        CaseStage::Assisted
    );
}

#[test]
fn only_an_eliminated_case_returns() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    then_rule(when(&state, return_to_assisted("失业")), "stage_order");
}

#[test]
fn returning_needs_a_reason() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::RiskEliminated,
    ));
    then_invalid(when(&state, return_to_assisted("  ")), "reason");
}
