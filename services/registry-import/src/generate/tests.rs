use std::collections::{BTreeMap, HashSet};

use registry_domain::CitizenId;

use super::*;
use crate::format;

const DIVISIONS: &str = include_str!("../../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../../deploy/reference-data/key-counties-2021-partial.tsv");

fn reference() -> (DivisionCatalog, KeyCounties) {
    (
        DivisionCatalog::from_tsv(DIVISIONS).unwrap(),
        KeyCounties::from_tsv(KEY_COUNTIES).unwrap(),
    )
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()
}

fn population(seed: u64, households: usize) -> Population {
    let (catalog, key) = reference();
    generate(seed, households, &catalog, &key, today())
}

/// GB 11643 check character, written independently of the generator's.
fn expected_check(id: &str) -> char {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0;
    for (i, w) in weights.iter().enumerate() {
        sum += (id.as_bytes()[i] - b'0') as usize * w;
    }
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][sum % 11]
}

#[test]
fn same_seed_same_bytes_different_seed_different() {
    let a = population(7, 300).to_csv();
    assert_eq!(a, population(7, 300).to_csv());
    assert_ne!(a, population(8, 300).to_csv());
    assert_eq!(population(7, 300), population(7, 300));
}

#[test]
fn every_citizen_id_is_valid_unique_and_consistent() {
    let pop = population(42, 2000);
    let mut seen = HashSet::new();
    for h in &pop.households {
        for p in &h.members {
            let id = &p.citizen_id;
            assert_eq!(id.len(), 18, "{id}");
            assert!(id[..17].bytes().all(|b| b.is_ascii_digit()), "{id}");
            assert_eq!(id.chars().last(), Some(expected_check(id)), "{id}");
            assert_eq!(&id[..6], &h.village_code[..6], "address code is the county");
            assert!(seen.insert(id.clone()), "duplicate {id}");
            // The registry's own parser agrees (birth date, parity, check character).
            let parsed = CitizenId::parse(id, today()).unwrap();
            assert_eq!(parsed.birth_date(), p.birth_date);
            assert_eq!(parsed.sex(), p.sex);
            assert!(p.birth_date <= today());
            let name_len = p.name.chars().count();
            assert!((2..=3).contains(&name_len), "{}", p.name);
        }
    }
}

#[test]
fn households_are_realistic() {
    let (catalog, key) = reference();
    let pop = population(3, 3000);
    let sizes: Vec<usize> = pop.households.iter().map(|h| h.members.len()).collect();
    assert!(sizes.iter().all(|s| (1..=7).contains(s)));
    let middle = sizes.iter().filter(|s| (3..=5).contains(*s)).count();
    assert!(
        middle * 2 > sizes.len(),
        "most households have 3 to 5 members"
    );
    let alleviated = pop
        .households
        .iter()
        .filter(|h| h.poverty_alleviated)
        .count();
    assert!(
        (0.92..0.98).contains(&(alleviated as f64 / 3000.0)),
        "{alleviated}"
    );
    let counties: HashSet<&str> = pop
        .households
        .iter()
        .map(|h| &h.village_code[..6])
        .collect();
    assert!(
        counties.len() > 60,
        "spread over the key counties: {}",
        counties.len()
    );
    for h in &pop.households {
        assert_eq!(h.village_code.len(), 12);
        assert!(key.contains(&h.village_code[..6]) && catalog.is_county(&h.village_code[..6]));
        assert_eq!(h.relocated, h.settlement_area.is_some());
        assert_eq!(h.members[0].relation, Relation::Head);
        assert_eq!(
            h.members
                .iter()
                .filter(|p| p.relation == Relation::Head)
                .count(),
            1
        );
        for p in &h.members {
            let age = age_on(p.birth_date, today());
            if age < 16 {
                assert_eq!(
                    p.labour_capacity,
                    LabourCapacity::None,
                    "children do not work"
                );
            }
        }
    }
    assert!(pop.households.iter().any(|h| h.relocated));
    let persons = pop.households.iter().flat_map(|h| &h.members);
    assert!(persons.clone().any(|p| p.disabled));
    assert!(persons
        .clone()
        .any(|p| p.labour_capacity == LabourCapacity::Skilled));
}

#[test]
fn expected_counts_match_the_csv_rows() {
    let pop = population(11, 500);
    let csv = pop.to_csv();
    let mut reader = csv::Reader::from_reader(&csv[..]);
    let headers = reader.headers().unwrap().clone();
    assert!(format::is_header(&headers.iter().collect::<Vec<_>>()));
    let mut refs = BTreeMap::new();
    let (mut persons, mut capable) = (0, 0);
    for record in reader.records() {
        let record = record.unwrap();
        let row = format::parse_row(&record.iter().collect::<Vec<_>>()).unwrap();
        persons += 1;
        capable += i64::from(row.person.labour_capacity.can_work());
        refs.insert(row.household_ref, row.household.poverty_alleviated);
    }
    let e = &pop.expected;
    assert_eq!(e.households, refs.len() as i64);
    assert_eq!(
        e.poverty_alleviated_households,
        refs.values().filter(|a| **a).count() as i64
    );
    assert_eq!(e.persons, persons);
    assert_eq!(e.labour_capable_persons, capable);
    assert_eq!(e.monitoring_cases, pop.case_plans.len() as i64);
    assert_eq!(e.monitoring_cases, 25, "5% of 500");
    assert_eq!(e.cases_by_stage.values().sum::<i64>(), e.monitoring_cases);
    assert!(e.cases_by_stage.values().all(|n| *n > 0));
}

#[test]
fn case_plans_follow_the_rules() {
    let pop = population(5, 4000);
    let mut stages = HashSet::new();
    let mut late = 0;
    for plan in &pop.case_plans {
        let household = pop.household(&plan.household_ref).unwrap();
        stages.insert(plan.final_stage);
        assert!(!plan.risk_factors.is_empty());
        assert!(plan.lead_date <= today());
        let mut stage = CaseStage::Lead;
        let mut last = plan.lead_date;
        let (mut village_on, mut registered_on, mut measures) = (None, None, 0);
        for step in &plan.steps {
            let on = match step {
                CaseStep::Advance { to, on } => {
                    assert_eq!(stage.next(), Some(*to), "stages in order");
                    if *to == CaseStage::VillageReviewed {
                        village_on = Some(*on);
                    }
                    if *to == CaseStage::TownshipReviewed {
                        assert!((*on - village_on.unwrap()).num_days() >= 5, "public notice");
                    }
                    if *to == CaseStage::Registered {
                        registered_on = Some(*on);
                        late += i32::from((*on - plan.lead_date).num_days() > 15);
                    }
                    stage = *to;
                    *on
                }
                CaseStep::Measure { on, .. } => {
                    assert!(matches!(stage, CaseStage::Registered | CaseStage::Assisted));
                    stage = CaseStage::Assisted;
                    measures += 1;
                    *on
                }
                CaseStep::Eliminate {
                    on,
                    months_income_above_line,
                } => {
                    assert_eq!(stage, CaseStage::Assisted);
                    assert!(measures >= 1);
                    assert!(*months_income_above_line >= 6);
                    assert!(whole_months(registered_on.unwrap(), *on) >= 6);
                    assert!(household
                        .members
                        .iter()
                        .any(|p| p.labour_capacity.can_work()));
                    stage = CaseStage::RiskEliminated;
                    *on
                }
            };
            assert!(on >= last, "dates never go back");
            assert!(on <= today(), "dates never after today");
            last = on;
        }
        assert_eq!(stage, plan.final_stage);
    }
    assert_eq!(stages.len(), 9, "every stage is represented: {stages:?}");
    assert!(late > 0, "some cases registered past the 15-day clock");
}

#[test]
fn small_and_empty_populations() {
    let empty = population(1, 0);
    assert!(empty.households.is_empty() && empty.case_plans.is_empty());
    assert_eq!(
        empty.to_csv(),
        format!("{}\n", format::COLUMNS.join(",")).into_bytes()
    );
    assert_eq!(population(1, 10).case_plans.len(), 1);
}
