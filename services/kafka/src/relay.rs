//! The outbox relay: event store → Kafka topic, in commit-safe order, never skipping.
//!
//! The relay reads committed events after its checkpoint in batches (the store's commit-safe
//! order never hands out an event while an older transaction may still commit before it) and
//! enqueues them on an idempotent producer keyed by stream id; a batch's checkpoint is saved only
//! once the broker acknowledged every event of it. The next batch is read and enqueued while the
//! previous one is being acknowledged, so the store and the broker work at the same time. A crash between the acknowledgement and the checkpoint
//! republishes a tail of events: delivery is at least once, and consumers skip the copies by
//! their global positions (see `projector::Projector::apply_batch`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eventstore::{EventStore, GlobalCursor, RecordedEvent, StoreError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::headers;

/// Events read and enqueued at a time (one store read, one checkpoint).
const BATCH: u32 = 5000;

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
    config: KafkaConfig,
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
            config: config.clone(),
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

    /// Waits (up to `within`) until the broker reports the topic with a leader for each of its
    /// partitions, so that the first deliveries do not wait for metadata.
    pub async fn ready(&self, within: Duration) -> Result<(), KafkaError> {
        crate::admin::wait_for_topic(&self.producer, &self.topic, None, within).await
    }

    /// Publishes until `shutdown`, then drains what is committed (bounded by 10 s) and returns.
    /// Records are never given up on (an unreachable broker is waited for); a producer stopped
    /// by an error that could leave a gap in a partition is replaced before publishing again
    /// from the checkpoint.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let before = self.published.load(Ordering::Relaxed);
            let streamed = tokio::select! {
                r = self.stream(&shutdown) => r,
                // Waiting for acknowledgements that may never come: what was not acknowledged
                // is published again at the next start.
                _ = shutdown.cancelled() => Ok(()),
            };
            match streamed {
                Ok(()) => break,
                Err(e) => {
                    let progressed = self.published.load(Ordering::Relaxed) > before;
                    failures = if progressed { 1 } else { failures + 1 };
                    let backoff = Duration::from_millis(200 * u64::from(failures.min(25)));
                    tracing::warn!(topic = %self.topic, error = %e, ?backoff, "relay failed, resuming from its checkpoint");
                    if let Some((code, reason)) = self.producer.client().fatal_error() {
                        tracing::warn!(topic = %self.topic, ?code, reason, "the producer stopped for good; starting a new one");
                        match self.config.producer().create() {
                            Ok(producer) => self.producer = producer,
                            Err(e) => {
                                tracing::warn!(topic = %self.topic, error = %e, "no new producer; trying again after the back-off")
                            }
                        }
                    }
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

    /// Publishes from the saved checkpoint until `shutdown`, overlapping the store and the broker:
    /// the next batch is read and enqueued while the broker acknowledges the previous one, whose
    /// checkpoint is saved once every event of it was acknowledged. On error the caller starts
    /// again from the saved checkpoint (what was in flight is published again: at least once).
    async fn stream(&self, shutdown: &CancellationToken) -> Result<(), RelayError> {
        let mut head = self.store.subscribe();
        let mut cursor = self.store.load_checkpoint(&self.checkpoint).await?;
        let mut in_flight: Option<InFlight> = None;
        while !shutdown.is_cancelled() {
            let events = self.store.read_committed(cursor, BATCH).await?;
            if let Some(last) = events.last().map(|e| e.cursor()) {
                let deliveries = self.enqueue(&events, &mut in_flight).await?;
                cursor = last;
                if let Some(previous) = in_flight.replace(InFlight { last, deliveries }) {
                    self.settle(previous).await?;
                }
                continue;
            }
            if let Some(previous) = in_flight.take() {
                self.settle(previous).await?;
                continue;
            }
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = shutdown.cancelled() => {}
            }
        }
        if let Some(previous) = in_flight.take() {
            self.settle(previous).await?;
        }
        Ok(())
    }

    /// Enqueues `events` on the producer. When its local queue is full, waits for the batch in
    /// flight (settling it) or, with none, for this batch's earlier deliveries.
    async fn enqueue(
        &self,
        events: &[RecordedEvent],
        in_flight: &mut Option<InFlight>,
    ) -> Result<Vec<DeliveryFuture>, RelayError> {
        let mut pending: Vec<DeliveryFuture> = Vec::with_capacity(events.len());
        for event in events {
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
                        record = back;
                        match in_flight.take() {
                            Some(previous) => self.settle(previous).await?,
                            None => await_all(&mut pending, &self.published).await?,
                        }
                    }
                    Err((e, _)) => return Err(e.into()),
                }
            }
        }
        Ok(pending)
    }

    /// Waits for every delivery of a batch, then saves its checkpoint.
    async fn settle(&self, mut batch: InFlight) -> Result<(), RelayError> {
        await_all(&mut batch.deliveries, &self.published).await?;
        self.store
            .save_checkpoint(&self.checkpoint, batch.last)
            .await?;
        Ok(())
    }

    /// One pass: publishes up to a batch of committed events after the checkpoint and saves the
    /// checkpoint when all were acknowledged. Returns how many were published.
    pub async fn publish_pass(&self) -> Result<usize, RelayError> {
        let cursor = self.store.load_checkpoint(&self.checkpoint).await?;
        let events = self.store.read_committed(cursor, BATCH).await?;
        let Some(last) = events.last().map(|e| e.cursor()) else {
            return Ok(0);
        };
        let deliveries = self.enqueue(&events, &mut None).await?;
        self.settle(InFlight { last, deliveries }).await?;
        Ok(events.len())
    }
}

/// A batch enqueued and not yet wholly acknowledged.
struct InFlight {
    /// Cursor of its last event: the checkpoint once it is acknowledged.
    last: GlobalCursor,
    deliveries: Vec<DeliveryFuture>,
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
