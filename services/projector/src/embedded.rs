//! Embedded source: feeds a projector straight from an event store's commit-safe global order, with
//! the store cursor as checkpoint. Used when no Kafka is configured.

use std::sync::Arc;
use std::time::Duration;

use eventstore::{EventStore, GlobalCursor};
use tokio_util::sync::CancellationToken;

use crate::{Checkpoint, Delivery, Projection, Projector};

/// Events read and applied per transaction.
const BATCH: u32 = 500;

/// The source name under which a projector fed from the event store named `store_name` keeps
/// its checkpoint and watermark: `store:<store_name>`.
pub fn source(store_name: &str) -> String {
    format!("store:{store_name}")
}

/// Follows `store` (named `store_name` in checkpoints) until `shutdown` is cancelled, [`BATCH`]
/// events per transaction, the next batch read while one is applied (used when it is full and
/// that one committed). The batch in progress is finished before returning, so nothing is half-applied; a
/// crash instead rolls it back.
pub async fn run<P: Projection>(
    projector: Arc<Projector<P>>,
    store: EventStore,
    store_name: &str,
    shutdown: CancellationToken,
) {
    let source: Arc<str> = source(store_name).into();
    let mut head = store.subscribe();
    let mut cursor = loop {
        match projector.checkpoint(&source).await {
            Ok(c) => {
                break c
                    .map(|c| GlobalCursor {
                        tx_id: c.a,
                        position: c.b,
                    })
                    .unwrap_or_default()
            }
            Err(e) => {
                tracing::warn!(projector = projector.name(), error = %e, "checkpoint unreadable, retrying");
                if sleep_or_stop(&shutdown, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    };
    // The batch after the one being applied, read while it is applied.
    let mut prefetched = None;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let read = match prefetched.take() {
            Some(read) => read,
            None => store.read_committed(cursor, BATCH).await,
        };
        let batch = match read {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(projector = projector.name(), error = %e, "event store unreadable");
                if sleep_or_stop(&shutdown, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
        };
        let Some(last) = batch.last().map(|e| e.cursor()) else {
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        };
        let deliveries: Vec<Delivery> = batch
            .into_iter()
            .map(|e| Delivery::of_event(e, source.clone()))
            .collect();
        let checkpoint = [Checkpoint {
            source: source.to_string(),
            a: last.tx_id,
            b: last.position,
        }];
        // The next batch is read while this one is applied, so a projector working through a
        // backlog waits for the database once per batch. It is used only once this batch
        // committed, and only when full: events committed during the apply would otherwise wait
        // for the batch after it. On failure it is dropped and the batch read again.
        let (applied, next) = tokio::join!(
            projector.apply_batch(&deliveries, &checkpoint),
            store.read_committed(last, BATCH)
        );
        match applied {
            Ok(_) => {
                cursor = last;
                prefetched = next
                    .as_ref()
                    .is_ok_and(|b| b.len() == BATCH as usize)
                    .then_some(next);
            }
            Err(e) => {
                tracing::warn!(projector = projector.name(), error = %e, "batch failed, retrying");
                if sleep_or_stop(&shutdown, Duration::from_millis(500)).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps for `d`; true when shutdown was requested meanwhile.
async fn sleep_or_stop(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = shutdown.cancelled() => true,
    }
}
