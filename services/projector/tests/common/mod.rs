//! What the projector runtime's tests share: a projection that counts what it applies, and
//! deliveries of synthetic events.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eventstore::{Backend, RecordedEvent};
use futures::future::BoxFuture;
use projector::{Applied, Delivery, Projection, ProjectionError};
use sqlx::AnyConnection;

/// Applies `test.Known` events, passes over every other type, parks `test.Bad`, fails the batch
/// (as a database error would) on `test.Fail`; counts the events it applied in `applied` (a
/// handle the test keeps; rolled-back applications count too).
#[derive(Default)]
pub struct Counting {
    pub applied: Arc<AtomicU64>,
}

impl Projection for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    fn schema(&self, _backend: Backend) -> Vec<String> {
        Vec::new()
    }

    fn apply<'a>(
        &'a self,
        _conn: &'a mut AnyConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<Applied, ProjectionError>> {
        Box::pin(async move {
            match event.event_type.as_str() {
                "test.Known" => {
                    self.applied.fetch_add(1, Ordering::Relaxed);
                    Ok(Applied::Applied)
                }
                "test.Bad" => Err(ProjectionError::Poison("bad".into())),
                "test.Fail" => Err(ProjectionError::Store(sqlx::Error::Protocol(
                    "the database failed".into(),
                ))),
                _ => Ok(Applied::UnknownType),
            }
        })
    }
}

/// A decoded event of `event_type` at `position`, on a stream of its own, from source `test`.
pub fn delivery(position: i64, event_type: &str) -> Delivery {
    delivery_from("test", position, event_type)
}

/// A decoded event of `event_type` at `position`, on a stream of its own, from `source`.
pub fn delivery_from(source: &str, position: i64, event_type: &str) -> Delivery {
    let event = RecordedEvent {
        event_id: uuid::Uuid::now_v7(),
        stream_id: format!("s-{position}"),
        stream_version: 1,
        position,
        tx_id: position,
        event_type: event_type.to_string(),
        occurred_at_micros: 0,
        recorded_at_micros: 0,
        command_id: format!("c-{position}"),
        correlation_id: String::new(),
        causation_id: String::new(),
        actor: "test".into(),
        traceparent: String::new(),
        payload: Vec::new(),
        hash: Vec::new(),
    };
    Delivery::of_event(event, source.into())
}
