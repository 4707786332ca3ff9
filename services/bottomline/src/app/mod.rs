//! Composition of the services a process runs (registry, employment with its registry intake,
//! MARA and employment read models, relays; all of them by default): `App::build(config)` then
//! `App::run_until_stopped(signal)` (or `App::stop`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use employment::{Employment, EmploymentGrpc, RegistryIntake};
use employment_views::{EmploymentQuery, EmploymentViewsProjection};
use eventstore::EventStore;
use kafka::config::KafkaConfig;
use mara::{MaraProjection, MaraQuery};
use projector::{Projection, Projector};
use registry::{IdHashKey, Registry, RegistryGrpc};
use registry_domain::MonitoringRules;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::config::{AppConfig, Service};
use crate::reference::ReferenceData;

mod lease_health;
mod storage;

pub(crate) use storage::{
    check_database_name, drop_postgres_database, ensure_postgres_database, redact,
};

/// A running bottomline process: the services of [`AppConfig::services`].
pub struct App {
    addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    registry: Option<Arc<Registry>>,
    employment: Option<Arc<Employment>>,
    projector: Option<Arc<Projector<MaraProjection>>>,
    views: Option<Arc<Projector<EmploymentViewsProjection>>>,
    intake: Option<Arc<Projector<RegistryIntake>>>,
    /// Event stores opened by this process (its own, and in embedded mode the ones its
    /// projectors follow), closed at stop.
    stores: Vec<EventStore>,
    relays: Vec<(&'static str, Arc<AtomicU64>)>,
    /// Kafka topics this process made sure exist (none in embedded mode).
    topics: Vec<String>,
    description: Vec<String>,
    /// Held for the life of the process: one process per service and data directory.
    _locks: Vec<std::fs::File>,
}

impl App {
    /// Opens the storage of the configured services, rebuilds their write models, starts their
    /// relays (with Kafka), projectors and the gRPC server. Returns once the server is listening.
    ///
    /// Errors: no service named; a service's lock held by another process; storage, broker or
    /// reference data unusable; an id hash key other than the registry store's. A data directory
    /// this call created is removed again on an error when it holds nothing but its lock files,
    /// and so is an embedded event store it created: a refused start leaves no empty store, nor
    /// a write-ahead log that SQLite would replay onto a store file put back in its place.
    pub async fn build(config: AppConfig) -> anyhow::Result<App> {
        let mut opened = OpenedStores::default();
        let built = Self::build_with(config, &mut opened).await;
        if built.is_err() {
            opened.undo().await;
        }
        built
    }

    async fn build_with(config: AppConfig, opened: &mut OpenedStores) -> anyhow::Result<App> {
        anyhow::ensure!(
            !config.services.is_empty(),
            "no service to run (--services)"
        );
        // Each context has a store of its own: one events table holding both would mix their
        // events (and the second writer would find the store's writer lease taken).
        anyhow::ensure!(
            !config
                .database_url
                .as_deref()
                .is_some_and(|url| crate::config::same_postgres_database(url, &config.employment_store_url())),
            "--employment-database-url names the registry's database (--database-url): the \
             employment context needs an event store of its own; leave it out to use `<name>_employment`"
        );
        // Nothing is created before the broker, when there is one, answers.
        if let Some(brokers) = &config.kafka_brokers {
            kafka::admin::reachable(&KafkaConfig::new(brokers.clone()))
                .await
                .map_err(|e| broker_error(brokers, e, "reaching Kafka"))?;
        }
        // A data directory that exists is locked first: a second process on it is told so, not
        // that the port (which the first holds too) is taken, and creates no database.
        let mut data_dir = storage::DataDir::new(&config.data_dir);
        let existed = config.data_dir.is_dir();
        if existed {
            data_dir.lock(&config.services)?;
        }
        // Nor before every store it follows exists, every PostgreSQL database of its own exists
        // (created when missing), and its port is free.
        let followed = config.followed_stores();
        let postgres: Vec<String> = config
            .databases()
            .into_iter()
            .filter(|url| url.starts_with("postgres"))
            .collect();
        for url in &postgres {
            storage::check_database_name(url)?;
        }
        for (url, service) in &followed {
            storage::ensure_followed_store_exists(url, *service).await?;
        }
        for url in &postgres {
            if !followed.iter().any(|(f, _)| f == url) {
                storage::ensure_postgres_database(url).await?;
            }
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        if !existed {
            data_dir.create()?;
            data_dir.lock(&config.services)?;
        }
        let reference = ReferenceData::load(
            config.divisions.as_deref(),
            config.key_counties.as_deref(),
            config.minimum_wages.as_deref(),
        )?;
        let rules = MonitoringRules::default();
        let runs = |s| config.runs(s);

        let store_url = config.event_store_url();
        let employment_url = config.employment_store_url();
        let mut description = Vec::new();
        // Embedded, projectors follow the store they read, in this process or not.
        let store = if config.opens_registry_store() {
            description.push(format!("event store   {}", redact(&store_url)));
            let store = opened.open(&store_url, Service::Registry).await?;
            warn_if_embedded_left(&config, Service::Registry, &store_url, &store).await;
            Some(store)
        } else {
            None
        };
        let registry = match &store {
            Some(store) if runs(Service::Registry) => {
                let key_path = config.data_dir.join("id-hash.key");
                let key = IdHashKey::load_or_create(&key_path)
                    .with_context(|| format!("id hash key {}", key_path.display()))?;
                Some(Arc::new(
                    Registry::open(store.clone(), reference.catalog.clone(), rules, key)
                        .await
                        .context("opening the registry's command writer (its write model is read from the event store)")?,
                ))
            }
            _ => None,
        };
        let employment_store = if config.opens_employment_store() {
            description.push(format!("employment    {}", redact(&employment_url)));
            let store = opened.open(&employment_url, Service::Employment).await?;
            warn_if_embedded_left(&config, Service::Employment, &employment_url, &store).await;
            Some(store)
        } else {
            None
        };
        let employment = match &employment_store {
            Some(store) if runs(Service::Employment) => Some(Arc::new(
                Employment::open(store.clone(), reference.policy.clone())
                    .await
                    .context("opening the employment command writer (its write model is read from the event store)")?,
            )),
            _ => None,
        };
        let intake = match &employment {
            Some(employment) => Some(Arc::new(
                Projector::open(
                    RegistryIntake::new(employment.clone()),
                    &config.intake_url(),
                )
                .await
                .context("opening the registry intake of the employment service")?,
            )),
            None => None,
        };
        let views = if runs(Service::EmploymentViews) {
            Some(Arc::new(
                Projector::open(
                    EmploymentViewsProjection::new(),
                    &config.employment_views_url(),
                )
                .await
                .context("opening the employment read models")?,
            ))
        } else {
            None
        };
        let read_url = config.read_model_url();
        let projector = if runs(Service::Mara) {
            Some(Arc::new(
                Projector::open(MaraProjection::new(), &read_url)
                    .await
                    .context("opening the MARA read model")?,
            ))
        } else {
            None
        };
        let read_models = [
            (projector.is_some(), "mara", read_url.clone()),
            (
                views.is_some(),
                "employment views",
                config.employment_views_url(),
            ),
            (intake.is_some(), "registry intake", config.intake_url()),
        ];
        for (_, name, url) in read_models.iter().filter(|(runs, _, _)| *runs) {
            description.push(format!("read model    {name}: {}", redact(url)));
        }

        // Each read model must go on from the sources it followed: its watermarks are theirs.
        let ns = &config.kafka_namespace;
        let feed = |store: &str, topic: &str| match &config.kafka_brokers {
            None => projector::embedded::source(store),
            Some(_) => format!("{}{ns}:", kafka::admin::events_topic(topic)),
        };
        if let Some(p) = &projector {
            same_feed(p, &read_url, &feed("registry", "registry")).await?;
        }
        if let Some(p) = &intake {
            same_feed(p, &config.intake_url(), &feed("registry", "registry")).await?;
        }
        if let Some(p) = &views {
            let url = config.employment_views_url();
            same_feed(p, &url, &feed("employment", "employment")).await?;
        }
        if let (Some(p), Some(employment)) = (&intake, &employment) {
            intake_output_kept(p, &config.intake_url(), employment.store(), &employment_url)
                .await?;
        }

        let shutdown = CancellationToken::new();
        let mut tasks = Tasks::default();
        let mut relays: Vec<(&'static str, Arc<AtomicU64>)> = Vec::new();
        let mut ensured_topics: Vec<String> = Vec::new();
        match &config.kafka_brokers {
            None => {
                if projector.is_some() || intake.is_some() || views.is_some() {
                    description
                        .push("bus           embedded (projectors read the event store)".into());
                }
                // Every read model ahead of its store is named at once, not one per start.
                let mut refused: Vec<anyhow::Error> = Vec::new();
                if let Some(store) = &store {
                    let from = (
                        store_url.as_str(),
                        "the data directory's, or --database-url on PostgreSQL",
                    );
                    if let Some(p) = &projector {
                        let checked = same_store(p, &read_url, store, "registry", from, "");
                        refused.extend(checked.await.err());
                    }
                    if let Some(p) = &intake {
                        let url = config.intake_url();
                        let also = INTAKE_OVER_NEW_REGISTRY;
                        let checked = same_store(p, &url, store, "registry", from, also);
                        refused.extend(checked.await.err());
                    }
                }
                if let (Some(p), Some(store)) = (&views, &employment_store) {
                    let url = config.employment_views_url();
                    let from = (
                        employment_url.as_str(),
                        "the data directory's, or --employment-database-url on PostgreSQL",
                    );
                    let checked = same_store(p, &url, store, "employment", from, "");
                    refused.extend(checked.await.err());
                }
                if !refused.is_empty() {
                    let each: Vec<String> = refused.iter().map(|e| format!("{e:#}")).collect();
                    anyhow::bail!("{}", each.join("\n"));
                }
                if let Some(store) = &store {
                    if let Some(p) = &projector {
                        tasks.feed("mara-projector", p, store, "registry", &shutdown);
                    }
                    if let Some(p) = &intake {
                        tasks.feed("employment-intake", p, store, "registry", &shutdown);
                    }
                }
                if let (Some(p), Some(store)) = (&views, &employment_store) {
                    tasks.feed("employment-views", p, store, "employment", &shutdown);
                }
            }
            Some(brokers) => {
                let kafka =
                    KafkaConfig::new(brokers.clone()).static_member(&process_identity(&config));
                let topic = format!("{}{ns}", kafka::admin::events_topic("registry"));
                let employment_topic = format!("{}{ns}", kafka::admin::events_topic("employment"));
                // Each process makes sure the topics it publishes to or reads exist.
                let mut topics: Vec<String> = Vec::new();
                let consumers = [
                    (projector.as_ref().map(|p| p.name()), &topic),
                    (intake.as_ref().map(|p| p.name()), &topic),
                    (views.as_ref().map(|p| p.name()), &employment_topic),
                ];
                for (group, source) in consumers {
                    if let Some(group) = group {
                        topics.push(source.clone());
                        topics.push(kafka::admin::dead_letter_topic(source, group));
                    }
                }
                if runs(Service::Registry) {
                    topics.push(topic.clone());
                }
                if runs(Service::Employment) {
                    topics.push(employment_topic.clone());
                }
                topics.sort();
                topics.dedup();
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                kafka::admin::ensure_topics(&kafka, &names, 3)
                    .await
                    .map_err(|e| broker_error(brokers, e, "creating Kafka topics"))?;
                description.push(format!(
                    "kafka         {brokers} topics {}",
                    names.join(", ")
                ));
                ensured_topics.clone_from(&topics);
                let publishers = [
                    (registry.as_ref().map(|r| r.store()), &topic),
                    (employment.as_ref().map(|e| e.store()), &employment_topic),
                ];
                for (store, topic) in publishers {
                    if let Some(store) = store {
                        warn_if_shared(&kafka, store, topic).await?;
                    }
                }
                if let Some(employment) = &employment {
                    let relay = kafka::relay::Relay::new(
                        &kafka,
                        employment.store().clone(),
                        &employment_topic,
                        employment::SOURCE,
                    )
                    .context("creating the employment relay producer")?;
                    relays.push(("employment", relay.published()));
                    tasks.push("employment-relay", relay.run(shutdown.clone()));
                }
                if let Some(p) = &intake {
                    tasks.consume("employment-intake", &kafka, p, ns, &topic, &shutdown);
                }
                if let Some(p) = &views {
                    tasks.consume(
                        "employment-views",
                        &kafka,
                        p,
                        ns,
                        &employment_topic,
                        &shutdown,
                    );
                }
                if let Some(registry) = &registry {
                    let relay = kafka::relay::Relay::new(
                        &kafka,
                        registry.store().clone(),
                        &topic,
                        registry::SOURCE,
                    )
                    .context("creating the relay producer")?;
                    relays.push(("registry", relay.published()));
                    tasks.push("registry-relay", relay.run(shutdown.clone()));
                }
                if let Some(p) = &projector {
                    tasks.consume("mara", &kafka, p, ns, &topic, &shutdown);
                }
            }
        }

        let (health, health_service) = tonic_health::server::health_reporter();
        // Reflection lists only what this process serves.
        let mut reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        let served = [
            (registry.is_some(), "bottomline.registry.v1.RegistryService"),
            (
                employment.is_some(),
                "bottomline.employment.v1.EmploymentService",
            ),
            (projector.is_some(), "bottomline.mara.v1.MaraQueryService"),
            (
                views.is_some(),
                "bottomline.employment.v1.EmploymentQueryService",
            ),
        ];
        for (_, name) in served.iter().filter(|(runs, _)| *runs) {
            reflection = reflection.with_service_name(*name);
        }
        let reflection = reflection.build_v1().context("reflection service")?;
        let router =
            grpc_server()
                .add_service(health_service)
                .add_service(reflection)
                .add_optional_service(
                    registry
                        .as_ref()
                        .map(|r| RegistryGrpc::new(r.clone()).into_server()),
                )
                .add_optional_service(employment.as_ref().map(|e| {
                    EmploymentGrpc::new(e.clone(), reference.catalog.clone()).into_server()
                }))
                .add_optional_service(views.as_ref().map(|v| {
                    EmploymentQuery::new(
                        v.pool().clone(),
                        reference.catalog.clone(),
                        reference.policy.clone(),
                        config.follow_up_days,
                        v.subscribe(),
                    )
                    .with_shutdown(shutdown.clone())
                    .into_server()
                }))
                .add_optional_service(projector.as_ref().map(|p| {
                    MaraQuery::new(
                        p.pool().clone(),
                        reference.catalog.clone(),
                        reference.key_counties.clone(),
                        rules,
                    )
                    .into_server()
                }));
        if registry.is_some() {
            health
                .set_serving::<proto::registry::v1::registry_service_server::RegistryServiceServer<RegistryGrpc>>()
                .await;
        }
        if employment.is_some() {
            health
                .set_serving::<proto::employment::v1::employment_service_server::EmploymentServiceServer<EmploymentGrpc>>()
                .await;
        }
        if projector.is_some() {
            health
                .set_serving::<proto::mara::v1::mara_query_service_server::MaraQueryServiceServer<MaraQuery>>()
                .await;
        }
        if views.is_some() {
            health
                .set_serving::<proto::employment::v1::employment_query_service_server::EmploymentQueryServiceServer<EmploymentQuery>>()
                .await;
        }
        if registry.is_some() || employment.is_some() {
            tasks.push(
                "writer-lease-health",
                lease_health::follow(
                    health.clone(),
                    registry.clone(),
                    employment.clone(),
                    shutdown.clone(),
                ),
            );
        }
        let addr = listener.local_addr()?;
        let stop = shutdown.clone();
        let serve = async move {
            if let Err(e) = router
                .serve_with_incoming_shutdown(incoming(listener), stop.cancelled())
                .await
            {
                tracing::error!(error = %e, "grpc server failed");
            }
        };
        tasks.push("grpc-server", serve);
        let names: Vec<&str> = config.services.iter().map(|s| s.name()).collect();
        description.insert(
            0,
            format!(
                "grpc          http://{addr}  ({}, health, reflection)",
                names.join(", ")
            ),
        );
        let stores = store.into_iter().chain(employment_store).collect();
        Ok(App {
            addr,
            shutdown,
            tasks: tasks.0,
            registry,
            employment,
            projector,
            views,
            intake,
            stores,
            relays,
            topics: ensured_topics,
            description,
            _locks: data_dir.keep(),
        })
    }

    /// The Kafka topics (event topics and dead-letter topics) this process made sure exist at
    /// start; empty in embedded mode.
    pub fn kafka_topics(&self) -> &[String] {
        &self.topics
    }

    /// The address the gRPC server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port` for clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Human-readable lines: endpoints and storage.
    pub fn describe(&self) -> &[String] {
        &self.description
    }

    /// The registry, when this process runs it (for tests and benchmarks in the same process).
    pub fn registry(&self) -> Option<&Arc<Registry>> {
        self.registry.as_ref()
    }

    /// The employment command side, when this process runs it (for tests and benchmarks).
    pub fn employment(&self) -> Option<&Arc<Employment>> {
        self.employment.as_ref()
    }

    /// The MARA projector, when this process runs it (for its metrics).
    pub fn projector(&self) -> Option<&Arc<Projector<MaraProjection>>> {
        self.projector.as_ref()
    }

    /// The employment read-model projector, when this process runs it (for its metrics).
    pub fn employment_views(&self) -> Option<&Arc<Projector<EmploymentViewsProjection>>> {
        self.views.as_ref()
    }

    /// The registry intake of the employment service, when this process runs it (for its
    /// metrics).
    pub fn intake(&self) -> Option<&Arc<Projector<RegistryIntake>>> {
        self.intake.as_ref()
    }

    /// Events each relay had the broker acknowledge since start, by context (empty without
    /// Kafka).
    pub fn relay_counters(&self) -> &[(&'static str, Arc<AtomicU64>)] {
        &self.relays
    }

    /// Waits for `signal`, then stops cleanly.
    pub async fn run_until_stopped(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.stop().await;
    }

    /// Stops accepting requests, lets in-flight ones and the current projector batch finish,
    /// drains the relay, and joins every task.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for (name, task) in self.tasks {
            match tokio::time::timeout(Duration::from_secs(20), task).await {
                Ok(Ok(())) => tracing::debug!(task = name, "stopped"),
                Ok(Err(e)) => tracing::error!(task = name, error = %e, "task panicked"),
                Err(_) => tracing::warn!(task = name, "did not stop within 20 s"),
            }
        }
        for store in &self.stores {
            store.close().await;
        }
        if let Some(p) = &self.projector {
            p.pool().close().await;
        }
        if let Some(p) = &self.views {
            p.pool().close().await;
        }
        if let Some(p) = &self.intake {
            p.pool().close().await;
        }
    }
}

/// The gRPC server's transport settings, the same for the stack and the bench's raw gRPC baseline:
/// a call gets 30 s, and a connection at most 256 calls at a time.
pub fn grpc_server() -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .timeout(Duration::from_secs(30))
        .concurrency_limit_per_connection(256)
}

/// The connections `listener` accepts, without Nagle's delay: replies are small and a client waits
/// for each one.
pub fn incoming(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|c| {
            if let Err(e) = c.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        })
    })
}

/// A Kafka failure while `doing` something with `brokers`: none answering is said as such.
fn broker_error(brokers: &str, error: rdkafka::error::KafkaError, doing: &str) -> anyhow::Error {
    if kafka::admin::unanswered(&error) {
        anyhow::anyhow!(
            "no Kafka broker answered at {brokers} within {} s: check --kafka-brokers \
             (BOTTOMLINE_KAFKA_BROKERS) and that the broker runs",
            kafka::admin::REQUEST_TIMEOUT.as_secs()
        )
    } else {
        anyhow::Error::new(error).context(format!("{doing} on {brokers}"))
    }
}

/// Warns when `store` is empty but the `topic` its relay publishes to already holds records:
/// another deployment publishes there under the same `--kafka-namespace`, or the store was
/// replaced, and the read models fed from the topic would mix both.
async fn warn_if_shared(
    kafka: &KafkaConfig,
    store: &EventStore,
    topic: &str,
) -> anyhow::Result<()> {
    let (events, _) = store.head().await?;
    if events > 0 {
        return Ok(());
    }
    // Advice only: a slow broker does not hold the start up for long.
    let counted = tokio::time::timeout(Duration::from_secs(5), kafka::admin::records(kafka, topic));
    match counted.await {
        Ok(Ok(records)) if records > 0 => tracing::warn!(
            topic,
            records,
            "the event store is empty but its topic already holds records: another deployment \
             publishes there (give each deployment its own --kafka-namespace), or the store was \
             replaced; the read models fed from the topic will show both, and the employment \
             service records the other's registry facts in its own event store"
        ),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::debug!(topic, error = %e, "topic's records not counted"),
        Err(_) => tracing::debug!(topic, "topic's records not counted within 5 s"),
    }
    Ok(())
}

/// Warns when `store` (`service`'s event store, at `url`, not the data directory's) is empty
/// while the data directory's embedded store of `service` holds events: they are not carried
/// over to `url`, and this start shows none of them. Advice only: what cannot be read is
/// logged and the start goes on.
async fn warn_if_embedded_left(
    config: &AppConfig,
    service: Service,
    url: &str,
    store: &EventStore,
) {
    let embedded = config.embedded_store_url(service);
    let Some(path) = storage::sqlite_path(&embedded) else {
        return;
    };
    let in_use = storage::sqlite_path(url).and_then(|p| std::fs::canonicalize(p).ok());
    if !path.exists() || std::fs::canonicalize(path).ok() == in_use {
        return;
    }
    let left = async {
        if store.last_position().await? > 0 {
            return Ok::<_, anyhow::Error>(false);
        }
        let (pool, _) =
            eventstore::backend::connect_readers(&format!("{embedded}?mode=ro"), 1).await?;
        let holds = sqlx::query("SELECT COUNT(*) FROM (SELECT 1 FROM events LIMIT 1) AS first")
            .fetch_one(&pool)
            .await
            .and_then(|row| sqlx::Row::try_get::<i64, _>(&row, 0));
        pool.close().await;
        Ok(holds? > 0)
    };
    match left.await {
        Ok(true) => tracing::warn!(
            event_store = %redact(url),
            left = %path.display(),
            "the {service} event store is empty, but the data directory's embedded {service} \
             event store holds events, which this start does not use: they are not carried over"
        ),
        Ok(false) => {}
        Err(e) => {
            tracing::debug!(left = %path.display(), error = %e, "embedded event store not looked at")
        }
    }
}

/// The event stores a starting process opened, and the SQLite files of those it created.
#[derive(Default)]
struct OpenedStores(Vec<(EventStore, Option<std::path::PathBuf>)>);

impl OpenedStores {
    /// Opens the event store of `service` at `url`: its own, or one its projectors follow
    /// (checked to exist before anything was created).
    async fn open(&mut self, url: &str, service: Service) -> anyhow::Result<EventStore> {
        let created = storage::sqlite_path(url)
            .filter(|path| !path.exists())
            .map(std::path::Path::to_path_buf);
        let store = EventStore::open(url)
            .await
            .with_context(|| format!("opening the {service} event store"))?;
        self.0.push((store.clone(), created));
        Ok(store)
    }

    /// The start failed: closes every store (SQLite folds its write-ahead log into the file and
    /// removes it) and removes the files of those this start created.
    async fn undo(self) {
        for (store, created) in self.0 {
            store.close().await;
            if let Some(path) = created {
                for suffix in ["", "-wal", "-shm"] {
                    let file = format!("{}{suffix}", path.display());
                    if let Err(e) = std::fs::remove_file(&file) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(file, error = %e, "event store file of a failed start not removed");
                        }
                    }
                }
            }
        }
    }
}

/// Refuses to feed `projector` (its read model at `url`) from sources named `expected…` when it
/// followed others before: its dedupe watermarks are per source (a Kafka partition, or the event
/// store itself), so a read model built from the event store directly and then fed from Kafka
/// (or from Kafka topics under another namespace, or the other way round) would find no
/// watermark for its new sources and apply every event again.
async fn same_feed<P: Projection>(
    projector: &Projector<P>,
    url: &str,
    expected: &str,
) -> anyhow::Result<()> {
    let sources = projector
        .sources()
        .await
        .with_context(|| format!("reading the {} read model's sources", projector.name()))?;
    let other: Vec<&String> = sources
        .iter()
        .filter(|s| !s.starts_with(expected))
        .collect();
    anyhow::ensure!(
        other.is_empty(),
        "the {name} read model at {url} was built from {other:?}, not {expected}…: fed from \
         here it would apply every event again. Start it as before (embedded, or --kafka-brokers \
         with the --kafka-namespace its topic names end with), or rebuild it from the start in a \
         new, empty database: --read-model-url (BOTTOMLINE_READ_MODEL_URL; a PostgreSQL one holds \
         every read model), \
         or, on SQLite, remove the file named here",
        name = projector.name(),
        url = redact(url),
        other = other,
    );
    Ok(())
}

/// Refuses to feed `projector` (its read model at `url`) from `store` (the `store_name` event
/// store at `store_url`, named by `flag`) when the read model has applied events past the
/// store's last position: it was built from another event store (another URL, or a store file
/// removed and started again empty), and fed from this one it would skip the events up to what
/// it applied. A replaced store that has already grown past that position is not told apart
/// here.
async fn same_store<P: Projection>(
    projector: &Projector<P>,
    url: &str,
    store: &EventStore,
    store_name: &str,
    (store_url, flag): (&str, &str),
    also: &str,
) -> anyhow::Result<()> {
    let name = projector.name();
    let checkpoint = projector
        .checkpoint(&projector::embedded::source(store_name))
        .await
        .with_context(|| format!("reading the {name} read model's checkpoint"))?;
    let Some(checkpoint) = checkpoint else {
        return Ok(());
    };
    let last = store
        .last_position()
        .await
        .with_context(|| format!("reading the {store_name} event store's last position"))?;
    anyhow::ensure!(
        checkpoint.b <= last,
        "the {name} read model at {url} has applied the {store_name} event store up to position \
         {applied}, but the event store at {store_url} ends at position {last}: the read model \
         was built from another event store, or this one lost its last events. Start it with \
         the event store it was built from ({flag}), or rebuild it from the start: \
         {rebuild}{also}",
        url = redact(url),
        applied = checkpoint.b,
        store_url = redact(store_url),
        rebuild = rebuild_hint(url),
    );
    Ok(())
}

/// What the intake's refusal adds when the registry store was replaced: the employment store
/// holds the old registry's facts, which the new registry's events would be recorded beside.
const INTAKE_OVER_NEW_REGISTRY: &str = ". The employment event store holds the facts the intake \
    recorded from the old registry store, and would record the new one's beside them: with the \
    registry replaced, start the employment service over too (remove employment-events.db, \
    employment-intake.db and employment-views.db from the data directory, or give new \
    databases; the spells and other employment records go with them)";

/// Refuses to run the employment service's registry intake (its checkpoints at `url`) when it
/// has taken in registry events but the employment event store at `store_url`, where it recorded
/// them as facts, is empty: the store was replaced, and the facts before the intake's
/// checkpoints would never be recorded again.
async fn intake_output_kept<P: Projection>(
    intake: &Projector<P>,
    url: &str,
    store: &EventStore,
    store_url: &str,
) -> anyhow::Result<()> {
    let sources = intake
        .sources()
        .await
        .context("reading the registry intake's sources")?;
    if sources.is_empty() {
        return Ok(());
    }
    let last = store
        .last_position()
        .await
        .context("reading the employment event store's last position")?;
    anyhow::ensure!(
        last > 0,
        "the registry intake at {url} has taken in registry events (from {sources:?}), but the \
         employment event store at {store_url}, where it recorded them, is empty: the store was \
         replaced. Start with the employment event store it recorded into \
         (--employment-database-url, or the data directory's), or take the registry in again \
         from the start: {rebuild}",
        url = redact(url),
        store_url = redact(store_url),
        rebuild = rebuild_hint(url),
    );
    Ok(())
}

/// How to rebuild a read model at `url` from the start.
fn rebuild_hint(url: &str) -> String {
    match storage::sqlite_path(url) {
        Some(path) => format!("remove {} (and its -wal and -shm files)", path.display()),
        None => "a new, empty database (--read-model-url, BOTTOMLINE_READ_MODEL_URL)".into(),
    }
}

/// The background tasks of a process, by name.
#[derive(Default)]
struct Tasks(Vec<(&'static str, JoinHandle<()>)>);

impl Tasks {
    fn push(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.0.push((name, tokio::spawn(task)));
    }

    /// Feeds `projector` from `store`'s global order (embedded bus).
    fn feed<P: Projection>(
        &mut self,
        name: &'static str,
        projector: &Arc<Projector<P>>,
        store: &EventStore,
        store_name: &'static str,
        shutdown: &CancellationToken,
    ) {
        let (p, s, stop) = (projector.clone(), store.clone(), shutdown.clone());
        self.push(name, projector::embedded::run(p, s, store_name, stop));
    }

    /// Feeds `projector` from `topic` as consumer group `<projection name><namespace>`, parking
    /// what it cannot apply on the topic's dead-letter topic for that projection.
    fn consume<P: Projection>(
        &mut self,
        name: &'static str,
        kafka: &KafkaConfig,
        projector: &Arc<Projector<P>>,
        namespace: &str,
        topic: &str,
        shutdown: &CancellationToken,
    ) {
        let (p, k, stop) = (projector.clone(), kafka.clone(), shutdown.clone());
        let group = format!("{}{namespace}", projector.name());
        let dead_letter = kafka::admin::dead_letter_topic(topic, projector.name());
        let topic = topic.to_string();
        self.push(name, async move {
            if let Err(e) =
                kafka::consumer::run(&k, p, &group, &topic, Some(&dead_letter), stop).await
            {
                tracing::error!(consumer = name, error = %e, "consumer stopped");
            }
        });
    }
}

/// Names this process among those alive, the same across its restarts, for its consumers'
/// static membership ([`KafkaConfig::static_member`]): `--kafka-instance-id` when given, else its
/// host and its data directory (one process per service and data directory,
/// [`storage::DataDir`]).
fn process_identity(config: &AppConfig) -> String {
    if let Some(id) = &config.kafka_instance_id {
        return id.clone();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    if host.trim().is_empty() {
        tracing::warn!(
            "no host name (/proc/sys/kernel/hostname): the Kafka consumers are named by the data \
             directory alone, so processes on other hosts must use other data directory paths"
        );
    }
    let dir = config
        .data_dir
        .canonicalize()
        .unwrap_or_else(|_| config.data_dir.clone());
    format!("{}\0{}", host.trim(), dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kafka_identity_is_the_one_given_else_the_host_and_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = AppConfig::embedded(dir.path(), "127.0.0.1:0".parse().unwrap());
        let identity = process_identity(&config);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let canonical = dir.path().canonicalize().unwrap();
        assert_eq!(
            identity,
            format!("{}\0{}", host.trim(), canonical.display())
        );
        config.kafka_instance_id = Some("bottomline-mara-0".into());
        assert_eq!(process_identity(&config), "bottomline-mara-0");
    }
}
