use registry_domain::*;

use crate::support::*;

fn register(village: &str, relocated: bool, area: Option<&str>) -> RegistryCommand {
    RegistryCommand::RegisterHousehold {
        household_id: household_id(1),
        village_code: village.into(),
        poverty_alleviated: true,
        relocated,
        settlement_area: area.map(Into::into),
    }
}

#[test]
fn registers_a_household_in_the_county_of_its_village() {
    let state = given(&[]);
    let decision = then_ok(when(
        &state,
        register("150422100200", true, Some(" 林东安置区 ")),
    ));
    assert_eq!(decision.stream_id, household_id(1).stream_id());
    assert_eq!(decision.expected_version, 0);
    assert_eq!(
        decision.events,
        vec![RegistryEvent::HouseholdRegistered {
            household_id: household_id(1),
            village_code: "150422100200".into(),
            county_code: "150422".into(),
            poverty_alleviated: true,
            relocated: true,
            settlement_area: Some("林东安置区".into()),
        }]
    );
}

#[test]
fn village_code_must_be_twelve_digits() {
    let state = given(&[]);
    then_invalid(
        when(&state, register("15042210020", false, None)),
        "village_code",
    );
    then_invalid(
        when(&state, register("15042210020A", false, None)),
        "village_code",
    );
}

#[test]
fn village_code_must_start_with_a_county_in_the_list() {
    let state = given(&[]);
    let reason = then_invalid(
        when(&state, register("110000100200", false, None)),
        "village_code",
    );
    assert!(reason.contains("110000"), "{reason}");
    let reason = then_invalid(
        when(&state, register("520221100200", false, None)),
        "village_code",
    );
    assert!(reason.contains("520221"), "abolished 水城县: {reason}");
}

#[test]
fn relocated_household_needs_a_settlement_area_of_at_most_100_characters() {
    let state = given(&[]);
    then_invalid(
        when(&state, register(VILLAGE, true, None)),
        "settlement_area",
    );
    then_invalid(
        when(&state, register(VILLAGE, true, Some("  "))),
        "settlement_area",
    );
    let long = "安".repeat(101);
    then_invalid(
        when(&state, register(VILLAGE, true, Some(&long))),
        "settlement_area",
    );
    then_ok(when(
        &state,
        register(VILLAGE, true, Some(&"安".repeat(100))),
    ));
    then_invalid(
        when(&state, register(VILLAGE, false, Some("林东安置区"))),
        "settlement_area",
    );
}

#[test]
fn a_household_id_cannot_be_registered_twice() {
    let state = given(&[household_registered(household_id(1))]);
    assert_eq!(
        when(&state, register(VILLAGE, false, None)),
        Err(DomainError::AlreadyExists {
            what: "household",
            existing_id: household_id(1).to_string()
        })
    );
}
