//! The embedded source (`projector::embedded::run`): it reads the batch after the one being
//! applied meanwhile, and a batch that fails is read and applied again (the batch read ahead
//! dropped), so every event is applied once and in the store's order whatever fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventstore::testing::TestDatabase;
use eventstore::{
    AppendRequest, Backend, CommandMeta, EventStore, ExpectedVersion, NewEvent, RecordedEvent,
};
use futures::future::BoxFuture;
use projector::{Applied, Projection, ProjectionError, Projector};
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

/// Three full batches of the source (500 events each) and part of a fourth: the batch read ahead
/// while the second is applied is full.
const EVENTS: i64 = 1_700;
/// The event whose first application fails (in the second batch, 501..=1000).
const FAILS_ONCE: i64 = 777;

/// Records each event's global position in its read model (a row per application, in order);
/// the first time it meets [`FAILS_ONCE`] the database "fails" and the batch is rolled back.
struct Recording {
    failed: AtomicBool,
}

impl Projection for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        vec![format!(
            "CREATE TABLE IF NOT EXISTS applied (seq {}, position BIGINT NOT NULL)",
            backend.serial_key()
        )]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<Applied, ProjectionError>> {
        Box::pin(async move {
            if event.position == FAILS_ONCE && !self.failed.swap(true, Ordering::SeqCst) {
                return Err(sqlx::Error::Protocol("injected failure".into()).into());
            }
            sqlx::query("INSERT INTO applied (position) VALUES ($1)")
                .bind(event.position)
                .execute(conn)
                .await?;
            Ok(Applied::Applied)
        })
    }
}

async fn append(store: &EventStore, first: i64, count: i64) {
    let requests: Vec<AppendRequest> = (first..first + count)
        .map(|n| AppendRequest {
            stream_id: format!("s-{n}"),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent::now("test.v1.Happened", n.to_le_bytes().to_vec())],
            meta: CommandMeta {
                command_id: format!("c-{n}"),
                fingerprint: vec![1],
                ..Default::default()
            },
        })
        .collect();
    store.append_all(&requests).await.expect("append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_is_applied_again_and_no_prefetched_batch_skips_it() {
    let events_db = TestDatabase::sqlite();
    let read_db = TestDatabase::sqlite();
    let store = EventStore::open(&events_db.url).await.expect("store");
    // Every event before the feed starts, so its batches are 1..=500, 501..=1000 (which fails
    // once, while 1001..=1500 is read ahead) and so on.
    for first in (1..=EVENTS).step_by(200) {
        append(&store, first, 200.min(EVENTS - first + 1)).await;
    }
    let projector = Arc::new(
        Projector::open(
            Recording {
                failed: AtomicBool::new(false),
            },
            &read_db.url,
        )
        .await
        .expect("projector"),
    );
    let stop = CancellationToken::new();
    let feed = tokio::spawn(projector::embedded::run(
        projector.clone(),
        store.clone(),
        "events",
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = projector
            .checkpoint("store:events")
            .await
            .expect("checkpoint");
        if at.as_ref().is_some_and(|c| c.b == EVENTS) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the feed did not catch up: {at:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    feed.await.expect("feed");

    let applied: Vec<i64> = sqlx::query("SELECT position FROM applied ORDER BY seq")
        .fetch_all(projector.pool())
        .await
        .expect("read model")
        .iter()
        .map(|r| r.try_get(0).expect("position"))
        .collect();
    assert_eq!(applied, (1..=EVENTS).collect::<Vec<_>>());
}
