//! Finding out whether a broker answers, before anything is created.

mod support;

use kafka::config::KafkaConfig;

#[tokio::test]
async fn a_running_broker_answers() {
    let Some(config) = support::brokers() else {
        return;
    };
    kafka::admin::reachable(&config).await.unwrap();
}

/// Nothing listens on port 1 of the loopback: the request waits its whole timeout (15 s), then
/// says no broker answered.
#[tokio::test]
async fn a_broker_that_does_not_answer_is_told_apart() {
    let error = kafka::admin::reachable(&KafkaConfig::new("127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(kafka::admin::unanswered(&error), "{error:?}");
}

/// A topic's records are counted over its partitions; an unknown topic is an error.
#[tokio::test]
async fn the_records_of_a_topic_are_counted() {
    let Some(config) = support::brokers() else {
        return;
    };
    let topic = support::fresh_topic(&config, 3).await;
    let producer: rdkafka::producer::FutureProducer = config.producer().create().unwrap();
    // The topic's metadata reaches every broker after its creation.
    kafka::admin::wait_for_topic(
        &producer,
        &topic,
        Some(3),
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(kafka::admin::records(&config, &topic).await.unwrap(), 0);
    for (i, key) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        producer
            .send(
                rdkafka::producer::FutureRecord::to(&topic)
                    .key(*key)
                    .payload(&format!("{i}")),
                std::time::Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    assert_eq!(kafka::admin::records(&config, &topic).await.unwrap(), 5);
    let unknown = format!("test.unknown.{}", uuid::Uuid::new_v4().simple());
    assert!(kafka::admin::records(&config, &unknown).await.is_err());
    kafka::admin::delete_topics(&config, &[&topic])
        .await
        .unwrap();
}

/// Topics are created to keep their records for ever (read models are rebuilt from offset 0).
#[tokio::test]
async fn topics_are_created_without_retention_limits() {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    let Some(config) = support::brokers() else {
        return;
    };
    let topic = support::fresh_topic(&config, 1).await;
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = config.base().create().unwrap();
    let described = admin
        .describe_configs(&[ResourceSpecifier::Topic(&topic)], &AdminOptions::new())
        .await
        .unwrap();
    let resource = described[0].as_ref().expect("the topic's configuration");
    let value = |name: &str| {
        resource
            .get(name)
            .and_then(|entry| entry.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(value("retention.ms"), "-1", "{resource:?}");
    assert_eq!(value("retention.bytes"), "-1", "{resource:?}");
}
