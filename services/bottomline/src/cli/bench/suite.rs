//! `bottomline bench`: the whole stack started in this process (embedded, or on PostgreSQL +
//! Kafka), driven over gRPC on loopback by N clients through two scenarios — registrations, then
//! employment spells — with the system's own counters sampled along the way.
//!
//! Reported: commands/s and latency per scenario; end-to-end lag (event recorded → read-model
//! batch committed) p50/p99 per read model; relay and projector throughput (events/s while busy);
//! peak memory of the process (server and load generator together: one process); and the raw
//! baselines of [`super::baseline`] measured in the same run on the same database and broker.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use eventstore::{EventStore, GlobalCursor, RecordedEvent};
use projector::ProjectorMetrics;
use serde::Serialize;
use sqlx::Row;

use super::baseline::{InsertBaseline, KafkaBaseline};
use super::cpu::{CpuClock, CpuUse};
use super::employment::{self, EmploymentLoad};
use super::grpc_baseline::GrpcBaseline;
use super::{BenchReport, Percentiles};
use crate::app::App;
use crate::config::AppConfig;
use crate::reference::ReferenceData;

/// Where the stack under test keeps its data.
#[derive(Debug, Clone)]
pub struct Stack {
    /// PostgreSQL URL of a throw-away database (the registry's store; the employment store goes
    /// next to it); `None` = embedded SQLite in a temporary directory.
    pub database_url: Option<String>,
    /// Kafka brokers; `None` = embedded bus.
    pub kafka_brokers: Option<String>,
    /// Only the registry service (`up --services registry`): registrations, its relay and the
    /// baselines; no read models, no employment scenario.
    pub registry_only: bool,
}

/// Throughput of one component while it was busy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Throughput {
    /// Events handled during the run.
    pub events: u64,
    /// Seconds: from its first to its last observed progress during the load; the whole replay
    /// for a capacity.
    pub seconds: f64,
    /// `events / seconds`.
    pub events_per_second: f64,
}

/// Throughput of one named relay or projector.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Context (relay) or read model (projector).
    pub name: &'static str,
    /// What it did.
    #[serde(flatten)]
    pub throughput: Throughput,
}

/// End-to-end lag of one read model: event recorded in its store → read-model batch committed.
#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    /// Read model.
    pub read_model: &'static str,
    /// Events sampled.
    pub events: usize,
    /// Milliseconds.
    pub ms: Percentiles,
}

/// Everything one suite run measured.
#[derive(Debug, Serialize)]
pub struct SuiteReport {
    /// `embedded` or `postgres+kafka`.
    pub mode: &'static str,
    /// Seed the population was generated from (`--seed` repeats it).
    pub seed: u64,
    /// Registration scenario.
    pub registrations: BenchReport,
    /// CPU of the registration scenario, until its read models caught up.
    pub registrations_cpu: CpuUse,
    /// Employment scenario (`None` with the registry alone).
    pub employment: Option<EmploymentLoad>,
    /// CPU of the employment scenario, until its read models caught up.
    pub employment_cpu: Option<CpuUse>,
    /// End-to-end lag per read model over both scenarios.
    pub lag: Vec<Lag>,
    /// The paced phase (`--paced-rate`), after everything else.
    pub paced: Option<super::paced::PacedReport>,
    /// Relay throughput per context (Kafka mode only).
    pub relay: Vec<Component>,
    /// Projector throughput per read model.
    pub projectors: Vec<Component>,
    /// Relay capacity: the registry store replayed to a fresh topic, the median of
    /// [`super::replay::RUNS`] replays (Kafka mode only).
    pub relay_replay: Option<Throughput>,
    /// Events per second of each relay replay.
    pub relay_replay_runs_per_second: Vec<f64>,
    /// Projector capacity: the registry store replayed into a fresh MARA read model.
    pub projector_replay: Throughput,
    /// Average payload of the registry's events, bytes (what the baselines send: the relay's and
    /// the projector's capacity are measured on the registry's events).
    pub average_payload_bytes: usize,
    /// Raw batched inserts of event-shaped rows into the event store's database, same run.
    pub insert_baseline: InsertBaseline,
    /// Raw rdkafka producer and consumer on the same broker, same run (Kafka mode only).
    pub kafka_baseline: Option<KafkaBaseline>,
    /// Raw gRPC calls of the registrations' sizes by as many clients, same run.
    pub grpc_baseline: GrpcBaseline,
    /// Each system figure divided by its baseline.
    pub ratios: Vec<Ratio>,
    /// Peak resident memory of this process (VmHWM), MiB: the stack under test and the load
    /// generator, read before the baselines run.
    pub peak_memory_mib: f64,
}

/// A system figure next to its raw baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// What is compared.
    pub figure: String,
    /// The system's events per second.
    pub system_per_second: f64,
    /// The baseline's records per second.
    pub baseline_per_second: f64,
    /// `system / baseline`.
    pub ratio: f64,
    /// The runs behind either figure (medians of several) were more than 1.5× apart: the
    /// machine was busy and the ratio means little.
    pub compare_with_care: bool,
}

impl Ratio {
    fn new(figure: &str, system: f64, baseline: f64) -> Ratio {
        Ratio {
            figure: figure.to_owned(),
            system_per_second: system,
            baseline_per_second: baseline,
            ratio: system / baseline.max(f64::MIN_POSITIVE),
            compare_with_care: false,
        }
    }

    /// Marks the ratio [`Ratio::compare_with_care`] when the runs of either side (events or
    /// records per second of each run) are more than 1.5× apart.
    fn runs(mut self, system: &[f64], baseline: &[f64]) -> Ratio {
        self.compare_with_care = far_apart(system).is_some() || far_apart(baseline).is_some();
        self
    }
}

/// Samples a counter every 25 ms and remembers when it first and last moved.
struct Busy {
    start: u64,
    first_move: Option<Instant>,
    last_move: Option<(Instant, u64)>,
    previous: u64,
}

impl Busy {
    fn new(value: u64) -> Busy {
        Busy {
            start: value,
            first_move: None,
            last_move: None,
            previous: value,
        }
    }

    fn observe(&mut self, value: u64, at: Instant) {
        if value != self.previous {
            // The move happened within the last sampling period.
            self.first_move
                .get_or_insert(at - Duration::from_millis(25).min(at.elapsed()));
            self.last_move = Some((at, value));
            self.previous = value;
        }
    }

    fn throughput(&self) -> Throughput {
        match (self.first_move, self.last_move) {
            (Some(first), Some((last, value))) => {
                let events = value - self.start;
                let seconds = (last - first).as_secs_f64().max(0.025);
                Throughput {
                    events,
                    seconds,
                    events_per_second: events as f64 / seconds,
                }
            }
            _ => Throughput::default(),
        }
    }
}

type Probe = Box<dyn Fn() -> u64 + Send>;

/// Samples `probes` until `stop`, returning each one's busy window.
fn sample(
    probes: Vec<(&'static str, Probe)>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<Vec<(&'static str, Throughput)>> {
    tokio::spawn(async move {
        let mut busy: Vec<Busy> = probes.iter().map(|(_, p)| Busy::new(p())).collect();
        while !stop.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let now = Instant::now();
            for ((_, probe), b) in probes.iter().zip(&mut busy) {
                b.observe(probe(), now);
            }
        }
        probes
            .iter()
            .zip(&busy)
            .map(|((name, _), b)| (*name, b.throughput()))
            .collect()
    })
}

/// Peak resident set size of this process, MiB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// What a store holds, for the baselines.
struct StoreEvents {
    events: u64,
    /// Bytes.
    average_payload_bytes: usize,
    /// The last event in commit order, if any.
    last: Option<RecordedEvent>,
}

/// Reads the whole of `store`.
async fn store_events(store: &EventStore) -> anyhow::Result<StoreEvents> {
    let (mut cursor, mut events, mut bytes) = (GlobalCursor::START, 0u64, 0usize);
    let mut last = None;
    loop {
        let mut batch = store.read_committed(cursor, 5000).await?;
        let Some(event) = batch.pop() else {
            break;
        };
        cursor = event.cursor();
        events += batch.len() as u64 + 1;
        bytes += batch.iter().map(|e| e.payload.len()).sum::<usize>() + event.payload.len();
        last = Some(event);
    }
    Ok(StoreEvents {
        events,
        average_payload_bytes: bytes / (events.max(1) as usize),
        last,
    })
}

/// The lag samples each read model kept since the last call, as percentiles in milliseconds.
fn lags(read_models: &[(&'static str, Arc<ProjectorMetrics>)]) -> Vec<Lag> {
    read_models
        .iter()
        .map(|(name, m)| {
            let samples: Vec<f64> = m
                .take_lag_samples()
                .into_iter()
                .map(|us| us as f64 / 1000.0)
                .collect();
            Lag {
                read_model: name,
                events: samples.len(),
                ms: Percentiles::of(samples),
            }
        })
        .collect()
}

/// Waits until `handled()` reaches `target`, failing after two minutes.
async fn wait_for(what: &str, target: u64, handled: impl Fn() -> u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while handled() < target {
        if Instant::now() > deadline {
            anyhow::bail!("{what}: {} of {target} events after 120 s", handled());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// The employment side of the stack under measure (absent with the registry alone).
struct EmploymentSide {
    store: EventStore,
    intake: Arc<ProjectorMetrics>,
    views: Arc<ProjectorMetrics>,
}

/// Waits until every read model has handled every event in the registry's and the employment
/// service's stores.
async fn caught_up(
    registry_store: &EventStore,
    mara: Option<&Arc<ProjectorMetrics>>,
    employment: Option<&EmploymentSide>,
) -> anyhow::Result<()> {
    let registry = store_events(registry_store).await?.events;
    if let Some(m) = mara {
        wait_for("mara", registry, || handled(m)).await?;
    }
    if let Some(e) = employment {
        wait_for("employment-intake", registry, || handled(&e.intake)).await?;
        let events = store_events(&e.store).await?.events;
        wait_for("employment-views", events, || handled(&e.views)).await?;
    }
    Ok(())
}

/// Index of the median of `values` (the upper of the two middle ones for an even count);
/// `values` must not be empty.
pub(super) fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order[values.len() / 2]
}

/// Events a projector has dealt with: applied, unknown to it, duplicates and parked.
pub(super) fn handled(m: &ProjectorMetrics) -> u64 {
    let m = m.snapshot();
    m.applied + m.unknown + m.duplicates + m.parked
}

/// Refuses a database that is not empty, and an employment sibling (`<name>_employment`) left
/// with tables: the bench starts the stack on them, and stored events would mix with the run's
/// (and come with another run's id-hash key).
async fn ensure_fresh(url: &str, employment_store: &str) -> anyhow::Result<()> {
    let tables = |url: String| async move {
        let (pool, _) = eventstore::backend::connect(&url, 1).await?;
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_one(&pool)
        .await?
        .try_get(0)?;
        pool.close().await;
        Ok::<_, sqlx::Error>(n)
    };
    let n = tables(url.to_string())
        .await
        .with_context(|| format!("connecting to --database-url {}", crate::app::redact(url)))?;
    anyhow::ensure!(
        n == 0,
        "--database-url {} is not empty ({n} tables): the bench needs a fresh, empty throw-away \
         database",
        crate::app::redact(url)
    );
    // A missing sibling is fine (the stack creates it); one with tables is a leftover.
    if let Ok(n) = tables(employment_store.to_string()).await {
        anyhow::ensure!(
            n == 0,
            "{} (the employment store the bench creates beside --database-url) is not empty \
             ({n} tables): drop it or use another database",
            crate::app::redact(employment_store)
        );
    }
    Ok(())
}

/// Removes the bench's own creations: the `databases` beside `--database-url` (the employment
/// store, the replay's read model) and the `topics`, so only the database it was given is left.
/// Those already removed are passed over; failures are logged.
async fn clean_up(stack: &Stack, databases: &[&str], topics: &[String]) {
    if let Some(url) = &stack.database_url {
        for database in databases {
            if let Err(e) = crate::app::drop_postgres_database(url, database).await {
                tracing::warn!(error = %e, "a database of the bench's was not dropped");
            }
        }
    }
    if let Some(brokers) = &stack.kafka_brokers {
        let kafka = kafka::config::KafkaConfig::new(brokers);
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        if let Err(e) = kafka::admin::delete_topics(&kafka, &names).await {
            tracing::warn!(?topics, error = %e, "the bench's topics were not deleted");
        }
    }
}

/// A failed run's error; with PostgreSQL it says the given database keeps what the run wrote.
fn failed(stack: &Stack, e: anyhow::Error) -> anyhow::Error {
    match &stack.database_url {
        Some(url) => e.context(format!(
            "the bench stopped; what it wrote stays in --database-url {}: drop and recreate it \
             before the next run",
            crate::app::redact(url)
        )),
        None => e,
    }
}

/// Runs both scenarios on a fresh stack, then the paced phase when `pacing` is given.
pub async fn run(
    stack: &Stack,
    reference: &ReferenceData,
    households: usize,
    clients: usize,
    seed: u64,
    today: NaiveDate,
    pacing: Option<super::paced::Pacing>,
) -> anyhow::Result<SuiteReport> {
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let mut config = AppConfig::embedded(dir.path(), "127.0.0.1:0".parse()?);
    config.database_url = stack.database_url.clone();
    config.kafka_brokers = stack.kafka_brokers.clone();
    let config_namespace = format!(".bench-{}", uuid::Uuid::new_v4().simple());
    config.kafka_namespace = config_namespace.clone();
    if stack.registry_only {
        config.services = vec![crate::config::Service::Registry];
    }
    let mode = if stack.kafka_brokers.is_some() {
        "postgres+kafka"
    } else {
        "embedded"
    };
    let employment_store = config.employment_store_url();
    if let Some(url) = &stack.database_url {
        // The name given, then the replay's database, named later after it, must fit
        // PostgreSQL's names.
        crate::app::check_database_name(url)?;
        crate::app::check_database_name(&crate::config::sibling_database(url, "_replay_00000000"))
            .context("the bench's replay database is named after --database-url's")?;
        ensure_fresh(url, &employment_store).await?;
    }
    let app = match App::build(config).await {
        Ok(app) => Arc::new(app),
        Err(e) => {
            clean_up(stack, &[&employment_store], &[]).await;
            let e = e.context("starting the stack");
            // A stack that stopped before writing (an unreachable broker) left the database empty.
            let untouched = match &stack.database_url {
                Some(url) => ensure_fresh(url, &employment_store).await.is_ok(),
                None => true,
            };
            return Err(if untouched { e } else { failed(stack, e) });
        }
    };
    // Named before the measurement, so that a run stopped midway still removes them.
    let replay_topics = super::replay::topics(&format!(
        "{}{}.replay",
        kafka::admin::events_topic("registry"),
        config_namespace
    ));
    let replay_url = match &stack.database_url {
        Some(url) => {
            let suffix = format!(
                "_replay_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            );
            crate::config::sibling_database(url, &suffix)
        }
        None => format!("sqlite:{}", dir.path().join("replay.db").display()),
    };
    // As many raw producer and consumer runs as relay replays.
    let baseline_topics =
        super::replay::topics(&format!("bottomline.bench{config_namespace}.baseline"));
    let mut topics = app.kafka_topics().to_vec();
    if stack.kafka_brokers.is_some() {
        topics.extend(replay_topics.iter().chain(&baseline_topics).cloned());
    }
    let measure = async {
        let app = app.clone();
        let channel = super::super::connect(&app.endpoint()).await?;
        let registry_store = app
            .registry()
            .context("the bench runs the registry")?
            .store()
            .clone();
        let mara = app.projector().map(|p| p.metrics());
        let employment_side = match (app.employment(), app.intake(), app.employment_views()) {
            (Some(e), Some(intake), Some(views)) => Some(EmploymentSide {
                store: e.store().clone(),
                intake: intake.metrics(),
                views: views.metrics(),
            }),
            _ => None,
        };
        let mut read_models: Vec<(&'static str, Arc<ProjectorMetrics>)> = Vec::new();
        if let Some(m) = &mara {
            read_models.push(("mara", m.clone()));
        }
        if let Some(e) = &employment_side {
            read_models.push(("employment-intake", e.intake.clone()));
            read_models.push(("employment-views", e.views.clone()));
        }
        // Warm-up: one more household through the whole stack before anything is measured, so the
        // figures do not include the Kafka consumer groups joining (about a second at start) or
        // first connections.
        let mut population = super::population(reference, households + 1, seed, today);
        let warm_up = population.pop().context("an empty population")?;
        super::run(channel.clone(), vec![warm_up], 1, mara.clone()).await?;
        caught_up(&registry_store, mara.as_ref(), employment_side.as_ref()).await?;
        for (_, m) in &read_models {
            m.sample_lags(true);
        }
        let mut probes: Vec<(&'static str, Probe)> = Vec::new();
        for (name, counter) in app.relay_counters() {
            let counter = counter.clone();
            probes.push((name, Box::new(move || counter.load(Ordering::Relaxed))));
        }
        let relays = probes.len();
        for (name, m) in &read_models {
            let m = m.clone();
            probes.push((name, Box::new(move || m.snapshot().applied)));
        }
        let stop = tokio_util::sync::CancellationToken::new();
        let sampler = sample(probes, stop.clone());

        let clock = CpuClock::start();
        let registrations = super::run(channel.clone(), population, clients, mara.clone()).await?;
        // Every read model catches up before the next phase, so each phase's CPU is its own: the
        // employment service learns persons from the registry's events, and the employment
        // scenario starts once it has.
        caught_up(&registry_store, mara.as_ref(), employment_side.as_ref()).await?;
        let registrations_cpu = clock.stop(registrations.commands as u64);
        let registry = store_events(&registry_store).await?;
        let registry_events = registry.events;
        let mut employment_cpu = None;
        let employment = match &employment_side {
            Some(side) => {
                let clock = CpuClock::start();
                let load = employment::run(channel.clone(), &registrations.workers, clients, today)
                    .await?;
                let events = store_events(&side.store).await?.events;
                wait_for("the employment read models", events, || {
                    handled(&side.views)
                })
                .await?;
                employment_cpu = Some(clock.stop(load.commands as u64));
                Some(load)
            }
            None => None,
        };
        let average_payload_bytes = registry.average_payload_bytes;
        stop.cancel();
        let throughput = sampler.await?;
        let kafka_config = stack
            .kafka_brokers
            .as_ref()
            .map(kafka::config::KafkaConfig::new);
        if stack.database_url.is_some() {
            crate::app::ensure_postgres_database(&replay_url).await?;
        }
        // Its read model is dropped by the clean-up, whatever happens.
        let (relay_capacity, projector_replay) = super::replay::run(
            &registry_store,
            registry_events,
            kafka_config.as_ref().map(|c| (c, &replay_topics[..])),
            &replay_url,
        )
        .await?;
        let (relay_replay, relay_replay_runs_per_second) = match relay_capacity {
            Some(c) => (Some(c.median), c.runs_per_second),
            None => (None, Vec::new()),
        };
        // The system's peak, before the baselines prepare their rows and records in this process.
        let peak_memory_mib = peak_memory_mib();
        // Baselines: the same rows into the same database, the same message sizes on the same broker.
        let store_url = match &stack.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", dir.path().join("registry-events.db").display()),
        };
        // First, before the insert baseline leaves PostgreSQL checkpointing on the same cores.
        let grpc_baseline = super::grpc_baseline::grpc_baseline(
            registrations.commands,
            clients,
            registrations.request_bytes,
            registrations.reply_bytes,
        )
        .await
        .context("gRPC baseline")?;
        let insert_baseline = super::baseline::insert_baseline(
            &store_url,
            registry_events as usize,
            average_payload_bytes,
            256,
        )
        .await
        .context("insert baseline")?;
        let kafka_baseline = match &stack.kafka_brokers {
            Some(brokers) => Some(
                super::baseline::kafka_baseline_median(
                    brokers,
                    &baseline_topics,
                    registry_events as usize,
                    average_payload_bytes,
                    &registry
                        .last
                        .as_ref()
                        .map(|e| kafka::headers::encode(e, registry::SOURCE))
                        .unwrap_or_default(),
                    Some(&store_url),
                )
                .await
                .context("Kafka baseline")?,
            ),
            None => None,
        };
        let events_per_command = registry_events as f64 / registrations.commands.max(1) as f64;
        let mut ratios = vec![
            Ratio::new(
                "registrations vs raw gRPC calls",
                registrations.commands_per_second,
                grpc_baseline.calls_per_second,
            ),
            Ratio::new(
                "registry appends (events/s) vs batched inserts",
                registrations.commands_per_second * events_per_command,
                insert_baseline.rows_per_second,
            ),
        ];
        match (&kafka_baseline, &relay_replay) {
            (Some(k), Some(relay)) => {
                ratios.push(
                    Ratio::new(
                        "relay capacity vs raw producer",
                        relay.events_per_second,
                        k.produce_per_second,
                    )
                    .runs(&relay_replay_runs_per_second, &k.produce_runs_per_second),
                );
                ratios.push(
                    Ratio::new(
                        "projector capacity (from Kafka) vs raw consumer",
                        projector_replay.events_per_second,
                        k.consume_per_second,
                    )
                    .runs(&[], &k.consume_runs_per_second),
                );
                if let Some(consume_insert) = &k.consume_insert {
                    ratios.push(
                        Ratio::new(
                            "projector capacity vs raw consumer inserting",
                            projector_replay.events_per_second,
                            consume_insert.per_second,
                        )
                        .runs(&[], &k.consume_insert_runs_per_second),
                    );
                }
            }
            _ => ratios.push(Ratio::new(
                "projector capacity (from the store) vs batched inserts",
                projector_replay.events_per_second,
                insert_baseline.rows_per_second,
            )),
        }
        let lag = lags(&read_models);
        let paced = match pacing {
            Some(pacing) => {
                // A population of its own (another seed): at about 4.9 registrations per
                // household, one household per four registrations is a fifth more than needed.
                let households = super::paced::enough(
                    super::population(
                        reference,
                        pacing.registrations() as usize / 4 + 1,
                        seed.wrapping_add(1),
                        today,
                    ),
                    pacing,
                );
                let planned: u64 = households.iter().map(|h| 1 + h.members.len() as u64).sum();
                anyhow::ensure!(
                    planned >= pacing.registrations(),
                    "the paced phase's population has {planned} registrations, fewer than the \
                     {} it must offer",
                    pacing.registrations()
                );
                let clock = CpuClock::start();
                let mut report =
                    super::paced::run(channel.clone(), households, pacing, clients.min(8)).await?;
                caught_up(&registry_store, mara.as_ref(), employment_side.as_ref()).await?;
                report.cpu = Some(clock.stop(report.commands));
                report.lag = lags(&read_models);
                Some(report)
            }
            None => None,
        };
        let mut components: Vec<Component> = throughput
            .into_iter()
            .map(|(name, throughput)| Component { name, throughput })
            .collect();
        let projectors = components.split_off(relays);
        let relay = components;
        let report = SuiteReport {
            mode,
            seed,
            registrations,
            registrations_cpu,
            employment,
            employment_cpu,
            lag,
            paced,
            relay,
            projectors,
            relay_replay,
            relay_replay_runs_per_second,
            projector_replay,
            average_payload_bytes,
            insert_baseline,
            kafka_baseline,
            grpc_baseline,
            ratios,
            peak_memory_mib,
        };
        Ok(report)
    };
    // Ctrl-C or SIGTERM stops the measurement but not the clean-up below.
    let measured: anyhow::Result<SuiteReport> = tokio::select! {
        measured = measure => measured,
        _ = crate::cli::stop_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    // Whatever happened, the stack stops before the clean-up removes its database and topics.
    match Arc::try_unwrap(app) {
        Ok(app) => app.stop().await,
        Err(_) => tracing::warn!("the stack is still in use and was not stopped"),
    }
    clean_up(stack, &[&employment_store, &replay_url], &topics).await;
    measured.map_err(|e| failed(stack, e))
}

impl std::fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |p: &Percentiles| {
            format!(
                "p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
                p.p50, p.p95, p.p99, p.max
            )
        };
        let r = &self.registrations;
        writeln!(
            f,
            "mode {}, {} clients, {} households, seed {}",
            self.mode, r.clients, r.households, self.seed
        )?;
        writeln!(
            f,
            "registrations      {:>8} in {:>7.3} s  {:>8.0}/s   latency ms {}",
            r.commands,
            r.seconds,
            r.commands_per_second,
            pct(&r.latency_ms)
        )?;
        match (&r.lag_events, r.catch_up_ms) {
            (Some(lag), Some(catch_up)) => writeln!(
                f,
                "  refused {} (not counted); MARA behind by p99 {:.0} events while loading, caught up {:.0} ms after the last command",
                r.refused, lag.p99, catch_up
            )?,
            _ => writeln!(
                f,
                "  refused {} (not counted); the registry service alone (no read models)",
                r.refused
            )?,
        }
        // With the registry alone there are no read models to wait for.
        let until = |lag: &[Lag], what: &str| {
            if lag.is_empty() {
                String::new()
            } else {
                format!(" (until {what} caught up)")
            }
        };
        writeln!(
            f,
            "  cpu {}{}",
            self.registrations_cpu,
            until(&self.lag, "its read models")
        )?;
        if let Some(e) = &self.employment {
            writeln!(
                f,
                "employment         {:>8} in {:>7.3} s  {:>8.0}/s   latency ms {}",
                e.commands,
                e.seconds,
                e.commands_per_second,
                pct(&e.latency_ms)
            )?;
        }
        if let Some(cpu) = &self.employment_cpu {
            writeln!(f, "  cpu {cpu} (until its read models caught up)")?;
        }
        for l in &self.lag {
            writeln!(
                f,
                "lag {:<23} {:>8} events        end-to-end ms {}",
                l.read_model,
                l.events,
                pct(&l.ms)
            )?;
        }
        for Component {
            name,
            throughput: t,
        } in &self.relay
        {
            writeln!(
                f,
                "relay {:<21} {:>8} events over {:>7.3} s  {:>8.0}/s (first to last event)",
                name, t.events, t.seconds, t.events_per_second
            )?;
        }
        for Component {
            name,
            throughput: t,
        } in &self.projectors
        {
            writeln!(
                f,
                "projector {:<17} {:>8} events over {:>7.3} s  {:>8.0}/s (first to last event)",
                name, t.events, t.seconds, t.events_per_second
            )?;
        }
        if let Some(t) = &self.relay_replay {
            writeln!(
                f,
                "relay capacity     {:>8} events in {:>7.3} s    {:>8.0}/s (registry store replayed; median of {})",
                t.events, t.seconds, t.events_per_second, runs(&self.relay_replay_runs_per_second)
            )?;
        }
        let t = &self.projector_replay;
        writeln!(
            f,
            "projector capacity {:>8} events in {:>7.3} s    {:>8.0}/s (MARA rebuilt from scratch, after its first batch)",
            t.events, t.seconds, t.events_per_second
        )?;
        writeln!(
            f,
            "average payload    {:>8} bytes",
            self.average_payload_bytes
        )?;
        let b = &self.insert_baseline;
        writeln!(
            f,
            "baseline inserts   {:>8} rows in {:>7.3} s   {:>8.0}/s (batches of {})",
            b.rows, b.seconds, b.rows_per_second, b.batch
        )?;
        let g = &self.grpc_baseline;
        writeln!(
            f,
            "baseline grpc      {:>8} calls in {:>7.3} s  {:>8.0}/s (an answer at once; {} clients on one connection, {}-byte requests, {}-byte replies)   latency ms {}",
            g.calls, g.seconds, g.calls_per_second, g.clients, g.request_bytes, g.reply_bytes, pct(&g.latency_ms)
        )?;
        writeln!(f, "  cpu {}", g.cpu.per("call"))?;
        if let Some(k) = &self.kafka_baseline {
            writeln!(
                f,
                "baseline producer  {:>8} msgs in {:>7.3} s   {:>8.0}/s ({} bytes, {} headers of {} bytes; median of {})",
                k.messages, k.produce_seconds, k.produce_per_second, k.payload_bytes, k.headers, k.header_bytes,
                runs(&k.produce_runs_per_second)
            )?;
            writeln!(
                f,
                "baseline consumer  {:>8} msgs in {:>7.3} s   {:>8.0}/s (median of {})",
                k.messages,
                k.consume_seconds,
                k.consume_per_second,
                runs(&k.consume_runs_per_second)
            )?;
            if let Some(c) = &k.consume_insert {
                writeln!(
                    f,
                    "baseline cons+insert {:>6} msgs in {:>7.3} s   {:>8.0}/s (each record a row, {} per transaction, the next batch read meanwhile; after its first batch; median of {})",
                    c.records,
                    c.seconds,
                    c.per_second,
                    super::consume_insert::BATCH,
                    runs(&k.consume_insert_runs_per_second)
                )?;
            }
        }
        if self.kafka_baseline.is_some() && r.households < FEW_HOUSEHOLDS_ON_KAFKA {
            writeln!(
                f,
                "note: with fewer than {FEW_HOUSEHOLDS_ON_KAFKA} households the Kafka ratios are \
                 dominated by the broker's wait before the first records (on tansu): use more"
            )?;
        }
        for r in &self.ratios {
            writeln!(
                f,
                "ratio {:<50} {:>8.0} / {:>8.0} = {:.2}{}",
                r.figure,
                r.system_per_second,
                r.baseline_per_second,
                r.ratio,
                if r.compare_with_care {
                    " (runs far apart: compare with care)"
                } else {
                    ""
                }
            )?;
        }
        writeln!(
            f,
            "peak memory        {:>8.1} MiB (server and load generator)",
            self.peak_memory_mib
        )?;
        if let Some(p) = &self.paced {
            writeln!(
                f,
                "paced              {:>8.0} registrations/s offered over {} BulkRegister streams, one household per message",
                p.offered_per_second, p.streams
            )?;
            writeln!(
                f,
                "  accepted         {:>8} in {:>7.3} s  {:>8.0}/s   (sent in {:.3} s; refused {})",
                p.commands, p.seconds, p.accepted_per_second, p.sending_seconds, p.refused
            )?;
            if let Some(cpu) = &p.cpu {
                writeln!(f, "  cpu {cpu}{}", until(&p.lag, "every read model"))?;
            }
            for l in &p.lag {
                writeln!(
                    f,
                    "  lag {:<20} {:>8} events        end-to-end ms {}",
                    l.read_model,
                    l.events,
                    pct(&l.ms)
                )?;
            }
        }
        Ok(())
    }
}

/// Households below which a run's Kafka ratios say more about the broker's start than about
/// throughput (README, "Benchmark").
const FEW_HOUSEHOLDS_ON_KAFKA: usize = 6_000;

/// `n runs: a / b / c` (events per second of each run, in run order), and how far apart they are
/// when the fastest is more than half again the slowest (a busy machine: a ratio against the
/// median means little then).
fn runs(per_second: &[f64]) -> String {
    let each: Vec<String> = per_second.iter().map(|r| format!("{r:.0}")).collect();
    let spread = match far_apart(per_second) {
        Some(times) => format!(", {times:.1}× apart: compare with care"),
        None => String::new(),
    };
    format!("{} runs: {}{spread}", per_second.len(), each.join(" / "))
}

/// How many times the fastest of `per_second` is the slowest, when more than 1.5.
fn far_apart(per_second: &[f64]) -> Option<f64> {
    let (low, high) = per_second
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
    (low > 0.0 && high / low > 1.5).then_some(high / low)
}

#[cfg(test)]
mod tests {
    use super::{runs, Ratio};

    #[test]
    fn runs_far_apart_are_flagged() {
        assert_eq!(runs(&[100.0, 120.0, 149.0]), "3 runs: 100 / 120 / 149");
        assert_eq!(
            runs(&[31642.0, 13957.0, 7533.0]),
            "3 runs: 31642 / 13957 / 7533, 4.2× apart: compare with care"
        );
        assert_eq!(runs(&[]), "0 runs: ");
    }

    #[test]
    fn a_ratio_over_runs_far_apart_is_flagged() {
        let ratio = |system: &[f64], baseline: &[f64]| {
            Ratio::new("x", 1.0, 1.0)
                .runs(system, baseline)
                .compare_with_care
        };
        assert!(!ratio(&[100.0, 140.0, 120.0], &[100.0, 150.0]));
        assert!(ratio(&[100.0, 151.0], &[100.0]));
        assert!(ratio(&[], &[80_272.0, 83_615.0, 186_468.0]));
        assert!(!ratio(&[], &[]));
    }
}
