//! A projector as a Kafka consumer group.
//!
//! Offsets are stored in the read-model database in the same transaction as the read-model change
//! (see [`projector::Projector::apply_batch`]). On partition assignment the consumer seeks to one
//! record batch before the stored offsets ([`RESUME_MARGIN`]; to the beginning when the read
//! model has none: a new read model under an old group name reads the whole topic), and any record
//! below the stored offset of its partition is skipped, so a record fetched before the seek took
//! effect cannot be applied twice. A record
//! above the next expected offset means the broker skipped some (tansu answers a fetch that starts
//! inside a record batch with the next batch): the partition is read again from its start, the
//! applied records skipped, so none is lost. Kafka's committed offsets are only
//! advice, committed after the database transaction. Parked (poison) events are also published to
//! a dead-letter topic for operators.
//!
//! One batch is applied at a time, in order, while the next is read and decoded: a batch starts
//! once the previous one committed, and the batch in flight is finished before a rebalance is
//! handled (the new assignment's offsets and watermarks are read from the database) and before
//! the consumer returns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use projector::{BatchReport, Checkpoint, Delivery, ParkedEvent, Projection, Projector};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::headers;

/// Records applied per database transaction, at most (the projections write runs set-based, so a
/// backlog is applied in few, short transactions).
pub const MAX_BATCH: usize = 500;
/// How long a batch collects records after its first one, at most: it bounds the delay a record
/// waits in a batch. (A per-record window let a steady stream fill 1,000-record batches and
/// delayed records by over a second.)
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// How many records before its stored offset a consumer fetches from on assignment: at least
/// the relay's largest record batch (`batch.num.messages` in [`KafkaConfig::producer`]), so the
/// fetch starts at or before the batch that holds the stored offset.
pub const RESUME_MARGIN: i64 = 1000;
/// How often an idle consumer checks for a new partition assignment.
const IDLE_CHECK: Duration = Duration::from_millis(200);
/// How long a seek may block.
const SEEK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a consumer may hold no partition before it says so (and again each time as long).
const UNASSIGNED_WARNING: Duration = Duration::from_secs(30);

/// Remembers assignments made during polls, so the loop can seek after each rebalance.
#[derive(Default)]
struct Assignments {
    generation: AtomicU64,
    partitions: Mutex<Vec<(String, i32)>>,
}

struct Context(Arc<Assignments>);

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let parts = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect();
                *self.0.partitions.lock().expect("assignments") = parts;
                self.0.generation.fetch_add(1, Ordering::SeqCst);
            }
            Rebalance::Revoke(_) => self.0.partitions.lock().expect("assignments").clear(),
            Rebalance::Error(_) => {}
        }
    }
}

/// When a consumer has held no partition for [`UNASSIGNED_WARNING`], and each time as long again.
#[derive(Debug)]
struct Unassigned {
    /// Since when it holds none (`None` while it holds some).
    since: Option<tokio::time::Instant>,
    /// When it last said so.
    told: Option<tokio::time::Instant>,
}

impl Unassigned {
    /// A consumer that starts at `now` with no partition yet.
    fn new(now: tokio::time::Instant) -> Unassigned {
        Unassigned {
            since: Some(now),
            told: None,
        }
    }

    /// Notes whether the consumer holds no partition at `now`; returns how long it has held
    /// none when that is worth a warning.
    fn check(&mut self, holds_none: bool, now: tokio::time::Instant) -> Option<Duration> {
        if !holds_none {
            *self = Unassigned {
                since: None,
                told: None,
            };
            return None;
        }
        let since = *self.since.get_or_insert(now);
        let last = self.told.unwrap_or(since);
        if now.duration_since(last) < UNASSIGNED_WARNING {
            return None;
        }
        self.told = Some(now);
        Some(now.duration_since(since))
    }
}

/// Consumes `topic` into `projector` as consumer group `group` (normally the projection's name)
/// until `shutdown`. The batch in progress is committed before returning. Parked events also go
/// to `dead_letter_topic` when given.
pub async fn run<P: Projection>(
    config: &KafkaConfig,
    projector: Arc<Projector<P>>,
    group: &str,
    topic: &str,
    dead_letter_topic: Option<&str>,
    shutdown: CancellationToken,
) -> Result<(), KafkaError> {
    let assignments = Arc::new(Assignments::default());
    let consumer: StreamConsumer<Context> = config
        .consumer(group)
        .create_with_context(Context(assignments.clone()))?;
    consumer.subscribe(&[topic])?;
    let dead_letters: Option<FutureProducer> = match dead_letter_topic {
        Some(_) => Some(config.base().create()?),
        None => None,
    };
    // Per partition: the next offset to apply, and whether it is being read again from its start.
    let mut next: HashMap<i32, i64> = HashMap::new();
    let mut rewound: HashSet<i32> = HashSet::new();
    // Per partition: the highest position handed to the projector or stored as its watermark
    // (`None`: a read model without one, from before watermarks).
    let mut marks: HashMap<i32, Option<i64>> = HashMap::new();
    // Partitions of a read model from before watermarks whose records below the stored offset
    // are still being read: they give the watermark, and are not checked against it.
    let mut seeding: HashSet<i32> = HashSet::new();
    // Per partition: its source name, made once.
    let mut sources: HashMap<i32, Arc<str>> = HashMap::new();
    let mut generation = 0;
    let mut unassigned = Unassigned::new(tokio::time::Instant::now());
    // The batch being applied while the next one is read and decoded.
    let mut in_flight: Option<InFlight> = None;
    let settle_in_flight =
        |batch| settle(&consumer, topic, batch, &dead_letters, dead_letter_topic);
    loop {
        // Wake up now and then without a record, so that a new assignment is sought to its
        // stored offsets even when nothing arrives from the group's committed position.
        let first = tokio::select! {
            m = consumer.recv() => Some(m),
            _ = tokio::time::sleep(IDLE_CHECK) => None,
            _ = shutdown.cancelled() => {
                settle_in_flight(in_flight.take()).await;
                return Ok(());
            }
        };
        if first.is_none() {
            // Idle: finish the batch in flight now rather than when the next record comes.
            settle_in_flight(in_flight.take()).await;
        }
        let holds_none = assignments
            .partitions
            .lock()
            .expect("assignments")
            .is_empty();
        if let Some(for_so_long) = unassigned.check(holds_none, tokio::time::Instant::now()) {
            tracing::warn!(
                group,
                topic,
                seconds = for_so_long.as_secs(),
                "this consumer holds no partition of its topic, so its read model is not \
                 updated: the group's other members hold them all (more members than \
                 partitions), or a member that stopped without leaving the group (a killed \
                 process) holds them until the broker expires its session (session.timeout.ms \
                 {} s; a broker that never expires sessions keeps them until it restarts)",
                crate::config::SESSION_TIMEOUT.as_secs()
            );
        }
        let now = assignments.generation.load(Ordering::SeqCst);
        if now != generation {
            // The stored offsets and watermarks are read again: the batch in flight first.
            settle_in_flight(in_flight.take()).await;
            generation = now;
            next.clear();
            marks.clear();
            seeding.clear();
            rewound.clear();
            seek_to_stored(&consumer, &projector, &assignments).await;
            // `first` may have been fetched from the group's old position: read again from the
            // stored one.
            continue;
        }
        let Some(first) = first else { continue };
        let mut messages = Vec::new();
        match first {
            Ok(m) => messages.push(m),
            // Fatal: librdkafka will not rejoin the group. With static membership that is a
            // fence: another live process joined with this consumer's group.instance.id.
            Err(e @ KafkaError::MessageConsumptionFatal(_)) => {
                settle_in_flight(in_flight.take()).await;
                let instance = config.instance.as_deref().unwrap_or("(dynamic member)");
                tracing::error!(
                    group,
                    topic,
                    instance,
                    fatal = ?consumer.client().fatal_error(),
                    "the consumer was stopped by the broker for good (fenced: another live \
                     process has this process's host name and data directory, so the same \
                     group.instance.id); its read model is no longer updated"
                );
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "consumer error");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        let window_ends = tokio::time::Instant::now() + BATCH_WINDOW;
        while messages.len() < MAX_BATCH {
            match tokio::time::timeout_at(window_ends, consumer.recv()).await {
                Ok(Ok(m)) => messages.push(m),
                Ok(Err(e)) => {
                    tracing::warn!(topic, error = %e, "consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        let mut deliveries = Vec::with_capacity(messages.len());
        let mut checkpoints: BTreeMap<i32, i64> = BTreeMap::new();
        // Per partition: the highest position among the records skipped by offset, for a read
        // model that has no watermark yet.
        let mut seeds: HashMap<i32, i64> = HashMap::new();
        let mut gapped: HashSet<i32> = HashSet::new();
        for m in &messages {
            let partition = m.partition();
            if gapped.contains(&partition) {
                continue;
            }
            let expected = match checkpoints.get(&partition).or(next.get(&partition)) {
                Some(o) => *o,
                None => {
                    let (o, mark) = stored(&projector, topic, partition).await;
                    next.insert(partition, o);
                    marks.insert(partition, mark);
                    if mark.is_none() && o > 0 {
                        seeding.insert(partition);
                    }
                    o
                }
            };
            if m.offset() < expected {
                // Applied before, by its offset. Its position says whether the log is still the
                // one the stored offset counts in. (A record that does not decode never moved
                // the watermark: it says nothing.)
                let Ok(position) = headers::decode(m).map(|e| e.position) else {
                    continue;
                };
                if seeding.contains(&partition) {
                    // A read model from before watermarks: what it applied gives its watermark.
                    let seed = seeds.entry(partition).or_insert(position);
                    *seed = (*seed).max(position);
                } else if let Some(mark) = marks.get(&partition).copied().flatten() {
                    if position > mark {
                        // Never applied, yet below the stored offset: the broker lost the
                        // partition's log or the topic was recreated, and the relay published
                        // again into it. Read it from its start; positions skip what was applied.
                        tracing::error!(
                            topic,
                            partition,
                            offset = m.offset(),
                            position,
                            watermark = mark,
                            stored_offset = expected,
                            "a record below the stored offset was never applied: the partition's \
                             log is not the one the offset counts in (broker data lost, or topic \
                             recreated); reading it again from its start"
                        );
                        if let Err(e) =
                            consumer.seek(topic, partition, Offset::Beginning, SEEK_TIMEOUT)
                        {
                            tracing::warn!(topic, partition, error = %e, "seek to the start failed");
                        }
                        next.insert(partition, 0);
                        checkpoints.remove(&partition);
                        gapped.insert(partition);
                        rewound.insert(partition);
                    }
                }
                continue;
            }
            // The records below the stored offset are behind: its watermark is known.
            seeding.remove(&partition);
            if m.offset() > expected && rewound.insert(partition) {
                // Records between the stored offset and this one were not delivered. Topics are
                // neither compacted nor transactional, so none are missing from the log: the
                // broker answered a fetch that started inside a record batch with the next batch
                // (tansu 0.6 does). Read the partition again from its start; records below the
                // stored offset are skipped as applied.
                tracing::warn!(
                    topic,
                    partition,
                    expected,
                    got = m.offset(),
                    "offsets skipped by the broker; reading the partition again from its start"
                );
                if let Err(e) = consumer.seek(topic, partition, Offset::Beginning, SEEK_TIMEOUT) {
                    tracing::warn!(topic, partition, error = %e, "seek to the start failed");
                }
                gapped.insert(partition);
                continue;
            }
            if m.offset() > expected {
                // Still a gap when reading from the start: the offsets are not in the log.
                tracing::error!(topic, partition, expected, got = m.offset(), "offsets missing from the topic (deleted by retention?); going on from the next one");
            }
            rewound.remove(&partition);
            let source = sources
                .entry(partition)
                .or_insert_with(|| format!("{topic}:{partition}").into());
            let d = delivery(m, source.clone());
            if let Ok(event) = &d.event {
                let mark = marks.entry(partition).or_default();
                *mark = Some(mark.unwrap_or(0).max(event.position));
            }
            deliveries.push(d);
            checkpoints.insert(partition, m.offset() + 1);
        }
        for (partition, position) in seeds.drain() {
            // Before this batch's records of the partition are applied: they may be copies.
            let source = format!("{topic}:{partition}");
            while let Err(e) = projector.raise_watermark(&source, position).await {
                tracing::warn!(projector = projector.name(), source, error = %e, "watermark not set, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            tracing::info!(
                projector = projector.name(),
                source,
                position,
                "watermark set from the records below the stored offset"
            );
            let mark = marks.entry(partition).or_default();
            *mark = Some(mark.unwrap_or(0).max(position));
        }
        if deliveries.is_empty() {
            continue;
        }
        let cps: Vec<Checkpoint> = checkpoints
            .iter()
            .map(|(p, o)| Checkpoint {
                source: format!("{topic}:{p}"),
                a: *o,
                b: 0,
            })
            .collect();
        // One batch applied at a time, in order: this one starts once the previous committed,
        // and the next is read and decoded while it is applied.
        settle_in_flight(in_flight.take()).await;
        next.extend(checkpoints.iter().map(|(p, o)| (*p, *o)));
        let (projector, shutdown) = (projector.clone(), shutdown.clone());
        in_flight = Some(InFlight {
            checkpoints,
            task: tokio::spawn(async move {
                loop {
                    match projector.apply_batch(&deliveries, &cps).await {
                        Ok(r) => break Some(r),
                        Err(e) => {
                            tracing::warn!(projector = projector.name(), error = %e, "batch failed, retrying");
                            // Given up at shutdown: nothing of it committed, the next start
                            // reads it again from the stored offsets.
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                                _ = shutdown.cancelled() => break None,
                            }
                        }
                    }
                }
            }),
        });
    }
}

/// A batch handed to the projector: retried until it commits, or given up at shutdown (`None`).
/// Dropped unsettled (the consumer's future dropped), its task is aborted.
struct InFlight {
    /// Next offset per partition once it commits.
    checkpoints: BTreeMap<i32, i64>,
    task: tokio::task::JoinHandle<Option<BatchReport>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits for the batch in flight, if any, to commit; then publishes its parked events to the
/// dead-letter topic and commits its offsets to the group (advice only: the read model's own are
/// in its database).
async fn settle(
    consumer: &StreamConsumer<Context>,
    topic: &str,
    batch: Option<InFlight>,
    dead_letters: &Option<FutureProducer>,
    dead_letter_topic: Option<&str>,
) {
    let Some(mut batch) = batch else { return };
    let report = match (&mut batch.task).await {
        Ok(Some(report)) => report,
        Ok(None) => return,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            tracing::warn!(error = %e, "batch task stopped");
            return;
        }
    };
    if let (Some(producer), Some(dlq)) = (dead_letters, dead_letter_topic) {
        publish_dead_letters(producer, dlq, &report.parked).await;
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in &batch.checkpoints {
        if let Err(e) = tpl.add_partition_offset(topic, *p, Offset::Offset(*o)) {
            tracing::debug!(error = %e, "advisory offset not added");
        }
    }
    if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::debug!(error = %e, "advisory offset commit failed");
    }
}

/// The delivery of record `m` of partition `source` (`<topic>:<partition>`).
fn delivery(m: &BorrowedMessage<'_>, source: Arc<str>) -> Delivery {
    let key = m
        .key()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .unwrap_or_default();
    let event = headers::decode(m);
    let raw = match event {
        Ok(_) => Vec::new(),
        Err(_) => m.payload().unwrap_or_default().to_vec(),
    };
    Delivery {
        key,
        source,
        offset: m.offset(),
        event,
        raw,
    }
}

/// The stored offset of `partition` (0 when none) and its dedupe watermark.
async fn stored<P: Projection>(
    projector: &Projector<P>,
    topic: &str,
    partition: i32,
) -> (i64, Option<i64>) {
    let source = format!("{topic}:{partition}");
    loop {
        match (
            projector.checkpoint(&source).await,
            projector.watermark(&source).await,
        ) {
            (Ok(checkpoint), Ok(mark)) => return (checkpoint.map_or(0, |c| c.a), mark),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "checkpoint unreadable, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

async fn seek_to_stored<P: Projection>(
    consumer: &StreamConsumer<Context>,
    projector: &Projector<P>,
    assignments: &Assignments,
) {
    let parts = assignments.partitions.lock().expect("assignments").clone();
    for (topic, partition) in parts {
        // A read model with no checkpoint starts from the beginning, whatever the group's
        // committed offset says (it may be another read model's, under the same group). One
        // with a checkpoint fetches from a record batch earlier (records below the checkpoint
        // are skipped as applied).
        let (stored, _) = stored(projector, &topic, partition).await;
        let offset = match stored - RESUME_MARGIN {
            o if o > 0 => Offset::Offset(o),
            _ => Offset::Beginning,
        };
        if let Err(e) = consumer.seek(&topic, partition, offset, SEEK_TIMEOUT) {
            // Not fatal: records below the stored offset are skipped, and a gap above it makes
            // the loop read the partition again from its start.
            tracing::debug!(topic, partition, ?offset, error = %e, "seek after assignment failed");
        }
    }
}

async fn publish_dead_letters(producer: &FutureProducer, topic: &str, parked: &[ParkedEvent]) {
    for p in parked {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "dlq_reason",
                value: Some(p.reason.as_bytes()),
            })
            .insert(Header {
                key: "dlq_origin",
                value: Some(p.origin.as_bytes()),
            })
            .insert(Header {
                key: "ce_id",
                value: Some(p.event_id.as_bytes()),
            });
        let record = FutureRecord::to(topic)
            .key(&p.key)
            .payload(&p.raw)
            .headers(headers);
        if let Err((e, _)) = producer.send(record, Duration::from_secs(5)).await {
            // The parked table stays the source of truth; the topic is for operators' tools.
            tracing::warn!(topic, error = %e, "dead-letter publish failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_without_partitions_is_told_after_the_warning_time_and_each_time_again() {
        let start = tokio::time::Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut u = Unassigned::new(start);
        // Assignment takes a few seconds at start: no warning.
        assert_eq!(u.check(true, at(5)), None);
        assert_eq!(u.check(false, at(6)), None);
        // Revoked at 100 s and not given back.
        assert_eq!(u.check(true, at(100)), None);
        assert_eq!(u.check(true, at(129)), None);
        assert_eq!(u.check(true, at(130)), Some(Duration::from_secs(30)));
        assert_eq!(u.check(true, at(131)), None);
        assert_eq!(u.check(true, at(160)), Some(Duration::from_secs(60)));
        // Given back: quiet again, and the clock starts over.
        assert_eq!(u.check(false, at(161)), None);
        assert_eq!(u.check(true, at(170)), None);
        assert_eq!(u.check(true, at(200)), Some(Duration::from_secs(30)));
    }
}
