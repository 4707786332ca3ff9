//! `Projector::subscribe`: bumped once per committed batch that applied events, never otherwise.

mod common;

use common::{delivery, Counting};
use eventstore::testing::TestDatabase;
use projector::Projector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_counts_batches_that_applied_events() {
    let db = TestDatabase::sqlite();
    let projector = Projector::open(Counting::default(), &db.url)
        .await
        .expect("open");
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
