//! A projector consuming a real topic: exactly-once effect across restarts and republishing,
//! poison events parked with their key's later events behind them, other keys flowing on.

mod support;

use std::sync::Arc;
use std::time::Duration;

use eventstore::testing::TestDatabase;
use eventstore::{
    Backend, CommandMeta, EventStore, ExpectedVersion, GlobalCursor, NewEvent, RecordedEvent,
};
use futures::future::BoxFuture;
use kafka::relay::Relay;
use projector::{Applied, Projection, ProjectionError, Projector};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

/// Records every event it applies; `poison` payloads are refused.
struct Ledger;

impl Projection for Ledger {
    fn name(&self) -> &str {
        "ledger"
    }
    fn schema(&self, _: Backend) -> Vec<String> {
        vec!["CREATE TABLE IF NOT EXISTS ledger (event_id TEXT NOT NULL, stream_id TEXT NOT NULL, version BIGINT NOT NULL)".into()]
    }
    fn apply<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<Applied, ProjectionError>> {
        Box::pin(async move {
            if event.event_type != "test.v1.Happened" {
                return Ok(Applied::UnknownType);
            }
            if event.payload == b"poison" {
                return Err(ProjectionError::Poison("payload says poison".into()));
            }
            sqlx::query("INSERT INTO ledger (event_id, stream_id, version) VALUES ($1, $2, $3)")
                .bind(event.event_id.to_string())
                .bind(&event.stream_id)
                .bind(event.stream_version as i64)
                .execute(conn)
                .await?;
            Ok(Applied::Applied)
        })
    }
}

async fn append(store: &EventStore, stream: &str, payload: &str, id: &str) {
    let meta = CommandMeta {
        command_id: id.into(),
        fingerprint: id.as_bytes().to_vec(),
        ..Default::default()
    };
    store
        .append(
            stream,
            ExpectedVersion::Any,
            vec![NewEvent::now(
                "test.v1.Happened",
                payload.as_bytes().to_vec(),
            )],
            &meta,
        )
        .await
        .unwrap();
}

async fn ledger(projector: &Projector<Ledger>) -> Vec<(String, i64)> {
    sqlx::query("SELECT stream_id, version FROM ledger ORDER BY stream_id, version")
        .fetch_all(projector.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect()
}

async fn wait_for(
    projector: &Projector<Ledger>,
    what: &str,
    done: impl Fn(projector::MetricsSnapshot) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done(projector.metrics().snapshot()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            projector.metrics().snapshot()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_applies_once_parks_poison_and_keeps_key_order() {
    let Some(config) = support::brokers() else {
        return;
    };
    let store_db = TestDatabase::sqlite();
    let store = EventStore::open(&store_db.url).await.unwrap();
    let read_db = TestDatabase::sqlite();
    let topic = support::fresh_topic(&config, 2).await;
    let dlq = kafka::admin::dead_letter_topic(&topic, "ledger");
    kafka::admin::ensure_topics(&config, &[&dlq], 1)
        .await
        .unwrap();

    append(&store, "a", "a1", "1").await;
    append(&store, "a", "poison", "2").await;
    append(&store, "a", "a3", "3").await;
    for i in 1..=3 {
        append(&store, "b", &format!("b{i}"), &format!("b{i}")).await;
    }
    let relay = Relay::new(&config, store.clone(), &topic, "/test").unwrap();
    while relay.publish_pass().await.unwrap() > 0 {}
    // A record no CloudEvents reader can decode, on its own key.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to(&topic).key("c").payload("not an event"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    let run = |projector: Arc<Projector<Ledger>>| {
        let (config, topic, dlq, stop) = (
            config.clone(),
            topic.clone(),
            dlq.clone(),
            CancellationToken::new(),
        );
        let s = stop.clone();
        let task = tokio::spawn(async move {
            kafka::consumer::run(&config, projector, "ledger", &topic, Some(&dlq), s)
                .await
                .unwrap();
        });
        (stop, task)
    };
    let projector = Arc::new(Projector::open(Ledger, &read_db.url).await.unwrap());
    let (stop, task) = run(projector.clone());
    wait_for(&projector, "first batch", |m| {
        m.applied == 4 && m.parked == 3
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(
        ledger(&projector).await,
        [
            ("a".to_string(), 1),
            ("b".into(), 1),
            ("b".into(), 2),
            ("b".into(), 3)
        ]
    );
    let parked = projector.parked().await.unwrap();
    let reasons: Vec<(&str, &str)> = parked
        .iter()
        .map(|p| (p.key.as_str(), p.reason.as_str()))
        .collect();
    // The bytes as delivered are kept: the payload of a decoded event the projection refused,
    // the whole value of a record that is no event.
    let raw = |reason: &str| {
        parked
            .iter()
            .find(|p| p.reason.contains(reason))
            .unwrap()
            .raw
            .clone()
    };
    assert_eq!(raw("payload says poison"), b"poison");
    assert_eq!(raw("no headers"), b"not an event");
    assert!(
        reasons.contains(&("a", "payload says poison")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(k, r)| *k == "a" && r.starts_with("waiting behind")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(k, r)| *k == "c" && r.contains("no headers")),
        "{reasons:?}"
    );

    // Restart, and republish everything as a relay that lost its checkpoint would: no event is
    // applied or parked twice (all six copies are duplicates), new events still flow, and
    // stream a stays parked.
    store
        .save_checkpoint(&format!("relay:{topic}"), GlobalCursor::START)
        .await
        .unwrap();
    append(&store, "b", "b4", "b4").await;
    append(&store, "a", "a5", "a5").await;
    while relay.publish_pass().await.unwrap() > 0 {}
    let projector = Arc::new(Projector::open(Ledger, &read_db.url).await.unwrap());
    let (stop, task) = run(projector.clone());
    wait_for(&projector, "after restart", |m| {
        m.applied == 1 && m.duplicates == 6 && m.parked == 1
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    let rows = ledger(&projector).await;
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.contains(&("b".to_string(), 4)));
    assert!(
        !rows.iter().any(|(s, v)| s == "a" && *v > 1),
        "stream a waits behind its poison event"
    );
    // The three parked before, and a5 behind them: none of the copies parked again.
    assert_eq!(projector.parked().await.unwrap().len(), 4);
}

/// Runs `kafka::consumer::run` for `projector` as group `ledger-<topic>` (one group per test, so
/// tests running at once do not rebalance each other) until it applied `applied` events, then
/// stops it.
async fn consume_until(
    config: &kafka::config::KafkaConfig,
    projector: Arc<Projector<Ledger>>,
    topic: &str,
    applied: u64,
) {
    let stop = CancellationToken::new();
    let task = {
        let (config, projector, topic, stop) = (
            config.clone(),
            projector.clone(),
            topic.to_string(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let group = format!("ledger-{topic}");
            kafka::consumer::run(&config, projector, &group, &topic, None, stop)
                .await
                .unwrap();
        })
    };
    wait_for(&projector, "the events", |m| m.applied >= applied).await;
    stop.cancel();
    task.await.unwrap();
}

/// One stream of `n` events published by the relay to a fresh one-partition topic (offset =
/// version - 1).
async fn published_stream(config: &kafka::config::KafkaConfig, n: usize) -> String {
    relayed(config, n).await.2
}

/// A new read model under a group name whose offsets an earlier read model committed reads the
/// whole topic, not from the group's committed offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_read_model_reads_the_topic_from_the_start() {
    let Some(config) = support::brokers() else {
        return;
    };
    let topic = published_stream(&config, 40).await;
    eprintln!(
        "DEBUG read {}",
        support::read_n(&config, &topic, 40).await.len()
    );
    let first_db = TestDatabase::sqlite();
    let first = Arc::new(Projector::open(Ledger, &first_db.url).await.unwrap());
    consume_until(&config, first.clone(), &topic, 40).await;
    let second_db = TestDatabase::sqlite();
    let second = Arc::new(Projector::open(Ledger, &second_db.url).await.unwrap());
    consume_until(&config, second.clone(), &topic, 40).await;
    assert_eq!(ledger(&second).await.len(), 40);
}

/// A read model that stopped in the middle of a producer's record batch resumes there: nothing
/// after its checkpoint is lost, even on a broker that answers such a fetch with the next batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_inside_a_record_batch_loses_nothing() {
    let Some(config) = support::brokers() else {
        return;
    };
    // Enqueued at once, so the producer packs them into record batches of up to 1,000.
    let topic = published_stream(&config, 2500).await;
    let db = TestDatabase::sqlite();
    let projector = Arc::new(Projector::open(Ledger, &db.url).await.unwrap());
    consume_until(&config, projector.clone(), &topic, 2500).await;
    // Turn it into a read model that applied offsets 0..1737 only (versions 1..=1737, at
    // positions 1..=1737 of the store the stream was appended to, which held nothing else).
    let pool = projector.pool();
    sqlx::query("UPDATE projector_watermarks SET position = 1737 WHERE source = $1")
        .bind(format!("{topic}:0"))
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM ledger WHERE version > 1737")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE projector_checkpoints SET a = 1737 WHERE source = $1")
        .bind(format!("{topic}:0"))
        .execute(pool)
        .await
        .unwrap();
    let resumed = Arc::new(Projector::open(Ledger, &db.url).await.unwrap());
    consume_until(&config, resumed.clone(), &topic, 763).await;
    let versions: Vec<i64> = ledger(&resumed).await.iter().map(|(_, v)| *v).collect();
    assert_eq!(versions, (1..=2500).collect::<Vec<i64>>());
}

/// A store with stream `s` at versions 1..=n, published to a fresh one-partition topic.
async fn relayed(
    config: &kafka::config::KafkaConfig,
    n: usize,
) -> (TestDatabase, EventStore, String) {
    let store_db = TestDatabase::sqlite();
    let store = EventStore::open(&store_db.url).await.unwrap();
    for i in 1..=n {
        append(&store, "s", &format!("s{i}"), &format!("s{i}")).await;
    }
    let topic = support::fresh_topic(config, 1).await;
    publish_from(config, &store, &topic, 0).await;
    (store_db, store, topic)
}

/// Publishes `store` to `topic` from after its `after`-th event.
async fn publish_from(
    config: &kafka::config::KafkaConfig,
    store: &EventStore,
    topic: &str,
    after: usize,
) {
    let cursor = match after {
        0 => GlobalCursor::START,
        n => store
            .read_committed(GlobalCursor::START, n as u32)
            .await
            .unwrap()
            .last()
            .unwrap()
            .cursor(),
    };
    store
        .save_checkpoint(&format!("relay:{topic}"), cursor)
        .await
        .unwrap();
    let relay = Relay::new(config, store.clone(), topic, "/test").unwrap();
    while relay.publish_pass().await.unwrap() > 0 {}
}

fn versions(rows: &[(String, i64)]) -> Vec<i64> {
    rows.iter().map(|(_, v)| *v).collect()
}

/// The broker lost a partition's log (or the topic was recreated) and the relay published the
/// events the read model had not applied into the new log, at offsets below the stored one:
/// they are applied, not skipped by offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_replaced_under_the_stored_offsets_is_read_again() {
    let Some(config) = support::brokers() else {
        return;
    };
    let (_store_db, store, first) = relayed(&config, 100).await;
    let db = TestDatabase::sqlite();
    let projector = Arc::new(Projector::open(Ledger, &db.url).await.unwrap());
    consume_until(&config, projector.clone(), &first, 100).await;
    // Fifty more events go into a new, empty log that takes the old one's place: offsets 0..49,
    // under a stored offset of 100.
    for i in 101..=150 {
        append(&store, "s", &format!("s{i}"), &format!("s{i}")).await;
    }
    let second = support::fresh_topic(&config, 1).await;
    publish_from(&config, &store, &second, 100).await;
    for table in ["projector_checkpoints", "projector_watermarks"] {
        sqlx::query(&format!("UPDATE {table} SET source = $1 WHERE source = $2"))
            .bind(format!("{second}:0"))
            .bind(format!("{first}:0"))
            .execute(projector.pool())
            .await
            .unwrap();
    }
    let resumed = Arc::new(Projector::open(Ledger, &db.url).await.unwrap());
    consume_until(&config, resumed.clone(), &second, 50).await;
    assert_eq!(
        versions(&ledger(&resumed).await),
        (1..=150).collect::<Vec<i64>>()
    );
}

/// A read model from before watermarks (offsets stored, no watermark) gets its watermark from
/// the records below its stored offset, so the relay's copies after them are skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_without_watermarks_gets_them_from_its_offsets() {
    let Some(config) = support::brokers() else {
        return;
    };
    // 1,200 events published a hundred at a time, so that record batches are small and the
    // 1,000 records read back below the stored offset take more than one consumer batch.
    let store_db = TestDatabase::sqlite();
    let store = EventStore::open(&store_db.url).await.unwrap();
    let topic = support::fresh_topic(&config, 1).await;
    let relay = Relay::new(&config, store.clone(), &topic, "/test").unwrap();
    for i in 1..=1200 {
        append(&store, "s", &format!("s{i}"), &format!("s{i}")).await;
        if i % 100 == 0 {
            while relay.publish_pass().await.unwrap() > 0 {}
        }
    }
    let db = TestDatabase::sqlite();
    let projector = Arc::new(Projector::open(Ledger, &db.url).await.unwrap());
    consume_until(&config, projector.clone(), &topic, 1200).await;
    sqlx::query("DELETE FROM projector_watermarks")
        .execute(projector.pool())
        .await
        .unwrap();
    // A relay that lost its last checkpoints publishes 1101..=1200 again, then ten new events.
    for i in 1201..=1210 {
        append(&store, "s", &format!("s{i}"), &format!("s{i}")).await;
    }
    publish_from(&config, &store, &topic, 1100).await;
    let resumed = Arc::new(Projector::open(Ledger, &db.url).await.unwrap());
    consume_until(&config, resumed.clone(), &topic, 10).await;
    assert_eq!(resumed.metrics().snapshot().duplicates, 100);
    assert_eq!(
        versions(&ledger(&resumed).await),
        (1..=1210).collect::<Vec<i64>>()
    );
    assert_eq!(
        resumed.watermark(&format!("{topic}:0")).await.unwrap(),
        Some(1210)
    );
}
