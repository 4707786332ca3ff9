//! Topic administration: topics are created by the deployment (and by tests), never auto-created.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
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
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new, &opts).await? {
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
