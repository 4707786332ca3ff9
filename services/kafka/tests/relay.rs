//! The relay against a real Kafka-protocol broker: round trip with CloudEvents headers, and
//! concurrent appenders whose commits interleave.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use eventstore::testing::TestDatabase;
use eventstore::{Backend, CommandMeta, EventStore, ExpectedVersion, NewEvent};
use kafka::relay::Relay;
use tokio_util::sync::CancellationToken;

fn meta(id: &str) -> CommandMeta {
    CommandMeta {
        command_id: id.into(),
        fingerprint: id.as_bytes().to_vec(),
        correlation_id: format!("corr-{id}"),
        actor: "relay-test".into(),
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        ..CommandMeta::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_carries_every_event_with_cloudevents_headers() {
    let Some(config) = support::brokers() else {
        return;
    };
    let db = TestDatabase::sqlite();
    let store = EventStore::open(&db.url).await.unwrap();
    let topic = support::fresh_topic(&config, 3).await;
    let mut written = Vec::new();
    for i in 0..30 {
        let stream = format!("person-{}", i % 5);
        let out = store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![NewEvent::now(
                    "test.v1.Happened",
                    format!("payload {i}").into_bytes(),
                )],
                &meta(&format!("c{i}")),
            )
            .await
            .unwrap();
        written.extend(out.events);
    }
    let relay = Relay::new(&config, store.clone(), &topic, "/bottomline/test").unwrap();
    let mut published = 0;
    loop {
        let n = relay.publish_pass().await.unwrap();
        if n == 0 {
            break;
        }
        published += n;
    }
    assert_eq!(published, 30);
    assert_eq!(
        relay.publish_pass().await.unwrap(),
        0,
        "checkpoint saved: nothing twice"
    );

    let read = support::read_n(&config, &topic, 30).await;
    let by_id: HashMap<_, _> = written.iter().map(|e| (e.event_id, e)).collect();
    for (key, event) in &read {
        let original = by_id[&event.event_id];
        assert_eq!(key, &original.stream_id, "key = stream id");
        assert_eq!(event.stream_id, original.stream_id);
        assert_eq!(event.stream_version, original.stream_version);
        assert_eq!(event.position, original.position);
        assert_eq!(event.payload, original.payload);
        assert_eq!(event.event_type, "test.v1.Happened");
        assert_eq!(event.occurred_at_micros, original.occurred_at_micros);
        assert_eq!(event.recorded_at_micros, original.recorded_at_micros);
        assert_eq!(event.command_id, original.command_id);
        assert_eq!(event.correlation_id, original.correlation_id);
        assert_eq!(event.actor, "relay-test");
        assert_eq!(
            event.traceparent,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert_eq!(event.hash, original.hash);
    }
    assert_eq!(
        read.iter()
            .map(|(_, e)| e.event_id)
            .collect::<HashSet<_>>()
            .len(),
        30
    );
    assert_per_stream_order(&read);
}

/// Writers race on shared streams while the relay runs, and one transaction takes its position
/// early but commits late: every event reaches the topic, each stream in version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_commits_reach_the_topic_in_stream_order() {
    let Some(config) = support::brokers() else {
        return;
    };
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let store = EventStore::open(&db.url).await.unwrap();
    let topic = support::fresh_topic(&config, 3).await;
    let relay = Relay::new(&config, store.clone(), &topic, "/bottomline/test").unwrap();
    let stop = CancellationToken::new();
    let relay_task = tokio::spawn(relay.run(stop.clone()));

    // The slow appender: position taken now, commit after everyone else.
    let slow = eventstore::testing::begin_slow_append(&store, "slow").await;

    const WRITERS: usize = 6;
    const PER_WRITER: usize = 30;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                let stream = format!("s-{}", w % 3);
                let id = format!("{w}-{i}");
                eventstore::testing::append_racing(&store, &stream, &id, &id).await;
            }
        }));
    }
    // The writers wait for the slow appender (the append lock) until it commits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.commit().await.unwrap();
    for w in writers {
        w.await.unwrap();
    }

    let total = WRITERS * PER_WRITER + 1;
    let read = support::read_n(&config, &topic, total).await;
    stop.cancel();
    relay_task.await.unwrap();
    let ids: HashSet<_> = read.iter().map(|(_, e)| e.event_id).collect();
    assert_eq!(ids.len(), total, "every event, none twice");
    assert!(
        read.iter().any(|(_, e)| e.stream_id == "slow"),
        "the late commit was not skipped"
    );
    assert_per_stream_order(&read);
}

fn assert_per_stream_order(read: &[(String, eventstore::RecordedEvent)]) {
    let mut last: HashMap<&str, u64> = HashMap::new();
    for (_, e) in read {
        let prev = last.insert(&e.stream_id, e.stream_version).unwrap_or(0);
        assert_eq!(
            e.stream_version,
            prev + 1,
            "stream {} out of order",
            e.stream_id
        );
    }
}
