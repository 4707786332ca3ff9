//! `Projector::subscribe`: bumped once per committed batch that applied events, never otherwise.

use eventstore::testing::TestDatabase;
use eventstore::{Backend, RecordedEvent};
use futures::future::BoxFuture;
use projector::{Applied, Delivery, Projection, ProjectionError, Projector};
use sqlx::AnyConnection;

/// Applies `test.Known` events, passes over every other type, parks `test.Bad`.
struct Counting;

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
                "test.Known" => Ok(Applied::Applied),
                "test.Bad" => Err(ProjectionError::Poison("bad".into())),
                _ => Ok(Applied::UnknownType),
            }
        })
    }
}

fn delivery(position: i64, event_type: &str) -> Delivery {
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
    Delivery::of_event(event, "test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_counts_batches_that_applied_events() {
    let db = TestDatabase::sqlite();
    let projector = Projector::open(Counting, &db.url).await.expect("open");
    let mut changes = projector.subscribe();
    assert_eq!(*changes.borrow_and_update(), 0);

    let known = delivery(1, "test.Known");
    projector
        .apply_batch(&[known.clone(), delivery(2, "test.Known")], &[])
        .await
        .unwrap();
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), 1);

    // Redelivery, unknown types and poison alone leave the read model as it was: no bump.
    projector
        .apply_batch(
            &[known, delivery(3, "test.Other"), delivery(4, "test.Bad")],
            &[],
        )
        .await
        .unwrap();
    assert!(!changes.has_changed().unwrap());

    projector
        .apply_batch(&[delivery(5, "test.Known")], &[])
        .await
        .unwrap();
    changes.changed().await.unwrap();
    assert_eq!(*changes.borrow_and_update(), 2);
}
