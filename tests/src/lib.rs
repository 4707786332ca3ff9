//! End-to-end scenarios of bottomline: the whole stack (registry, MARA projector and query API)
//! started in-process on port 0 with fresh databases and random topic names, and driven through
//! its gRPC APIs exactly as a client would.
//!
//! The scenarios live in `tests/e2e/` (one test binary, one module per theme); this library holds
//! what they share:
//! - starting an [`App`] (embedded SQLite, or PostgreSQL + Kafka when the test environment
//!   provides them — see [`kafka_brokers`]);
//! - gRPC clients and the import of a CSV file through `registry-import`;
//! - polling MARA until its read model shows expected figures ([`wait_for_tally`]), because the
//!   read model is eventually consistent with the registry;
//! - citizen ID numbers computed here independently of the code under test ([`citizen_id`]).

use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bottomline::app::App;
use bottomline::config::AppConfig;
use bottomline::reference::ReferenceData;
use chrono::NaiveDate;
use eventstore::testing::TestDatabase;
use proto::common::v1::CivilDate;
use proto::mara::v1::mara_query_service_client::MaraQueryServiceClient;
use proto::mara::v1::{Counts, SummaryRequest, SummaryResponse};
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use proto::registry::v1::{
    LabourCapacity, RegisterHouseholdRequest, RegisterPersonRequest, Relation,
};
use registry_import::{ExpectedCounts, ImportOptions, ImportSummary, Population};
use tonic::transport::Channel;

/// Upper bound of every wait for the read model or a server.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Pause between two polls of the read model.
pub const POLL: Duration = Duration::from_millis(100);

/// The fixed "today" populations are generated for (no generated date is later), so a seed
/// always gives the same population. It must not be after the real date: the registry checks
/// birth dates against its own clock.
pub fn today() -> NaiveDate {
    date(2026, 11, 1)
}

/// A civil date (panics on an impossible one: test input is written by hand).
pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
}

/// A civil date as protobuf.
pub fn civil(year: i32, month: i32, day: i32) -> Option<CivilDate> {
    Some(CivilDate { year, month, day })
}

/// The built-in division catalog and key-county list, loaded once.
pub fn reference() -> &'static ReferenceData {
    static DATA: OnceLock<ReferenceData> = OnceLock::new();
    DATA.get_or_init(|| ReferenceData::load(None, None, None).expect("built-in reference data"))
}

/// A synthetic population of `households` households for [`today`].
pub fn population(seed: u64, households: usize) -> Population {
    let reference = reference();
    registry_import::generate(
        seed,
        households,
        &reference.catalog,
        &reference.key_counties,
        today(),
    )
}

/// Embedded configuration (SQLite files under `data_dir`, embedded bus) listening on port 0.
pub fn embedded_config(data_dir: &Path) -> AppConfig {
    AppConfig::embedded(data_dir, "127.0.0.1:0".parse().expect("socket address"))
}

/// The distributed configuration on port 0: a fresh PostgreSQL database, the test brokers and a
/// Kafka namespace of its own, with the data directory it needs; `None` to skip (neither
/// configured). Keep the database and directory until the test ends.
pub async fn distributed_config() -> Option<(AppConfig, TestDatabase, tempfile::TempDir)> {
    let brokers = kafka_brokers()?;
    let database = TestDatabase::postgres().await?;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = embedded_config(dir.path());
    config.database_url = Some(database.url.clone());
    config.kafka_brokers = Some(brokers);
    config.kafka_namespace = random_namespace();
    Some((config, database, dir))
}

/// Builds and starts an app, failing the test with the whole error chain if it cannot. A data
/// directory still locked by an app being torn down (a runtime shut down in the background drops
/// its tasks, and with them the lock, a moment later) is waited for.
pub async fn start(config: AppConfig) -> App {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, App::build(config.clone())).await {
            Ok(Ok(app)) => return app,
            Ok(Err(e))
                if format!("{e:#}").contains("in use by another bottomline process")
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(Err(e)) => panic!("the app did not start: {e:#}"),
            Err(_) => panic!("the app did not start within {}s", TIMEOUT.as_secs()),
        }
    }
}

/// A connected registry client.
pub async fn registry_client(endpoint: &str) -> RegistryServiceClient<Channel> {
    RegistryServiceClient::new(channel(endpoint).await)
}

/// Registers a poverty-alleviated household in `village` with one member, its head, of citizen
/// ID `citizen_id` and the given labour capacity; returns the household's id.
pub async fn household_of_one(
    registry: &mut RegistryServiceClient<Channel>,
    village: &str,
    citizen_id: &str,
    capacity: LabourCapacity,
) -> String {
    let household = registry
        .register_household(RegisterHouseholdRequest {
            command_id: uuid::Uuid::new_v4().to_string(),
            village_code: village.to_owned(),
            poverty_alleviated: true,
            relocated: false,
            settlement_area: String::new(),
        })
        .await
        .expect("household registered")
        .into_inner()
        .household_id;
    registry
        .register_person(RegisterPersonRequest {
            command_id: uuid::Uuid::new_v4().to_string(),
            household_id: household.clone(),
            citizen_id: citizen_id.to_owned(),
            name: "测试".to_owned(),
            relation: Relation::Head as i32,
            labour_capacity: capacity as i32,
            disabled: false,
        })
        .await
        .expect("person registered");
    household
}

/// A connected MARA query client.
pub async fn mara_client(endpoint: &str) -> MaraQueryServiceClient<Channel> {
    MaraQueryServiceClient::new(channel(endpoint).await)
}

/// A connected channel to `endpoint`, for any service's client.
pub async fn channel(endpoint: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint URL")
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connecting to {endpoint}: {e}"))
}

/// The MARA figures an import alone determines (cases come from separate commands).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Households.
    pub households: i64,
    /// Persons not exited.
    pub persons: i64,
    /// Persons not exited who can work.
    pub labour_capable: i64,
    /// Poverty-alleviated households.
    pub poverty_alleviated: i64,
}

impl From<&ExpectedCounts> for Tally {
    fn from(e: &ExpectedCounts) -> Tally {
        Tally {
            households: e.households,
            persons: e.persons,
            labour_capable: e.labour_capable_persons,
            poverty_alleviated: e.poverty_alleviated_households,
        }
    }
}

impl From<&Counts> for Tally {
    fn from(c: &Counts) -> Tally {
        Tally {
            households: c.households,
            persons: c.persons,
            labour_capable: c.labour_capable_persons,
            poverty_alleviated: c.poverty_alleviated_households,
        }
    }
}

/// MARA's national summary now.
pub async fn summary(
    mara: &mut MaraQueryServiceClient<Channel>,
) -> Result<SummaryResponse, tonic::Status> {
    mara.summary(SummaryRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// Polls MARA's summary until its counts equal `expected`; panics with the last observation
/// after [`TIMEOUT`]. Returns the matching response (its checkpoint is the number of events the
/// read model applied).
pub async fn wait_for_tally(
    mara: &mut MaraQueryServiceClient<Channel>,
    expected: Tally,
) -> SummaryResponse {
    let started = Instant::now();
    loop {
        let last = summary(mara).await;
        if let Ok(response) = &last {
            if Tally::from(&response.counts.clone().unwrap_or_default()) == expected {
                return response.clone();
            }
        }
        if started.elapsed() > TIMEOUT {
            panic!(
                "MARA did not reach {expected:?} within {}s; last summary: {last:?}",
                TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `probe` until it returns `Some`, panicking after [`TIMEOUT`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() <= TIMEOUT,
            "timed out after {}s waiting for {what}",
            TIMEOUT.as_secs()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Import options with the given source name, through the unary RPCs.
pub fn import_options(source: &str) -> ImportOptions {
    ImportOptions {
        concurrency: 16,
        bulk: false,
        progress: false,
        source_name: source.to_owned(),
    }
}

/// One row of the reject file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow {
    /// 1-based physical line in the input.
    pub line: u64,
    /// Why the row did not land.
    pub reason: String,
    /// The row as read (lossy UTF-8).
    pub raw: String,
}

/// Imports `csv` through the registry's gRPC API at `endpoint`; returns the summary and the
/// parsed reject file.
pub async fn import(
    endpoint: &str,
    csv: &[u8],
    source: &str,
) -> anyhow::Result<(ImportSummary, Vec<RejectRow>)> {
    import_with(endpoint, csv, import_options(source)).await
}

/// [`import`] through the client-streaming `BulkRegister` RPC.
pub async fn import_bulk(
    endpoint: &str,
    csv: &[u8],
    source: &str,
) -> anyhow::Result<(ImportSummary, Vec<RejectRow>)> {
    let options = ImportOptions {
        bulk: true,
        ..import_options(source)
    };
    import_with(endpoint, csv, options).await
}

/// [`import`] with the given options.
pub async fn import_with(
    endpoint: &str,
    csv: &[u8],
    options: ImportOptions,
) -> anyhow::Result<(ImportSummary, Vec<RejectRow>)> {
    let client = registry_client(endpoint).await;
    let mut rejects = Vec::new();
    let run = registry_import::import_csv(client, csv, &mut rejects, &options);
    let summary = tokio::time::timeout(TIMEOUT, run).await.map_err(|_| {
        anyhow::anyhow!("the import did not finish within {}s", TIMEOUT.as_secs())
    })??;
    Ok((summary, parse_rejects(&rejects)))
}

/// Parses a reject file (`line,reason,raw_line` with a header).
pub fn parse_rejects(file: &[u8]) -> Vec<RejectRow> {
    let mut reader = csv::Reader::from_reader(file);
    let header = reader.headers().expect("reject file header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["line", "reason", "raw_line"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("reject record");
            RejectRow {
                line: r[0].parse().expect("line number"),
                reason: r[1].to_owned(),
                raw: r[2].to_owned(),
            }
        })
        .collect()
}

/// Weights of the first 17 digits (GB 11643-1999).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The GB 11643 check character of 17 digits: weighted sum modulo 11 indexed into
/// `10X98765432`. Written here from the standard, not borrowed from the code under test.
pub fn check_character(first17: &str) -> char {
    assert_eq!(first17.len(), 17, "{first17:?}");
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    "10X98765432"
        .chars()
        .nth((sum % 11) as usize)
        .expect("index below 11")
}

/// A synthetic unified social credit code (GB 32100-2015) registered in `division`: 18
/// characters, the check character computed here from the standard (weights 3^i mod 31 over the
/// alphabet `0-9A-Y` without I, O, S, V, Z).
pub fn uscc(division: &str, serial: u32) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    let first17 = format!("91{division}{serial:09}");
    let mut weight = 1;
    let mut sum = 0;
    for c in first17.chars() {
        sum += ALPHABET.find(c).expect("code character") * weight;
        weight = weight * 3 % 31;
    }
    let check = ALPHABET
        .chars()
        .nth((31 - sum % 31) % 31)
        .expect("index below 31");
    format!("{first17}{check}")
}

/// A valid citizen ID: 6-digit address code, `YYYYMMDD` birth date, 3-digit sequence (odd last
/// digit for men) and the check character.
pub fn citizen_id(address: &str, birth: &str, sequence: u16) -> String {
    let first17 = format!("{address}{birth}{sequence:03}");
    format!("{first17}{}", check_character(&first17))
}

/// The masked form the registry publishes: address code, eight `*`, last four characters.
pub fn masked(citizen_id: &str) -> String {
    format!("{}********{}", &citizen_id[..6], &citizen_id[14..])
}

/// Kafka brokers of the test environment (`BOTTOMLINE_TEST_KAFKA_BROKERS`), or `None` with a
/// note on stderr when unset; panics instead when external services are required
/// (`BOTTOMLINE_REQUIRE_EXTERNAL=1`).
pub fn kafka_brokers() -> Option<String> {
    eventstore::testing::kafka_brokers()
}

/// A topic and consumer-group suffix no other test run uses.
pub fn random_namespace() -> String {
    format!(".e2e-{}", uuid::Uuid::new_v4().simple())
}

/// Serialises the tests that share the Kafka broker, so one test's consumer-group rebalances
/// do not slow down another's convergence.
pub async fn kafka_lock() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Households per county code (first six digits of the village code).
pub fn households_by_county(population: &Population) -> std::collections::BTreeMap<String, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for h in &population.households {
        *counts.entry(h.village_code[..6].to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Persons per county code.
pub fn persons_by_county(population: &Population) -> std::collections::BTreeMap<String, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for h in &population.households {
        *counts.entry(h.village_code[..6].to_owned()).or_insert(0) += h.members.len() as i64;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_characters_of_published_examples() {
        // Examples from FORMAT.md and the standard's annex.
        assert_eq!(check_character("11010519491231002"), 'X');
        assert_eq!(citizen_id("150422", "19820315", 3), "150422198203150033");
        assert_eq!(citizen_id("522727", "19650505", 2), "52272719650505002X");
        assert_eq!(masked("52272719650505002X"), "522727********002X");
    }
}
