//! One process writes a PostgreSQL store (the writer lease): a second registry process on the
//! same database is refused at start; and a process whose database session ended while another
//! took the lease answers UNAVAILABLE and reports NOT_SERVING through `grpc.health.v1` until it
//! has the lease back.

use bottomline::app::App;
use bottomline::config::Service;
use e2e_tests::{embedded_config, eventually, registry_client, start};
use eventstore::testing::TestDatabase;
use proto::registry::v1::RegisterHouseholdRequest;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const REGISTRY: &str = "bottomline.registry.v1.RegistryService";

async fn registry_health(endpoint: &str) -> ServingStatus {
    let mut client = HealthClient::new(e2e_tests::channel(endpoint).await);
    client
        .check(HealthCheckRequest {
            service: REGISTRY.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

async fn register_household(endpoint: &str, command_id: &str) -> Result<String, tonic::Status> {
    registry_client(endpoint)
        .await
        .register_household(RegisterHouseholdRequest {
            command_id: command_id.into(),
            village_code: "150422100001".into(),
            poverty_alleviated: true,
            relocated: false,
            settlement_area: String::new(),
        })
        .await
        .map(|r| r.into_inner().household_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_without_the_lease_is_refused_or_reports_not_serving() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = |dir: &std::path::Path| {
        let mut c = embedded_config(dir);
        c.database_url = Some(db.url.clone());
        c.services = vec![Service::Registry];
        c
    };
    let a = start(config(dir_a.path())).await;
    let endpoint = a.endpoint();
    register_household(&endpoint, "11111111-1111-4111-8111-111111111111")
        .await
        .unwrap();
    assert_eq!(registry_health(&endpoint).await, ServingStatus::Serving);
    // The same id hash key, as a second replica of the registry would have.
    std::fs::copy(
        dir_a.path().join("id-hash.key"),
        dir_b.path().join("id-hash.key"),
    )
    .unwrap();
    let Err(refused) = App::build(config(dir_b.path())).await else {
        panic!("a second writer started")
    };
    assert!(
        format!("{refused:#}").contains("another command writer holds this event store's lease"),
        "{refused:#}"
    );

    // A's session ends (a server restart, a network cut) and B starts: B holds the lease now.
    // An idle A takes the lease back by itself within a second, and may get there first: then
    // its session is ended again.
    let mut b = None;
    for _ in 0..20 {
        eventstore::testing::end_writer_lease_session(&db.url).await;
        match App::build(config(dir_b.path())).await {
            Ok(app) => {
                b = Some(app);
                break;
            }
            Err(e) if format!("{e:#}").contains("another command writer holds") => continue,
            Err(e) => panic!("{e:#}"),
        }
    }
    let b = b.expect("B took the lease over");
    let refused = register_household(&endpoint, "22222222-2222-4222-8222-222222222222").await;
    assert_eq!(refused.map_err(|s| s.code()), Err(Code::Unavailable));
    eventually("A reported not serving", || async {
        (registry_health(&endpoint).await == ServingStatus::NotServing).then_some(())
    })
    .await;
    register_household(&b.endpoint(), "33333333-3333-4333-8333-333333333333")
        .await
        .unwrap();

    // B stops: A takes the lease back (by itself within a second, or at its next command), and
    // serves again.
    b.stop().await;
    eventually("A writing again", || async {
        register_household(&endpoint, "22222222-2222-4222-8222-222222222222")
            .await
            .ok()
    })
    .await;
    eventually("A reported serving", || async {
        (registry_health(&endpoint).await == ServingStatus::Serving).then_some(())
    })
    .await;
    a.stop().await;
}
