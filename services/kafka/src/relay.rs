//! The outbox relay: event store → Kafka topic, in commit-safe order, never skipping.
//!
//! Each pass reads committed events after the relay's checkpoint (the store's commit-safe order
//! never hands out an event while an older transaction may still commit before it), enqueues them
//! all on an idempotent producer keyed by stream id, waits until the broker acknowledged every one,
//! and only then saves the checkpoint. A crash between the acknowledgement and the checkpoint
//! republishes a tail of events: delivery is at least once, and consumers dedupe by event id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eventstore::{EventStore, StoreError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::headers;

/// Events read and published per pass.
const BATCH: u32 = 2000;

/// Why a pass failed; the next pass starts again from the saved checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The broker refused or did not acknowledge an event.
    #[error("kafka delivery failed: {0}")]
    Kafka(#[from] KafkaError),
}

/// Publishes one event store to one topic.
pub struct Relay {
    store: EventStore,
    producer: FutureProducer,
    topic: String,
    source: String,
    checkpoint: String,
    published: Arc<AtomicU64>,
}

impl Relay {
    /// A relay from `store` to `topic`; `source` is the CloudEvents source
    /// (e.g. `/bottomline/registry`). The topic must exist.
    pub fn new(
        config: &KafkaConfig,
        store: EventStore,
        topic: &str,
        source: &str,
    ) -> Result<Relay, KafkaError> {
        Ok(Relay {
            store,
            producer: config.producer().create()?,
            topic: topic.to_string(),
            source: source.to_string(),
            checkpoint: format!("relay:{topic}"),
            published: Arc::default(),
        })
    }

    /// Number of events acknowledged by the broker since start (including republished ones).
    pub fn published(&self) -> Arc<AtomicU64> {
        self.published.clone()
    }

    /// Publishes until `shutdown`, then drains what is committed (bounded by 10 s) and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut head = self.store.subscribe();
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            match self.publish_pass().await {
                Ok(0) => {
                    failures = 0;
                    tokio::select! {
                        _ = head.changed() => {}
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    let backoff = Duration::from_millis(200 * u64::from(failures.min(25)));
                    tracing::warn!(topic = %self.topic, error = %e, ?backoff, "relay pass failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
        }
        let drain = async {
            while let Ok(n) = self.publish_pass().await {
                if n == 0 {
                    break;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), drain)
            .await
            .is_err()
        {
            tracing::warn!(topic = %self.topic, "relay drain timed out; the rest goes out at next start");
        }
        let _ = self.producer.flush(Duration::from_secs(5));
    }

    /// One pass: publishes up to a batch of committed events after the checkpoint and saves the
    /// checkpoint when all were acknowledged. Returns how many were published.
    pub async fn publish_pass(&self) -> Result<usize, RelayError> {
        let cursor = self.store.load_checkpoint(&self.checkpoint).await?;
        let events = self.store.read_committed(cursor, BATCH).await?;
        let Some(last) = events.last().map(|e| e.cursor()) else {
            return Ok(0);
        };
        let mut pending: Vec<DeliveryFuture> = Vec::with_capacity(events.len());
        for event in &events {
            let headers = headers::encode(event, &self.source);
            let mut record = FutureRecord::to(&self.topic)
                .key(&event.stream_id)
                .payload(&event.payload)
                .headers(headers);
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // The local queue is full: wait for what is in flight, then enqueue again.
                        record = back;
                        await_all(&mut pending, &self.published).await?;
                    }
                    Err((e, _)) => return Err(e.into()),
                }
            }
        }
        await_all(&mut pending, &self.published).await?;
        self.store.save_checkpoint(&self.checkpoint, last).await?;
        Ok(events.len())
    }
}

async fn await_all(
    pending: &mut Vec<DeliveryFuture>,
    published: &AtomicU64,
) -> Result<(), KafkaError> {
    for delivery in pending.drain(..) {
        match delivery.await {
            Ok(Ok(_)) => {
                published.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err((e, _))) => return Err(e),
            Err(_cancelled) => return Err(KafkaError::Canceled),
        }
    }
    Ok(())
}
