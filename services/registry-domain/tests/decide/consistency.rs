//! Rules that keep a person's and a household's history consistent: one head, dates after birth
//! and after earlier changes, one open case per household.

use registry_domain::*;

use crate::support::*;

fn change_capacity(person: PersonId, to: LabourCapacity, on: chrono::NaiveDate) -> RegistryCommand {
    RegistryCommand::ChangeLabourCapacity {
        person_id: person,
        labour_capacity: to,
        effective_on: on,
    }
}

fn exit(person: PersonId, on: chrono::NaiveDate) -> RegistryCommand {
    RegistryCommand::RecordExit {
        person_id: person,
        reason: ExitReason::Emigration,
        exit_date: on,
        note: String::new(),
    }
}

#[test]
fn a_household_has_one_head() {
    let (_, head) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), head]);
    let citizen_id = citizen(2);
    let second_head = RegistryCommand::RegisterPerson {
        household_id: household_id(1),
        id_hash: citizen_id.keyed_hash(KEY),
        citizen_id,
        name: "第二户主".into(),
        relation: Relation::Head,
        labour_capacity: LabourCapacity::Ordinary,
        disabled: false,
    };
    then_rule(when(&state, second_head), "one_head");
}

#[test]
fn a_new_head_is_accepted_once_the_old_one_exited() {
    let (old, head) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let exited = RegistryEvent::PersonExited {
        person_id: old,
        household_id: household_id(1),
        reason: ExitReason::Death,
        exit_date: d(2024, 5, 1),
        note: String::new(),
    };
    let state = given(&[household_registered(household_id(1)), head, exited]);
    let citizen_id = citizen(2);
    let new_head = RegistryCommand::RegisterPerson {
        household_id: household_id(1),
        id_hash: citizen_id.keyed_hash(KEY),
        citizen_id,
        name: "新户主".into(),
        relation: Relation::Head,
        labour_capacity: LabourCapacity::Ordinary,
        disabled: false,
    };
    then_ok(when(&state, new_head));
}

#[test]
fn dates_about_a_person_are_not_before_their_birth() {
    let (person, registered) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let birth = citizen(1).birth_date();
    let before_birth = birth.pred_opt().unwrap();
    let state = given(&[household_registered(household_id(1)), registered]);
    let reason = then_invalid(when(&state, exit(person, before_birth)), "exit_date");
    assert!(reason.contains("birth date"), "{reason}");
    let reason = then_invalid(
        when(
            &state,
            change_capacity(person, LabourCapacity::Weak, before_birth),
        ),
        "effective_on",
    );
    assert!(reason.contains("birth date"), "{reason}");
    then_ok(when(&state, exit(person, birth)));
}

#[test]
fn capacity_changes_and_exits_move_forward_in_time() {
    let (person, registered) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let changed = RegistryEvent::LabourCapacityChanged {
        person_id: person,
        household_id: household_id(1),
        from: LabourCapacity::Ordinary,
        to: LabourCapacity::Weak,
        effective_on: d(2024, 6, 1),
    };
    let state = given(&[household_registered(household_id(1)), registered, changed]);
    let reason = then_invalid(
        when(
            &state,
            change_capacity(person, LabourCapacity::None, d(2023, 6, 1)),
        ),
        "effective_on",
    );
    assert!(reason.contains("last capacity change"), "{reason}");
    then_invalid(when(&state, exit(person, d(2024, 3, 1))), "exit_date");
    then_ok(when(
        &state,
        change_capacity(person, LabourCapacity::None, d(2024, 6, 1)),
    ));
    then_ok(when(&state, exit(person, d(2024, 6, 2))));
}

#[test]
fn an_eliminated_case_cannot_return_while_another_case_is_open() {
    let mut events = case_history(case_id(1), household_id(1), CaseStage::RiskEliminated);
    events.push(RegistryEvent::MonitoringCaseOpened {
        case_id: case_id(2),
        household_id: household_id(1),
        case_type: CaseType::SuddenHardship,
        risk_factors: vec![RiskFactor::Illness],
        lead_source: LeadSource::SelfReport,
        lead_date: d(2024, 7, 22),
        county_code: COUNTY.into(),
    });
    let state = given(&events);
    let back = RegistryCommand::ReturnToAssisted {
        case_id: case_id(1),
        on: d(2024, 7, 25),
        reason: "income fell again".into(),
    };
    then_rule(when(&state, back), "case_open");
}
