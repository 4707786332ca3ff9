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
