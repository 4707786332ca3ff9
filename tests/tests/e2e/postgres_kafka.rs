//! The distributed configuration: event store and read model on PostgreSQL, the MARA projector fed
//! through Kafka by the relay. Skipped (with a note) when the test environment provides neither,
//! unless `BOTTOMLINE_REQUIRE_EXTERNAL=1`.

use std::sync::Arc;

use e2e_tests::{
    distributed_config, eventually, households_by_county, import, kafka_lock, mara_client,
    population, start, wait_for_tally, Tally,
};
use proto::mara::v1::ListCountiesRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_import_then_query() {
    let Some((config, _database, _dir)) = distributed_config().await else {
        return;
    };
    let _kafka = kafka_lock().await;
    let app = start(config).await;
    let endpoint = app.endpoint();
    let population = population(20261102, 300);

    let (summary, rejects) = import(&endpoint, &population.to_csv(), "pg-kafka.csv")
        .await
        .unwrap();
    assert_eq!(rejects, []);
    assert_eq!(
        summary.persons_registered as i64,
        population.expected.persons
    );

    let expected = Tally::from(&population.expected);
    let mut mara = mara_client(&endpoint).await;
    let converged = wait_for_tally(&mut mara, expected).await;
    assert_eq!(converged.checkpoint, expected.households + expected.persons);
    let rows = mara
        .list_counties(ListCountiesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .counties;
    let by_county = households_by_county(&population);
    assert_eq!(rows.len(), by_county.len());
    for row in &rows {
        assert_eq!(
            row.counts.clone().unwrap_or_default().households,
            by_county[&row.county_code],
            "{row:?}"
        );
        assert!(
            row.national_key_county,
            "generated households are in key counties: {row:?}"
        );
    }
    let metrics = app.projector().unwrap().metrics().snapshot();
    assert_eq!((metrics.parked, metrics.unknown), (0, 0), "{metrics:?}");
    assert!(app.projector().unwrap().parked().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_kafka_stopped_mid_import_then_rerun_is_exact() {
    let Some((config, _database, _dir)) = distributed_config().await else {
        return;
    };
    let _kafka = kafka_lock().await;
    let population = population(20261103, 400);
    let csv = Arc::new(population.to_csv());
    let source = "pg-kafka-restart.csv";

    let app = start(config.clone()).await;
    let endpoint = app.endpoint();
    let task = {
        let (endpoint, csv) = (endpoint.clone(), csv.clone());
        tokio::spawn(async move { import(&endpoint, &csv, source).await.map(|_| ()) })
    };
    // Cut on what the registry holds: MARA's lag behind Kafka does not matter here.
    eventually("part of the import to be registered", || async {
        (app.registry().unwrap().counts().await.1 > 100).then_some(())
    })
    .await;
    task.abort();
    let _ = task.await;
    let registry = app.registry().unwrap().clone();
    app.stop().await;
    let acknowledged = registry.counts().await;
    drop(registry);

    // Same database, same topic (same namespace): the relay and the consumer resume.
    let app = start(config).await;
    let landed = app.registry().unwrap().counts().await;
    // At least what was acknowledged (a cancelled request may have committed unseen, see
    // `crash_recovery::cancelled_requests_leave_the_write_model_equal_to_the_store`).
    assert!(
        landed.0 >= acknowledged.0 && landed.1 >= acknowledged.1,
        "{landed:?} {acknowledged:?}"
    );
    assert!(
        (landed.1 as i64) < population.expected.persons,
        "stopped part-way: {landed:?}"
    );
    let endpoint = app.endpoint();
    let (summary, rejects) = import(&endpoint, &csv, source).await.unwrap();
    assert_eq!(rejects, []);
    assert_eq!(
        summary.persons_registered + summary.persons_replayed,
        population.expected.persons as usize
    );
    assert_eq!(
        summary.persons_registered,
        population.expected.persons as usize - landed.1,
        "{summary:?}"
    );
    assert_eq!(
        summary.households_registered,
        population.expected.households as usize - landed.0,
        "{summary:?}"
    );

    let expected = Tally::from(&population.expected);
    let mut mara = mara_client(&endpoint).await;
    let converged = wait_for_tally(&mut mara, expected).await;
    let events = expected.households + expected.persons;
    assert_eq!(
        converged.checkpoint, events,
        "redelivered events are skipped, none applied twice"
    );
    assert_eq!(
        app.registry().unwrap().counts().await,
        (
            population.expected.households as usize,
            population.expected.persons as usize,
            0
        )
    );
    let metrics = app.projector().unwrap().metrics().snapshot();
    assert_eq!((metrics.parked, metrics.unknown), (0, 0), "{metrics:?}");
    assert!(metrics.applied as i64 <= events, "{metrics:?}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        e2e_tests::summary(&mut mara).await.unwrap().checkpoint,
        events
    );
    app.stop().await;
}
