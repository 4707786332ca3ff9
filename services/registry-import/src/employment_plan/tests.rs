use std::collections::HashSet;

use employment_domain::uscc::Uscc;
use registry_domain::KeyCounties;

use super::*;
use crate::generate::generate;

const DIVISIONS: &str = include_str!("../../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../../deploy/reference-data/key-counties-2021-partial.tsv");

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

fn plan(seed: u64, households: usize) -> (Population, EmploymentPlan) {
    let catalog = DivisionCatalog::from_tsv(DIVISIONS).unwrap();
    let key = KeyCounties::from_tsv(KEY_COUNTIES).unwrap();
    let population = generate(seed, households, &catalog, &key, today());
    let plan = plan_employment(&population, &catalog);
    (population, plan)
}

#[test]
fn same_seed_same_plan_different_seed_different() {
    assert_eq!(plan(3, 300).1, plan(3, 300).1);
    assert_ne!(plan(3, 300).1, plan(4, 300).1);
}

#[test]
fn dates_are_ordered_and_never_after_today() {
    let (population, plan) = plan(11, 800);
    for worker in &plan.workers {
        let mut previous_end: Option<NaiveDate> = None;
        for spell in &worker.spells {
            assert!(spell.start <= today(), "{spell:?}");
            if let Some(previous) = previous_end {
                assert!(spell.start > previous, "{worker:?}");
            }
            if let Some((end, reason)) = spell.end {
                assert!(end >= spell.start && end <= today(), "{spell:?}");
                assert_ne!(reason, EndReason::PersonExited);
                previous_end = Some(end);
            } else {
                previous_end = None;
            }
            if let Some(visit) = &spell.follow_up {
                let (end, _) = spell.end.expect("follow-ups come after an end");
                assert!(visit.date > end && visit.date <= today(), "{spell:?}");
            }
            assert!((250_000..=700_000).contains(&spell.monthly_income_fen));
        }
        // An open spell is only ever the last one.
        assert!(worker.spells[..worker.spells.len() - 1]
            .iter()
            .all(|s| s.end.is_some()));
    }
    for post in &plan.posts {
        assert!(post.starts_on <= post.assigned_on && post.assigned_on <= today());
        assert!((80_000..=150_000).contains(&post.monthly_subsidy_fen));
        let household = population.household(&post.holder_household_ref).unwrap();
        assert!(household.poverty_alleviated);
        let person = household
            .members
            .iter()
            .find(|p| p.citizen_id == post.holder_citizen_id)
            .unwrap();
        assert!((16..=60).contains(&age_on(person.birth_date, post.assigned_on)));
        assert!(post.paid_months.iter().all(|m| *m < month_of(today())));
    }
    for workshop in &plan.workshops {
        assert!(workshop.registered_on <= workshop.classified_on);
        assert!(workshop.classified_on <= today());
        assert!(workshop
            .reports
            .iter()
            .all(|(m, _)| *m >= month_of(workshop.registered_on) && *m <= today()));
    }
}

#[test]
fn employers_have_valid_codes_in_the_workers_county() {
    let (_, plan) = plan(5, 300);
    for worker in &plan.workers {
        for spell in &worker.spells {
            let code = Uscc::parse(&spell.employer_uscc).expect("valid USCC");
            assert_eq!(code.division_code(), worker.county_code);
        }
    }
}

#[test]
fn a_realistic_share_of_workers_and_classes() {
    let (population, plan) = plan(20231001, 2000);
    let labour_force = population
        .households
        .iter()
        .flat_map(|h| &h.members)
        .filter(|p| {
            p.labour_capacity.can_work() && (16..=64).contains(&age_on(p.birth_date, today()))
        })
        .count() as f64;
    let workers = plan.workers.len() as f64;
    assert!(
        (0.6..=0.8).contains(&(workers / labour_force)),
        "{workers} of {labour_force}"
    );
    let spells: Vec<&PlannedSpell> = plan.workers.iter().flat_map(|w| &w.spells).collect();
    let out = spells
        .iter()
        .filter(|s| s.location_class == LocationClass::OutOfProvince)
        .count() as f64;
    let share = out / spells.len() as f64;
    assert!((0.3..=0.4).contains(&share), "{share}");
    assert!(plan.expected.follow_ups > 0 && plan.expected.follow_up_queue > 0);
    assert!(plan.expected.spells_ended > 0 && plan.expected.posts == 20);
    assert!(plan.expected.workshops == 5);
    let persons: HashSet<&str> = plan.workers.iter().map(|w| w.citizen_id.as_str()).collect();
    assert_eq!(persons.len(), plan.workers.len());
    assert!(plan
        .posts
        .iter()
        .all(|p| !persons.contains(p.holder_citizen_id.as_str())));
}

#[test]
fn expected_employed_matches_a_plain_count() {
    let (_, plan) = plan(9, 1000);
    let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let mut employed = HashSet::new();
    for worker in &plan.workers {
        for spell in &worker.spells {
            let ends_in_or_after = match spell.end {
                None => true,
                Some((end, _)) => end >= first,
            };
            if spell.start <= last && ends_in_or_after {
                employed.insert(worker.citizen_id.clone());
            }
        }
    }
    assert_eq!(plan.expected.month, first);
    assert_eq!(plan.expected.employed, employed.len() as i64);
    assert!(plan.expected.employed > 0);
}

#[test]
fn month_helpers() {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(month_of(d(2024, 2, 17)), d(2024, 2, 1));
    assert_eq!(last_of_month(d(2024, 2, 17)), d(2024, 2, 29));
    assert_eq!(last_of_month(d(2023, 12, 1)), d(2023, 12, 31));
}
