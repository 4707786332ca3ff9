use employment_domain::*;

use crate::support::*;

#[test]
fn starting_a_spell_records_the_household_and_county() {
    let state = given(&[worker(1, 1)], &[]);
    let decision = then_ok(when(&state, start(1, person(1), 1)));
    assert_eq!(decision.stream_id, format!("employment-{}", person(1)));
    assert_eq!(decision.expected_version, 0);
    assert_eq!(
        decision.events,
        vec![started(1, person(1), household(1), 1)]
    );
}

#[test]
fn unknown_persons_are_not_found_and_exited_ones_refused() {
    let state = given(&[], &[]);
    assert_eq!(
        when(&state, start(1, person(1), 1)),
        Err(DomainError::NotFound {
            what: "person",
            id: person(1).to_string()
        })
    );
    let state = given(
        &[
            worker(1, 1),
            RegistryFact::PersonExited {
                person: person(1),
                household: household(1),
                date: d(2024, 5, 1),
            },
        ],
        &[],
    );
    then_rule(when(&state, start(1, person(1), 1)), "person_exited");
}

#[test]
fn one_open_spell_per_employer_but_several_employers_allowed() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    then_rule(
        when(&state, start(2, person(1), 1)),
        "open_spell_per_employer",
    );
    then_ok(when(&state, start(2, person(1), 2)));
    assert_eq!(
        when(&state, start(1, person(1), 2)),
        Err(DomainError::AlreadyExists {
            what: "spell",
            existing_id: spell(1).to_string()
        })
    );
}

#[test]
fn start_date_not_after_today_income_not_negative_place_six_digits() {
    let state = given(&[worker(1, 1)], &[]);
    let mut cmd = start(1, person(1), 1);
    if let EmploymentCommand::StartSpell { terms, .. } = &mut cmd {
        terms.start_date = d(2024, 8, 2);
    }
    then_invalid(when(&state, cmd), "start_date");
    let mut cmd = start(1, person(1), 1);
    if let EmploymentCommand::StartSpell { terms, .. } = &mut cmd {
        terms.monthly_income_fen = -1;
    }
    then_invalid(when(&state, cmd), "monthly_income_fen");
    let mut cmd = start(1, person(1), 1);
    if let EmploymentCommand::StartSpell { terms, .. } = &mut cmd {
        terms.place_of_work = "4403".into();
    }
    then_invalid(when(&state, cmd), "place_of_work");
}

fn end(s: u128, on: chrono::NaiveDate, reason: EndReason) -> EmploymentCommand {
    EmploymentCommand::EndSpell {
        spell_id: spell(s),
        end_date: on,
        reason,
    }
}

#[test]
fn end_date_between_start_and_today() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    then_invalid(
        when(&state, end(1, d(2024, 2, 29), EndReason::Moved)),
        "end_date",
    );
    then_invalid(
        when(&state, end(1, d(2024, 8, 2), EndReason::Moved)),
        "end_date",
    );
    then_ok(when(&state, end(1, d(2024, 3, 1), EndReason::Moved)));
    assert_eq!(
        when(&state, end(9, d(2024, 3, 1), EndReason::Moved)),
        Err(DomainError::NotFound {
            what: "spell",
            id: spell(9).to_string()
        })
    );
}

#[test]
fn an_ended_spell_cannot_end_again() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    let decision = then_ok(when(&state, end(1, d(2024, 6, 30), EndReason::Moved)));
    let state = and(state, &decision);
    then_rule(
        when(&state, end(1, d(2024, 7, 1), EndReason::Moved)),
        "spell_ended",
    );
}

#[test]
fn job_loss_leaving_the_household_without_employment_raises_the_risk() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    let decision = then_ok(when(&state, end(1, d(2024, 6, 30), EndReason::Dismissed)));
    assert_eq!(decision.expected_version, 1);
    assert_eq!(
        decision.events,
        vec![
            EmploymentEvent::SpellEnded {
                spell_id: spell(1),
                person_id: person(1),
                household_id: household(1),
                end_date: d(2024, 6, 30),
                reason: EndReason::Dismissed,
                left_household_without_employment: true,
            },
            EmploymentEvent::JobLossRiskRaised {
                person_id: person(1),
                household_id: household(1),
                spell_id: spell(1),
                on: d(2024, 6, 30),
                monitored_household: false,
                household_without_employment: true,
            },
        ]
    );
}

#[test]
fn another_employed_member_keeps_the_household_employed_and_no_risk_unless_monitored() {
    let facts = [worker(1, 1), worker(2, 1)];
    let events = [
        started(1, person(1), household(1), 1),
        started(2, person(2), household(1), 2),
    ];
    let state = given(&facts, &events);
    let decision = then_ok(when(
        &state,
        end(1, d(2024, 6, 30), EndReason::BusinessClosed),
    ));
    assert_eq!(decision.events.len(), 1);
    assert!(matches!(
        decision.events[0],
        EmploymentEvent::SpellEnded {
            left_household_without_employment: false,
            ..
        }
    ));

    let mut monitored = facts.to_vec();
    monitored.push(RegistryFact::HouseholdMonitored {
        household: household(1),
        from: d(2024, 1, 14),
    });
    let state = given(&monitored, &events);
    let decision = then_ok(when(
        &state,
        end(1, d(2024, 6, 30), EndReason::BusinessClosed),
    ));
    assert_eq!(
        decision.events[1],
        EmploymentEvent::JobLossRiskRaised {
            person_id: person(1),
            household_id: household(1),
            spell_id: spell(1),
            on: d(2024, 6, 30),
            monitored_household: true,
            household_without_employment: false,
        }
    );
}

#[test]
fn moving_or_keeping_another_job_is_not_a_job_loss_signal() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    let decision = then_ok(when(&state, end(1, d(2024, 6, 30), EndReason::Moved)));
    assert_eq!(decision.events.len(), 1);

    let state = given(
        &[worker(1, 1)],
        &[
            started(1, person(1), household(1), 1),
            started(2, person(1), household(1), 2),
        ],
    );
    let decision = then_ok(when(&state, end(1, d(2024, 6, 30), EndReason::Dismissed)));
    assert_eq!(decision.events.len(), 1);
}

fn correct(s: u128) -> EmploymentCommand {
    EmploymentCommand::CorrectSpell {
        spell_id: spell(s),
        employer_uscc: None,
        place_of_work: None,
        location_class: None,
        channel: None,
        start_date: None,
        monthly_income_fen: Some(380_000),
        evidence: Some(EvidenceSource::SocialInsuranceMatch),
        reason: "matched social insurance record".into(),
    }
}

#[test]
fn corrections_are_new_events_with_the_full_corrected_values() {
    let state = given(&[worker(1, 1)], &[started(1, person(1), household(1), 1)]);
    let decision = then_ok(when(&state, correct(1)));
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::SpellCorrected {
            spell_id: spell(1),
            person_id: person(1),
            terms: SpellTerms {
                employer_uscc: employer(1),
                place_of_work: PLACE.into(),
                location_class: LocationClass::OutOfProvince,
                channel: Channel::OrganisedLabourExport,
                start_date: d(2024, 3, 1),
                monthly_income_fen: 380_000,
                evidence: EvidenceSource::SocialInsuranceMatch,
            },
            reason: "matched social insurance record".into(),
        }]
    );
    let state = and(state, &decision);
    assert_eq!(
        state.spell(&spell(1)).unwrap().terms.monthly_income_fen,
        380_000
    );
    then_invalid(when(&state, correct(1)), "correction");
}

#[test]
fn corrections_need_a_reason_and_keep_one_open_spell_per_employer() {
    let state = given(
        &[worker(1, 1)],
        &[
            started(1, person(1), household(1), 1),
            started(2, person(1), household(1), 2),
        ],
    );
    let mut cmd = correct(1);
    if let EmploymentCommand::CorrectSpell { reason, .. } = &mut cmd {
        *reason = " ".into();
    }
    then_invalid(when(&state, cmd), "reason");
    let mut cmd = correct(1);
    if let EmploymentCommand::CorrectSpell { employer_uscc, .. } = &mut cmd {
        *employer_uscc = Some(employer(2));
    }
    then_rule(when(&state, cmd), "open_spell_per_employer");
}

#[test]
fn follow_ups_are_recorded_for_active_persons() {
    let cmd = EmploymentCommand::RecordFollowUp {
        person_id: person(1),
        date: d(2024, 7, 2),
        channel: FollowUpChannel::HomeVisit,
        outcome: FollowUpOutcome::PostReferral,
    };
    let state = given(&[worker(1, 1)], &[]);
    let decision = then_ok(when(&state, cmd.clone()));
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::FollowUpRecorded {
            person_id: person(1),
            household_id: household(1),
            date: d(2024, 7, 2),
            channel: FollowUpChannel::HomeVisit,
            outcome: FollowUpOutcome::PostReferral,
        }]
    );
    assert_eq!(
        and(state, &decision).last_follow_up(&person(1)),
        Some(d(2024, 7, 2))
    );
    assert!(matches!(
        when(&given(&[], &[]), cmd),
        Err(DomainError::NotFound { what: "person", .. })
    ));
}

#[test]
fn the_place_of_work_must_match_the_location_class_and_the_worker_be_sixteen() {
    let state = given(&[worker(1, 1)], &[]);
    let with = |place: &str, class: LocationClass| {
        let mut cmd = start(1, person(1), 1);
        if let EmploymentCommand::StartSpell { terms, .. } = &mut cmd {
            terms.place_of_work = place.into();
            terms.location_class = class;
        }
        cmd
    };
    // Home county 150422 (赤峰市巴林左旗): 1504 is 赤峰市, 15 Inner Mongolia.
    then_ok(when(&state, with("440303", LocationClass::OutOfProvince)));
    then_rule(
        when(&state, with("150422", LocationClass::OutOfProvince)),
        "location_class",
    );
    then_ok(when(
        &state,
        with("150102", LocationClass::InProvinceOutOfCity),
    ));
    then_rule(
        when(&state, with("150421", LocationClass::InProvinceOutOfCity)),
        "location_class",
    );
    then_ok(when(
        &state,
        with("150421", LocationClass::InCityOutOfCounty),
    ));
    then_ok(when(&state, with("150422", LocationClass::InTownship)));
    then_rule(
        when(&state, with("150421", LocationClass::InCountyOutOfTownship)),
        "location_class",
    );
    then_invalid(
        when(&state, with("150400", LocationClass::InCityOutOfCounty)),
        "place_of_work",
    );

    let young = given(&[known(person(2), household(2), d(2008, 9, 1))], &[]);
    let mut cmd = start(2, person(2), 1);
    if let EmploymentCommand::StartSpell { terms, .. } = &mut cmd {
        terms.start_date = d(2024, 8, 1);
    }
    then_rule(when(&young, cmd), "minimum_working_age");
}
