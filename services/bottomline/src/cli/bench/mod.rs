//! `bottomline bench`: registrations per second through the gRPC API, command latency, and how far
//! the MARA read model lags behind the accepted commands. Prints a table, or JSON with `--json`.
//!
//! Load: a synthetic population (the demo's generator) registered by N concurrent clients, each
//! household then its members. The registrations are real: they stay in the registry and its read
//! models, so run it against a throw-away data directory. Each run draws a fresh seed unless one
//! is given, so its citizen IDs are new and nothing is refused as a duplicate. Lag: a sampler reads
//! the in-process MARA projector's count of handled events every 20 ms while the load runs and
//! compares it with the events the clients had acknowledged; after the last command it measures
//! how long the read model takes to catch up. (It does not poll MARA's `Summary`: that query
//! aggregates every row of the read model, and polling it 50 times a second had the database
//! spend a fifth of its time on the bench's own measurement.)

pub mod baseline;
pub mod consume_insert;
pub mod cpu;
pub mod grpc_baseline;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use prost::Message as _;
use proto::registry::v1 as pb;
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use registry_import::{convert, generate, SyntheticHousehold, SyntheticPerson};
use serde::Serialize;
use tonic::transport::Channel;

use crate::reference::ReferenceData;
use projector::ProjectorMetrics;

pub mod employment;
pub mod memory;
pub mod paced;
pub mod replay;
pub mod suite;

/// What the benchmark measured.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Concurrent clients.
    pub clients: usize,
    /// Households registered.
    pub households: usize,
    /// Registrations accepted (households + persons).
    pub commands: usize,
    /// Commands the registry refused (counted apart, not in the throughput).
    pub refused: usize,
    /// Wall time of the load, seconds.
    pub seconds: f64,
    /// Registrations accepted per second.
    pub commands_per_second: f64,
    /// Command latency percentiles, milliseconds.
    pub latency_ms: Percentiles,
    /// Average encoded size of the accepted registrations' requests, bytes (what the raw gRPC
    /// baseline sends).
    pub request_bytes: usize,
    /// Average encoded size of their replies, bytes.
    pub reply_bytes: usize,
    /// MARA's lag in events while loading (acknowledged minus handled by its projector: applied,
    /// unknown, duplicate or parked), sampled every 20 ms; `None` when MARA does not run
    /// (`--registry-only`).
    pub lag_events: Option<Percentiles>,
    /// Time from the last acknowledged command until MARA's projector had handled as many events
    /// as were acknowledged, ms; `None` when MARA does not run.
    pub catch_up_ms: Option<f64>,
    /// The labour-capable persons registered (for the employment scenario).
    #[serde(skip)]
    pub workers: Vec<employment::Worker>,
}

/// p50 / p95 / p99 / max.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    pub(crate) fn of(mut values: Vec<f64>) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Percentiles {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: *values.last().unwrap(),
        }
    }
}

/// The population of a run: `households` households (with their members) generated from
/// `seed`, so runs are comparable.
pub fn population(
    reference: &ReferenceData,
    households: usize,
    seed: u64,
    today: NaiveDate,
) -> Vec<SyntheticHousehold> {
    generate(
        seed,
        households,
        &reference.catalog,
        &reference.key_counties,
        today,
    )
    .households
}

/// Registers `households` against `channel` with `clients` concurrent clients, following the
/// progress of the MARA projector whose metrics are `mara` (when it runs in this process).
/// Command ids are fresh each run so nothing is replayed.
pub async fn run(
    channel: Channel,
    households: Vec<SyntheticHousehold>,
    clients: usize,
    mara: Option<Arc<ProjectorMetrics>>,
) -> anyhow::Result<BenchReport> {
    let run_id = uuid::Uuid::new_v4();
    let follow_mara = mara.is_some();
    let mara_handled = move || mara.as_deref().map_or(0, suite::handled) as i64;
    let base = mara_handled();
    let household_count = households.len();
    let queue = Arc::new(Mutex::new(households));
    let acked = Arc::new(AtomicI64::new(0));
    let refused = Arc::new(AtomicI64::new(0));
    let sizes = Arc::new(Sizes::default());
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let registered = Arc::new(Mutex::new(Vec::new()));
    let done = tokio_util::sync::CancellationToken::new();

    let sampler = {
        let (acked, done, mara_handled) = (acked.clone(), done.clone(), mara_handled.clone());
        tokio::spawn(async move {
            let mut lags = Vec::new();
            while follow_mara && !done.is_cancelled() {
                let sent = acked.load(Ordering::Relaxed);
                lags.push((sent - (mara_handled() - base)).max(0) as f64);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lags
        })
    };

    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients.max(1) {
        let (queue, acked, refused, sizes, latencies, registered) = (
            queue.clone(),
            acked.clone(),
            refused.clone(),
            sizes.clone(),
            latencies.clone(),
            registered.clone(),
        );
        let client = RegistryServiceClient::new(channel.clone());
        workers.push(tokio::spawn(async move {
            let (mut local, mut workers) = (Vec::new(), Vec::new());
            loop {
                let Some(h) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let counters = Counters {
                    run_id,
                    acked: &acked,
                    refused: &refused,
                    sizes: &sizes,
                };
                register(client.clone(), &h, &counters, &mut local, &mut workers).await?;
            }
            latencies.lock().expect("latencies").extend(local);
            registered.lock().expect("workers").extend(workers);
            anyhow::Ok(())
        }));
    }
    for w in workers {
        w.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let last_ack = Instant::now();
    let total = acked.load(Ordering::Relaxed);
    if follow_mara {
        loop {
            let applied = mara_handled() - base;
            if applied >= total {
                break;
            }
            if last_ack.elapsed() > Duration::from_secs(120) {
                anyhow::bail!(
                    "read model did not catch up within 120 s ({applied} of {total} events)"
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let catch_up_ms = last_ack.elapsed().as_secs_f64() * 1000.0;
    done.cancel();
    let lags = sampler.await?;
    let latencies = std::mem::take(&mut *latencies.lock().expect("latencies"));
    let workers = std::mem::take(&mut *registered.lock().expect("workers"));
    let commands = latencies.len();
    let average =
        |bytes: &AtomicU64| (bytes.load(Ordering::Relaxed) / commands.max(1) as u64) as usize;
    Ok(BenchReport {
        clients,
        households: household_count,
        refused: refused.load(Ordering::Relaxed) as usize,
        commands,
        seconds,
        commands_per_second: commands as f64 / seconds,
        latency_ms: Percentiles::of(latencies),
        request_bytes: average(&sizes.requests),
        reply_bytes: average(&sizes.replies),
        lag_events: follow_mara.then(|| Percentiles::of(lags)),
        catch_up_ms: follow_mara.then_some(catch_up_ms),
        workers,
    })
}

/// What every registering client shares.
struct Counters<'a> {
    run_id: uuid::Uuid,
    acked: &'a AtomicI64,
    refused: &'a AtomicI64,
    sizes: &'a Sizes,
}

/// Encoded bytes of the accepted registrations' requests and replies, summed.
#[derive(Default)]
struct Sizes {
    requests: AtomicU64,
    replies: AtomicU64,
}

impl Sizes {
    fn add(&self, request_bytes: usize, reply: &impl prost::Message) {
        self.requests
            .fetch_add(request_bytes as u64, Ordering::Relaxed);
        self.replies
            .fetch_add(reply.encoded_len() as u64, Ordering::Relaxed);
    }
}

async fn register(
    mut client: RegistryServiceClient<Channel>,
    h: &SyntheticHousehold,
    counters: &Counters<'_>,
    latencies: &mut Vec<f64>,
    workers: &mut Vec<employment::Worker>,
) -> anyhow::Result<()> {
    let (run_id, acked, refused) = (counters.run_id, counters.acked, counters.refused);
    let request = household_request(h, run_id);
    let request_bytes = request.encoded_len();
    let t = Instant::now();
    let household = client.register_household(request).await?.into_inner();
    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    acked.fetch_add(1, Ordering::Relaxed);
    counters.sizes.add(request_bytes, &household);
    for p in &h.members {
        let request = person_request(p, household.household_id.clone());
        let request_bytes = request.encoded_len();
        let t = Instant::now();
        let r = client.register_person(request).await;
        match r {
            Ok(r) => {
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                acked.fetch_add(1, Ordering::Relaxed);
                let reply = r.into_inner();
                counters.sizes.add(request_bytes, &reply);
                if p.labour_capacity != registry_domain::LabourCapacity::None {
                    workers.push(employment::Worker {
                        person_id: reply.person_id,
                        county: h.village_code[..6].to_string(),
                        birth_date: p.birth_date,
                    });
                }
            }
            // The same seed registered by an earlier run: the person exists, nothing was written.
            Err(s) if s.code() == tonic::Code::AlreadyExists => {
                refused.fetch_add(1, Ordering::Relaxed);
            }
            Err(s) => return Err(s.into()),
        }
    }
    Ok(())
}

/// The registration of `h` under a command id fresh to the run `run_id` (the same household of
/// the same run gets the same id).
fn household_request(h: &SyntheticHousehold, run_id: uuid::Uuid) -> pb::RegisterHouseholdRequest {
    pb::RegisterHouseholdRequest {
        command_id: uuid::Uuid::new_v5(&run_id, h.household_ref.as_bytes()).to_string(),
        village_code: h.village_code.clone(),
        poverty_alleviated: h.poverty_alleviated,
        relocated: h.relocated,
        settlement_area: h.settlement_area.clone().unwrap_or_default(),
    }
}

/// The registration of member `p` into `household_id` (empty in a BulkRegister item, where the
/// registry fills it in), under a fresh command id.
fn person_request(p: &SyntheticPerson, household_id: String) -> pb::RegisterPersonRequest {
    pb::RegisterPersonRequest {
        command_id: uuid::Uuid::new_v4().to_string(),
        household_id,
        citizen_id: p.citizen_id.clone(),
        name: p.name.clone(),
        relation: convert::relation(p.relation),
        labour_capacity: convert::labour_capacity(p.labour_capacity),
        disabled: p.disabled,
    }
}
