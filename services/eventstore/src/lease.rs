//! The writer lease of a PostgreSQL event store: one database session at a time may append
//! through a leased handle ([`crate::EventStore::with_writer_lease`]), so that two processes never
//! decide commands on two write models of one store.
//!
//! The lease is a session-level advisory lock (per database, released when its session ends, by
//! the server when a process dies). The handle takes it on its own connection before its first
//! write, and marks that session (a session setting, `bottomline.writer_lease`, set in the same
//! statement). Every append transaction checks the mark in the statement that takes the append
//! lock (no extra round trip, and no look at `pg_locks`, which would lock every lock partition
//! of the server): a connection the server ended was replaced by a session without it. The lease
//! is then taken again on the new session if it is free; either way that append fails with
//! [`LeaseError`], since another process may have written meanwhile and what was decided on the
//! old session must be read back.
//!
//! The lease session asks the server to probe it (TCP keepalive after 10 s idle, every 5 s, 3
//! times, and a 30 s limit on unacknowledged data): a writer whose machine or network went away
//! lets the lease go within about half a minute, not after the server's default two hours. It
//! is exempt from a server-wide `idle_session_timeout`, which would end it between commands.
//! It also names itself (`application_name`), so that a refusal says who holds the lease.
//!
//! The key is one per database: each store needs a database of its own. The lease needs a
//! session of its own on the server: behind a pooler in transaction mode (PgBouncer's
//! `pool_mode = transaction`) each statement may run on another server session, and the writer
//! would refuse every command; connect the writer directly or in session mode.
//!
//! SQLite stores have no lease here: the data directory's lock file keeps a second process off a
//! service's store ([`crate::EventStore::with_writer_lease`] is then plain
//! [`crate::EventStore::with_own_writes`]).

use std::sync::LazyLock;

use sqlx::{AnyConnection, Row};

use crate::backend::{self, Backend};
use crate::error::StoreError;

/// The lease's advisory lock key: the bytes of "bl-lease" read as a big-endian integer. PostgreSQL
/// shows a bigint key in `pg_locks` as `classid` (its high 32 bits) and `objid` (its low 32 bits),
/// with `objsubid` 1.
pub const KEY: i64 = 0x626c_2d6c_6561_7365;
// `pg_locks` shows the high half of a positive key as `classid` unchanged.
const _: () = assert!(KEY > 0);

/// The session setting that marks the lease's session.
const MARK: &str = "bottomline.writer_lease";

/// Why a leased handle may not append.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another database session holds the lease: another process writes this store (or another
    /// service was given the same database).
    #[error(
        "another command writer holds this event store's lease ({holder}): one process writes a \
         store, and each service has a store of its own; stop the other writer, or give this one \
         a database of its own. If that process is gone but PostgreSQL has not noticed yet, end \
         its session: SELECT pg_terminate_backend({pid})",
        pid = .pid.map_or("<pid>".to_string(), |p| p.to_string())
    )]
    Held {
        /// Who holds it, as PostgreSQL shows the session: its name, client address, since when.
        holder: String,
        /// The holding session's backend process id, when PostgreSQL shows it.
        pid: Option<i64>,
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

/// Takes the lease on `conn`'s session, named `owner` (for the holder's description in another
/// process's refusal; PostgreSQL keeps 63 bytes), or says who holds it.
pub(crate) async fn take(conn: &mut AnyConnection, owner: &str) -> Result<(), LeaseError> {
    sqlx::query(
        "SELECT set_config('application_name', $1, false), \
                set_config('tcp_keepalives_idle', '10', false), \
                set_config('tcp_keepalives_interval', '5', false), \
                set_config('tcp_keepalives_count', '3', false), \
                set_config('tcp_user_timeout', '30000', false)",
    )
    .bind(owner)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::of(
        "name the writer's session and set its keepalive",
    ))?;
    // A server-wide idle_session_timeout (PostgreSQL 14 on) would end the lease's session, and
    // let the lease go, whenever no command comes for a while.
    sqlx::query(
        "SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'idle_session_timeout'",
    )
    .execute(&mut *conn)
    .await
    .map_err(StoreError::of("keep the writer's session open when idle"))?;
    // Released between the look at who held it and now: one more try.
    for _ in 0..2 {
        if try_take(conn).await? {
            return Ok(());
        }
        if let Some(held) = holder(conn).await {
            return Err(held);
        }
    }
    Err(LeaseError::Held {
        holder: "a session that let it go and took it again meanwhile".into(),
        pid: None,
    })
}

/// Takes the lease on `conn`'s session if it is free and marks the session (a session that holds
/// it already holds it once more, which changes nothing): whether this session holds it now.
async fn try_take(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    static TAKE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT CASE WHEN pg_try_advisory_lock({KEY}) \
             THEN set_config('{MARK}', 'held', false) = 'held' ELSE false END"
        )
    });
    sqlx::query(&TAKE)
        .fetch_one(conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(StoreError::of("take the writer lease"))
}

/// The statement an append transaction of a leased handle runs instead of the plain append lock
/// ([`backend::append_lock`]): it takes that lock, then answers whether this session is the
/// lease's (marked by [`try_take`]).
pub(crate) fn append_lock_and_check() -> &'static str {
    static CHECK: LazyLock<String> = LazyLock::new(|| {
        let lock = backend::append_lock(Backend::Postgres).expect("PostgreSQL has an append lock");
        format!(
            "WITH locked AS ({lock}) \
             SELECT COALESCE(current_setting('{MARK}', true), '') = 'held' FROM locked"
        )
    });
    &CHECK
}

/// Who holds the lease, as a refusal: "PostgreSQL session 4242 "bottomline registry writer (pid
/// 77)" from 10.0.0.7, connected 2026-11-30 08:00:00 UTC"; `None` when nobody does any more.
/// A session of another role shows less (no address, no start): what is hidden is said to be.
async fn holder(conn: &mut AnyConnection) -> Option<LeaseError> {
    let high = (KEY as u64) >> 32;
    let low = (KEY as u64) & 0xffff_ffff;
    let found = sqlx::query(&format!(
        "SELECT l.pid::bigint, COALESCE(a.application_name, ''), \
                COALESCE(host(a.client_addr), 'a local socket or an address hidden from this role'), \
                COALESCE(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), \
                         'a time hidden from this role') \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.classid::bigint = {high} AND l.objid::bigint = {low} \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ))
    .fetch_optional(conn)
    .await;
    let row = match found {
        Ok(Some(row)) => row,
        Ok(None) => return None,
        // The refusal stands; only its description is missing.
        Err(e) => {
            return Some(LeaseError::Held {
                holder: format!("a session this role could not look up: {e}"),
                pid: None,
            })
        }
    };
    let pid: Option<i64> = row.try_get(0).ok();
    let text = |i: usize| row.try_get::<String, _>(i).unwrap_or_default();
    let (name, from, since) = (text(1), text(2), text(3));
    let name = if name.is_empty() {
        String::new()
    } else {
        format!(" {name:?}")
    };
    let pid_text = pid.map_or("?".to_string(), |p| p.to_string());
    Some(LeaseError::Held {
        holder: format!("PostgreSQL session {pid_text}{name} from {from}, connected {since}"),
        pid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_bytes_of_its_name() {
        assert_eq!(KEY, i64::from_be_bytes(*b"bl-lease"));
    }
}
