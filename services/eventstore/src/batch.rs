//! The set-based statements of a group append: each reads or writes a whole group's rows at once
//! (in chunks that stay far below both backends' bound-parameter limits), so a group costs a
//! constant number of round trips to the database instead of several per command.
//!
//! Each statement carries its rows padded to a power of two ([`padded_rows`]), so that its text
//! takes one of a few sizes, each prepared once per connection and then reused: look-ups repeat
//! their last key, inserts add rows of NULLs that their `WHERE column1 IS NOT NULL` drops.

use std::collections::HashMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use uuid::Uuid;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::model::RecordedEvent;
use crate::sql::{padded_rows, placeholders, value_rows, without_padding, MAX_ROWS};
use crate::store::AppendRequest;

/// The rows of `sql` for all of `ids`, in chunks. `sql` is the query for SQLite and for
/// PostgreSQL in that order; in it `{ids}` stands for the list of parameters (`… WHERE x IN
/// ({ids})`) and `{rows}` for one row per parameter (`FROM (VALUES {rows}) AS ids(id)`).
async fn select_in(
    conn: &mut AnyConnection,
    sql: [&str; 2],
    ids: &[&str],
    what: &'static str,
) -> Result<Vec<AnyRow>, StoreError> {
    let backend = Backend::of_connection(conn);
    let sql = match backend {
        Backend::Sqlite => sql[0],
        Backend::Postgres => sql[1],
    };
    let mut rows = Vec::new();
    for chunk in ids.chunks(MAX_ROWS) {
        let padded = padded_rows(chunk.len());
        let text = sql
            .replace("{ids}", &placeholders(backend, 1, padded))
            .replace("{rows}", &value_rows(backend, padded, 1));
        let mut q = sqlx::query(&text);
        // The padding repeats the last id: its row, if any, comes back more than once and lands
        // in the same entry of the caller's map.
        for i in 0..padded {
            q = q.bind(chunk[i.min(chunk.len() - 1)]);
        }
        rows.extend(
            q.fetch_all(&mut *conn)
                .await
                .map_err(StoreError::of(what))?,
        );
    }
    Ok(rows)
}

/// Stored fingerprints of those of `command_ids` that were recorded before.
pub(crate) async fn fingerprints(
    conn: &mut AnyConnection,
    command_ids: &[&str],
) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    let sqlite = "SELECT command_id, fingerprint FROM commands WHERE command_id IN ({ids})";
    // One primary-key look-up per id whatever PostgreSQL's statistics say: planned from stale
    // ones (a growing table between two auto-analyzes) the IN list was a sequential scan.
    let postgres = "SELECT c.command_id, c.fingerprint FROM (VALUES {rows}) AS ids(id) \
        CROSS JOIN LATERAL (SELECT command_id, fingerprint FROM commands \
                            WHERE command_id = ids.id LIMIT 1) c";
    select_in(conn, [sqlite, postgres], command_ids, "look up commands")
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::of("decode command"))
}

/// Current version and last hash of each of `stream_ids` that exists (absent: a new stream).
pub(crate) async fn heads(
    conn: &mut AnyConnection,
    stream_ids: &[&str],
) -> Result<HashMap<String, (u64, Vec<u8>)>, StoreError> {
    let sqlite = "SELECT e.stream_id, e.stream_version, e.hash FROM events e \
        JOIN (SELECT stream_id, MAX(stream_version) AS v FROM events \
              WHERE stream_id IN ({ids}) GROUP BY stream_id) h \
        ON e.stream_id = h.stream_id AND e.stream_version = h.v";
    // The last row of each stream by a backward scan of its (stream_id, stream_version) index:
    // PostgreSQL planned the grouped form above as a parallel sequential scan of every event,
    // once per group append (a bulk import slowed down as the store grew).
    let postgres = "SELECT h.stream_id, h.stream_version, h.hash FROM (VALUES {rows}) AS ids(id) \
        CROSS JOIN LATERAL (SELECT stream_id, stream_version, hash FROM events \
                            WHERE stream_id = ids.id ORDER BY stream_version DESC LIMIT 1) h";
    select_in(conn, [sqlite, postgres], stream_ids, "read stream heads")
        .await?
        .iter()
        .map(|row| {
            let version: i64 = row.try_get(1)?;
            Ok((row.try_get(0)?, (version as u64, row.try_get(2)?)))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::of("decode stream head"))
}

/// Inserts the planned `rows`; returns each one's `(position, tx_id)` by event id. `tx_id` is
/// given on SQLite and left to the column default (the transaction id) on PostgreSQL.
pub(crate) async fn insert_events(
    conn: &mut AnyConnection,
    tx_id: Option<i64>,
    rows: &[&RecordedEvent],
) -> Result<HashMap<Uuid, (i64, i64)>, sqlx::Error> {
    let backend = Backend::of_connection(conn);
    const COLUMNS: &str = "event_id, stream_id, stream_version, event_type, occurred_at, \
        recorded_at, command_id, correlation_id, causation_id, actor, traceparent, payload, hash";
    let width = if tx_id.is_some() { 14 } else { 13 };
    let tx_column = if tx_id.is_some() { ", tx_id" } else { "" };
    let mut placed = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(MAX_ROWS) {
        let padded = padded_rows(chunk.len());
        let sql = format!(
            "{} INTO events ({COLUMNS}{tx_column}) {} RETURNING event_id, position, tx_id",
            backend.insert_in_doomed_tx(),
            padded_values(backend, padded, width)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.event_id.to_string())
                .bind(&e.stream_id)
                .bind(e.stream_version as i64)
                .bind(&e.event_type)
                .bind(e.occurred_at_micros)
                .bind(e.recorded_at_micros)
                .bind(&e.command_id)
                .bind(&e.correlation_id)
                .bind(&e.causation_id)
                .bind(&e.actor)
                .bind(&e.traceparent)
                .bind(&e.payload)
                .bind(&e.hash);
            if let Some(tx_id) = tx_id {
                q = q.bind(tx_id);
            }
        }
        for _ in chunk.len()..padded {
            q = bind_nulls(q, &EVENT_COLUMNS[..width]);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let (event_id, position, tx) = placement(&row)?;
            placed.insert(event_id, (position, tx));
        }
    }
    Ok(placed)
}

/// `rows` rows of `width` parameters, the rows of padding, all NULL, dropped
/// ([`without_padding`]).
fn padded_values(backend: Backend, rows: usize, width: usize) -> String {
    without_padding(&value_rows(backend, rows, width))
}

/// The type of a NULL of padding: each column of a `VALUES` list has one type on PostgreSQL.
#[derive(Clone, Copy)]
enum Null {
    Text,
    Int,
    Bytes,
}

/// The columns of an event row as [`insert_events`] binds them (`tx_id` last, on SQLite).
const EVENT_COLUMNS: [Null; 14] = [
    Null::Text,
    Null::Text,
    Null::Int,
    Null::Text,
    Null::Int,
    Null::Int,
    Null::Text,
    Null::Text,
    Null::Text,
    Null::Text,
    Null::Text,
    Null::Bytes,
    Null::Bytes,
    Null::Int,
];

fn bind_nulls<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    columns: &[Null],
) -> Query<'q, Any, AnyArguments<'q>> {
    for column in columns {
        q = match column {
            Null::Text => q.bind(None::<String>),
            Null::Int => q.bind(None::<i64>),
            Null::Bytes => q.bind(None::<Vec<u8>>),
        };
    }
    q
}

fn placement(row: &AnyRow) -> Result<(Uuid, i64, i64), sqlx::Error> {
    let event_id: String = row.try_get(0)?;
    let event_id = Uuid::parse_str(&event_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok((event_id, row.try_get(1)?, row.try_get(2)?))
}

/// Records the commands of `requests` (idempotency keys with their fingerprints).
pub(crate) async fn insert_commands(
    conn: &mut AnyConnection,
    requests: &[&AppendRequest],
    recorded_at: i64,
) -> Result<(), sqlx::Error> {
    let backend = Backend::of_connection(conn);
    for chunk in requests.chunks(MAX_ROWS) {
        let padded = padded_rows(chunk.len());
        let sql = format!(
            "{} INTO commands (command_id, fingerprint, stream_id, recorded_at) {}",
            backend.insert_in_doomed_tx(),
            padded_values(backend, padded, 4)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(&r.meta.command_id)
                .bind(&r.meta.fingerprint)
                .bind(&r.stream_id)
                .bind(recorded_at);
        }
        for _ in chunk.len()..padded {
            q = bind_nulls(q, &[Null::Text, Null::Bytes, Null::Text, Null::Int]);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
