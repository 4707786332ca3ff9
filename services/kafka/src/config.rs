//! librdkafka settings shared by every client, each non-default one with the reason for it.

use rdkafka::ClientConfig;

/// Where the brokers are and how this process names itself to them.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list.
    pub brokers: String,
    /// Client id prefix shown in broker logs.
    pub client_id: String,
}

impl KafkaConfig {
    /// A config for `brokers` with client id `bottomline`.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: "bottomline".into(),
        }
    }

    /// Settings every client shares: brokers and client id.
    pub fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id);
        c
    }

    /// Producer settings for the relay (also used by `bottomline bench`'s raw baseline).
    pub fn producer(&self) -> ClientConfig {
        let mut c = self.base();
        // Idempotence: no duplicates or reordering from internal retries; implies acks=all and at
        // most 5 in-flight requests per connection, which keeps per-partition order.
        c.set("enable.idempotence", "true")
            // Small linger: group events into batches without adding visible latency.
            .set("linger.ms", "5")
            // Bound how long one delivery may take before the relay retries the batch itself.
            .set("message.timeout.ms", "30000")
            // At most this many records per record batch: a consumer resuming at an offset
            // inside a batch fetches from `crate::consumer::RESUME_MARGIN` records earlier, so
            // it never depends on the broker returning the batch that holds its offset (tansu
            // answers such a fetch with the next batch).
            .set("batch.num.messages", "1000");
        c
    }

    /// Consumer settings for a projector's consumer group (also used by the bench baseline).
    pub fn consumer(&self, group: &str) -> ClientConfig {
        let mut c = self.base();
        c.set("group.id", group)
            // Offsets live in the read-model database; Kafka's copy is advice committed after the
            // database transaction, so librdkafka must never commit or store by itself.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A new read model starts from the beginning of the (unlimited-retention) topic.
            .set("auto.offset.reset", "earliest")
            // Brokers may hold an empty fetch for this long before answering: it bounds the
            // delay between an event reaching the topic and the projector seeing it (the
            // default, 500 ms, made the end-to-end lag p50 about a second).
            .set("fetch.wait.max.ms", "20");
        c
    }
}
