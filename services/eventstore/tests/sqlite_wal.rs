//! SQLite only: the event store checkpoints its write-ahead log in the background, so commits do
//! not (the committing connection's auto-checkpoint is pushed back to 64 MiB).

use eventstore::backend::WalCheckpointer;
use eventstore::testing::TestDatabase;
use eventstore::{CommandMeta, EventStore, ExpectedVersion, NewEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_reaches_the_database_file_without_a_commit_checkpointing() {
    let db = TestDatabase::sqlite();
    let store = EventStore::open(&db.url).await.unwrap();
    let file = db.url.strip_prefix("sqlite:").unwrap().to_string();
    let size = || std::fs::metadata(&file).unwrap().len();
    // Let the checkpoint of the schema happen first.
    tokio::time::sleep(WalCheckpointer::EVERY * 5).await;
    let before = size();
    for i in 0..200 {
        let meta = CommandMeta {
            command_id: format!("c-{i}"),
            fingerprint: vec![1],
            ..CommandMeta::default()
        };
        let events = (0..10)
            .map(|j| NewEvent::now("test.v1.Happened", vec![j; 400]))
            .collect();
        store
            .append(&format!("s-{i}"), ExpectedVersion::NoStream, events, &meta)
            .await
            .unwrap();
    }
    // 2,000 events of 400 bytes: about 1 MiB of pages, far below the auto-checkpoint's 64 MiB,
    // so only the background checkpoint can move them into the database file.
    let mut waited = 0;
    while size() < before + 500_000 {
        assert!(
            waited < 50,
            "no background checkpoint within {waited} intervals"
        );
        tokio::time::sleep(WalCheckpointer::EVERY).await;
        waited += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_checkpointer_commits_leave_a_mebibyte_in_the_wal() {
    let db = TestDatabase::sqlite();
    let (pool, _) = eventstore::backend::connect(&db.url, 2).await.unwrap();
    sqlx::query("CREATE TABLE t (v BLOB NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let file = db.url.strip_prefix("sqlite:").unwrap().to_string();
    let before = std::fs::metadata(&file).unwrap().len();
    for _ in 0..200 {
        let mut tx = pool.begin().await.unwrap();
        for j in 0..10u8 {
            sqlx::query("INSERT INTO t (v) VALUES (?)")
                .bind(vec![j; 400])
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    tokio::time::sleep(WalCheckpointer::EVERY * 10).await;
    assert!(std::fs::metadata(&file).unwrap().len() < before + 500_000);
}
