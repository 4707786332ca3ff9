//! The writer lease of a PostgreSQL event store: one database session at a time may append
//! through a leased handle ([`crate::EventStore::with_writer_lease`]), so that two processes never
//! decide commands on two write models of one store.
//!
//! The lease is a session-level advisory lock (per database, released when its session ends, by
//! the server when a process dies). The handle takes it on its own connection before its first
//! write, and every append transaction checks, in the statement that takes the append lock (no
//! extra round trip), that its session still holds it: a connection the server ended was
//! replaced by one without it. The lease is then taken again on the new session if it is free;
//! either way that append fails with [`LeaseError`], since another process may have written
//! meanwhile and what was decided on the old session must be read back.
//!
//! SQLite stores have no lease here: the data directory's lock file keeps a second process off a
//! service's store ([`crate::EventStore::with_writer_lease`] is then plain
//! [`crate::EventStore::with_own_writes`]).

use sqlx::AnyConnection;
use sqlx::Row;

use crate::error::StoreError;

/// The lease's advisory lock key: the bytes of "bl-lease" read as a big-endian integer. PostgreSQL
/// shows a bigint key in `pg_locks` as `classid` (high 32 bits) and `objid` (low 32 bits), with
/// `objsubid` 1.
const KEY: i64 = 0x626c_2d6c_6561_7365;

/// Why a leased handle may not append.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another database session holds the lease: another process writes this store (or another
    /// service was given the same database).
    #[error(
        "another command writer holds this event store's lease ({holder}): one process writes a \
         store, and each service has a store of its own; stop the other writer, or give this one \
         a database of its own. If that \
         process is gone but PostgreSQL has not noticed yet (its machine died), end its session: \
         SELECT pg_terminate_backend(<session>)"
    )]
    Held {
        /// Who holds it, as PostgreSQL sees the session: backend pid, client address, since when.
        holder: String,
    },
    /// This handle's database session ended, and the lease with it; it was taken again on a new
    /// session. Another process may have written in between: read the store back before
    /// deciding anything more.
    #[error(
        "the command writer's database session ended and its lease was taken again on a new \
         session; the write model is read back from the store"
    )]
    Retaken,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Takes the lease on `conn`'s session if it is free (a session that holds it already holds it
/// once more, which changes nothing): whether this session holds it now.
pub(crate) async fn try_take(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    sqlx::query(&format!("SELECT pg_try_advisory_lock({KEY})"))
        .fetch_one(conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(StoreError::of("take the writer lease"))
}

/// Takes the lease on `conn`'s session, or says who holds it.
pub(crate) async fn take(conn: &mut AnyConnection) -> Result<(), LeaseError> {
    if try_take(conn).await? {
        return Ok(());
    }
    Err(LeaseError::Held {
        holder: holder(conn).await?,
    })
}

/// The statement an append transaction of a leased handle runs instead of the plain append lock
/// ([`crate::backend::append_lock`]): it takes that lock, then answers whether this session holds
/// the lease.
pub(crate) fn append_lock_and_check(append_lock: &str) -> String {
    format!(
        "WITH locked AS ({append_lock}) \
         SELECT EXISTS (SELECT 1 FROM pg_locks WHERE {this_lease} AND pid = pg_backend_pid()) \
         FROM locked",
        this_lease = this_lease()
    )
}

/// `pg_locks` rows of the lease granted in this database.
fn this_lease() -> String {
    format!(
        "locktype = 'advisory' AND granted AND objsubid = 1 \
         AND classid::bigint = {high} AND objid::bigint = {low} \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        high = KEY >> 32,
        low = KEY & 0xffff_ffff,
    )
}

/// Who holds the lease, for a message: "PostgreSQL session 4242 from 10.0.0.7 (application
/// "x"), connected 2026-11-30 08:00:00 UTC", or that it is free now.
async fn holder(conn: &mut AnyConnection) -> Result<String, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT a.pid::bigint, COALESCE(host(a.client_addr), 'a local socket'), \
                COALESCE(a.application_name, ''), \
                to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE {}",
        this_lease()
    ))
    .fetch_optional(conn)
    .await
    .map_err(StoreError::of("look up the writer lease's holder"))?;
    let Some(row) = row else {
        return Ok("it was released a moment ago: try again".into());
    };
    let get = |i: usize| row.try_get::<String, _>(i);
    let pid: i64 = row
        .try_get(0)
        .map_err(StoreError::of("look up the writer lease's holder"))?;
    let (from, application, since) = (get(1), get(2), get(3));
    let (from, application, since) = match (from, application, since) {
        (Ok(f), Ok(a), Ok(s)) => (f, a, s),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return Err(StoreError::of("look up the writer lease's holder")(e))
        }
    };
    let application = if application.is_empty() {
        String::new()
    } else {
        format!(" (application {application:?})")
    };
    Ok(format!(
        "PostgreSQL session {pid} from {from}{application}, connected {since} UTC"
    ))
}
