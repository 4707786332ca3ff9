//! librdkafka settings shared by every client, each non-default one with the reason for it.

use std::time::Duration;

use rdkafka::ClientConfig;

/// How long the broker waits for a projector consumer's heartbeat before it hands the member's
/// partitions to the rest of its group (`session.timeout.ms`).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the brokers are and how this process names itself to them.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list.
    pub brokers: String,
    /// Client id prefix shown in broker logs.
    pub client_id: String,
    /// This process's name as a static member of its consumer groups (16 hex digits, see
    /// [`KafkaConfig::static_member`]); `None`: dynamic members.
    pub instance: Option<String>,
}

impl KafkaConfig {
    /// A config for `brokers` with client id `bottomline`, consumers joining as dynamic members.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: "bottomline".into(),
            instance: None,
        }
    }

    /// Consumers join their groups as static members (KIP-345, `group.instance.id` =
    /// `<group>.<16 hex digits of SHA-256(identity)>`). `identity` must name this process
    /// among those alive and stay the same across its restarts (a host and a data directory:
    /// one process per service and data directory). A restarted process then takes its
    /// partitions back as soon as it has joined, where a dynamic member waits for the killed
    /// one's session to expire — and a broker that never expires sessions (tansu 0.6) kept them
    /// from it for good.
    /// A stopped static member does not leave its group, even on a clean stop: when it comes
    /// back under another identity (another host name, as a rescheduled container gets), its
    /// partitions wait [`SESSION_TIMEOUT`] before they go to another member — on a broker that
    /// never expires sessions, until the old identity comes back. Two live processes with one
    /// identity fence each other: the broker stops the older consumer for good.
    pub fn static_member(mut self, identity: &str) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(identity.as_bytes());
        self.instance = Some(hex::encode(&digest[..8]));
        self
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
            // Never give up on a record: a record that timed out while later ones were delivered
            // would leave a gap in its partition, and its copy, published again by the relay,
            // would land after them, where consumers skip it as below their watermark
            // (`projector::Projector::apply_batch`). Retries keep a partition's order.
            .set("message.timeout.ms", "0")
            // An error that could leave a gap anyway (a record refused for good) stops the
            // producer instead of letting later records through; the relay then starts a new
            // producer and publishes again from its checkpoint.
            .set("enable.gapless.guarantee", "true")
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
            .set("fetch.wait.max.ms", "20")
            // A member that stops without leaving the group (a killed process) keeps its
            // partitions until its session expires: 10 s, not librdkafka's 45 s, so a restarted
            // projector resumes within seconds. Heartbeats every 3 s (a third of it, as Kafka
            // advises).
            .set(
                "session.timeout.ms",
                SESSION_TIMEOUT.as_millis().to_string(),
            )
            .set("heartbeat.interval.ms", "3000");
        if let Some(instance) = &self.instance {
            c.set("group.instance.id", instance_id(group, instance));
        }
        c
    }
}

/// `<group>.<instance>` with every character Kafka does not take in a group instance id
/// (alphanumerics, `.`, `_`, `-`; at most 249) replaced by `_`.
fn instance_id(group: &str, instance: &str) -> String {
    let id: String = format!("{group}.{instance}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cut = id.len().saturating_sub(249);
    id[cut..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_members_are_named_by_group_and_identity_in_kafka_characters() {
        let config = KafkaConfig::new("b:9092").static_member("host\0/var/lib/bottomline");
        let instance = config.instance.clone().unwrap();
        assert_eq!(instance.len(), 16);
        let id = config
            .consumer("mara.prod")
            .get("group.instance.id")
            .unwrap()
            .to_owned();
        assert_eq!(id, format!("mara.prod.{instance}"));
        // Another identity, another name; the same one, the same name.
        let other = KafkaConfig::new("b:9092").static_member("host\0/srv/other");
        assert_ne!(other.instance, config.instance);
        assert_eq!(
            KafkaConfig::new("b:9092")
                .static_member("host\0/var/lib/bottomline")
                .instance,
            config.instance
        );
        assert_eq!(instance_id("mara/ns x", "ab"), "mara_ns_x.ab");
        // The end (the instance) is kept when too long.
        let long = instance_id(&"g".repeat(300), "0123456789abcdef");
        assert_eq!(long.len(), 249);
        assert!(long.ends_with(".0123456789abcdef"));
        // Dynamic members name none.
        assert!(KafkaConfig::new("b")
            .consumer("g")
            .get("group.instance.id")
            .is_none());
    }
}
