//! What differs between PostgreSQL and SQLite: connection set-up, DDL and the transaction order.
//!
//! Everything else is written once in portable SQL (`$n` placeholders work on both).

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

/// A database backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL 13 or newer (uses `pg_current_xact_id` / `pg_current_snapshot`).
    Postgres,
    /// SQLite 3.35 or newer, in WAL mode; writers are serialised inside the process.
    Sqlite,
}

impl Backend {
    /// The backend a database URL names (`postgres://`, `postgresql://`, `sqlite:`).
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }

    /// The backend of an open connection.
    pub fn of_connection(conn: &sqlx::AnyConnection) -> Backend {
        match conn.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// Type of an auto-incrementing 64-bit primary key column.
    pub fn serial_key(self) -> &'static str {
        match self {
            Backend::Postgres => "BIGSERIAL PRIMARY KEY",
            Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        }
    }

    /// The verb of a multi-row insert inside a transaction that is rolled back whole on any
    /// error: `INSERT OR FAIL` on SQLite, whose failing statement keeps the rows it inserted
    /// before the failure, so that SQLite keeps no statement journal to undo them (a tenth of the
    /// writer's time in a bulk import); plain `INSERT` on PostgreSQL.
    pub fn insert_in_doomed_tx(self) -> &'static str {
        match self {
            Backend::Postgres => "INSERT",
            Backend::Sqlite => "INSERT OR FAIL",
        }
    }

    /// Type of a binary column.
    pub fn bytes(self) -> &'static str {
        match self {
            Backend::Postgres => "BYTEA",
            Backend::Sqlite => "BLOB",
        }
    }
}

/// Opens a pool on `url`. SQLite files are created when missing, switched to WAL and given a busy
/// timeout, in-memory statement journals, an 8 MiB page cache per connection (for writers) and a WAL
/// auto-checkpoint at 64 MiB only (see [`WalCheckpointer`]; docs/performance.md, third pass);
/// `max_connections` bounds the pool.
pub async fn connect(url: &str, max_connections: u32) -> Result<(AnyPool, Backend), sqlx::Error> {
    connect_sized(url, max_connections, WRITE_CACHE_KIB, Commit::Flushed).await
}

/// Like [`connect`], for a read model's database: on PostgreSQL its transactions commit
/// without waiting for their write-ahead log to reach the disk (`synchronous_commit = off`,
/// the session's own setting; the event stores' connections keep the server's).
///
/// A read model, its checkpoints and its dedupe watermarks are written in one transaction, and
/// everything in it can be derived again from the events. A server crash may lose its last
/// commits (up to three times `wal_writer_delay`, 600 ms by default), never part of one: the
/// read model comes back as it was a moment earlier, with the checkpoints of that moment, and
/// its projector applies the lost events again from there. SQLite read models are already
/// written so (`synchronous = NORMAL` in WAL mode, below). Measured: the live read models'
/// lag p99 on PostgreSQL + Kafka a tenth to a fifth lower; a rebuild, which does not wait on its
/// commits, no faster (docs/performance.md, ninth pass).
pub async fn connect_read_model(
    url: &str,
    max_connections: u32,
) -> Result<(AnyPool, Backend), sqlx::Error> {
    connect_sized(url, max_connections, WRITE_CACHE_KIB, Commit::Unflushed).await
}

/// When a PostgreSQL commit returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// Once the transaction's write-ahead log is on disk (the server's setting).
    Flushed,
    /// Before that (`synchronous_commit = off`): [`connect_read_model`].
    Unflushed,
}

/// Like [`connect`], for a pool that only reads, mostly in commit order (an event store's
/// catch-up, relay and projector feeds): SQLite's default 2 MiB page cache per connection. The
/// larger cache of writers cost a registry process rebuilding 1.25 million events 30 MiB more
/// resident memory for nothing.
pub async fn connect_readers(
    url: &str,
    max_connections: u32,
) -> Result<(AnyPool, Backend), sqlx::Error> {
    connect_sized(url, max_connections, READ_CACHE_KIB, Commit::Flushed).await
}

/// A small pool of typed PostgreSQL connections to `url`, opened as they are needed, for the
/// commit-order feed ([`crate::EventStore::read_committed`]): rows are decoded straight from
/// PostgreSQL's types. Through the `Any` driver each row is first converted into an `Any` row,
/// every column copied into an owned value and then again into the event: the relay's thread
/// spent most of its time allocating for that (docs/performance.md, eighth pass). `None` on
/// SQLite, whose feed reads stay on the `Any` pool.
pub fn connect_feed(url: &str) -> Result<Option<sqlx::PgPool>, sqlx::Error> {
    if Backend::of_url(url) != Some(Backend::Postgres) {
        return Ok(None);
    }
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?.disable_statement_logging();
    Ok(Some(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options),
    ))
}

/// SQLite page cache of a connection that writes, KiB: index pages of random (UUID) keys stay
/// cached.
const WRITE_CACHE_KIB: u32 = 8192;
/// SQLite's default page cache, KiB.
const READ_CACHE_KIB: u32 = 2000;

/// A pool of one connection to `url` that is never closed while the pool lives, for the writes
/// of one process to a SQLite database: SQLite's page cache is per connection and thrown away
/// when another connection of the process changed the file, so writes spread over a pool's
/// connections read their index pages from the file again and again (a third of a bulk
/// import's time); one connection keeps them cached.
pub async fn connect_writer(url: &str) -> Result<(AnyPool, Backend), sqlx::Error> {
    let options = AnyPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None);
    connect_pool(url, options, WRITE_CACHE_KIB, Commit::Flushed).await
}

/// sqlx's URL parameter for the prepared statements a PostgreSQL connection keeps.
const STATEMENT_CACHE: &str = "statement-cache-capacity";

/// Prepared statements kept per PostgreSQL connection (sqlx keeps 100 by default). Set-based
/// statements come in up to nine sizes each ([`crate::sql::padded_rows`]): the employment
/// views alone have 18 upserts, 162 texts at most. Past the cache's size each new text evicts
/// one, and an eviction costs a round trip to close it.
const STATEMENTS_CACHED: usize = 512;

/// A lazy pool of one PostgreSQL connection with the options of `pool`, never closed for
/// idleness or age, opened by its first `acquire` in that caller's runtime
/// ([`crate::EventStore::with_own_writes`]). Each connection it opens (the first, and each one
/// that replaces a connection found dead) sets `new_session` when given.
pub(crate) fn own_writes(pool: &AnyPool, new_session: Option<Arc<AtomicBool>>) -> AnyPool {
    let mut options = AnyPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(30));
    if let Some(flag) = new_session {
        options = options.after_connect(move |_, _| {
            flag.store(true, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        });
    }
    options.connect_lazy_with((*pool.connect_options()).clone())
}

/// [`connect_pool`] with a pool of at most `max_connections`, opened as needed.
async fn connect_sized(
    url: &str,
    max_connections: u32,
    cache_kib: u32,
    commit: Commit,
) -> Result<(AnyPool, Backend), sqlx::Error> {
    let options = AnyPoolOptions::new().max_connections(max_connections);
    connect_pool(url, options, cache_kib, commit).await
}

async fn connect_pool(
    url: &str,
    pool_options: AnyPoolOptions,
    cache_kib: u32,
    commit: Commit,
) -> Result<(AnyPool, Backend), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url).ok_or_else(|| {
        sqlx::Error::Configuration(format!("unsupported database url {url:?}").into())
    })?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = match backend {
        Backend::Sqlite if !url.contains("mode=") => format!("{url}{sep}mode=rwc"),
        Backend::Postgres if !url.contains(STATEMENT_CACHE) => {
            format!("{url}{sep}{STATEMENT_CACHE}={STATEMENTS_CACHED}")
        }
        _ => url.to_string(),
    };
    let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
    if backend == Backend::Postgres {
        first_connection(&options).await?;
    }
    let pool = pool_options
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the single writer; NORMAL sync is durable across
                    // process crashes in WAL mode; the busy timeout covers other processes.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    // Statement journals (multi-row statements inside a transaction) in memory,
                    // not in temporary files.
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                    conn.execute(&*format!("PRAGMA cache_size = -{cache_kib}"))
                        .await?;
                    // The committing connection checkpoints the WAL only past 16,000 pages
                    // (64 MiB), a safety net: owners of busy pools checkpoint in the background
                    // ([`WalCheckpointer`]), off the writer's path.
                    conn.execute("PRAGMA wal_autocheckpoint = 16000").await?;
                }
                if backend == Backend::Postgres && commit == Commit::Unflushed {
                    conn.execute("SET synchronous_commit = off").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok((pool, backend))
}

/// Opens and closes one connection to the PostgreSQL database of `url`, without a pool: whether
/// the server answers and lets this user in. Errors as [`connect`]'s first connection: the
/// server's own (unknown database: SQLSTATE `3D000`, authentication, …), an I/O error for a
/// refused connection, [`std::io::ErrorKind::TimedOut`] after [`CONNECT_TIMEOUT`].
pub async fn probe_postgres(url: &str) -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
    first_connection(&options).await
}

/// How long [`connect`] and its siblings wait for a PostgreSQL server's first answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens and closes one connection, so that a server that refuses it, a database that does not
/// exist or a wrong password is reported at once and as such: a pool retries failed connections
/// until its acquire timeout (30 s) and then says only `pool timed out`. No answer within
/// [`CONNECT_TIMEOUT`] is an [`std::io::ErrorKind::TimedOut`] error.
async fn first_connection(options: &AnyConnectOptions) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => connection.close().await,
        Ok(Err(e)) => Err(match stranger(&e) {
            Some(Stranger::OtherProtocol) => sqlx::Error::Protocol(format!(
                "the server there does not speak PostgreSQL's protocol (is this port \
                 PostgreSQL's?): {e}"
            )),
            Some(Stranger::Silent) => sqlx::Error::Protocol(format!(
                "the server there closed the connection without answering (a proxy with no \
                 PostgreSQL behind it yet, or a server going away?): {e}"
            )),
            None => e,
        }),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer from the PostgreSQL server within {} s (is this port PostgreSQL's?)",
                CONNECT_TIMEOUT.as_secs()
            ),
        ))),
    }
}

/// What answered a first connection that failed in the handshake, when it was not PostgreSQL.
#[derive(Debug, PartialEq, Eq)]
enum Stranger {
    /// Bytes came back that are not PostgreSQL's: an HTTP server's `HTTP/…` (with
    /// `sslmode=disable` read as a message `H` whose length field is the text "TTP/", so sqlx
    /// waits for 1414811696 bytes and meets the end of the stream), a gRPC server's frames
    /// (unknown message types), or another reply to the SSL request than PostgreSQL's `S` or `N`.
    OtherProtocol,
    /// The connection was accepted and closed (or reset) without a byte: a proxy or
    /// port-forward with nothing behind it yet, or a server going away mid-handshake.
    Silent,
}

/// Classifies a first connection's error by sqlx's messages (sqlx-postgres 0.8): `None` for
/// everything else (refused connections, PostgreSQL's own errors, authentication methods sqlx
/// does not support), which keep their own words.
fn stranger(e: &sqlx::Error) -> Option<Stranger> {
    match e {
        sqlx::Error::Protocol(m) if m.starts_with("unknown message type") => {
            Some(Stranger::OtherProtocol)
        }
        sqlx::Error::Protocol(m) if m.starts_with("unexpected response from SSLRequest") => {
            Some(if m.ends_with("0x00") {
                Stranger::Silent
            } else {
                Stranger::OtherProtocol
            })
        }
        // Closed with the client's request unread: Linux answers with a reset.
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            Some(Stranger::Silent)
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Some(if io.to_string().contains("got 0 bytes") {
                Stranger::Silent
            } else {
                Stranger::OtherProtocol
            })
        }
        _ => None,
    }
}

/// Checkpoints a SQLite database's write-ahead log in the background (`PRAGMA
/// wal_checkpoint(PASSIVE)` every [`WalCheckpointer::EVERY`]), so that the connection committing
/// a transaction does not: SQLite's auto-checkpoint runs inside the commit, on the single writer's
/// path, where it was a sixth of a bulk import's time. A passive checkpoint never blocks writers
/// or readers. Stops when dropped.
#[derive(Debug)]
pub struct WalCheckpointer {
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl WalCheckpointer {
    /// Interval between two checkpoints.
    pub const EVERY: Duration = Duration::from_millis(100);

    /// Starts checkpointing `pool`'s database; `None` on PostgreSQL.
    pub fn start(pool: &AnyPool, backend: Backend) -> Option<WalCheckpointer> {
        if backend != Backend::Sqlite {
            return None;
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Self::EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tick.tick() => {}
                }
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::debug!(error = %e, "background WAL checkpoint failed");
                }
            }
        });
        Some(WalCheckpointer { _stop: stop })
    }
}

/// Runs `ddl` — idempotent `CREATE … IF NOT EXISTS` (or `DROP … IF EXISTS`) statements — in one
/// transaction. On PostgreSQL the transaction first takes an exclusive advisory lock: two
/// processes creating the same table at the same moment (services started together against one
/// new database) otherwise fail with a unique violation in PostgreSQL's catalog
/// (`pg_type_typname_nsp_index`), which `IF NOT EXISTS` does not prevent.
pub async fn create_schema(
    pool: &AnyPool,
    backend: Backend,
    ddl: &[String],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        // The key is the bytes of "bl-ddl\0\0" read as a big-endian integer.
        sqlx::query("SELECT pg_advisory_xact_lock(7092093422406467584)")
            .execute(&mut *tx)
            .await?;
    }
    for statement in ddl {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// DDL of the event store.
pub(crate) fn schema(backend: Backend) -> Vec<String> {
    let serial = backend.serial_key();
    let bytes = backend.bytes();
    // PostgreSQL records the appending transaction's id; SQLite gets it from the store (writers are
    // serialised there, so commit order is append order).
    let tx_default = match backend {
        Backend::Postgres => "DEFAULT (pg_current_xact_id()::text::bigint)",
        Backend::Sqlite => "",
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS events (
                position {serial},
                tx_id BIGINT NOT NULL {tx_default},
                event_id TEXT NOT NULL UNIQUE,
                stream_id TEXT NOT NULL,
                stream_version BIGINT NOT NULL,
                event_type TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                recorded_at BIGINT NOT NULL,
                command_id TEXT NOT NULL,
                correlation_id TEXT NOT NULL,
                causation_id TEXT NOT NULL,
                actor TEXT NOT NULL,
                traceparent TEXT NOT NULL,
                payload {bytes} NOT NULL,
                hash {bytes} NOT NULL,
                UNIQUE (stream_id, stream_version)
            )"
        ),
        "CREATE INDEX IF NOT EXISTS events_commit_order ON events (tx_id, position)".into(),
        // Replays find a command's events through the commands table (`outcome_of`); stores
        // created before that had an index on events (command_id), dropped here.
        "DROP INDEX IF EXISTS events_command".into(),
        format!(
            "CREATE TABLE IF NOT EXISTS commands (
                command_id TEXT PRIMARY KEY,
                fingerprint {bytes} NOT NULL,
                stream_id TEXT NOT NULL,
                recorded_at BIGINT NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value {bytes} NOT NULL)"
        ),
        "CREATE TABLE IF NOT EXISTS checkpoints (
            name TEXT PRIMARY KEY,
            tx_id BIGINT NOT NULL,
            position BIGINT NOT NULL
        )"
        .into(),
    ]
}

/// The statement every transaction that writes to `events` runs before its first write, or
/// `None` when the backend needs none.
///
/// PostgreSQL: an exclusive transaction-level advisory lock (per database; released at commit or
/// rollback, after the commit is visible). Appends therefore run one at a time, and a transaction
/// gets its id (at its first write) and its positions only once it holds the lock, so
/// `(tx_id, position)` grows in commit order: whatever a reader sees of the feed is final, no
/// event can later commit behind it. Appends of one process are serialised by its command writer
/// anyway (group commit); the lock orders several processes on one store. Unlike ordering by the
/// oldest running transaction of the cluster (`pg_snapshot_xmin`), nothing but appends can hold
/// a reader back: long read-model transactions in the same cluster do not.
///
/// SQLite: appends are serialised by SQLite's single writer (and in-process by the store), and
/// the transaction order is allocated inside the write transaction.
pub fn append_lock(backend: Backend) -> Option<&'static str> {
    match backend {
        // The key is the bytes of "bottomln" read as a big-endian integer.
        Backend::Postgres => Some("SELECT pg_advisory_xact_lock(7093015981566291054)"),
        Backend::Sqlite => None,
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use crate::testing::TestDatabase;

    /// `synchronous_commit` as a connection of `pool` sees it.
    async fn synchronous_commit(pool: &sqlx::AnyPool) -> String {
        sqlx::query("SHOW synchronous_commit")
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0)
    }

    #[tokio::test]
    async fn read_models_commit_without_waiting_for_the_disk_and_event_stores_do() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let (read_model, _) = super::connect_read_model(&db.url, 2).await.unwrap();
        let (store, _) = super::connect(&db.url, 2).await.unwrap();
        assert_eq!(synchronous_commit(&read_model).await, "off");
        assert_eq!(synchronous_commit(&store).await, "on");
    }
}
