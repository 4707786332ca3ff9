//! Capacity of the relay and of a projector, measured by replaying the registry's whole event
//! store after the load: the relay publishes it to a fresh topic, and a fresh MARA projector
//! applies it into a fresh read-model database (from that topic with Kafka, from the store
//! otherwise). Unlike the throughput sampled during the load, which can only follow the load's
//! rate, this is what each can do when it has a backlog — the figure to hold against the raw
//! baselines. The relay's capacity is the median of [`RUNS`] replays, each to a fresh topic, as
//! the raw producer's is the median of as many runs. The projector is timed from its first
//! committed batch (the events after it, over the time after it), so that joining a consumer
//! group is not counted, as it is not for the raw consumers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use eventstore::EventStore;
use kafka::config::KafkaConfig;
use mara::MaraProjection;
use projector::Projector;
use tokio_util::sync::CancellationToken;

use super::suite::Throughput;

/// Relay replays whose median is the relay's capacity.
pub const RUNS: usize = 3;

/// The relay's capacity: the median run, and every run's events per second.
pub struct RelayCapacity {
    /// The median run.
    pub median: Throughput,
    /// Events per second of each run, in run order.
    pub runs_per_second: Vec<f64>,
}

/// One topic per run, [`RUNS`] of them: `<topic>.<run>` (the relay replays', and the raw
/// baseline's, which has as many runs).
pub fn topics(topic: &str) -> Vec<String> {
    (0..RUNS).map(|run| format!("{topic}.{run}")).collect()
}

/// Replays `store` (`events` events): through a relay to each of `topics` (see [`topics`]) when
/// `kafka` is given, then once into a fresh projector whose read model lives at
/// `read_model_url` (from the first topic). Every replay topic is deleted afterwards, also after
/// a failure (when the broker allows it).
pub async fn run(
    store: &EventStore,
    events: u64,
    kafka: Option<(&KafkaConfig, &[String])>,
    read_model_url: &str,
) -> anyhow::Result<(Option<RelayCapacity>, Throughput)> {
    let (config, topics) = kafka.unzip();
    let topics = topics.unwrap_or_default();
    let replayed = replay(store, events, config, topics, read_model_url).await;
    if let Some(config) = config {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        if let Err(e) = kafka::admin::delete_topics(config, &names).await {
            tracing::warn!(?topics, error = %e, "replay topics not deleted");
        }
    }
    replayed
}

/// [`run`] with the relay's topics named: one per relay replay, the first one read back by the
/// projector.
async fn replay(
    store: &EventStore,
    events: u64,
    kafka: Option<&KafkaConfig>,
    topics: &[String],
    read_model_url: &str,
) -> anyhow::Result<(Option<RelayCapacity>, Throughput)> {
    let relay = match kafka {
        Some(config) => {
            let mut runs = Vec::with_capacity(topics.len());
            for topic in topics {
                runs.push(relay_once(config, store, topic, events).await?);
            }
            let runs_per_second: Vec<f64> = runs.iter().map(|t| t.events_per_second).collect();
            Some(RelayCapacity {
                median: runs.swap_remove(super::suite::median_index(&runs_per_second)),
                runs_per_second,
            })
        }
        None => None,
    };
    let projector = Arc::new(
        Projector::open(MaraProjection::new(), read_model_url)
            .await
            .context("opening the replay read model")?,
    );
    let stop = CancellationToken::new();
    let started = Instant::now();
    let task = {
        let (p, stop) = (projector.clone(), stop.clone());
        match kafka {
            Some(config) => {
                let config = config.clone();
                let topic = topics[0].clone();
                let group = format!("{topic}.replay-projector");
                tokio::spawn(async move {
                    if let Err(e) =
                        kafka::consumer::run(&config, p, &group, &topic, None, stop).await
                    {
                        tracing::error!(error = %e, "replay consumer failed");
                    }
                })
            }
            None => {
                let store = store.clone();
                tokio::spawn(
                    async move { projector::embedded::run(p, store, "registry", stop).await },
                )
            }
        }
    };
    let metrics = projector.metrics();
    let handled = || super::suite::handled(&metrics);
    let wait_until = |count: u64| async move {
        while handled() < count {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(300),
                "projector replay: {} of {events} events after 300 s",
                handled()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    };
    // Timed from its first committed batch: joining the consumer group (a second or more on
    // some brokers) is not throughput, and the raw consumers are timed from their assignment.
    wait_until(1).await?;
    let (first_batch, first_at) = (handled(), Instant::now());
    wait_until(events).await?;
    let applied = if handled() > first_batch {
        throughput(handled() - first_batch, first_at)
    } else {
        throughput(handled(), started)
    };
    stop.cancel();
    task.await?;
    projector.pool().close().await;
    Ok((relay, applied))
}

/// One relay replay of `store` to a fresh `topic`, timed from when the topic's metadata arrived.
async fn relay_once(
    config: &KafkaConfig,
    store: &EventStore,
    topic: &str,
    events: u64,
) -> anyhow::Result<Throughput> {
    kafka::admin::ensure_topics(config, &[topic], 3)
        .await
        .context("creating the replay topic")?;
    let relay = kafka::relay::Relay::new(config, store.clone(), topic, registry::SOURCE)?;
    // As for the raw producer baseline, metadata look-ups are not timed.
    relay.ready(Duration::from_secs(30)).await?;
    let published = relay.published();
    let stop = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(relay.run(stop.clone()));
    while published.load(Ordering::Relaxed) < events {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "relay replay: {} of {events} events after 120 s",
            published.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let measured = throughput(published.load(Ordering::Relaxed), started);
    stop.cancel();
    task.await?;
    Ok(measured)
}

fn throughput(events: u64, started: Instant) -> Throughput {
    let seconds = started.elapsed().as_secs_f64();
    Throughput {
        events,
        seconds,
        events_per_second: events as f64 / seconds,
    }
}
