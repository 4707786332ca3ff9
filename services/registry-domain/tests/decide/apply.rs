use registry_domain::*;

use crate::support::*;

#[test]
fn apply_counts_stream_versions_and_builds_the_model() {
    let events = case_history(case_id(1), household_id(1), CaseStage::RiskEliminated);
    let state = given(&events);
    assert_eq!(state.stream_version(&household_id(1).stream_id()), 1);
    assert_eq!(state.stream_version(&case_id(1).stream_id()), 10);
    assert_eq!(state.stream_version("case-unknown"), 0);
    assert_eq!(
        (
            state.household_count(),
            state.person_count(),
            state.case_count()
        ),
        (1, 1, 1)
    );
    assert_eq!(state.household_county(&household_id(1)), Some(COUNTY));
    let case = state.case(&case_id(1)).unwrap();
    assert_eq!(case.stage(), CaseStage::RiskEliminated);
    assert_eq!(case.registered_on(), Some(d(2024, 1, 14)));
    assert_eq!(case.measures(), 1);
}

#[test]
fn refusals_leave_the_state_untouched() {
    let state = given(&case_history(
        case_id(1),
        household_id(1),
        CaseStage::Assisted,
    ));
    let before = format!("{state:?}");
    let refused = when(
        &state,
        RegistryCommand::EliminateRisk {
            case_id: case_id(1),
            on: d(2024, 7, 1),
            months_income_above_line: 6,
        },
    );
    assert!(refused.is_err());
    assert_eq!(format!("{state:?}"), before);
}

#[test]
fn apply_is_total_on_events_for_unknown_aggregates() {
    let mut state = given(&[]);
    let (person, registered) = person_registered(household_id(9), 1, LabourCapacity::Weak);
    let orphans = vec![
        registered.clone(),
        registered,
        RegistryEvent::PersonExited {
            person_id: PersonId::from_id_hash("ghost"),
            household_id: household_id(9),
            reason: ExitReason::Error,
            exit_date: d(2024, 1, 1),
            note: String::new(),
        },
        advanced(
            case_id(9),
            household_id(9),
            CaseStage::Lead,
            CaseStage::Registered,
            d(2024, 1, 1),
        ),
        RegistryEvent::RiskEliminated {
            case_id: case_id(9),
            household_id: household_id(9),
            on: d(1900, 1, 1),
            months_monitored: u32::MAX,
            months_income_above_line: 0,
        },
        household_registered(household_id(9)),
        household_registered(household_id(9)),
    ];
    for event in &orphans {
        state.apply(event);
    }
    assert_eq!(state.stream_version(&person.stream_id()), 2);
    assert_eq!(state.stream_version(&case_id(9).stream_id()), 2);
    assert_eq!(state.stream_version(&household_id(9).stream_id()), 2);
    assert_eq!(state.case_count(), 0);
    // Deciding on top of an odd history still answers instead of panicking.
    let _ = when(
        &state,
        RegistryCommand::AdvanceMonitoringCase {
            case_id: case_id(9),
            to: CaseStage::Assisted,
            on: d(2024, 1, 1),
            note: String::new(),
        },
    );
}

#[test]
fn event_types_are_protobuf_full_names() {
    let event = household_registered(household_id(1));
    assert_eq!(
        event.event_type(),
        "bottomline.registry.v1.HouseholdRegistered"
    );
    assert_eq!(event.stream_id(), household_id(1).stream_id());
}
