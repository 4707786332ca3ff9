use chrono::NaiveDate;
use employment_domain::*;

use crate::support::*;

#[test]
fn training_is_enrolled_then_completed_once() {
    let state = given(&[worker(1, 1)], &[]);
    let decision = then_ok(when(
        &state,
        EmploymentCommand::EnrolTraining {
            enrolment_id: enrolment(1),
            person_id: person(1),
            kind: TrainingKind::OrderBased,
            course: "焊工".into(),
            starts_on: d(2024, 6, 1),
        },
    ));
    let state = and(state, &decision);
    let complete = |on| EmploymentCommand::CompleteTraining {
        enrolment_id: enrolment(1),
        on,
        certified: true,
    };
    then_invalid(when(&state, complete(d(2024, 5, 31))), "on");
    let decision = then_ok(when(&state, complete(d(2024, 7, 15))));
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::TrainingCompleted {
            enrolment_id: enrolment(1),
            person_id: person(1),
            on: d(2024, 7, 15),
            certified: true,
        }]
    );
    let state = and(state, &decision);
    then_rule(when(&state, complete(d(2024, 7, 16))), "training_completed");
}

fn rain_and_dew(n: u128, term: NaiveDate) -> EmploymentCommand {
    EmploymentCommand::EnrolRainAndDew {
        enrolment_id: enrolment(n),
        person_id: person(1),
        school: "赤峰工业职业技术学院".into(),
        term_starts_on: term,
    }
}

#[test]
fn rain_and_dew_pays_the_semester_rate_once_per_term() {
    let state = given(&[worker(1, 1)], &[]);
    let decision = then_ok(when(&state, rain_and_dew(1, d(2024, 9, 1))));
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::RainAndDewEnrolled {
            enrolment_id: enrolment(1),
            person_id: person(1),
            household_id: household(1),
            school: "赤峰工业职业技术学院".into(),
            term_starts_on: d(2024, 9, 1),
            subsidy_fen: 150_000,
        }]
    );
    let state = and(state, &decision);
    assert!(matches!(
        when(&state, rain_and_dew(2, d(2024, 9, 1))),
        Err(DomainError::AlreadyExists {
            what: "enrolment",
            ..
        })
    ));
}

#[test]
fn a_monitored_household_eliminated_before_term_no_longer_qualifies() {
    let facts = vec![
        household_known(household(1), false),
        known(person(1), household(1), d(2005, 1, 1)),
        RegistryFact::HouseholdMonitored {
            household: household(1),
            from: d(2024, 1, 14),
        },
        RegistryFact::HouseholdRiskEliminated {
            household: household(1),
            on: d(2024, 7, 20),
        },
    ];
    let state = given(&facts, &[]);
    then_ok(when(&state, rain_and_dew(1, d(2024, 3, 1))));
    then_rule(
        when(&state, rain_and_dew(2, d(2024, 9, 1))),
        "rain_and_dew_eligibility",
    );
}
