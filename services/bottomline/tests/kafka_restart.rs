//! On PostgreSQL + Kafka (skipped unless both are configured, failing when they must be): `up`
//! killed with SIGKILL and started again resumes its projectors at once. Its consumers are
//! static members of their groups, so the restarted process takes back the partitions the
//! killed one held; as dynamic members they waited for its session to expire, and on a broker
//! that never expires sessions (tansu 0.6) the read models stopped for good, silently.

mod common;

use std::time::{Duration, Instant};

use bottomline::reference::ReferenceData;
use common::{connect, free_port, start_with, KillOnDrop};
use proto::mara::v1::mara_query_service_client::MaraQueryServiceClient;
use proto::mara::v1::SummaryRequest;
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use registry_import::ImportOptions;

/// Imports `households` generated from `seed` through the server on `port`.
async fn import(port: u16, seed: u64, households: usize) {
    let reference = ReferenceData::load(None, None, None).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let population = registry_import::generate(
        seed,
        households,
        &reference.catalog,
        &reference.key_counties,
        today,
    );
    let options = ImportOptions {
        concurrency: 4,
        bulk: true,
        progress: false,
        source_name: format!("seed-{seed}.csv"),
    };
    let client = RegistryServiceClient::new(connect(port).await);
    let summary =
        registry_import::import_csv(client, population.to_csv().as_slice(), Vec::new(), &options)
            .await
            .unwrap();
    assert_eq!(summary.households_registered, households, "{summary}");
}

/// Waits up to `within` for MARA's summary to count `households`.
async fn mara_counts(port: u16, households: i64, within: Duration) {
    let mut mara = MaraQueryServiceClient::new(connect(port).await);
    let deadline = Instant::now() + within;
    loop {
        let seen = mara
            .summary(SummaryRequest::default())
            .await
            .unwrap()
            .into_inner()
            .counts
            .map_or(0, |c| c.households);
        if seen == households {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "MARA counts {seen} households, not {households}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_restarted_takes_its_partitions_back_at_once() {
    let Some(db) = eventstore::testing::TestDatabase::postgres().await else {
        return;
    };
    let Some(brokers) = eventstore::testing::kafka_brokers() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Topics of its own (they live as long as the test broker, as test databases do).
    let namespace = format!(
        ".restart{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let args = [
        "--database-url",
        &db.url,
        "--kafka-brokers",
        &brokers,
        "--kafka-namespace",
        &namespace,
    ];
    let port = free_port();
    let mut first = KillOnDrop(start_with(dir.path(), port, &args));
    import(port, 41, 12).await;
    mara_counts(port, 12, Duration::from_secs(60)).await;
    first.kill();
    let killed = Instant::now();

    let port = free_port();
    let _second = KillOnDrop(start_with(dir.path(), port, &args));
    import(port, 42, 8).await;
    // Counted from the kill, within the consumers' session timeout: the partitions came back
    // with the restart, not when the killed member's session expired (never, on tansu).
    let deadline = killed + kafka::config::SESSION_TIMEOUT - Duration::from_secs(1);
    mara_counts(port, 20, deadline.saturating_duration_since(Instant::now())).await;
}
