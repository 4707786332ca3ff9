use chrono::NaiveDate;
use registry_domain::*;

use crate::support::*;

fn advance(to: CaseStage, on: NaiveDate) -> RegistryCommand {
    RegistryCommand::AdvanceMonitoringCase {
        case_id: case_id(1),
        to,
        on,
        note: "入户核实".into(),
    }
}

#[test]
fn advances_one_stage_counting_days_since_lead() {
    let state = given(&case_history(case_id(1), household_id(1), CaseStage::Lead));
    let decision = then_ok(when(
        &state,
        advance(CaseStage::HomeVerified, d(2024, 1, 3)),
    ));
    assert_eq!(decision.expected_version, 1);
    assert_eq!(
        decision.events,
        vec![RegistryEvent::MonitoringCaseAdvanced {
            case_id: case_id(1),
            household_id: household_id(1),
            from: CaseStage::Lead,
            to: CaseStage::HomeVerified,
            on: d(2024, 1, 3),
            days_since_lead: 2,
            identification_clock_breached: false,
            note: "入户核实".into(),
        }]
    );
}

#[test]
fn stages_cannot_be_skipped_repeated_or_reached_by_this_command() {
    let state = given(&case_history(case_id(1), household_id(1), CaseStage::Lead));
    then_rule(
        when(&state, advance(CaseStage::DataCompared, d(2024, 1, 3))),
        "stage_order",
    );
    then_rule(
        when(&state, advance(CaseStage::Lead, d(2024, 1, 3))),
        "stage_order",
    );
    let registered = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Registered,
    ));
    then_rule(
        when(&registered, advance(CaseStage::Assisted, d(2024, 1, 20))),
        "stage_order",
    );
    then_rule(
        when(
            &registered,
            advance(CaseStage::RiskEliminated, d(2024, 7, 20)),
        ),
        "stage_order",
    );
    then_rule(
        when(&registered, advance(CaseStage::Registered, d(2024, 1, 20))),
        "stage_order",
    );
}

#[test]
fn transition_date_is_not_before_the_previous_one_nor_in_the_future() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::HomeVerified,
    ));
    then_invalid(
        when(&state, advance(CaseStage::DataCompared, d(2024, 1, 2))),
        "on",
    );
    let tomorrow = today().succ_opt().unwrap();
    then_invalid(
        when(&state, advance(CaseStage::DataCompared, tomorrow)),
        "on",
    );
    then_ok(when(
        &state,
        advance(CaseStage::DataCompared, d(2024, 1, 3)),
    ));
}

#[test]
fn township_review_waits_for_the_public_notice_period() {
    // Village review (public notice) on 2024-01-06; five days are required.
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::VillageReviewed,
    ));
    let message = then_rule(
        when(&state, advance(CaseStage::TownshipReviewed, d(2024, 1, 10))),
        "public_notice_days",
    );
    assert!(
        message.contains("4 days") && message.contains("at least 5"),
        "{message}"
    );
    then_ok(when(
        &state,
        advance(CaseStage::TownshipReviewed, d(2024, 1, 11)),
    ));
}

#[test]
fn registration_within_the_identification_limit_is_not_breached() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::CountyApproved,
    ));
    let decision = then_ok(when(&state, advance(CaseStage::Registered, d(2024, 1, 16))));
    assert!(matches!(
        decision.events.as_slice(),
        [RegistryEvent::MonitoringCaseAdvanced {
            days_since_lead: 15,
            identification_clock_breached: false,
            ..
        }]
    ));
}

#[test]
fn late_registration_is_accepted_and_records_the_breach() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::CountyApproved,
    ));
    let decision = then_ok(when(&state, advance(CaseStage::Registered, d(2024, 1, 17))));
    assert_eq!(
        decision.events,
        vec![RegistryEvent::MonitoringCaseAdvanced {
            case_id: case_id(1),
            household_id: household_id(1),
            from: CaseStage::CountyApproved,
            to: CaseStage::Registered,
            on: d(2024, 1, 17),
            days_since_lead: 16,
            identification_clock_breached: true,
            note: "入户核实".into(),
        }]
    );
}

#[test]
fn unknown_case_is_not_found() {
    let state = given(&[]);
    assert_eq!(
        when(&state, advance(CaseStage::HomeVerified, today())),
        Err(DomainError::NotFound {
            what: "case",
            id: case_id(1).to_string()
        })
    );
}
