//! `demo` on a registry that holds part of its population (an earlier run was interrupted):
//! it resumes, the rows already registered replaying; a registry holding more, or another
//! population, is refused before anything is imported.

use bottomline::app::App;
use e2e_tests::{channel, embedded_config, import, population, reference, start, today};
use registry_import::DemoReport;

const SEED: u64 = 20261129;
const HOUSEHOLDS: usize = 40;

/// A CSV file cut after its first `rows` person rows (header kept).
fn first_rows(csv: &[u8], rows: usize) -> Vec<u8> {
    let lines = csv.split_inclusive(|b| *b == b'\n');
    lines.take(rows + 1).flatten().copied().collect()
}

/// An embedded stack (kept alive by the returned directory and app) and its endpoint.
async fn stack() -> (tempfile::TempDir, App, String) {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let endpoint = app.endpoint();
    (dir, app, endpoint)
}

/// `demo --seed SEED --households households` against `endpoint`.
async fn demo(endpoint: &str, households: usize) -> anyhow::Result<DemoReport> {
    let r = reference();
    let channel = channel(endpoint).await;
    registry_import::run_demo(
        channel,
        SEED,
        households,
        &r.catalog,
        &r.key_counties,
        today(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_demo_resumes() {
    let (_dir, _app, endpoint) = stack().await;
    let generated = population(SEED, HOUSEHOLDS);
    let (first, rejects) = import(&endpoint, &first_rows(&generated.to_csv(), 30), "first.csv")
        .await
        .unwrap();
    assert_eq!(rejects, []);
    assert!(first.households_registered > 0);
    assert!((first.households_registered as i64) < generated.expected.households);

    let report = demo(&endpoint, HOUSEHOLDS).await.unwrap();
    assert_eq!(report.observed, generated.expected);
    assert_eq!(
        report.import.households_replayed,
        first.households_registered
    );
    assert_eq!(report.import.persons_replayed, first.persons_registered);
    assert_eq!(
        (report.import.households_registered + report.import.households_replayed) as i64,
        generated.expected.households
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_smaller_than_the_registry_is_refused() {
    let (_dir, _app, endpoint) = stack().await;
    let generated = population(SEED, HOUSEHOLDS);
    import(&endpoint, &generated.to_csv(), "all.csv")
        .await
        .unwrap();
    // The demo reads MARA's totals, which follow the registry's events.
    e2e_tests::wait_for_tally(
        &mut e2e_tests::mara_client(&endpoint).await,
        e2e_tests::Tally::from(&generated.expected),
    )
    .await;
    let error = demo(&endpoint, HOUSEHOLDS / 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("households in county"), "{error}");
    assert!(error.contains("it holds another population"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_of_another_population_is_refused_before_importing() {
    let (_dir, _app, endpoint) = stack().await;
    let other = registry_import::generate(
        SEED + 1,
        HOUSEHOLDS,
        &reference().catalog,
        &reference().key_counties,
        today(),
    );
    import(&endpoint, &other.to_csv(), "other.csv")
        .await
        .unwrap();
    let mut mara = e2e_tests::mara_client(&endpoint).await;
    let before =
        e2e_tests::wait_for_tally(&mut mara, e2e_tests::Tally::from(&other.expected)).await;
    let error = demo(&endpoint, HOUSEHOLDS).await.unwrap_err().to_string();
    assert!(error.contains("it holds another population"), "{error}");
    // Nothing of the demo's population was registered.
    let after = e2e_tests::wait_for_tally(&mut mara, e2e_tests::Tally::from(&other.expected)).await;
    assert_eq!(after, before);
}
