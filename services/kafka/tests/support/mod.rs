//! Shared helpers: broker address, fresh topics, a reading consumer.

use std::time::Duration;

use eventstore::RecordedEvent;
use kafka::config::KafkaConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientConfig, Message};

/// The test broker, or `None` (skip) when not configured and not required.
pub fn brokers() -> Option<KafkaConfig> {
    eventstore::testing::kafka_brokers().map(KafkaConfig::new)
}

/// A new topic with a random name.
#[allow(dead_code)] // each test binary uses its own subset
pub async fn fresh_topic(config: &KafkaConfig, partitions: i32) -> String {
    let topic = format!("test.{}", uuid::Uuid::new_v4().simple());
    kafka::admin::ensure_topics(config, &[&topic], partitions)
        .await
        .expect("create topic");
    topic
}

/// Reads `n` records from the start of `topic` (fails after 60 s), decoding each with the
/// CloudEvents mapping; also returns each record's key.
#[allow(dead_code)] // each test binary uses its own subset
pub async fn read_n(config: &KafkaConfig, topic: &str, n: usize) -> Vec<(String, RecordedEvent)> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out.len() < n {
        let m: BorrowedMessage<'_> = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} records arrived", out.len()))
            .expect("record");
        let key = String::from_utf8(m.key().expect("key").to_vec()).expect("utf-8 key");
        out.push((key, kafka::headers::decode(&m).expect("decodable record")));
    }
    out
}
