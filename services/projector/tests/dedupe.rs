//! Dedupe by per-source watermark (`projector_watermarks`): an event at or below the highest
//! global position applied from its source is a duplicate, on both backends.

mod common;

use common::{delivery, delivery_from, Counting};
use eventstore::testing::TestDatabase;
use eventstore::Backend;
use projector::Projector;
use sqlx::Row;
use std::sync::atomic::Ordering;

/// Every backend this machine offers: SQLite always, PostgreSQL when configured.
async fn databases() -> Vec<TestDatabase> {
    let mut dbs = vec![TestDatabase::sqlite()];
    dbs.extend(TestDatabase::new(Backend::Postgres).await);
    dbs
}

async fn watermark(projector: &Projector<Counting>, source: &str) -> Option<i64> {
    sqlx::query("SELECT position FROM projector_watermarks WHERE projector = $1 AND source = $2")
        .bind(projector.name())
        .bind(source)
        .fetch_optional(projector.pool())
        .await
        .expect("read watermark")
        .map(|r| r.try_get(0).expect("a position"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_within_a_batch_across_batches_and_after_reopening_are_skipped() {
    for db in databases().await {
        let counting = Counting::default();
        let applied = counting.applied.clone();
        let projector = Projector::open(counting, &db.url).await.expect("open");
        let (first, second) = (delivery(1, "test.Known"), delivery(2, "test.Known"));
        let one = projector
            .apply_batch(&[first.clone(), first.clone(), second.clone()], &[])
            .await
            .expect("batch");
        assert_eq!((one.applied, one.duplicates), (2, 1), "{}", db.url);
        let again = projector
            .apply_batch(std::slice::from_ref(&second), &[])
            .await
            .expect("again");
        assert_eq!((again.applied, again.duplicates), (0, 1));
        drop(projector);

        // The watermark is stored: a projector opened again (a restart) skips the copies too,
        // and applies what is above it.
        let projector = Projector::open(
            Counting {
                applied: applied.clone(),
            },
            &db.url,
        )
        .await
        .expect("reopen");
        let third = delivery(3, "test.Known");
        let after = projector
            .apply_batch(&[first, second, third], &[])
            .await
            .expect("after reopening");
        assert_eq!((after.applied, after.duplicates), (1, 2));
        assert_eq!(applied.load(Ordering::Relaxed), 3);
        assert_eq!(watermark(&projector, "test").await, Some(3));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_source_has_its_own_watermark() {
    for db in databases().await {
        let projector = Projector::open(Counting::default(), &db.url)
            .await
            .expect("open");
        // Partition 0 is ahead of partition 1: its position 9 does not hide partition 1's 4.
        let report = projector
            .apply_batch(
                &[
                    delivery_from("t:0", 9, "test.Known"),
                    delivery_from("t:1", 4, "test.Known"),
                    delivery_from("t:1", 7, "test.Known"),
                    delivery_from("t:0", 8, "test.Known"),
                ],
                &[],
            )
            .await
            .expect("batch");
        assert_eq!((report.applied, report.duplicates), (3, 1));
        assert_eq!(watermark(&projector, "t:0").await, Some(9));
        assert_eq!(watermark(&projector, "t:1").await, Some(7));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_a_parked_event_is_a_duplicate_not_parked_again() {
    for db in databases().await {
        let projector = Projector::open(Counting::default(), &db.url)
            .await
            .expect("open");
        let bad = delivery(1, "test.Bad");
        let first = projector
            .apply_batch(std::slice::from_ref(&bad), &[])
            .await
            .expect("batch");
        assert_eq!(first.parked.len(), 1);
        let copy = projector.apply_batch(&[bad], &[]).await.expect("copy");
        assert_eq!((copy.parked.len(), copy.duplicates), (0, 1));
        assert_eq!(projector.parked().await.expect("parked").len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_leaves_the_watermark_where_it_was() {
    for db in databases().await {
        let counting = Counting::default();
        let applied = counting.applied.clone();
        let projector = Projector::open(counting, &db.url).await.expect("open");
        projector
            .apply_batch(&[delivery(1, "test.Known")], &[])
            .await
            .expect("first");
        let failing = [delivery(2, "test.Known"), delivery(3, "test.Fail")];
        assert!(projector.apply_batch(&failing, &[]).await.is_err());
        assert_eq!(watermark(&projector, "test").await, Some(1));
        // Retried without the failure, event 2 is applied, not taken for a duplicate.
        let retried = projector
            .apply_batch(&failing[..1], &[])
            .await
            .expect("retry");
        assert_eq!((retried.applied, retried.duplicates), (1, 0));
        assert_eq!(
            applied.load(Ordering::Relaxed),
            3,
            "1, 2 rolled back, 2 again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_event_records_of_earlier_versions_are_dropped() {
    for db in databases().await {
        let (pool, _) = eventstore::backend::connect(&db.url, 1)
            .await
            .expect("connect");
        sqlx::query(
            "CREATE TABLE projector_processed (projector TEXT NOT NULL, event_id TEXT NOT NULL, \
             PRIMARY KEY (projector, event_id))",
        )
        .execute(&pool)
        .await
        .expect("an earlier version's table");
        sqlx::query("INSERT INTO projector_processed VALUES ('counting', 'e1')")
            .execute(&pool)
            .await
            .expect("a record");
        Projector::open(Counting::default(), &db.url)
            .await
            .expect("open");
        let gone = sqlx::query("SELECT COUNT(*) FROM projector_processed")
            .fetch_one(&pool)
            .await;
        assert!(gone.is_err(), "the table is still there");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_applying_the_same_partition_at_once_apply_each_event_once() {
    for db in databases().await {
        // Two consumers of one read model during a rebalance: the old owner still applying the
        // batch it read, the new one starting on the same records.
        let (first, second) = (Counting::default(), Counting::default());
        let counts = (first.applied.clone(), second.applied.clone());
        let a = Projector::open(first, &db.url).await.expect("open a");
        let b = Projector::open(second, &db.url).await.expect("open b");
        // The partition's watermark row exists already, as it does after its first batch.
        a.apply_batch(&[delivery_from("t:0", 1, "test.Known")], &[])
            .await
            .expect("first batch");
        let batch: Vec<_> = (2..=201)
            .map(|p| delivery_from("t:0", p, "test.Known"))
            .collect();
        let (ra, rb) = tokio::join!(a.apply_batch(&batch, &[]), b.apply_batch(&batch, &[]));
        let (ra, rb) = (ra.expect("a"), rb.expect("b"));
        assert_eq!(ra.applied + rb.applied, 200, "{}", db.url);
        assert_eq!(ra.duplicates + rb.duplicates, 200);
        assert_eq!(
            counts.0.load(Ordering::Relaxed) + counts.1.load(Ordering::Relaxed),
            201
        );
        assert_eq!(watermark(&a, "t:0").await, Some(201));
    }
}
