//! Topic administration: topics are created by the deployment (and by tests), never auto-created.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConfig;

/// Event topic name of a context: `bottomline.<context>.events.v1`.
pub fn events_topic(context: &str) -> String {
    format!("bottomline.{context}.events.v1")
}

/// Dead-letter topic of one projector reading `topic`.
pub fn dead_letter_topic(topic: &str, projector: &str) -> String {
    format!("{topic}.{projector}.dlq")
}

/// How long an admin request may take in all (finding a broker, the broker's work, the answer):
/// an unreachable broker fails the request after this, not after librdkafka's default of 60 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the broker may take to carry the operation out; less than [`REQUEST_TIMEOUT`], which
/// bounds the whole request.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of every admin request here.
fn options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(OPERATION_TIMEOUT))
}

/// True when `error` says no broker answered a request of [`reachable`] or an admin request
/// within [`REQUEST_TIMEOUT`]: none listens at the addresses given, none is reachable, or their
/// names do not resolve.
pub fn unanswered(error: &KafkaError) -> bool {
    let code = match error {
        KafkaError::AdminOp(code) | KafkaError::MetadataFetch(code) => code,
        _ => return false,
    };
    matches!(
        code,
        RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve
    )
}

/// Asks the brokers for the cluster's metadata and waits up to [`REQUEST_TIMEOUT`] for an
/// answer, so that a process can find out that none answers before it creates anything.
pub async fn reachable(config: &KafkaConfig) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.base().create()?;
    tokio::task::spawn_blocking(move || {
        admin
            .inner()
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map(|_| ())
    })
    .await
    .map_err(|_| KafkaError::Canceled)?
}

/// Records `topic` holds (high minus low watermark, summed over its partitions). Each request
/// (the metadata, then one per partition) may take up to [`REQUEST_TIMEOUT`]. Errors: the topic
/// unknown, or no broker answering.
pub async fn records(config: &KafkaConfig, topic: &str) -> Result<i64, KafkaError> {
    let consumer: BaseConsumer = config.base().create()?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(Some(&topic), REQUEST_TIMEOUT)?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopic));
        }
        let mut total = 0;
        for p in partitions {
            let (low, high) = consumer.fetch_watermarks(&topic, p, REQUEST_TIMEOUT)?;
            total += high - low;
        }
        Ok(total)
    })
    .await
    .map_err(|_| KafkaError::Canceled)?
}

/// Creates each topic with `partitions` partitions (replication 1 unless the broker says more is
/// needed) when it does not exist yet. An existing topic is left as it is.
pub async fn ensure_topics(
    config: &KafkaConfig,
    topics: &[&str],
    partitions: i32,
) -> Result<(), rdkafka::error::KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.base().create()?;
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            // Kept for ever: read models are rebuilt, and the audit replays, from offset 0.
            NewTopic::new(t, partitions, TopicReplication::Fixed(1))
                .set("retention.ms", "-1")
                .set("retention.bytes", "-1")
        })
        .collect();
    for result in admin.create_topics(&new, &options()).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(rdkafka::error::KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(topic, ?code, "topic creation failed");
                })
            }
        }
    }
    Ok(())
}

/// Deletes `topics` (throw-away ones: the bench's, tests'); a topic that does not exist counts as
/// deleted. Brokers that refuse deletions return their error code.
pub async fn delete_topics(config: &KafkaConfig, topics: &[&str]) -> Result<(), KafkaError> {
    if topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = config.base().create()?;
    for result in admin.delete_topics(topics, &options()).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    Ok(())
}

/// Waits (up to `within`) until the broker reports `topic` without error, with `partitions`
/// partitions when given (at least one otherwise), each with a leader: a producer that waited
/// for this does not spend its first deliveries on metadata.
pub async fn wait_for_topic(
    producer: &FutureProducer,
    topic: &str,
    partitions: Option<usize>,
    within: Duration,
) -> Result<(), KafkaError> {
    let deadline = Instant::now() + within;
    loop {
        let (p, t) = (producer.clone(), topic.to_string());
        let ready = tokio::task::spawn_blocking(move || {
            let metadata = p
                .client()
                .fetch_metadata(Some(&t), Duration::from_secs(5))?;
            Ok::<_, KafkaError>(metadata.topics().iter().any(|mt| {
                mt.name() == t
                    && mt.error().is_none()
                    && !mt.partitions().is_empty()
                    && partitions.is_none_or(|n| mt.partitions().len() == n)
                    && mt.partitions().iter().all(|p| p.leader() >= 0)
            }))
        })
        .await
        .map_err(|_| KafkaError::Canceled)?;
        match ready {
            Ok(true) => return Ok(()),
            Ok(false) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(false) => return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopic)),
            Err(e) => return Err(e),
        }
    }
}
