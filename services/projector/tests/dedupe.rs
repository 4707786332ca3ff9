//! The runtime's dedupe records (`projector_processed`), and a projection that opts out of them
//! (`Projection::dedupe`).

mod common;

use common::{delivery, Counting};
use eventstore::testing::TestDatabase;
use projector::Projector;
use sqlx::Row;
use std::sync::atomic::Ordering;

async fn dedupe_rows(projector: &Projector<Counting>) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM projector_processed WHERE projector = $1")
        .bind(projector.name())
        .fetch_one(projector.pool())
        .await
        .expect("count dedupe rows")
        .try_get(0)
        .expect("a count")
}

/// Runs the same deliveries through a projector: a batch with a second copy of its first
/// event, then the first event redelivered alone. Returns the projection's applications, the
/// reports' applied and duplicate counts, and the dedupe rows left.
async fn redeliver(dedupe: bool) -> (u64, u64, u64, i64) {
    let db = TestDatabase::sqlite();
    let counting = Counting::new(dedupe);
    let applied = counting.applied.clone();
    let projector = Projector::open(counting, &db.url).await.expect("open");
    let first = delivery(1, "test.Known");
    let batch = [first.clone(), first.clone(), delivery(2, "test.Known")];
    let one = projector.apply_batch(&batch, &[]).await.expect("batch");
    let again = projector.apply_batch(&[first], &[]).await.expect("again");
    (
        applied.load(Ordering::Relaxed),
        one.applied + again.applied,
        one.duplicates + again.duplicates,
        dedupe_rows(&projector).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_events_are_skipped_with_dedupe_records() {
    // Two distinct events applied once each; the copy in the batch and the redelivery skipped.
    assert_eq!(redeliver(true).await, (2, 2, 2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_without_dedupe_gets_redeliveries_and_leaves_no_records() {
    // The copy within the batch is still skipped; the redelivery in a later batch reaches the
    // projection again; no dedupe row is written.
    assert_eq!(redeliver(false).await, (3, 3, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_an_earlier_version_kept_are_deleted_when_the_projection_opts_out() {
    let db = TestDatabase::sqlite();
    let before = Projector::open(Counting::new(true), &db.url)
        .await
        .expect("open");
    let batch = [delivery(1, "test.Known"), delivery(2, "test.Known")];
    before.apply_batch(&batch, &[]).await.expect("batch");
    assert_eq!(dedupe_rows(&before).await, 2);
    drop(before);
    let after = Projector::open(Counting::new(false), &db.url)
        .await
        .expect("reopen");
    assert_eq!(dedupe_rows(&after).await, 0);
}
