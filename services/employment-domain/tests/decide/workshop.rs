use employment_domain::*;

use crate::support::*;

fn registered() -> EmploymentEvent {
    EmploymentEvent::WorkshopRegistered {
        workshop_id: workshop(1),
        name: "扶贫车间一号".into(),
        workshop_type: WorkshopType::Factory,
        county_code: COUNTY.into(),
        registered_on: d(2023, 5, 10),
    }
}

#[test]
fn a_workshop_is_registered_once() {
    let cmd = EmploymentCommand::RegisterWorkshop {
        workshop_id: workshop(1),
        name: " 扶贫车间一号 ".into(),
        workshop_type: WorkshopType::Factory,
        county_code: COUNTY.into(),
        registered_on: d(2023, 5, 10),
    };
    let decision = then_ok(when(&given(&[], &[]), cmd.clone()));
    assert_eq!(decision.events, vec![registered()]);
    assert!(matches!(
        when(&given(&[], &[registered()]), cmd),
        Err(DomainError::AlreadyExists {
            what: "workshop",
            ..
        })
    ));
}

#[test]
fn classification_must_change_the_class() {
    let classify = |class| EmploymentCommand::ClassifyWorkshop {
        workshop_id: workshop(1),
        class,
        on: d(2023, 10, 1),
    };
    let state = given(&[], &[registered()]);
    let decision = then_ok(when(&state, classify(WorkshopClass2023::Upgrade)));
    let state = and(state, &decision);
    then_rule(
        when(&state, classify(WorkshopClass2023::Upgrade)),
        "same_class",
    );
    then_ok(when(&state, classify(WorkshopClass2023::Adjust)));
}

#[test]
fn worker_reports_flag_counts_below_the_minimum_and_record_replacements() {
    let report = |month, workers| EmploymentCommand::ReportWorkshopWorkers {
        workshop_id: workshop(1),
        month,
        workers,
    };
    let state = given(&[], &[registered()]);
    then_invalid(when(&state, report(d(2024, 1, 2), 5)), "month");
    then_invalid(when(&state, report(d(2023, 4, 1), 5)), "month");
    then_invalid(when(&state, report(d(2024, 9, 1), 5)), "month");
    let decision = then_ok(when(&state, report(d(2024, 1, 1), 4)));
    assert_eq!(
        decision.events,
        vec![EmploymentEvent::WorkshopWorkersReported {
            workshop_id: workshop(1),
            month: d(2024, 1, 1),
            workers: 4,
            below_minimum: true,
            replaces: None,
        }]
    );
    let state = and(state, &decision);
    let decision = then_ok(when(&state, report(d(2024, 1, 1), 5)));
    assert!(matches!(
        decision.events[0],
        EmploymentEvent::WorkshopWorkersReported {
            below_minimum: false,
            replaces: Some(4),
            ..
        }
    ));
}
