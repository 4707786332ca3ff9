use employment_domain::*;

use crate::support::*;

#[test]
fn apply_counts_stream_versions_and_builds_the_model() {
    let state = given(
        &[worker(1, 1)],
        &[
            started(1, person(1), household(1), 1),
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
        ],
    );
    assert_eq!(state.stream_version(&person(1).stream_id()), 2);
    assert_eq!(state.stream_version(&post(1).stream_id()), 1);
    assert_eq!(state.stream_version("post-unknown"), 0);
    assert!(state.is_employed(&person(1)));
    assert_eq!(state.open_spells(&person(1)), vec![spell(1)]);
    assert_eq!(state.active_post(&person(1)), Some(post(1)));
}

#[test]
fn refusals_leave_the_state_untouched() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    let before = format!("{state:?}");
    assert!(when(&state, start(2, person(1), 1)).is_err());
    assert_eq!(format!("{state:?}"), before);
}

#[test]
fn apply_is_total_on_events_for_unknown_aggregates() {
    let mut state = given(&[], &[]);
    let orphans = [
        EmploymentEvent::SpellEnded {
            spell_id: spell(9),
            person_id: person(9),
            household_id: household(9),
            end_date: d(2024, 1, 1),
            reason: EndReason::Other,
            left_household_without_employment: true,
        },
        assigned(9, person(9), household(9), d(2024, 1, 1)),
        EmploymentEvent::PostSubsidyPaid {
            post_id: post(9),
            person_id: person(9),
            month: d(2024, 1, 1),
            amount_fen: 1,
        },
        EmploymentEvent::WorkshopClassified {
            workshop_id: workshop(9),
            class: WorkshopClass2023::New,
            on: d(2024, 1, 1),
        },
        EmploymentEvent::TrainingCompleted {
            enrolment_id: enrolment(9),
            person_id: person(9),
            on: d(2024, 1, 1),
            certified: false,
        },
    ];
    for event in &orphans {
        state.apply(event);
    }
    assert_eq!(state.stream_version(&person(9).stream_id()), 3);
    assert_eq!(state.spell(&spell(9)), None);
}

#[test]
fn event_types_name_the_protobuf_messages() {
    assert_eq!(
        post_created(1, 1).event_type(),
        "bottomline.employment.v1.PostCreated"
    );
}
