use registry_domain::*;

use crate::support::*;

fn register(household: HouseholdId, sequence: u32, name: &str) -> RegistryCommand {
    let citizen_id = citizen(sequence);
    RegistryCommand::RegisterPerson {
        household_id: household,
        id_hash: citizen_id.keyed_hash(KEY),
        citizen_id,
        name: name.into(),
        relation: Relation::Spouse,
        labour_capacity: LabourCapacity::Skilled,
        disabled: true,
    }
}

#[test]
fn registers_a_person_with_hash_and_mask_but_never_the_number() {
    let state = given(&[household_registered(household_id(1))]);
    let decision = then_ok(when(&state, register(household_id(1), 123, " 王小红 ")));
    let raw = citizen_raw(123);
    let id_hash = citizen(123).keyed_hash(KEY);
    let person_id = PersonId::from_id_hash(&id_hash);
    assert_eq!(decision.stream_id, person_id.stream_id());
    assert_eq!(decision.expected_version, 0);
    assert_eq!(
        decision.events,
        vec![RegistryEvent::PersonRegistered {
            person_id,
            household_id: household_id(1),
            id_hash,
            id_masked: format!("150422********{}", &raw[14..]),
            name: "王小红".into(),
            sex: Sex::Male,
            birth_date: d(1990, 1, 1),
            relation: Relation::Spouse,
            labour_capacity: LabourCapacity::Skilled,
            disabled: true,
            county_code: "150422".into(),
        }]
    );
    assert!(!format!("{:?}", decision.events).contains(&raw));
}

#[test]
fn the_household_must_exist() {
    let state = given(&[]);
    assert_eq!(
        when(&state, register(household_id(1), 1, "王小红")),
        Err(DomainError::NotFound {
            what: "household",
            id: household_id(1).to_string()
        })
    );
}

#[test]
fn name_has_one_to_fifty_characters_and_no_control_characters() {
    let state = given(&[household_registered(household_id(1))]);
    then_invalid(when(&state, register(household_id(1), 1, "  ")), "name");
    then_invalid(
        when(&state, register(household_id(1), 1, &"红".repeat(51))),
        "name",
    );
    then_invalid(
        when(&state, register(household_id(1), 1, "王\u{7}红")),
        "name",
    );
    then_ok(when(&state, register(household_id(1), 1, &"红".repeat(50))));
}

#[test]
fn a_citizen_is_registered_once_and_the_refusal_names_the_existing_person() {
    let (existing, event) = person_registered(household_id(1), 7, LabourCapacity::Weak);
    let state = given(&[household_registered(household_id(1)), event]);
    assert_eq!(
        state.person_by_id_hash(&citizen(7).keyed_hash(KEY)),
        Some(existing)
    );
    assert_eq!(
        when(&state, register(household_id(1), 7, "另一个名字")),
        Err(DomainError::AlreadyExists {
            what: "person",
            existing_id: existing.to_string()
        })
    );
}

fn change(person: PersonId, to: LabourCapacity) -> RegistryCommand {
    RegistryCommand::ChangeLabourCapacity {
        person_id: person,
        labour_capacity: to,
        effective_on: d(2024, 5, 1),
    }
}

#[test]
fn labour_capacity_change_records_before_and_after() {
    let (person, event) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), event]);
    let decision = then_ok(when(&state, change(person, LabourCapacity::None)));
    assert_eq!(decision.expected_version, 1);
    assert_eq!(
        decision.events,
        vec![RegistryEvent::LabourCapacityChanged {
            person_id: person,
            household_id: household_id(1),
            from: LabourCapacity::Ordinary,
            to: LabourCapacity::None,
            effective_on: d(2024, 5, 1),
        }]
    );
}

#[test]
fn labour_capacity_change_must_change_something() {
    let (person, event) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), event]);
    then_invalid(
        when(&state, change(person, LabourCapacity::Ordinary)),
        "labour_capacity",
    );
    let unknown = PersonId::from_id_hash("nobody");
    assert_eq!(
        when(&state, change(unknown, LabourCapacity::Weak)),
        Err(DomainError::NotFound {
            what: "person",
            id: unknown.to_string()
        })
    );
}

fn exited(person: PersonId) -> RegistryEvent {
    RegistryEvent::PersonExited {
        person_id: person,
        household_id: household_id(1),
        reason: ExitReason::Emigration,
        exit_date: d(2024, 3, 1),
        note: String::new(),
    }
}

#[test]
fn an_exited_person_cannot_change_labour_capacity() {
    let (person, event) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), event, exited(person)]);
    then_rule(
        when(&state, change(person, LabourCapacity::Weak)),
        "person_exited",
    );
}

fn exit(person: PersonId, on: chrono::NaiveDate) -> RegistryCommand {
    RegistryCommand::RecordExit {
        person_id: person,
        reason: ExitReason::Death,
        exit_date: on,
        note: "村委会证明".into(),
    }
}

#[test]
fn records_an_exit() {
    let (person, event) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), event]);
    let decision = then_ok(when(&state, exit(person, today())));
    assert_eq!(
        decision.events,
        vec![RegistryEvent::PersonExited {
            person_id: person,
            household_id: household_id(1),
            reason: ExitReason::Death,
            exit_date: today(),
            note: "村委会证明".into(),
        }]
    );
}

#[test]
fn a_person_exits_only_once() {
    let (person, event) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), event, exited(person)]);
    then_rule(when(&state, exit(person, d(2024, 4, 1))), "person_exited");
}

#[test]
fn exit_date_is_not_in_the_future() {
    let (person, event) = person_registered(household_id(1), 1, LabourCapacity::Ordinary);
    let state = given(&[household_registered(household_id(1)), event]);
    then_invalid(
        when(&state, exit(person, today().succ_opt().unwrap())),
        "exit_date",
    );
}
