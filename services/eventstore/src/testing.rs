//! Fresh, isolated databases for tests.
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new database on the server named by
//! `BOTTOMLINE_TEST_POSTGRES_URL` (an admin URL such as `postgres://postgres@127.0.0.1:5432/postgres`).
//! When that variable is unset, PostgreSQL tests are skipped — unless `BOTTOMLINE_REQUIRE_EXTERNAL=1`
//! (set by the full test command), in which case they fail.

use crate::Backend;

/// A database that lives as long as this value (SQLite) or the test cluster (PostgreSQL).
pub struct TestDatabase {
    /// Connection URL of the fresh database.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// True when tests that need PostgreSQL or Kafka must not be skipped.
pub fn external_required() -> bool {
    std::env::var("BOTTOMLINE_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// The test environment's Kafka brokers (`BOTTOMLINE_TEST_KAFKA_BROKERS`), or `None` with a note
/// on stderr when unset (the test skips); panics instead when external services are required
/// ([`external_required`]).
pub fn kafka_brokers() -> Option<String> {
    match std::env::var("BOTTOMLINE_TEST_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.trim().is_empty() => Some(brokers),
        _ => {
            assert!(
                !external_required(),
                "BOTTOMLINE_TEST_KAFKA_BROKERS must be set when BOTTOMLINE_REQUIRE_EXTERNAL=1"
            );
            eprintln!("skipped: set BOTTOMLINE_TEST_KAFKA_BROKERS to run Kafka tests");
            None
        }
    }
}

impl TestDatabase {
    /// A fresh database of the given backend, or `None` when PostgreSQL is not configured.
    pub async fn new(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite file.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        TestDatabase {
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a note on stderr) when not configured.
    pub async fn postgres() -> Option<TestDatabase> {
        let Ok(admin) = std::env::var("BOTTOMLINE_TEST_POSTGRES_URL") else {
            assert!(
                !external_required(),
                "BOTTOMLINE_TEST_POSTGRES_URL must be set when BOTTOMLINE_REQUIRE_EXTERNAL=1"
            );
            eprintln!("skipped: set BOTTOMLINE_TEST_POSTGRES_URL to run PostgreSQL tests");
            return None;
        };
        let name = format!("bl_test_{}", uuid::Uuid::new_v4().simple());
        let (pool, _) = crate::backend::connect(&admin, 1)
            .await
            .expect("connect to test server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            _dir: None,
        })
    }
}

/// Generates one `#[tokio::test]` per backend (modules `sqlite` and `postgres`) for each named
/// `async fn(Backend)` in scope: the way every storage contract runs against both backends.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Postgres).await })*
        }
    };
}

/// Starts a transaction that writes one event row to `stream_id` (version 1) and stays open: an
/// appender that took its global position early and commits late. It follows the append protocol
/// (takes [`crate::backend::append_lock`] first), so other appenders wait for it. Commit or drop
/// it to finish.
pub async fn begin_slow_append(
    store: &crate::EventStore,
    stream_id: &str,
) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut slow = store.pool().begin().await.expect("begin");
    if let Some(lock) = crate::backend::append_lock(store.backend()) {
        sqlx::query(lock)
            .execute(&mut *slow)
            .await
            .expect("append lock");
    }
    sqlx::query(
        "INSERT INTO events (event_id, stream_id, stream_version, event_type, occurred_at, \
         recorded_at, command_id, correlation_id, causation_id, actor, traceparent, payload, hash) \
         VALUES ($1, $2, 1, 'test.v1.Happened', 0, 0, $3, '', '', '', '', $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(stream_id)
    .bind(format!("slow-{stream_id}"))
    .bind(stream_id.as_bytes().to_vec())
    .bind(vec![0u8; 32])
    .execute(&mut *slow)
    .await
    .expect("slow insert");
    slow
}

/// Appends one `test.v1.Happened` event with `payload` to `stream_id` the way a racing writer
/// does: read the version, append with it as the expectation, retry on a conflict. Panics on any
/// other error.
pub async fn append_racing(
    store: &crate::EventStore,
    stream_id: &str,
    payload: &str,
    command_id: &str,
) {
    let meta = crate::CommandMeta {
        command_id: command_id.into(),
        fingerprint: command_id.as_bytes().to_vec(),
        ..Default::default()
    };
    loop {
        let version = store
            .stream_version(stream_id)
            .await
            .expect("stream version");
        let event = crate::NewEvent::now("test.v1.Happened", payload.as_bytes().to_vec());
        match store
            .append(
                stream_id,
                crate::ExpectedVersion::from_current(version),
                vec![event],
                &meta,
            )
            .await
        {
            Ok(_) => return,
            Err(crate::AppendError::WrongExpectedVersion { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Ends the PostgreSQL session that holds the writer lease of the store at `url`
/// ([`crate::lease`]), as a server restart or a network cut would, and says how many sessions it
/// ended (1 while a writer holds it, 0 otherwise).
///
/// # Panics
/// When the database cannot be reached.
pub async fn end_writer_lease_session(url: &str) -> i64 {
    let (admin, _) = crate::backend::connect(url, 1)
        .await
        .expect("connect to end the lease's session");
    let key = crate::lease::KEY as u64;
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
         AND classid::bigint = {} AND objid::bigint = {} \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) t",
        key >> 32,
        key & 0xffff_ffff
    ))
    .fetch_one(&admin)
    .await
    .expect("end the lease's session")
}
