//! The services in separate processes (`up --services …`), as production deploys them: a
//! registry process and a read-side process (employment with its registry intake, MARA, the
//! employment views) over the same storage — embedded (SQLite files in one data directory, the
//! read side following the registry's event store) and on PostgreSQL + Kafka.

use bottomline::app::App;
use bottomline::config::{AppConfig, Service};
use e2e_tests::{
    channel, distributed_config, embedded_config, eventually, import, kafka_lock, mara_client,
    population, registry_client, start, wait_for_tally, Tally,
};
use proto::employment::v1::employment_query_service_client::EmploymentQueryServiceClient;
use proto::employment::v1::employment_service_client::EmploymentServiceClient;
use proto::employment::v1::EmployedScaleRequest;
use proto::mara::v1::SummaryRequest;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::employment::{household, start_spell, start_when_known, Clients};

fn with_services(config: &AppConfig, services: &[Service]) -> AppConfig {
    AppConfig {
        services: services.to_vec(),
        ..config.clone()
    }
}

const READ_SIDE: [Service; 3] = [Service::Employment, Service::Mara, Service::EmploymentViews];

async fn health(endpoint: &str, service: &str) -> Result<ServingStatus, Code> {
    let mut client = HealthClient::new(channel(endpoint).await);
    client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status())
        .map_err(|s| s.code())
}

/// Registry in one process, the read side in another: an import and a spell cross from one to
/// the other, each process serves only its own APIs, and a service runs once per data directory.
async fn scenario(config: AppConfig) {
    let registry = start(with_services(&config, &[Service::Registry])).await;
    let read_side = start(with_services(&config, &READ_SIDE)).await;
    let (commands, queries) = (registry.endpoint(), read_side.endpoint());
    assert!(registry.projector().is_none() && registry.employment().is_none());
    assert!(read_side.registry().is_none());

    // Each process serves and reports only its own services.
    let registry_service = "bottomline.registry.v1.RegistryService";
    let mara_service = "bottomline.mara.v1.MaraQueryService";
    assert_eq!(
        health(&commands, registry_service).await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(health(&commands, mara_service).await, Err(Code::NotFound));
    assert_eq!(
        health(&queries, registry_service).await,
        Err(Code::NotFound)
    );
    assert_eq!(
        health(&queries, mara_service).await,
        Ok(ServingStatus::Serving)
    );
    let refused = mara_client(&commands)
        .await
        .summary(SummaryRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");

    // Registrations made in the registry process reach MARA in the other.
    let population = population(20261129, 40);
    let (summary, rejects) = import(&commands, &population.to_csv(), "split.csv")
        .await
        .unwrap();
    assert_eq!(rejects, []);
    assert_eq!(
        summary.persons_registered as i64,
        population.expected.persons
    );
    let expected = Tally::from(&population.expected);
    wait_for_tally(&mut mara_client(&queries).await, expected).await;
    // An import sent to the read side says where it should have gone, and changes nothing.
    let wrong = import(&queries, &population.to_csv(), "wrong.csv")
        .await
        .unwrap_err();
    assert!(
        format!("{wrong:#}").contains("does not run the registry service"),
        "{wrong:#}"
    );

    // The employment service learns a person registered in the other process, and its views
    // count the spell started for them.
    let mut c = Clients {
        registry: registry_client(&commands).await,
        employment: EmploymentServiceClient::new(channel(&queries).await),
        views: EmploymentQueryServiceClient::new(channel(&queries).await),
    };
    let (_, persons) = household(&mut c, true, &[("19800101", 987)]).await;
    start_when_known(
        &mut c,
        start_spell(
            &uuid::Uuid::new_v4().to_string(),
            &persons[0],
            (2026, 10, 1),
        ),
    )
    .await;
    let scale = eventually("the employment views to count the spell", || {
        let mut views = c.views.clone();
        async move {
            let r = views
                .employed_scale(EmployedScaleRequest {
                    month: e2e_tests::civil(2026, 10, 1),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            (r.employed > 0).then_some(r.employed)
        }
    })
    .await;
    assert_eq!(scale, 1);

    // A service runs in one process per data directory; another service may join it.
    let Err(e) = App::build(with_services(&config, &[Service::Mara])).await else {
        panic!("a second MARA process started on the same data directory")
    };
    assert!(
        format!("{e:#}").contains("running the mara service"),
        "{e:#}"
    );
    read_side.stop().await;
    registry.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_and_read_side_in_separate_processes_embedded() {
    let dir = tempfile::tempdir().unwrap();
    // Embedded, the read side follows the registry's store file: before the registry ever ran
    // on this data directory (or on another one), it is refused instead of showing nothing.
    let Err(e) = App::build(with_services(&embedded_config(dir.path()), &READ_SIDE)).await else {
        panic!("the read side started without a registry store to follow")
    };
    assert!(
        format!("{e:#}").contains("no registry event store"),
        "{e:#}"
    );
    scenario(embedded_config(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_and_read_side_in_separate_processes_on_postgres_and_kafka() {
    let Some((config, _database, _dir)) = distributed_config().await else {
        return;
    };
    let _kafka = kafka_lock().await;
    scenario(config).await;
}

/// Processes started at the same moment against one new PostgreSQL database (every service in
/// its own process, as deployed) all start: each creates the tables it needs, some of them the
/// same ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_started_at_once_on_a_new_database_all_start() {
    let Some((config, _database, _dir)) = distributed_config().await else {
        return;
    };
    let _kafka = kafka_lock().await;
    let builds = Service::ALL.map(|s| {
        let config = with_services(&config, &[s]);
        tokio::spawn(async move { App::build(config).await })
    });
    let mut apps = Vec::new();
    for (service, build) in Service::ALL.iter().zip(builds) {
        match build.await.unwrap() {
            Ok(app) => apps.push(app),
            Err(e) => panic!("{service} did not start: {e:#}"),
        }
    }
    for app in apps {
        app.stop().await;
    }
}
