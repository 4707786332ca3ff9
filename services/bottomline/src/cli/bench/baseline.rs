//! Raw baselines for `bottomline bench`: what the same broker and the same database do without the
//! system in between, so the system's figures can be printed as ratios of them.
//!
//! - [`kafka_baseline`]: an rdkafka producer with the relay's settings ([`KafkaConfig::producer`]:
//!   idempotent, acks=all, linger 5 ms, no compression) writes `messages` records (45-byte key,
//!   `payload_bytes` payload, and the headers the relay puts on a record: the same names and value
//!   sizes) into a fresh 3-partition topic, then a consumer with the projectors' settings
//!   ([`KafkaConfig::consumer`]) in a fresh group reads them all back.
//! - [`insert_baseline`]: plain multi-row INSERTs of rows shaped like the event store's `events`
//!   (same columns, constraints and indexes) into a scratch table, one transaction per batch, on
//!   one connection opened like the event store's ([`eventstore::backend::connect`]).
//!
//! Both clean up after themselves (topic deleted when the broker allows it, table dropped).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use eventstore::sql::placeholders;
use eventstore::Backend;
use kafka::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientContext, Message};
use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::suite::median_index;

/// Partitions of the baseline topic.
const PARTITIONS: i32 = 3;
/// How long the consumer may take to read every record back before the baseline fails.
pub(super) const CONSUME_TIMEOUT: Duration = Duration::from_secs(120);
/// Events per stream in the insert baseline (a household and its members, roughly).
const EVENTS_PER_STREAM: usize = 5;
/// Values bound per row by the insert baseline (the transaction order, then ten values).
const BINDS_PER_ROW: usize = 11;
/// The smaller of SQLite's (32,766) and PostgreSQL's (65,535) bound-parameter limits.
const MAX_BINDS: usize = 32_766;

/// Raw Kafka throughput on the broker the system uses.
#[derive(Debug, Clone, Serialize)]
pub struct KafkaBaseline {
    /// Records produced and consumed.
    pub messages: usize,
    /// Payload size of each record, bytes (plus a 45-byte key and the headers).
    pub payload_bytes: usize,
    /// Headers on each record.
    pub headers: usize,
    /// Their names and values together, bytes per record.
    pub header_bytes: usize,
    /// From the first send until the broker acknowledged the last record, seconds.
    pub produce_seconds: f64,
    /// Records acknowledged per second.
    pub produce_per_second: f64,
    /// From the consumer's partition assignment (group join excluded) until the last record was
    /// received, seconds.
    pub consume_seconds: f64,
    /// Records received per second.
    pub consume_per_second: f64,
    /// Records acknowledged per second in each run, when the figures above are the median of
    /// several ([`kafka_baseline_median`]).
    pub produce_runs_per_second: Vec<f64>,
    /// Records received per second in each run.
    pub consume_runs_per_second: Vec<f64>,
    /// A consumer that writes each record as a row ([`super::consume_insert`]), when a database
    /// was given: the projector's raw baseline (the median run).
    pub consume_insert: Option<ConsumeInsert>,
    /// The same in each run.
    pub consume_insert_runs_per_second: Vec<f64>,
}

/// One run of the consume-and-insert baseline, timed from its first commit to its last.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ConsumeInsert {
    /// Records inserted after the first batch committed.
    pub records: usize,
    /// From the first commit to the last, seconds.
    pub seconds: f64,
    /// `records / seconds`.
    pub per_second: f64,
}

/// Raw batched-insert throughput on the database the system uses.
#[derive(Debug, Clone, Serialize)]
pub struct InsertBaseline {
    /// Rows inserted (counted in the table before it was dropped).
    pub rows: usize,
    /// Rows per multi-row INSERT, one transaction each.
    pub batch: usize,
    /// Time spent in the insert transactions (begin to commit, all batches), seconds.
    pub seconds: f64,
    /// Rows inserted per second.
    pub rows_per_second: f64,
}

/// Raw Kafka throughput with the producer settings the relay uses (idempotent, acks=all, same
/// batching/linger/compression config as `KafkaConfig`), `messages` records of `payload_bytes`
/// bytes each with a 45-byte key and a copy of `headers` (the relay's headers of one event, so
/// the records are about the size the relay sends; empty for none), into `topic`, which must not
/// exist (created with the admin API, 3 partitions, deleted at the end when possible); then a
/// consumer in a fresh group reads them all back.
///
/// Records are all enqueued before any acknowledgement is awaited (except when librdkafka's local
/// queue is full), so this is the pipelined ceiling the relay's batches can approach. The
/// consumer counts records and checks their payload size and number of headers; it fails after
/// 120 s. With `insert_into` (a database URL), another consumer in a fresh group then reads them
/// again and inserts them into that database ([`super::consume_insert::consume_and_insert`]).
pub async fn kafka_baseline(
    brokers: &str,
    topic: &str,
    messages: usize,
    payload_bytes: usize,
    headers: &OwnedHeaders,
    insert_into: Option<&str>,
) -> anyhow::Result<KafkaBaseline> {
    anyhow::ensure!(
        messages > 0,
        "the Kafka baseline needs at least one message"
    );
    let config = KafkaConfig::new(brokers);
    kafka::admin::ensure_topics(&config, &[topic], PARTITIONS)
        .await
        .with_context(|| format!("create topic {topic}"))?;
    let result = async {
        let mut k = produce_and_consume(&config, topic, messages, payload_bytes, headers).await?;
        if let Some(url) = insert_into {
            let (records, seconds) =
                super::consume_insert::consume_and_insert(&config, topic, messages, url).await?;
            let run = ConsumeInsert {
                records,
                seconds,
                per_second: per_second(records, seconds),
            };
            k.consume_insert = Some(run);
            k.consume_insert_runs_per_second = vec![run.per_second];
        }
        Ok(k)
    }
    .await;
    if let Err(e) = kafka::admin::delete_topics(&config, &[topic]).await {
        tracing::warn!(topic, error = %e, "baseline topic not deleted");
    }
    result
}

/// [`kafka_baseline`] once on each of `topics`, reporting the median producer and
/// the median consumer throughput and every run's: on a broker whose throughput swings from run
/// to run (tansu sometimes stalls for half a second at the start of a run), one run can be off by
/// several times.
pub async fn kafka_baseline_median(
    brokers: &str,
    topics: &[String],
    messages: usize,
    payload_bytes: usize,
    headers: &OwnedHeaders,
    insert_into: Option<&str>,
) -> anyhow::Result<KafkaBaseline> {
    anyhow::ensure!(!topics.is_empty(), "the Kafka baseline needs a topic");
    let mut all = Vec::with_capacity(topics.len());
    for topic in topics {
        all.push(
            kafka_baseline(
                brokers,
                topic,
                messages,
                payload_bytes,
                headers,
                insert_into,
            )
            .await?,
        );
    }
    let produce_runs: Vec<f64> = all.iter().map(|k| k.produce_per_second).collect();
    let consume_runs: Vec<f64> = all.iter().map(|k| k.consume_per_second).collect();
    let consume_insert: Vec<ConsumeInsert> = all.iter().filter_map(|k| k.consume_insert).collect();
    let consume_insert_runs: Vec<f64> = consume_insert.iter().map(|c| c.per_second).collect();
    let (produce, consume) = (
        &all[median_index(&produce_runs)],
        &all[median_index(&consume_runs)],
    );
    Ok(KafkaBaseline {
        produce_seconds: produce.produce_seconds,
        produce_per_second: produce.produce_per_second,
        consume_seconds: consume.consume_seconds,
        consume_per_second: consume.consume_per_second,
        produce_runs_per_second: produce_runs,
        consume_runs_per_second: consume_runs,
        consume_insert: (!consume_insert.is_empty())
            .then(|| consume_insert[median_index(&consume_insert_runs)]),
        consume_insert_runs_per_second: consume_insert_runs,
        ..all[0].clone()
    })
}

async fn produce_and_consume(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    payload_bytes: usize,
    headers: &OwnedHeaders,
) -> anyhow::Result<KafkaBaseline> {
    let produce_seconds = produce(config, topic, messages, payload_bytes, headers).await?;
    let consume_seconds = consume(config, topic, messages, payload_bytes, headers.count()).await?;
    let (produce_per_second, consume_per_second) = (
        per_second(messages, produce_seconds),
        per_second(messages, consume_seconds),
    );
    Ok(KafkaBaseline {
        messages,
        payload_bytes,
        headers: headers.count(),
        header_bytes: headers
            .iter()
            .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len))
            .sum(),
        produce_seconds,
        produce_per_second,
        consume_seconds,
        consume_per_second,
        produce_runs_per_second: vec![produce_per_second],
        consume_runs_per_second: vec![consume_per_second],
        consume_insert: None,
        consume_insert_runs_per_second: Vec::new(),
    })
}

/// A 45-byte key shaped like a stream id: `registry:` and a UUID.
fn stream_key() -> String {
    format!("registry:{}", uuid::Uuid::new_v4())
}

async fn produce(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    payload_bytes: usize,
    headers: &OwnedHeaders,
) -> anyhow::Result<f64> {
    let producer: FutureProducer = config.producer().create().context("create producer")?;
    // Metadata look-ups are not timed as production (the relay's capacity is timed the same way).
    kafka::admin::wait_for_topic(
        &producer,
        topic,
        Some(PARTITIONS as usize),
        Duration::from_secs(30),
    )
    .await
    .with_context(|| format!("topic {topic} did not appear within 30 s"))?;
    // Keys, payloads and headers are made before the clock starts: only the client and broker
    // are timed.
    let mut bytes = Bytes::new(1);
    let records: Vec<(String, Vec<u8>, OwnedHeaders)> = (0..messages)
        .map(|_| (stream_key(), bytes.take(payload_bytes), headers.clone()))
        .collect();
    let started = Instant::now();
    let mut pending: Vec<DeliveryFuture> = Vec::with_capacity(messages);
    for (key, payload, headers) in records {
        let mut record = FutureRecord::to(topic)
            .key(&key)
            .payload(&payload)
            .headers(headers);
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // Same back-pressure as the relay: wait for what is in flight, then retry.
                    record = back;
                    await_all(&mut pending).await?;
                }
                Err((e, _)) => return Err(e).context("enqueue record"),
            }
        }
    }
    await_all(&mut pending).await?;
    let seconds = started.elapsed().as_secs_f64();
    producer
        .flush(Duration::from_secs(10))
        .context("flush producer")?;
    Ok(seconds)
}

async fn await_all(pending: &mut Vec<DeliveryFuture>) -> anyhow::Result<()> {
    for delivery in pending.drain(..) {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => return Err(e).context("delivery failed"),
            Err(_cancelled) => anyhow::bail!("delivery cancelled"),
        }
    }
    Ok(())
}

/// Records when the group assigned partitions to the consumer.
struct AssignedAt(Arc<Mutex<Option<Instant>>>);

impl ClientContext for AssignedAt {}

impl ConsumerContext for AssignedAt {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) = rebalance {
            self.0
                .lock()
                .expect("assignment time")
                .get_or_insert_with(Instant::now);
        }
    }
}

async fn consume(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    payload_bytes: usize,
    headers: usize,
) -> anyhow::Result<f64> {
    let group = format!("bench-baseline-{}", uuid::Uuid::new_v4().simple());
    let assigned = Arc::new(Mutex::new(None));
    let consumer: StreamConsumer<AssignedAt> = config
        .consumer(&group)
        .create_with_context(AssignedAt(assigned.clone()))
        .context("create consumer")?;
    consumer.subscribe(&[topic]).context("subscribe")?;
    let deadline = tokio::time::Instant::now() + CONSUME_TIMEOUT;
    let mut received = 0usize;
    let mut first: Option<Instant> = None;
    while received < messages {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "consumed {received} of {messages} records from {topic} in {} s",
                    CONSUME_TIMEOUT.as_secs()
                )
            })?;
        match message {
            Ok(m) => {
                first.get_or_insert_with(Instant::now);
                let size = m.payload().map_or(0, <[u8]>::len);
                anyhow::ensure!(
                    size == payload_bytes,
                    "record of {size} bytes where {payload_bytes} were produced"
                );
                let count = m.headers().map_or(0, |h| h.count());
                anyhow::ensure!(
                    count == headers,
                    "record with {count} headers where {headers} were produced"
                );
                received += 1;
            }
            Err(e) => tracing::warn!(topic, error = %e, "baseline consumer error"),
        }
    }
    let done = Instant::now();
    let assigned_at = *assigned.lock().expect("assignment time");
    let started = assigned_at.or(first).unwrap_or(done);
    Ok(done.duration_since(started).as_secs_f64())
}

/// Plain batched inserts of rows shaped like the event store's events (uuid text, stream id text,
/// version, type text, payload bytes of `payload_bytes`, hash 32 bytes, timestamps), `batch` rows
/// per multi-row INSERT, one transaction per batch, into a scratch table `bench_baseline_<uuid>`
/// created in the database at `database_url` (PostgreSQL or SQLite) and dropped afterwards.
///
/// The scratch table has the `events` table's columns, unique constraints and indexes; streams
/// get five events each. Row values are made outside the timed transactions. The rows are counted
/// before the table is dropped, and a count other than `rows` is an error.
pub async fn insert_baseline(
    database_url: &str,
    rows: usize,
    payload_bytes: usize,
    batch: usize,
) -> anyhow::Result<InsertBaseline> {
    check_batch(batch)?;
    let seconds = with_scratch_table(
        database_url,
        WrittenLike::EventStore,
        rows,
        |pool, table| async move { table.fill(&pool, rows, payload_bytes, batch).await },
    )
    .await?;
    Ok(InsertBaseline {
        rows,
        batch,
        seconds,
        rows_per_second: per_second(rows, seconds),
    })
}

/// Whose connection settings a baseline's scratch table is written with.
#[derive(Debug, Clone, Copy)]
pub(super) enum WrittenLike {
    /// An event store's ([`eventstore::backend::connect`]): commits wait for the disk.
    EventStore,
    /// A read model's ([`eventstore::backend::connect_read_model`]): on PostgreSQL they do not.
    ReadModel,
}

/// Connects to `database_url` as `like` says, creates a scratch table, runs `measure` on it,
/// checks that the table then holds `rows` rows, and drops it whatever happened.
pub(super) async fn with_scratch_table<T, F, Fut>(
    database_url: &str,
    like: WrittenLike,
    rows: usize,
    measure: F,
) -> anyhow::Result<T>
where
    F: FnOnce(AnyPool, ScratchTable) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let connected = match like {
        WrittenLike::EventStore => eventstore::backend::connect(database_url, 1).await,
        WrittenLike::ReadModel => eventstore::backend::connect_read_model(database_url, 1).await,
    };
    let (pool, backend) = connected.with_context(|| format!("connect to {database_url}"))?;
    let table = ScratchTable::create(&pool, backend).await?;
    let measured = async {
        let measured = measure(pool.clone(), table.clone()).await?;
        let counted = table.count(&pool).await?;
        anyhow::ensure!(
            counted == rows,
            "{counted} rows in {} where {rows} were written",
            table.name
        );
        Ok(measured)
    }
    .await;
    let dropped = table.drop(&pool).await;
    pool.close().await;
    let measured = measured?;
    dropped?;
    Ok(measured)
}

fn check_batch(batch: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_BINDS / BINDS_PER_ROW).contains(&batch),
        "batch must be between 1 and {} rows",
        MAX_BINDS / BINDS_PER_ROW
    );
    Ok(())
}

/// The scratch table of one insert baseline.
#[derive(Clone)]
pub(super) struct ScratchTable {
    name: String,
    backend: Backend,
}

impl ScratchTable {
    /// Creates `bench_baseline_<uuid>` with the events table's shape.
    pub(super) async fn create(pool: &AnyPool, backend: Backend) -> anyhow::Result<ScratchTable> {
        let name = format!("bench_baseline_{}", uuid::Uuid::new_v4().simple());
        let serial = backend.serial_key();
        let bytes = backend.bytes();
        let ddl = [
            format!(
                "CREATE TABLE {name} (
                    position {serial},
                    tx_id BIGINT NOT NULL,
                    event_id TEXT NOT NULL UNIQUE,
                    stream_id TEXT NOT NULL,
                    stream_version BIGINT NOT NULL,
                    event_type TEXT NOT NULL,
                    occurred_at BIGINT NOT NULL,
                    recorded_at BIGINT NOT NULL,
                    command_id TEXT NOT NULL,
                    correlation_id TEXT NOT NULL,
                    causation_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    traceparent TEXT NOT NULL,
                    payload {bytes} NOT NULL,
                    hash {bytes} NOT NULL,
                    UNIQUE (stream_id, stream_version)
                )"
            ),
            format!("CREATE INDEX {name}_commit_order ON {name} (tx_id, position)"),
        ];
        for sql in &ddl {
            sqlx::query(sql)
                .execute(pool)
                .await
                .with_context(|| format!("create scratch table {name}"))?;
        }
        Ok(ScratchTable { name, backend })
    }

    /// Inserts `rows` rows, `batch` per statement and transaction; returns the seconds spent in
    /// the transactions.
    async fn fill(
        &self,
        pool: &AnyPool,
        rows: usize,
        payload_bytes: usize,
        batch: usize,
    ) -> anyhow::Result<f64> {
        check_batch(batch)?;
        let mut bytes = Bytes::new(2);
        let mut stream = String::new();
        let mut spent = Duration::ZERO;
        let mut done = 0usize;
        let mut tx_id = 0i64;
        while done < rows {
            let n = batch.min(rows - done);
            tx_id += 1;
            let values: Vec<Vec<Value>> = (0..n)
                .map(|i| {
                    let row = done + i;
                    if row.is_multiple_of(EVENTS_PER_STREAM) {
                        stream = stream_key();
                    }
                    let version = (row % EVENTS_PER_STREAM) as i64 + 1;
                    let payload = bytes.take(payload_bytes);
                    event_row(tx_id, stream.clone(), version, payload, bytes.take(32))
                })
                .collect();
            spent += self.insert(pool, values).await?;
            done += n;
        }
        Ok(spent.as_secs_f64())
    }

    /// Inserts `rows` (of [`event_row`]) with one multi-row INSERT in one transaction; returns
    /// the time from its begin to its commit.
    pub(super) async fn insert(
        &self,
        pool: &AnyPool,
        rows: Vec<Vec<Value>>,
    ) -> anyhow::Result<Duration> {
        let sql = self.insert_sql(rows.len());
        let started = Instant::now();
        let mut tx = pool.begin().await.context("begin")?;
        let mut query = sqlx::query(&sql);
        for value in rows.into_iter().flatten() {
            query = match value {
                Value::Text(s) => query.bind(s),
                Value::Int(i) => query.bind(i),
                Value::Bytes(b) => query.bind(b),
            };
        }
        query
            .execute(&mut *tx)
            .await
            .with_context(|| format!("insert into {}", self.name))?;
        tx.commit().await.context("commit")?;
        Ok(started.elapsed())
    }

    /// One multi-row INSERT of `n` rows of eleven values (the transaction order first), with
    /// the parameters the event store's own multi-row statements use ([`eventstore::sql`]). The
    /// same text for every full batch, so the statement is prepared once.
    fn insert_sql(&self, n: usize) -> String {
        let mut sql = format!(
            "INSERT INTO {} (tx_id, event_id, stream_id, stream_version, event_type, occurred_at, \
             recorded_at, command_id, correlation_id, causation_id, actor, traceparent, payload, \
             hash) VALUES ",
            self.name
        );
        for row in 0..n {
            let p = 1 + row * BINDS_PER_ROW;
            if row > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, '', 'bench', '', {})",
                placeholders(self.backend, p, 9),
                placeholders(self.backend, p + 9, 2)
            ));
        }
        sql
    }

    pub(super) async fn count(&self, pool: &AnyPool) -> anyhow::Result<usize> {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {}", self.name))
            .fetch_one(pool)
            .await
            .and_then(|r| r.try_get(0))
            .with_context(|| format!("count rows of {}", self.name))?;
        Ok(n as usize)
    }

    pub(super) async fn drop(&self, pool: &AnyPool) -> anyhow::Result<()> {
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", self.name))
            .execute(pool)
            .await
            .with_context(|| format!("drop scratch table {}", self.name))?;
        Ok(())
    }
}

/// The eleven values of one scratch-table row: an event of `stream` at `version`, in
/// transaction `tx_id`, with a fresh event id and command id and the clock's time.
pub(super) fn event_row(
    tx_id: i64,
    stream: String,
    version: i64,
    payload: Vec<u8>,
    hash: Vec<u8>,
) -> Vec<Value> {
    let now = chrono::Utc::now().timestamp_micros();
    let command = uuid::Uuid::new_v4().to_string();
    vec![
        Value::Int(tx_id),
        Value::Text(uuid::Uuid::now_v7().to_string()),
        Value::Text(stream),
        Value::Int(version),
        Value::Text("bottomline.registry.v1.PersonRegistered".into()),
        Value::Int(now),
        Value::Int(now),
        Value::Text(command.clone()),
        Value::Text(command),
        Value::Bytes(payload),
        Value::Bytes(hash),
    ]
}

/// A value to bind (sqlx `Any` binds only these).
pub(super) enum Value {
    Text(String),
    Int(i64),
    Bytes(Vec<u8>),
}

/// Incompressible filler bytes (splitmix64), so neither compression nor TOAST flatters a figure.
pub(super) struct Bytes(u64);

impl Bytes {
    pub(super) fn new(seed: u64) -> Bytes {
        Bytes(seed)
    }

    pub(super) fn take(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

fn per_second(count: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventstore::testing::TestDatabase;

    #[test]
    fn keys_are_45_bytes_and_filler_has_the_asked_length() {
        assert_eq!(stream_key().len(), 45);
        let mut b = Bytes::new(7);
        assert_eq!(b.take(300).len(), 300);
        assert_eq!(b.take(0).len(), 0);
        assert_ne!(b.take(32), b.take(32));
        assert!(check_batch(0).is_err());
        // 32,766 parameters / 11 per row.
        assert!(check_batch(2978).is_ok());
        assert!(check_batch(2979).is_err());
    }

    /// The rows land with their shape (sizes, streams, versions), and the table is gone after.
    async fn rows_land(url: &str) {
        let (pool, backend) = eventstore::backend::connect(url, 1).await.expect("connect");
        let table = ScratchTable::create(&pool, backend).await.expect("create");
        let seconds = table.fill(&pool, 1234, 300, 100).await.expect("fill");
        assert!(seconds > 0.0);
        assert_eq!(table.count(&pool).await.expect("count"), 1234);
        let row = sqlx::query(&format!(
            "SELECT COUNT(*), COUNT(DISTINCT stream_id), MAX(stream_version), MAX(tx_id), \
             MIN(length(payload)), MAX(length(payload)), MIN(length(hash)), \
             COUNT(DISTINCT event_id) FROM {}",
            table.name
        ))
        .fetch_one(&pool)
        .await
        .expect("inspect");
        let get = |i: usize| row.try_get::<i64, _>(i).expect("column");
        assert_eq!(get(0), 1234);
        assert_eq!(get(1), 247); // ceil(1234 / 5)
        assert_eq!(get(2), 5);
        assert_eq!(get(3), 13); // 13 batches of at most 100
        assert_eq!((get(4), get(5)), (300, 300));
        assert_eq!(get(6), 32);
        assert_eq!(get(7), 1234);
        table.drop(&pool).await.expect("drop");
        assert!(table.count(&pool).await.is_err(), "table still there");
    }

    async fn scratch_tables_left(url: &str, backend: Backend) -> i64 {
        let (pool, _) = eventstore::backend::connect(url, 1).await.expect("connect");
        let sql = match backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name LIKE 'bench_baseline_%'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_name LIKE 'bench_baseline_%'"
            }
        };
        let n = sqlx::query(sql)
            .fetch_one(&pool)
            .await
            .and_then(|r| r.try_get(0))
            .expect("count tables");
        pool.close().await;
        n
    }

    async fn whole_insert_baseline(url: &str, backend: Backend) {
        let report = insert_baseline(url, 2_000, 300, 500)
            .await
            .expect("baseline");
        assert_eq!((report.rows, report.batch), (2_000, 500));
        assert!(report.seconds > 0.0 && report.rows_per_second > 0.0);
        assert_eq!(scratch_tables_left(url, backend).await, 0);
        assert!(insert_baseline(url, 10, 300, 0).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_rows_land() {
        let db = TestDatabase::sqlite();
        rows_land(&db.url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_insert_baseline() {
        let db = TestDatabase::sqlite();
        whole_insert_baseline(&db.url, Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_rows_land() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        rows_land(&db.url).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_insert_baseline() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        whole_insert_baseline(&db.url, Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kafka_baseline_round_trip() {
        let Some(brokers) = eventstore::testing::kafka_brokers() else {
            return;
        };
        let headers = OwnedHeaders::new()
            .insert(rdkafka::message::Header {
                key: "ce_id",
                value: Some(b"0123456789"),
            })
            .insert(rdkafka::message::Header {
                key: "ce_type",
                value: Some(b"t"),
            });
        let topic = format!("test.baseline.{}", uuid::Uuid::new_v4().simple());
        let db = TestDatabase::sqlite();
        let report = kafka_baseline(&brokers, &topic, 2_000, 300, &headers, Some(&db.url))
            .await
            .expect("kafka baseline");
        assert_eq!((report.messages, report.payload_bytes), (2_000, 300));
        assert_eq!((report.headers, report.header_bytes), (2, 5 + 10 + 7 + 1));
        assert!(report.produce_seconds > 0.0 && report.produce_per_second > 0.0);
        assert!(report.consume_seconds > 0.0 && report.consume_per_second > 0.0);
        let c = report.consume_insert.expect("consume and insert");
        // Four batches of 500: the three after the first are timed.
        assert_eq!(c.records, 1_500);
        assert!(c.seconds > 0.0 && c.per_second > 0.0);
        // Its rows were counted (2,000, or it fails) and dropped with their table.
        assert_eq!(scratch_tables_left(&db.url, Backend::Sqlite).await, 0);
    }

    /// Manual measurement, printed: `BOTTOMLINE_BASELINE_BROKERS` and/or
    /// `BOTTOMLINE_BASELINE_DATABASE_URL` (each optional), 50,000 records of 300 bytes without
    /// headers (the bench adds the relay's) and 50,000 rows in batches of
    /// `BOTTOMLINE_BASELINE_BATCH` rows (500 when unset). Run with `--ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "manual measurement against a running broker and database"]
    async fn measure() {
        if let Ok(brokers) = std::env::var("BOTTOMLINE_BASELINE_BROKERS") {
            let k = kafka_baseline(
                &brokers,
                &format!("bench.baseline.{}", uuid::Uuid::new_v4().simple()),
                50_000,
                300,
                &OwnedHeaders::new(),
                std::env::var("BOTTOMLINE_BASELINE_DATABASE_URL")
                    .ok()
                    .as_deref(),
            )
            .await
            .expect("kafka baseline");
            println!("{}", serde_json::to_string(&k).expect("json"));
        }
        if let Ok(url) = std::env::var("BOTTOMLINE_BASELINE_DATABASE_URL") {
            let batch = std::env::var("BOTTOMLINE_BASELINE_BATCH").map_or(500, |b| {
                b.parse()
                    .expect("BOTTOMLINE_BASELINE_BATCH: a number of rows")
            });
            let i = insert_baseline(&url, 50_000, 300, batch)
                .await
                .expect("insert baseline");
            println!("{}", serde_json::to_string(&i).expect("json"));
        }
    }
}
