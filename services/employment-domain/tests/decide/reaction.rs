use employment_domain::*;

use crate::support::*;

#[test]
fn an_exit_ends_every_open_spell_and_the_post_and_a_redelivery_does_nothing() {
    let state = given(
        &[worker(1, 1), worker(2, 1)],
        &[
            started(2, person(1), household(1), 2),
            started(1, person(1), household(1), 1),
            started(3, person(2), household(1), 3),
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
        ],
    );
    let reaction = PersonExitedReaction {
        person_id: person(1),
        exit_date: d(2024, 7, 10),
    };
    let decision = state.react_to_exit(&reaction).unwrap();
    assert_eq!(decision.stream_id, person(1).stream_id());
    let ended = |s, alone| EmploymentEvent::SpellEnded {
        spell_id: spell(s),
        person_id: person(1),
        household_id: household(1),
        end_date: d(2024, 7, 10),
        reason: EndReason::PersonExited,
        left_household_without_employment: alone,
    };
    assert_eq!(
        decision.events,
        vec![
            ended(1, false),
            ended(2, false),
            EmploymentEvent::PostAssignmentEnded {
                post_id: post(1),
                person_id: person(1),
                on: d(2024, 7, 10),
                reason: EndReason::PersonExited,
            },
        ]
    );
    assert_eq!(state.react_to_exit(&reaction), Some(decision.clone()));
    let state = and(state, &decision);
    assert_eq!(state.react_to_exit(&reaction), None);
    assert_eq!(state.post(&post(1)).unwrap().current(), None);
}

#[test]
fn an_exit_leaving_nobody_employed_says_so_but_raises_no_job_loss() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    let decision = state
        .react_to_exit(&PersonExitedReaction {
            person_id: person(1),
            exit_date: d(2024, 1, 1),
        })
        .unwrap();
    // The spell started after the recorded exit date: it ends on its start date.
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::SpellEnded {
            spell_id: spell(1),
            person_id: person(1),
            household_id: household(1),
            end_date: d(2024, 3, 1),
            reason: EndReason::PersonExited,
            left_household_without_employment: true,
        }]
    );
}

#[test]
fn a_recorded_exit_fact_carries_the_reaction_and_then_refuses_new_work() {
    let state = given(
        &[worker(1, 1)],
        &[
            started(1, person(1), household(1), 1),
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
        ],
    );
    let exit = RegistryFact::PersonExited {
        person: person(1),
        household: household(1),
        date: d(2024, 7, 10),
    };
    let record = |source: &str| EmploymentCommand::RecordRegistryFact {
        fact: exit.clone(),
        source_event_id: source.into(),
    };
    let decision = then_ok(when(&state, record("registry-event-1")));
    assert_eq!(decision.stream_id, person(1).stream_id());
    let types: Vec<&str> = decision.events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        types,
        [
            "bottomline.employment.v1.RegistryPersonExited",
            "bottomline.employment.v1.SpellEnded",
            "bottomline.employment.v1.PostAssignmentEnded",
        ]
    );
    let state = and(state, &decision);
    assert!(!state.is_employed(&person(1)));
    assert_eq!(state.active_post(&person(1)), None);
    // The same exit learnt again (another copy of the registry event) ends nothing more.
    let again = then_ok(when(&state, record("registry-event-2")));
    assert_eq!(again.events.len(), 1);
    assert_eq!(
        state.reference().person(&person(1)).unwrap().exited_on,
        Some(d(2024, 7, 10))
    );
    then_rule(when(&state, start(2, person(1), 2)), "person_exited");
}

#[test]
fn household_facts_reach_members_in_either_order() {
    let early = given(
        &[
            household_known(household(1), false),
            known(person(1), household(1), d(1990, 1, 1)),
        ],
        &[],
    );
    let late = {
        let mut state = given(&[], &[]);
        state.observe(&known(person(1), household(1), d(1990, 1, 1)));
        state.observe(&household_known(household(1), true));
        state
    };
    assert!(
        !early
            .reference()
            .person(&person(1))
            .unwrap()
            .poverty_alleviated
    );
    assert!(
        late.reference()
            .person(&person(1))
            .unwrap()
            .poverty_alleviated
    );
}
