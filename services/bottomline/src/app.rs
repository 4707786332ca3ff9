//! Composition of every service into one process (registry, employment with its registry intake,
//! MARA read model, relays): `App::build(config)` then
//! `App::run_until_stopped(signal)` (or `App::stop`).

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
use projector::Projector;
use registry::{IdHashKey, Registry, RegistryGrpc};
use registry_domain::MonitoringRules;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;

use crate::config::AppConfig;
use crate::reference::ReferenceData;

/// A running bottomline process.
pub struct App {
    addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    registry: Arc<Registry>,
    employment: Arc<Employment>,
    projector: Arc<Projector<MaraProjection>>,
    views: Arc<Projector<EmploymentViewsProjection>>,
    intake: Arc<Projector<RegistryIntake>>,
    relays: Vec<(&'static str, Arc<AtomicU64>)>,
    description: Vec<String>,
    /// Held for the life of the process: one process per data directory.
    _lock: std::fs::File,
}

impl App {
    /// Opens storage, rebuilds the registry, starts the relay (with Kafka), the MARA projector
    /// and the gRPC server. Returns once the server is listening.
    pub async fn build(config: AppConfig) -> anyhow::Result<App> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
        let lock = lock_data_dir(&config.data_dir)?;
        let reference = ReferenceData::load(
            config.divisions.as_deref(),
            config.key_counties.as_deref(),
            config.minimum_wages.as_deref(),
        )?;
        let rules = MonitoringRules::default();
        let key_path = config.data_dir.join("id-hash.key");
        let key = IdHashKey::load_or_create(&key_path)
            .with_context(|| format!("id hash key {}", key_path.display()))?;

        let store_url = config.event_store_url();
        let store = EventStore::open(&store_url)
            .await
            .context("opening the event store")?;
        let registry = Arc::new(
            Registry::open(store.clone(), reference.catalog.clone(), rules, key)
                .await
                .context("rebuilding the registry")?,
        );
        let employment_url = config.employment_store_url();
        if employment_url.starts_with("postgres") {
            ensure_postgres_database(&store_url, &employment_url).await?;
        }
        let employment_store = EventStore::open(&employment_url)
            .await
            .context("opening the employment event store")?;
        let employment = Arc::new(
            Employment::open(employment_store.clone(), reference.policy.clone())
                .await
                .context("rebuilding the employment write model")?,
        );
        let read_url = config.read_model_url();
        let intake = Arc::new(
            Projector::open(
                RegistryIntake::new(employment.clone()),
                &config.intake_url(),
            )
            .await
            .context("opening the registry intake of the employment service")?,
        );
        let views = Arc::new(
            Projector::open(
                EmploymentViewsProjection::new(),
                &config.employment_views_url(),
            )
            .await
            .context("opening the employment read models")?,
        );
        let projector = Arc::new(
            Projector::open(MaraProjection::new(), &read_url)
                .await
                .context("opening the MARA read model")?,
        );

        let shutdown = CancellationToken::new();
        let mut tasks: Vec<(&'static str, JoinHandle<()>)> = Vec::new();
        let mut relays: Vec<(&'static str, Arc<AtomicU64>)> = Vec::new();
        let mut description = vec![
            format!("event store   {}", redact(&store_url)),
            format!("employment    {}", redact(&employment_url)),
            format!("read models   {}", redact(&read_url)),
        ];
        match &config.kafka_brokers {
            None => {
                description.push("bus           embedded (projectors read the event store)".into());
                let (p, s, stop) = (projector.clone(), store.clone(), shutdown.clone());
                tasks.push((
                    "mara-projector",
                    tokio::spawn(
                        async move { projector::embedded::run(p, s, "registry", stop).await },
                    ),
                ));
                let (p, s, stop) = (intake.clone(), store.clone(), shutdown.clone());
                tasks.push((
                    "employment-intake",
                    tokio::spawn(
                        async move { projector::embedded::run(p, s, "registry", stop).await },
                    ),
                ));
                let (p, s, stop) = (views.clone(), employment_store.clone(), shutdown.clone());
                tasks.push((
                    "employment-views",
                    tokio::spawn(async move {
                        projector::embedded::run(p, s, "employment", stop).await
                    }),
                ));
            }
            Some(brokers) => {
                let kafka = KafkaConfig::new(brokers.clone());
                let topic = format!(
                    "{}{}",
                    kafka::admin::events_topic("registry"),
                    config.kafka_namespace
                );
                let dlq = kafka::admin::dead_letter_topic(&topic, "mara");
                let employment_topic = format!(
                    "{}{}",
                    kafka::admin::events_topic("employment"),
                    config.kafka_namespace
                );
                let intake_dlq = kafka::admin::dead_letter_topic(&topic, "employment-intake");
                let views_dlq =
                    kafka::admin::dead_letter_topic(&employment_topic, "employment-views");
                kafka::admin::ensure_topics(
                    &kafka,
                    &[&topic, &dlq, &employment_topic, &intake_dlq, &views_dlq],
                    3,
                )
                .await
                .context("creating Kafka topics")?;
                description.push(format!(
                    "kafka         {brokers} topics {topic}, {employment_topic}"
                ));
                let relay = kafka::relay::Relay::new(
                    &kafka,
                    employment_store.clone(),
                    &employment_topic,
                    employment::SOURCE,
                )
                .context("creating the employment relay producer")?;
                let stop = shutdown.clone();
                relays.push(("employment", relay.published()));
                tasks.push(("employment-relay", tokio::spawn(relay.run(stop))));
                let (p, stop, k, t) = (
                    intake.clone(),
                    shutdown.clone(),
                    kafka.clone(),
                    topic.clone(),
                );
                let group = format!("{}{}", intake.name(), config.kafka_namespace);
                tasks.push((
                    "employment-intake",
                    tokio::spawn(async move {
                        if let Err(e) =
                            kafka::consumer::run(&k, p, &group, &t, Some(&intake_dlq), stop).await
                        {
                            tracing::error!(error = %e, "employment intake consumer stopped");
                        }
                    }),
                ));
                let (p, stop, k) = (views.clone(), shutdown.clone(), kafka.clone());
                let group = format!("{}{}", views.name(), config.kafka_namespace);
                tasks.push((
                    "employment-views-consumer",
                    tokio::spawn(async move {
                        if let Err(e) = kafka::consumer::run(
                            &k,
                            p,
                            &group,
                            &employment_topic,
                            Some(&views_dlq),
                            stop,
                        )
                        .await
                        {
                            tracing::error!(error = %e, "employment views consumer stopped");
                        }
                    }),
                ));
                let relay =
                    kafka::relay::Relay::new(&kafka, store.clone(), &topic, registry::SOURCE)
                        .context("creating the relay producer")?;
                let stop = shutdown.clone();
                relays.push(("registry", relay.published()));
                tasks.push(("registry-relay", tokio::spawn(relay.run(stop))));
                let (p, stop) = (projector.clone(), shutdown.clone());
                let group = format!("{}{}", projector.name(), config.kafka_namespace);
                tasks.push((
                    "mara-consumer",
                    tokio::spawn(async move {
                        if let Err(e) =
                            kafka::consumer::run(&kafka, p, &group, &topic, Some(&dlq), stop).await
                        {
                            tracing::error!(error = %e, "mara consumer stopped");
                        }
                    }),
                ));
            }
        }

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<proto::registry::v1::registry_service_server::RegistryServiceServer<RegistryGrpc>>()
            .await;
        health
            .set_serving::<proto::mara::v1::mara_query_service_server::MaraQueryServiceServer<MaraQuery>>()
            .await;
        health
            .set_serving::<proto::employment::v1::employment_service_server::EmploymentServiceServer<EmploymentGrpc>>()
            .await;
        health
            .set_serving::<proto::employment::v1::employment_query_service_server::EmploymentQueryServiceServer<EmploymentQuery>>()
            .await;
        let employment_query = EmploymentQuery::new(
            views.pool().clone(),
            reference.catalog.clone(),
            reference.policy.clone(),
            config.follow_up_days,
            views.subscribe(),
        )
        .with_shutdown(shutdown.clone());
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .context("reflection service")?;
        let query = MaraQuery::new(
            projector.pool().clone(),
            reference.catalog.clone(),
            reference.key_counties.clone(),
            rules,
        );
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let router = tonic::transport::Server::builder()
            .timeout(Duration::from_secs(30))
            .concurrency_limit_per_connection(256)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(RegistryGrpc::new(registry.clone()).into_server())
            .add_service(
                EmploymentGrpc::new(employment.clone(), reference.catalog.clone()).into_server(),
            )
            .add_service(employment_query.into_server())
            .add_service(query.into_server());
        let stop = shutdown.clone();
        tasks.push((
            "grpc-server",
            tokio::spawn(async move {
                // No Nagle delay: replies are small and a client waits for each one.
                let incoming = TcpListenerStream::new(listener).map(|conn| {
                    conn.inspect(|c| {
                        if let Err(e) = c.set_nodelay(true) {
                            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                        }
                    })
                });
                if let Err(e) = router
                    .serve_with_incoming_shutdown(incoming, stop.cancelled())
                    .await
                {
                    tracing::error!(error = %e, "grpc server failed");
                }
            }),
        ));
        description.insert(
            0,
            format!(
                "grpc          http://{addr}  (registry, employment, mara, health, reflection)"
            ),
        );
        Ok(App {
            addr,
            shutdown,
            tasks,
            registry,
            employment,
            projector,
            views,
            intake,
            relays,
            description,
            _lock: lock,
        })
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

    /// The registry (for tests and benchmarks in the same process).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The employment command side (for tests and benchmarks in the same process).
    pub fn employment(&self) -> &Arc<Employment> {
        &self.employment
    }

    /// The MARA projector (for its metrics).
    pub fn projector(&self) -> &Arc<Projector<MaraProjection>> {
        &self.projector
    }

    /// The employment read-model projector (for its metrics).
    pub fn employment_views(&self) -> &Arc<Projector<EmploymentViewsProjection>> {
        &self.views
    }

    /// The registry intake of the employment service (for its metrics).
    pub fn intake(&self) -> &Arc<Projector<RegistryIntake>> {
        &self.intake
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
        self.registry.store().close().await;
        self.employment.store().close().await;
        self.projector.pool().close().await;
        self.views.pool().close().await;
        self.intake.pool().close().await;
    }
}

/// Takes the data directory's lock file: a second process on the same directory would rebuild a
/// second write model over the same store and race it.
fn lock_data_dir(dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another bottomline process",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Creates the PostgreSQL database of `url` when it does not exist, connecting through `existing`
/// (a database on the same server that does). Needs the CREATEDB privilege the first time only.
pub(crate) async fn ensure_postgres_database(existing: &str, url: &str) -> anyhow::Result<()> {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let name = base.rsplit_once('/').map_or("", |(_, name)| name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        anyhow::bail!(
            "database name {name:?} in {} must be letters, digits and _",
            redact(url)
        );
    }
    let (pool, _) = eventstore::backend::connect(existing, 1)
        .await
        .with_context(|| format!("connecting to {}", redact(existing)))?;
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM pg_database WHERE datname = $1")
            .bind(name.to_string())
            .fetch_optional(&pool)
            .await?;
    if found.is_none() {
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
        {
            // Another process may have created it in the meantime.
            let again: Option<(i64,)> =
                sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM pg_database WHERE datname = $1")
                    .bind(name.to_string())
                    .fetch_optional(&pool)
                    .await?;
            if again.is_none() {
                return Err(e).with_context(|| format!("creating database {name}"));
            }
        }
    }
    pool.close().await;
    Ok(())
}

/// A database URL without its password.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
