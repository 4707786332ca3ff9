//! The projector's raw baseline for `bottomline bench`: an rdkafka consumer that inserts what it
//! reads into the database, with nothing of the system in between.
//!
//! A projector reads records from Kafka and writes rows to its database; the raw consumer
//! ([`super::baseline::kafka_baseline`]) does only the first half and the insert baseline
//! ([`super::baseline::insert_baseline`]) only the second. This does both, one after the other,
//! as a plain projector would: no dedupe, no checkpoint, no decoding, no read model of its own.

use std::time::Instant;

use anyhow::Context as _;
use kafka::config::KafkaConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

use super::baseline::{
    event_row, with_scratch_table, Bytes, ScratchTable, Value, WrittenLike, CONSUME_TIMEOUT,
};

/// Records per multi-row INSERT and transaction: the projectors' batch on Kafka
/// ([`kafka::consumer::MAX_BATCH`]).
pub const BATCH: usize = kafka::consumer::MAX_BATCH;

/// Reads the `messages` records of `topic` in a fresh consumer group with the projectors' consumer
/// settings ([`KafkaConfig::consumer`]) and inserts each as a row shaped like an event (the
/// record's key as stream id, its payload as payload) into a scratch table of the database at
/// `database_url` with the `events` table's columns and indexes, [`BATCH`] records per multi-row
/// INSERT and transaction, committed as a read model's are ([`WrittenLike::ReadModel`]); the
/// next batch is read while one is inserted, as the projectors do.
/// Timed as the projector's replay is: from its first commit until its last, over the records
/// after the first batch. Returns those records and seconds. The table is created before and
/// dropped after; fails when a record has no key, when fewer than `messages` rows are counted at
/// the end, or after 120 s.
pub async fn consume_and_insert(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    database_url: &str,
) -> anyhow::Result<(usize, f64)> {
    with_scratch_table(
        database_url,
        WrittenLike::ReadModel,
        messages,
        |pool, table| async move { consume_into(config, topic, messages, &pool, &table).await },
    )
    .await
}

/// Reads up to `want` records (all of them when there are more): one batch's rows, for
/// transaction `tx_id`.
async fn read_batch(
    consumer: &StreamConsumer,
    topic: &str,
    want: usize,
    tx_id: i64,
    hashes: &mut Bytes,
    deadline: tokio::time::Instant,
) -> anyhow::Result<Vec<Vec<Value>>> {
    let mut rows: Vec<Vec<Value>> = Vec::with_capacity(want);
    while rows.len() < want {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "records of {topic} not all read in {} s",
                    CONSUME_TIMEOUT.as_secs()
                )
            })?;
        match message {
            Ok(m) => {
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
    Ok(rows)
}

async fn consume_into(
    config: &KafkaConfig,
    topic: &str,
    messages: usize,
    pool: &sqlx::AnyPool,
    table: &ScratchTable,
) -> anyhow::Result<(usize, f64)> {
    let group = format!("bench-baseline-{}", uuid::Uuid::new_v4().simple());
    let consumer: StreamConsumer = config
        .consumer(&group)
        .create()
        .context("create consumer")?;
    consumer.subscribe(&[topic]).context("subscribe")?;
    let deadline = tokio::time::Instant::now() + CONSUME_TIMEOUT;
    let mut hashes = Bytes::new(3);
    let mut read = 0usize;
    let mut tx_id = 1i64;
    let mut batch = read_batch(
        &consumer,
        topic,
        BATCH.min(messages),
        tx_id,
        &mut hashes,
        deadline,
    )
    .await?;
    read += batch.len();
    // After the first commit: the records committed since, and when it was.
    let mut first_commit: Option<(usize, Instant)> = None;
    loop {
        let inserting = batch.len();
        let want = BATCH.min(messages - read);
        tx_id += 1;
        // The next batch is read while this one is inserted.
        let (done, next) = tokio::join!(
            table.insert(pool, batch),
            read_batch(&consumer, topic, want, tx_id, &mut hashes, deadline)
        );
        done?;
        match &mut first_commit {
            None => first_commit = Some((0, Instant::now())),
            Some((after, _)) => *after += inserting,
        }
        let next = next?;
        if next.is_empty() {
            break;
        }
        read += next.len();
        batch = next;
    }
    let (after, since) = first_commit.context("no batch was inserted")?;
    Ok((after, since.elapsed().as_secs_f64()))
}
