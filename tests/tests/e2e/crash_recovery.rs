//! An import interrupted half-way — by a clean stop, or by the process's tasks simply vanishing —
//! then a restart on the same data directory and a re-run of the same file (same source name, so
//! the same command ids): nothing is lost and nothing is counted twice, in the registry or in
//! MARA's read model.

use std::sync::Arc;

use bottomline::app::App;
use e2e_tests::{
    embedded_config, eventually, import, mara_client, population, start, summary, wait_for_tally,
    Tally,
};
use registry_import::Population;

const SOURCE: &str = "crash.csv";
/// Persons MARA must show before the import is cut off.
const CUT_AFTER_PERSONS: i64 = 100;

/// Starts importing `csv` in a task and returns it once MARA shows more than
/// [`CUT_AFTER_PERSONS`] persons.
async fn import_until_partly_landed(
    endpoint: &str,
    csv: Arc<Vec<u8>>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let target = endpoint.to_owned();
    let task = tokio::spawn(async move { import(&target, &csv, SOURCE).await.map(|_| ()) });
    let mara = mara_client(endpoint).await;
    eventually("part of the import to reach MARA", || {
        let mut mara = mara.clone();
        async move {
            let persons = summary(&mut mara).await.ok()?.counts?.persons;
            (persons > CUT_AFTER_PERSONS).then_some(())
        }
    })
    .await;
    task
}

/// What the first process could tell about itself after stopping (nothing, when killed).
struct FirstRun {
    /// The registry's (households, persons, cases).
    landed: (usize, usize, usize),
    /// Events its MARA projector applied.
    applied: u64,
}

/// Restarts on `dir`, re-imports the same file and checks the exact outcome.
async fn restart_and_finish(
    dir: &std::path::Path,
    population: &Population,
    csv: &[u8],
    first: Option<FirstRun>,
) {
    let app = start(embedded_config(dir)).await;
    let endpoint = app.endpoint();
    let (households, persons, cases) = app.registry().unwrap().counts().await;
    if let Some(first) = &first {
        // The store holds everything the first process acknowledged. It may hold a few more
        // events: requests cancelled by the abort can commit without the old in-memory model
        // seeing them (see `cancelled_requests_leave_the_write_model_equal_to_the_store`); the
        // re-import below must then count them as replayed, not register them twice.
        let (h, p, c) = first.landed;
        assert!(
            households >= h && persons >= p && cases == c,
            "rebuilt {:?} vs. acknowledged {:?}",
            (households, persons, cases),
            first.landed
        );
    }
    assert_eq!(cases, 0);
    assert!(
        (households as i64) < population.expected.households
            && (persons as i64) < population.expected.persons,
        "the first run must have stopped part-way ({households} households, {persons} persons)"
    );
    assert!(
        persons as i64 > CUT_AFTER_PERSONS,
        "what MARA showed was in the registry: {persons}"
    );

    let (summary, rejects) = import(&endpoint, csv, SOURCE).await.unwrap();
    assert_eq!(rejects, []);
    assert!(summary.is_consistent(), "{summary:?}");
    assert_eq!(
        summary.households_registered + summary.households_replayed,
        population.expected.households as usize,
        "{summary:?}"
    );
    assert_eq!(
        summary.persons_registered + summary.persons_replayed,
        population.expected.persons as usize,
        "{summary:?}"
    );
    assert!(
        summary.persons_replayed >= persons,
        "what had landed is replayed: {summary:?}, {persons} landed"
    );
    assert_eq!(
        summary.households_registered,
        population.expected.households as usize - households,
        "{summary:?}"
    );
    assert_eq!(
        summary.persons_registered,
        population.expected.persons as usize - persons,
        "{summary:?}"
    );

    let expected = Tally::from(&population.expected);
    let mut mara = mara_client(&endpoint).await;
    let converged = wait_for_tally(&mut mara, expected).await;
    let events = expected.households + expected.persons;
    assert_eq!(
        converged.checkpoint, events,
        "every event applied exactly once across both runs"
    );
    let counts = app.registry().unwrap().counts().await;
    assert_eq!(
        counts,
        (
            population.expected.households as usize,
            population.expected.persons as usize,
            0
        )
    );

    // The read model's checkpoint is committed with its changes, so the new projector resumes
    // exactly after the last committed batch: no redelivery, nothing parked.
    let metrics = app.projector().unwrap().metrics().snapshot();
    assert_eq!(
        (metrics.duplicates, metrics.parked, metrics.unknown),
        (0, 0, 0),
        "{metrics:?}"
    );
    assert!(
        metrics.applied as i64 <= events - CUT_AFTER_PERSONS,
        "{metrics:?}"
    );
    if let Some(first) = &first {
        assert_eq!(
            first.applied + metrics.applied,
            events as u64,
            "{metrics:?}"
        );
    }
    assert!(app.projector().unwrap().parked().await.unwrap().is_empty());
    // Still exact a moment later: nothing arrives late and doubles a figure.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let later = e2e_tests::summary(&mut mara).await.unwrap();
    assert_eq!(Tally::from(&later.counts.unwrap()), expected);
    assert_eq!(later.checkpoint, events);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_mid_import_then_rerun_is_exact() {
    let population = population(4242, 400);
    let csv = Arc::new(population.to_csv());
    let dir = tempfile::tempdir().unwrap();

    let app = start(embedded_config(dir.path())).await;
    let task = import_until_partly_landed(&app.endpoint(), csv.clone()).await;
    task.abort();
    let _ = task.await;
    let (registry, projector) = (
        app.registry().unwrap().clone(),
        app.projector().unwrap().clone(),
    );
    app.stop().await;
    // After `stop` nothing is in flight: this is what the store holds.
    let landed = registry.counts().await;
    let before = projector.metrics().snapshot();
    assert_eq!(
        (before.duplicates, before.parked, before.unknown),
        (0, 0, 0),
        "{before:?}"
    );
    assert!(before.applied as i64 > CUT_AFTER_PERSONS, "{before:?}");
    drop((registry, projector));

    let first = FirstRun {
        landed,
        applied: before.applied,
    };
    restart_and_finish(dir.path(), &population, &csv, Some(first)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_import_then_rerun_is_exact() {
    let population = population(4343, 400);
    let csv = Arc::new(population.to_csv());
    let dir = tempfile::tempdir().unwrap();

    // The app lives on its own runtime: shutting that runtime down drops every task of the app
    // (server, request handlers, projector) at whatever await point it has reached, the way a
    // killed process stops — no drain, no clean shutdown of anything.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("doomed-app")
        .build()
        .unwrap();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let config = embedded_config(dir.path());
    runtime.spawn(async move {
        let app = App::build(config).await.expect("app on the doomed runtime");
        let _ = sender.send(app.endpoint());
        // Held until the runtime is shut down, which drops it without `stop`.
        std::future::pending::<()>().await;
        drop(app);
    });
    let endpoint = receiver.await.expect("the doomed app started");
    let task = import_until_partly_landed(&endpoint, csv.clone()).await;
    runtime.shutdown_background();
    task.abort();
    let _ = task.await;

    restart_and_finish(dir.path(), &population, &csv, None).await;
}

/// Requests a client gives up on (a timeout, an aborted import) are cancelled on the server too;
/// the registry's in-memory write model must still end up equal to its event store.
///
/// Ignored until the registry is fixed: in `Registry::execute`
/// (services/registry/src/handler.rs) the handler future can be dropped after
/// `self.store.append(..)` committed but before the events are applied to the write model, so
/// the process keeps running with a model that lacks committed events (seen as a registry that
/// counts one person fewer than its store; a later command on that stream then fails with
/// ABORTED, since catch-up starts after the model's cursor, which has already moved past it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_leave_the_write_model_equal_to_the_store() {
    use proto::registry::v1::{RegisterHouseholdRequest, RegisterPersonRequest};

    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let mut client = e2e_tests::registry_client(&app.endpoint()).await;
    let household = client
        .register_household(RegisterHouseholdRequest {
            command_id: uuid::Uuid::new_v4().to_string(),
            village_code: "150422101001".into(),
            poverty_alleviated: true,
            relocated: false,
            settlement_area: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .household_id;
    let person = |i: u16| RegisterPersonRequest {
        command_id: uuid::Uuid::new_v4().to_string(),
        household_id: household.clone(),
        citizen_id: e2e_tests::citizen_id("150422", "19800101", i),
        name: "测试".into(),
        relation: proto::registry::v1::Relation::Child as i32,
        labour_capacity: proto::registry::v1::LabourCapacity::Ordinary as i32,
        disabled: false,
    };
    // How long one registration takes here, then calls given up after 0 to 2 times that, one
    // at a time, so some are cut while their append is committing.
    let started = std::time::Instant::now();
    for i in 0..20 {
        client.register_person(person(i)).await.unwrap();
    }
    let latency = started.elapsed() / 20;
    for i in 20..600u16 {
        let patience = latency * u32::from(i % 20) / 10;
        let _ = tokio::time::timeout(patience, client.register_person(person(i))).await;
    }
    // Registering any of those numbers again, under a new command id, is a duplicate — or, had
    // the call been cut before the append, a first registration. Never anything else.
    let mut outcomes = std::collections::BTreeMap::new();
    for i in 20..600u16 {
        let code = match client.register_person(person(i)).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        };
        *outcomes.entry(format!("{code:?}")).or_insert(0) += 1;
    }
    let registry = app.registry().unwrap().clone();
    app.stop().await;
    let in_memory = registry.counts().await;
    drop(registry);
    let app = start(embedded_config(dir.path())).await;
    let rebuilt = app.registry().unwrap().counts().await;
    app.stop().await;
    assert_eq!(
        outcomes
            .keys()
            .map(String::as_str)
            .filter(|c| !matches!(*c, "Ok" | "AlreadyExists"))
            .collect::<Vec<_>>(),
        Vec::<&str>::new(),
        "{outcomes:?}"
    );
    assert_eq!(
        rebuilt, in_memory,
        "rebuilt from the store vs. kept in memory"
    );
}
