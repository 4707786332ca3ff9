//! `bottomline bench` end to end on a small embedded stack: every generated registration is
//! counted, and `--registry-only` measures the registry service alone.

use bottomline::cli::bench::suite::{self, Stack};
use bottomline::reference::ReferenceData;
use chrono::NaiveDate;

const HOUSEHOLDS: usize = 40;
const SEED: u64 = 20261129;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

/// Registrations the bench must count: its first `HOUSEHOLDS` households and their members (one
/// more household warms the stack up first, unmeasured).
fn expected_registrations(reference: &ReferenceData) -> usize {
    let population = registry_import::generate(
        SEED,
        HOUSEHOLDS + 1,
        &reference.catalog,
        &reference.key_counties,
        today(),
    );
    population.households[..HOUSEHOLDS]
        .iter()
        .map(|h| 1 + h.members.len())
        .sum()
}

/// The bench on an embedded stack of `HOUSEHOLDS` households and 4 clients.
async fn embedded_bench(reference: &ReferenceData, registry_only: bool) -> suite::SuiteReport {
    let stack = Stack {
        database_url: None,
        kafka_brokers: None,
        registry_only,
    };
    suite::run(&stack, reference, HOUSEHOLDS, 4, SEED, today())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_alone_is_measured_without_read_models() {
    let reference = ReferenceData::load(None, None, None).unwrap();
    let report = embedded_bench(&reference, true).await;
    assert_eq!(
        report.registrations.commands,
        expected_registrations(&reference)
    );
    assert_eq!(report.registrations.refused, 0);
    assert!(report.employment.is_none());
    assert!(report.lag.is_empty() && report.projectors.is_empty());
    assert!(report.registrations.lag_events.is_none());
    let table = report.to_string();
    assert!(table.contains("the registry service alone"), "{table}");
    assert!(!table.contains("employment "), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_stack_is_measured_with_every_read_model() {
    let reference = ReferenceData::load(None, None, None).unwrap();
    let report = embedded_bench(&reference, false).await;
    let registrations = expected_registrations(&reference);
    assert_eq!(report.registrations.commands, registrations);
    assert!(report.employment.is_some_and(|e| e.commands > 0));
    let lagged: Vec<_> = report.lag.iter().map(|l| l.read_model).collect();
    assert_eq!(lagged, ["mara", "employment-intake", "employment-views"]);
    // MARA sees every registration once: one lag sample per registry event of the load.
    assert_eq!(report.lag[0].events, registrations);
}
