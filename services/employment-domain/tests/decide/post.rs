use chrono::NaiveDate;
use employment_domain::*;

use crate::support::*;

fn create(n: u128, county: &str, subsidy: i64, starts_on: NaiveDate) -> EmploymentCommand {
    EmploymentCommand::CreatePost {
        post_id: post(n),
        county_code: county.into(),
        category: PostCategory::Ordinary,
        funding_source: "bridging funds".into(),
        monthly_subsidy_fen: subsidy,
        term_months: 12,
        starts_on,
    }
}

#[test]
fn a_post_inside_the_band_is_created_with_the_band_recorded() {
    let state = given(&[], &[]);
    let decision = then_ok(when(&state, create(1, COUNTY, 100_000, d(2024, 1, 1))));
    assert_eq!(decision.stream_id, format!("post-{}", post(1)));
    assert_eq!(decision.events, vec![post_created(1, 100_000)]);
}

#[test]
fn subsidy_outside_the_band_names_min_and_max_in_yuan_and_fen() {
    let state = given(&[], &[]);
    let message = then_rule(
        when(&state, create(1, COUNTY, 237_601, d(2024, 1, 1))),
        "subsidy_band",
    );
    assert!(
        message.contains("¥600.00") && message.contains("¥2376.00"),
        "{message}"
    );
    assert!(
        message.contains("60000") && message.contains("237600"),
        "{message}"
    );
    then_rule(
        when(&state, create(1, COUNTY, 59_999, d(2024, 1, 1))),
        "subsidy_band",
    );
    then_ok(when(&state, create(1, COUNTY, 237_600, d(2024, 1, 1))));
}

#[test]
fn a_subsidy_of_no_fen_or_less_is_invalid_whatever_the_band() {
    let state = given(&[], &[]);
    for fen in [0, -1, i64::MIN] {
        then_invalid(
            when(&state, create(1, COUNTY, fen, d(2024, 1, 1))),
            "monthly_subsidy_fen",
        );
    }
}

#[test]
fn no_band_for_the_province_or_date_is_refused() {
    let state = given(&[], &[]);
    then_rule(
        when(&state, create(1, "450100", 100_000, d(2024, 1, 1))),
        "no_subsidy_band",
    );
    then_rule(
        when(&state, create(1, COUNTY, 100_000, d(2023, 9, 30))),
        "no_subsidy_band",
    );
}

fn assign(n: u128, p: PersonId, on: NaiveDate, reason: Option<&str>) -> EmploymentCommand {
    EmploymentCommand::AssignPost {
        post_id: post(n),
        person_id: p,
        on,
        age_override_reason: reason.map(str::to_owned),
    }
}

#[test]
fn assignment_goes_to_the_holders_stream_with_age() {
    let state = given(&[worker(1, 1)], &[post_created(1, 100_000)]);
    let decision = then_ok(when(&state, assign(1, person(1), d(2024, 2, 1), None)));
    assert_eq!(decision.stream_id, person(1).stream_id());
    assert_eq!(
        decision.events,
        vec![assigned(1, person(1), household(1), d(2024, 2, 1))]
    );
}

#[test]
fn only_poverty_alleviated_or_monitored_households_are_eligible() {
    let facts = [
        household_known(household(1), false),
        known(person(1), household(1), d(1990, 1, 1)),
    ];
    let state = given(&facts, &[post_created(1, 100_000)]);
    then_rule(
        when(&state, assign(1, person(1), d(2024, 2, 1), None)),
        "post_eligibility",
    );
    let mut monitored = facts.to_vec();
    monitored.push(RegistryFact::HouseholdMonitored {
        household: household(1),
        from: d(2024, 1, 14),
    });
    let state = given(&monitored, &[post_created(1, 100_000)]);
    then_ok(when(&state, assign(1, person(1), d(2024, 2, 1), None)));
}

#[test]
fn age_sixteen_to_sixty_or_sixty_five_with_a_recorded_reason() {
    let on = d(2024, 2, 1);
    let young = known(person(1), household(1), d(2008, 2, 2)); // 15
    let old = known(person(2), household(2), d(1962, 1, 1)); // 62
    let too_old = known(person(3), household(3), d(1958, 1, 31)); // 66
    let state = given(&[young, old, too_old], &[post_created(1, 100_000)]);
    then_rule(when(&state, assign(1, person(1), on, None)), "post_age");
    then_rule(when(&state, assign(1, person(2), on, None)), "post_age");
    then_rule(
        when(&state, assign(1, person(2), on, Some("  "))),
        "post_age",
    );
    then_rule(
        when(&state, assign(1, person(3), on, Some("no one else"))),
        "post_age",
    );
    let decision = then_ok(when(
        &state,
        assign(1, person(2), on, Some("only carer in village")),
    ));
    assert!(matches!(
        &decision.events[0],
        EmploymentEvent::PostAssigned { age: 62, age_override_reason: Some(r), .. }
            if r == "only carer in village"
    ));
}

#[test]
fn one_post_per_person_and_one_holder_per_post() {
    let state = given(
        &[worker(1, 1), worker(2, 2)],
        &[
            post_created(1, 100_000),
            post_created(2, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
        ],
    );
    then_rule(
        when(&state, assign(2, person(1), d(2024, 3, 1), None)),
        "one_post",
    );
    then_rule(
        when(&state, assign(1, person(2), d(2024, 3, 1), None)),
        "post_occupied",
    );
    then_ok(when(&state, assign(2, person(2), d(2024, 3, 1), None)));
}

#[test]
fn ending_an_assignment_frees_the_post() {
    let state = given(
        &[worker(1, 1), worker(2, 2)],
        &[
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
        ],
    );
    let end = |on| EmploymentCommand::EndPostAssignment {
        post_id: post(1),
        on,
        reason: EndReason::ContractEnded,
    };
    then_invalid(when(&state, end(d(2024, 1, 31))), "on");
    let decision = then_ok(when(&state, end(d(2024, 4, 30))));
    assert_eq!(decision.stream_id, person(1).stream_id());
    let state = and(state, &decision);
    assert_eq!(state.active_post(&person(1)), None);
    then_rule(when(&state, end(d(2024, 5, 1))), "post_not_occupied");
    then_ok(when(&state, assign(1, person(2), d(2024, 5, 1), None)));
}

fn pay(month: NaiveDate, amount: i64) -> EmploymentCommand {
    EmploymentCommand::RecordPostSubsidyPaid {
        post_id: post(1),
        month,
        amount_fen: amount,
    }
}

#[test]
fn subsidy_only_for_a_month_with_a_holder_and_once_per_month() {
    let state = given(
        &[worker(1, 1)],
        &[
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 15)),
        ],
    );
    then_rule(
        when(&state, pay(d(2024, 1, 1), 100_000)),
        "subsidy_not_assigned",
    );
    then_invalid(when(&state, pay(d(2024, 2, 15), 100_000)), "month");
    then_invalid(when(&state, pay(d(2024, 2, 1), 0)), "amount_fen");
    then_rule(when(&state, pay(d(2024, 2, 1), 100_001)), "subsidy_amount");
    let decision = then_ok(when(&state, pay(d(2024, 2, 1), 100_000)));
    assert_eq!(decision.stream_id, post(1).stream_id());
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::PostSubsidyPaid {
            post_id: post(1),
            person_id: person(1),
            month: d(2024, 2, 1),
            amount_fen: 100_000,
        }]
    );
    let state = and(state, &decision);
    then_rule(when(&state, pay(d(2024, 2, 1), 100_000)), "subsidy_paid");
    then_ok(when(&state, pay(d(2024, 3, 1), 100_000)));
}

#[test]
fn no_subsidy_after_the_term_or_for_a_month_after_the_holder_exited() {
    let exited = RegistryFact::PersonExited {
        person: person(1),
        household: household(1),
        date: d(2024, 3, 10),
    };
    let state = given(
        &[worker(1, 1), exited],
        &[
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
        ],
    );
    // March: the holder still lived there for part of the month; April: gone.
    then_ok(when(&state, pay(d(2024, 3, 1), 100_000)));
    then_rule(when(&state, pay(d(2024, 4, 1), 100_000)), "holder_exited");

    let state = given(
        &[worker(2, 2)],
        &[
            EmploymentEvent::PostCreated {
                post_id: post(2),
                county_code: COUNTY.into(),
                category: PostCategory::Ordinary,
                funding_source: "bridging funds".into(),
                monthly_subsidy_fen: 100_000,
                term_months: 3,
                starts_on: d(2024, 1, 1),
                band_min_fen: 60_000,
                band_max_fen: 237_600,
                band_source: "test band".into(),
            },
            assigned(2, person(2), household(2), d(2024, 1, 1)),
        ],
    );
    let pay2 = |month| EmploymentCommand::RecordPostSubsidyPaid {
        post_id: post(2),
        month,
        amount_fen: 100_000,
    };
    // A 3-month term from January ends on 2024-03-31.
    then_ok(when(&state, pay2(d(2024, 3, 1))));
    then_rule(when(&state, pay2(d(2024, 4, 1))), "post_term");
}

#[test]
fn a_new_holder_starts_after_the_previous_one_left() {
    let state = given(
        &[worker(1, 1), worker(2, 2)],
        &[
            post_created(1, 100_000),
            assigned(1, person(1), household(1), d(2024, 2, 1)),
            EmploymentEvent::PostAssignmentEnded {
                post_id: post(1),
                person_id: person(1),
                on: d(2024, 6, 1),
                reason: EndReason::ContractEnded,
            },
        ],
    );
    then_rule(
        when(&state, assign(1, person(2), d(2024, 3, 1), None)),
        "post_handover",
    );
    then_rule(
        when(&state, assign(1, person(2), d(2024, 6, 1), None)),
        "post_handover",
    );
    then_ok(when(&state, assign(1, person(2), d(2024, 6, 2), None)));
}
