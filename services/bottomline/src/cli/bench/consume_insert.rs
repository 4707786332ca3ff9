//! The projector's raw baseline for `bottomline bench`: an rdkafka consumer that inserts what it
//! reads into the database, with nothing of the system in between.
//!
//! A projector reads records from Kafka and writes rows to its database; the raw consumer
//! ([`super::baseline::kafka_baseline`]) does only the first half and the insert baseline
//! ([`super::baseline::insert_baseline`]) only the second. This does both, one after the other,
//! as a plain projector would: no dedupe, no checkpoint, no decoding, no read model of its own.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use kafka::config::KafkaConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

use super::baseline::{event_row, AssignedAt, Bytes, ScratchTable, Value, CONSUME_TIMEOUT};

/// Records per multi-row INSERT and transaction: the projectors' batch on Kafka
/// ([`kafka::consumer::MAX_BATCH`]).
pub const BATCH: usize = kafka::consumer::MAX_BATCH;

/// Reads the `messages` records of `topic` in a fresh consumer group with the projectors' consumer
/// settings ([`KafkaConfig::consumer`]) and inserts each as a row shaped like an event (the
/// record's key as stream id, its payload as payload) into a scratch table of the database at
/// `database_url` with the `events` table's columns and indexes, [`BATCH`] records per multi-row
/// INSERT and transaction; the next batch is read once the previous one committed. Returns the
/// seconds from the partition assignment (group join excluded) until the last commit. The table
/// is created before and dropped after; fails when a record has no key, when fewer than
/// `messages` rows are counted at the end, or after 120 s.
pub async fn consume_and_insert(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    database_url: &str,
) -> anyhow::Result<f64> {
    let (pool, backend) = eventstore::backend::connect(database_url, 1)
        .await
        .with_context(|| format!("connect to {database_url}"))?;
    let table = ScratchTable::create(&pool, backend).await?;
    let measured = async {
        let seconds = consume_into(config, topic, messages, &pool, &table).await?;
        let counted = table.count(&pool).await?;
        anyhow::ensure!(
            counted == messages,
            "{counted} rows where {messages} records were read"
        );
        Ok(seconds)
    }
    .await;
    let dropped = table.drop(&pool).await;
    pool.close().await;
    let seconds = measured?;
    dropped?;
    Ok(seconds)
}

async fn consume_into(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    pool: &sqlx::AnyPool,
    table: &ScratchTable,
) -> anyhow::Result<f64> {
    let group = format!("bench-baseline-{}", uuid::Uuid::new_v4().simple());
    let assigned = Arc::new(Mutex::new(None));
    let consumer: StreamConsumer<AssignedAt> = config
        .consumer(&group)
        .create_with_context(AssignedAt(assigned.clone()))
        .context("create consumer")?;
    consumer.subscribe(&[topic]).context("subscribe")?;
    let deadline = tokio::time::Instant::now() + CONSUME_TIMEOUT;
    let mut hashes = Bytes::new(3);
    let (mut inserted, mut tx_id) = (0usize, 0i64);
    let mut first: Option<Instant> = None;
    while inserted < messages {
        let want = BATCH.min(messages - inserted);
        tx_id += 1;
        let mut rows: Vec<Vec<Value>> = Vec::with_capacity(want);
        while rows.len() < want {
            let message = tokio::time::timeout_at(deadline, consumer.recv())
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "read {} of {messages} records from {topic} in {} s",
                        inserted + rows.len(),
                        CONSUME_TIMEOUT.as_secs()
                    )
                })?;
            match message {
                Ok(m) => {
                    first.get_or_insert_with(Instant::now);
                    let key = m.key().context("a baseline record without a key")?;
                    rows.push(event_row(
                        tx_id,
                        String::from_utf8_lossy(key).into_owned(),
                        1,
                        m.payload().unwrap_or_default().to_vec(),
                        hashes.take(32),
                    ));
                }
                Err(e) => tracing::warn!(topic, error = %e, "baseline consumer error"),
            }
        }
        table.insert(pool, rows).await?;
        inserted += want;
    }
    let done = Instant::now();
    let assigned_at = *assigned.lock().expect("assignment time");
    let started = assigned_at.or(first).unwrap_or(done);
    Ok(done.duration_since(started).as_secs_f64())
}
