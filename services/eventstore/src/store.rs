//! The append and read algorithms, written once for both backends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::{AnyPool, Row};
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

use crate::backend::{self, Backend};
use crate::batch;
use crate::error::{AppendError, ChainError, StoreError};
use crate::hash::{self, Canonical};
use crate::lease::{self, LeaseError};
use crate::model::{CommandMeta, ExpectedVersion, GlobalCursor, NewEvent, RecordedEvent};

const COLUMNS: &str = "position, tx_id, event_id, stream_id, stream_version, event_type, \
    occurred_at, recorded_at, command_id, correlation_id, causation_id, actor, traceparent, \
    payload, hash";

/// The read of [`EventStore::read_committed`]: events after the cursor `($1, $2)` in
/// `(tx_id, position)` order, at most `$3`. The row comparison bounds the index search on both
/// backends (SQLite by its leading column), so the read starts at the cursor. PostgreSQL cannot
/// bound a scan by the equivalent `tx_id > $1 OR (tx_id = $1 AND position > $2)`: it walked the
/// index from the first event, fetching every earlier event (an O(store) read on every relay
/// batch).
fn read_committed_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM events WHERE (tx_id, position) > ($1, $2) \
         ORDER BY tx_id, position LIMIT $3"
    )
}

/// Longest accepted command id, stream id or metadata string, in bytes.
const MAX_ID_LEN: usize = 200;

/// One append of a group (see [`EventStore::append_all`]).
#[derive(Debug, Clone)]
pub struct AppendRequest {
    /// The stream to append to.
    pub stream_id: String,
    /// Its expected current version.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// The command that produced them.
    pub meta: CommandMeta,
}

/// The result of an accepted append.
#[derive(Debug, Clone)]
pub struct AppendOutcome {
    /// The events the command wrote, in stream order.
    pub events: Vec<RecordedEvent>,
    /// True when the command id had been seen with the same fingerprint: `events` are the ones the
    /// first attempt wrote and nothing new was written.
    pub replayed: bool,
}

/// A handle on one event store database. Cheap to clone.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
    /// Where this handle writes: on SQLite one connection of the process, whose page cache stays
    /// warm ([`backend::connect_writer`]); on PostgreSQL the pool, or connections of the
    /// handle's own ([`EventStore::with_own_writes`]).
    writes: AnyPool,
    /// On PostgreSQL, appends through this handle hold the store's writer lease
    /// ([`EventStore::with_writer_lease`]).
    leased: Option<Lease>,
}

/// The writer lease of a handle.
#[derive(Clone)]
struct Lease {
    /// The name the lease's session goes by.
    owner: Arc<str>,
    /// Set by each connection the handle opens: a session that replaced the lease's holds no
    /// lease ([`EventStore::lease_session_replaced`]).
    new_session: Arc<AtomicBool>,
}

struct Inner {
    pool: AnyPool,
    /// On PostgreSQL, typed connections for the commit-order feed ([`backend::connect_feed`]).
    feed: Option<sqlx::PgPool>,
    backend: Backend,
    /// SQLite allows one writer: every write in this process takes this lock so that no
    /// transaction ever has to upgrade a read lock (which SQLite refuses without waiting).
    writer: Option<Mutex<()>>,
    /// Global position of the last event this process appended; readers wait on it.
    head: watch::Sender<i64>,
    _checkpointer: Option<backend::WalCheckpointer>,
}

enum Attempt {
    Done(Vec<AppendOutcome>),
    /// Another transaction wrote one of the streams or recorded one of the command ids
    /// concurrently: look again.
    Race,
}

impl EventStore {
    /// Connects to `url` (`postgres://…` or `sqlite:PATH`) and creates the schema when missing.
    pub async fn open(url: &str) -> Result<EventStore, StoreError> {
        let (pool, backend) = backend::connect_readers(url, 8)
            .await
            .map_err(StoreError::of("connect"))?;
        backend::create_schema(&pool, backend, &backend::schema(backend))
            .await
            .map_err(StoreError::of("create schema"))?;
        let writes = match backend {
            Backend::Sqlite => {
                backend::connect_writer(url)
                    .await
                    .map_err(StoreError::of("connect"))?
                    .0
            }
            Backend::Postgres => pool.clone(),
        };
        let feed = backend::connect_feed(url).map_err(StoreError::of("connect"))?;
        let writer = (backend == Backend::Sqlite).then(|| Mutex::new(()));
        let checkpointer = backend::WalCheckpointer::start(&pool, backend);
        let (head, _) = watch::channel(0);
        Ok(EventStore {
            inner: Arc::new(Inner {
                pool,
                feed,
                backend,
                writer,
                head,
                _checkpointer: checkpointer,
            }),
            writes,
            leased: None,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The connection pool (for the relay's checkpoint and for health checks).
    pub fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// A handle on the same store whose writes go through a connection of its own, for a task
    /// that writes all the time from a runtime of its own (the command writer's thread). On
    /// PostgreSQL the connection is opened by the handle's first use, so its socket
    /// is driven by the runtime of the task that writes: its replies wake that task directly,
    /// not through the I/O driver of another runtime whose workers are busy. Call it from that
    /// runtime. On SQLite the handle shares the process's single writing connection (and its
    /// lock), whose I/O runs on a thread of its own anyway.
    ///
    /// The connection is closed when the last clone of the handle is dropped.
    pub fn with_own_writes(&self) -> EventStore {
        self.own_writes(None)
    }

    fn own_writes(&self, new_session: Option<Arc<AtomicBool>>) -> EventStore {
        let writes = match self.inner.backend {
            Backend::Sqlite => self.writes.clone(),
            Backend::Postgres => backend::own_writes(&self.inner.pool, new_session),
        };
        EventStore {
            inner: self.inner.clone(),
            writes,
            leased: None,
        }
    }

    /// [`EventStore::with_own_writes`], holding the store's writer lease: on PostgreSQL its
    /// connection takes the lease now, its session named `owner` (what another process's refusal
    /// shows, e.g. "bottomline registry writer (pid 77)"), and each of its appends fails with
    /// [`AppendError::Lease`] unless its session still holds it ([`crate::lease`]). Call it from
    /// the runtime that will write, as [`EventStore::with_own_writes`]; let the lease go with
    /// [`EventStore::close_writes`].
    ///
    /// # Errors
    /// [`LeaseError::Held`] (naming the holding session) when another session holds the lease;
    /// [`LeaseError::Store`] when the database cannot be reached. On SQLite it never fails: the
    /// data directory's lock file is the lease there.
    pub async fn with_writer_lease(&self, owner: &str) -> Result<EventStore, LeaseError> {
        if self.inner.backend != Backend::Postgres {
            return Ok(self.with_own_writes());
        }
        let new_session = Arc::new(AtomicBool::new(false));
        let mut store = self.own_writes(Some(new_session.clone()));
        store.leased = Some(Lease {
            owner: owner.into(),
            new_session,
        });
        store.take_lease_again().await?;
        Ok(store)
    }

    /// Whether this handle appends under the writer lease ([`EventStore::with_writer_lease`] on
    /// PostgreSQL).
    pub fn is_leased(&self) -> bool {
        self.leased.is_some()
    }

    /// Takes this handle's writing connection and gives it back, which pings it (and replaces it
    /// when it is dead: see [`EventStore::lease_session_replaced`]).
    ///
    /// # Errors
    /// [`StoreError`] when no connection can be had.
    pub async fn use_writes_connection(&self) -> Result<(), StoreError> {
        self.writes
            .acquire()
            .await
            .map(drop)
            .map_err(StoreError::of("acquire"))
    }

    /// Whether the connection of a handle holding the writer lease was replaced (the server ended
    /// its session, which let the lease go) since the lease was last taken; asking clears it.
    /// The writer asks after its group's first statement and after its idle ping
    /// ([`EventStore::use_writes_connection`]), before deciding anything, then takes the lease
    /// again ([`EventStore::take_lease_again`]) and reads the store back. Always `false` on a
    /// handle without a lease.
    pub fn lease_session_replaced(&self) -> bool {
        self.leased
            .as_ref()
            .is_some_and(|l| l.new_session.swap(false, Ordering::SeqCst))
    }

    /// Closes the connection of a handle that holds the writer lease, which lets the lease go at
    /// once (the server ends the session); does nothing to any other handle. Appends through it
    /// fail afterwards.
    pub async fn close_writes(&self) {
        if self.leased.is_some() {
            self.writes.close().await;
        }
    }

    /// Takes the writer lease again on a handle whose session lost it (see
    /// [`LeaseError::Retaken`]), if it is free. `Ok` when this handle holds it now (also when it
    /// never lost it, and on a handle without a lease).
    ///
    /// # Errors
    /// [`LeaseError::Held`] while another session holds it, [`LeaseError::Store`] when the
    /// database cannot be reached.
    pub async fn take_lease_again(&self) -> Result<(), LeaseError> {
        let Some(lease) = &self.leased else {
            return Ok(());
        };
        let mut conn = self
            .writes
            .acquire()
            .await
            .map_err(StoreError::of("acquire"))?;
        lease::take(&mut conn, &lease.owner).await?;
        // This session holds it now, whichever opened it.
        lease.new_session.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// A receiver that changes whenever this process appends: readers of the global order wait on
    /// it instead of polling fast. Holds the global position of the last appended event.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.head.subscribe()
    }

    /// Appends `events` to `stream_id` in one transaction.
    ///
    /// - `expected` is checked against the stream's current version; a concurrent append that wins
    ///   the race makes this one fail with [`AppendError::WrongExpectedVersion`].
    /// - `meta.command_id` is the idempotency key: if it was recorded before with the same
    ///   fingerprint, the first outcome is returned with `replayed = true` and nothing is written;
    ///   with another fingerprint the append fails with [`AppendError::CommandIdReused`].
    /// - Each event is linked into the stream's hash chain.
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        meta: &CommandMeta,
    ) -> Result<AppendOutcome, AppendError> {
        let request = AppendRequest {
            stream_id: stream_id.to_string(),
            expected,
            events,
            meta: meta.clone(),
        };
        let mut outcomes = self.append_all(std::slice::from_ref(&request)).await?;
        Ok(outcomes.pop().expect("one outcome per request"))
    }

    /// Group commit: carries out several appends in **one** transaction, each with the semantics
    /// of [`EventStore::append`] (a later request may append to a stream an earlier one just
    /// extended; its expected version counts those events). All or nothing: if any request fails
    /// its check, the error is returned and nothing is written. Outcomes come in request order.
    pub async fn append_all(
        &self,
        requests: &[AppendRequest],
    ) -> Result<Vec<AppendOutcome>, AppendError> {
        let mut ids = std::collections::HashSet::new();
        for r in requests {
            validate(&r.stream_id, &r.events, &r.meta)?;
            if !ids.insert(r.meta.command_id.as_str()) {
                return Err(AppendError::Invalid(format!(
                    "command id {} appears twice in one group",
                    r.meta.command_id
                )));
            }
        }
        let _writer = match &self.inner.writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        for _ in 0..3 {
            match self.try_append_all(requests).await? {
                Attempt::Done(outcomes) => {
                    let last = outcomes
                        .iter()
                        .filter(|o| !o.replayed)
                        .filter_map(|o| o.events.last())
                        .map(|e| e.position)
                        .max();
                    if let Some(last) = last {
                        self.inner.head.send_replace(last);
                    }
                    return Ok(outcomes);
                }
                Attempt::Race => continue,
            }
        }
        Err(AppendError::Invalid(
            "concurrent appends to the same streams keep racing".into(),
        ))
    }

    /// One attempt at a group, in a constant number of statements whatever its size: the
    /// group's command ids looked up together, the heads of every stream it touches read
    /// together, then all its events and all its command records written as multi-row inserts.
    async fn try_append_all(&self, requests: &[AppendRequest]) -> Result<Attempt, AppendError> {
        let mut tx = self.writes.begin().await.map_err(StoreError::of("begin"))?;
        match backend::append_lock(self.inner.backend) {
            Some(_) if self.leased.is_some() => {
                let held: bool = sqlx::query(lease::append_lock_and_check())
                    .fetch_one(&mut *tx)
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(StoreError::of("take the append lock"))?;
                if !held {
                    tx.rollback().await.map_err(StoreError::of("rollback"))?;
                    return Err(match self.take_lease_again().await {
                        Ok(()) => LeaseError::Retaken,
                        Err(e) => e,
                    }
                    .into());
                }
            }
            Some(lock) => {
                sqlx::query(lock)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::of("take the append lock"))?;
            }
            None => {}
        }
        // The append lock first, then every read before any write: a PostgreSQL transaction gets
        // its id at its first write, so it gets it while holding the lock, and an append that saw
        // version n of a stream has a larger id than the one that wrote n. So the rows are
        // planned here (versions, hashes) and written afterwards.
        let recorded_at = chrono::Utc::now().timestamp_micros();
        let command_ids: Vec<&str> = requests
            .iter()
            .map(|r| r.meta.command_id.as_str())
            .collect();
        let seen = batch::fingerprints(&mut tx, &command_ids).await?;
        let mut new_streams: Vec<&str> = requests
            .iter()
            .filter(|r| !seen.contains_key(&r.meta.command_id))
            .map(|r| r.stream_id.as_str())
            .collect();
        new_streams.sort_unstable();
        new_streams.dedup();
        let mut heads = batch::heads(&mut tx, &new_streams).await?;
        let mut plans: Vec<Result<AppendOutcome, Vec<RecordedEvent>>> = Vec::new();
        for r in requests {
            let meta = &r.meta;
            if let Some(fingerprint) = seen.get(&meta.command_id) {
                if *fingerprint != meta.fingerprint {
                    return Err(AppendError::CommandIdReused {
                        command_id: meta.command_id.clone(),
                    });
                }
                plans.push(Ok(outcome_of(&mut tx, &meta.command_id).await?));
                continue;
            }
            let stream_id = r.stream_id.as_str();
            let (current, previous_hash) = heads
                .get(stream_id)
                .cloned()
                .unwrap_or_else(|| (0, hash::GENESIS.to_vec()));
            check_expected(stream_id, r.expected, current)?;
            let mut previous_hash = previous_hash;
            let mut rows = Vec::with_capacity(r.events.len());
            for (i, event) in r.events.iter().enumerate() {
                let row = plan_row(
                    stream_id,
                    current + 1 + i as u64,
                    event,
                    meta,
                    recorded_at,
                    &previous_hash,
                );
                previous_hash = row.hash.clone();
                rows.push(row);
            }
            heads.insert(
                stream_id.to_string(),
                (current + r.events.len() as u64, previous_hash),
            );
            plans.push(Err(rows));
        }

        let tx_id = match self.inner.backend {
            Backend::Sqlite => Some(
                sqlx::query("SELECT COALESCE(MAX(tx_id), 0) + 1 FROM events")
                    .fetch_one(&mut *tx)
                    .await
                    .and_then(|r| r.try_get::<i64, _>(0))
                    .map_err(StoreError::of("allocate transaction order"))?,
            ),
            Backend::Postgres => None,
        };
        let new_rows: Vec<&RecordedEvent> = plans
            .iter()
            .filter_map(|p| p.as_ref().err())
            .flatten()
            .collect();
        // A unique violation means another process appended to one of the streams (or recorded
        // one of the command ids) since the heads were read: the next attempt reads them again,
        // and its expected-version check (or replay) gives the answer.
        let placed = match batch::insert_events(&mut tx, tx_id, &new_rows).await {
            Ok(placed) => placed,
            Err(e) if is_unique_violation(&e) => return Ok(Attempt::Race),
            Err(e) => return Err(StoreError::of("insert events")(e).into()),
        };
        let new_commands: Vec<&AppendRequest> = requests
            .iter()
            .zip(&plans)
            .filter(|(_, p)| p.is_err())
            .map(|(r, _)| r)
            .collect();
        match batch::insert_commands(&mut tx, &new_commands, recorded_at).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Attempt::Race),
            Err(e) => return Err(StoreError::of("record commands")(e).into()),
        }
        tx.commit().await.map_err(StoreError::of("commit"))?;
        let outcomes = plans
            .into_iter()
            .map(|plan| match plan {
                Ok(replayed) => replayed,
                Err(mut rows) => {
                    for row in &mut rows {
                        (row.position, row.tx_id) = placed[&row.event_id];
                    }
                    AppendOutcome {
                        events: rows,
                        replayed: false,
                    }
                }
            })
            .collect();
        Ok(Attempt::Done(outcomes))
    }

    /// The stored outcome of an earlier command with this id, if any: `Ok(Some(..))` with
    /// `replayed = true` when the fingerprint matches, [`AppendError::CommandIdReused`] when it
    /// does not. Lets a service answer a retry before deciding anything (the decision could differ
    /// now that the first attempt's events exist); [`EventStore::append`] checks again atomically.
    pub async fn replay(
        &self,
        command_id: &str,
        fingerprint: &[u8],
    ) -> Result<Option<AppendOutcome>, AppendError> {
        let mut conn = self
            .inner
            .pool
            .acquire()
            .await
            .map_err(StoreError::of("acquire"))?;
        stored_outcome(&mut conn, command_id, fingerprint).await
    }

    /// Which of `command_ids` were recorded before: one query for a whole group, so that only
    /// those need [`EventStore::replay`].
    pub async fn recorded_commands(
        &self,
        command_ids: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if command_ids.is_empty() {
            return Ok(Default::default());
        }
        // On the writer's connection: the writer looks its group up right before appending it.
        let mut conn = self
            .writes
            .acquire()
            .await
            .map_err(StoreError::of("acquire"))?;
        let recorded = batch::fingerprints(&mut conn, command_ids).await?;
        Ok(recorded.into_keys().collect())
    }

    /// Current version of a stream (0 when it does not exist).
    pub async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        let v: i64 =
            sqlx::query("SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1")
                .bind(stream_id)
                .fetch_one(&self.inner.pool)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(StoreError::of("read stream version"))?;
        Ok(v as u64)
    }

    /// Events of one stream with version ≥ `from_version`, in version order.
    pub async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 \
             ORDER BY stream_version"
        ))
        .bind(stream_id)
        .bind(from_version as i64)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(StoreError::of("read stream"))?;
        rows.iter().map(decode).collect()
    }

    /// Up to `limit` events after `after` in commit-safe global order (`tx_id`, then position).
    ///
    /// Never returns an event while a transaction that may still commit before it is open (see
    /// [`backend::append_lock`]), so a reader that resumes from the cursor of the last event it
    /// got never misses one.
    pub async fn read_committed(
        &self,
        after: GlobalCursor,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = read_committed_sql();
        let read = StoreError::of("read global order");
        if let Some(feed) = &self.inner.feed {
            let rows = sqlx::query(&sql)
                .bind(after.tx_id)
                .bind(after.position)
                .bind(limit as i64)
                .fetch_all(feed)
                .await
                .map_err(read)?;
            return rows.iter().map(decode).collect();
        }
        let rows = sqlx::query(&sql)
            .bind(after.tx_id)
            .bind(after.position)
            .bind(limit as i64)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(read)?;
        rows.iter().map(decode).collect()
    }

    /// Number of events and the highest global position in the store.
    pub async fn head(&self) -> Result<(i64, i64), StoreError> {
        sqlx::query("SELECT COUNT(*), COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&self.inner.pool)
            .await
            .and_then(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .map_err(StoreError::of("read head"))
    }

    /// The global position of the last event appended, 0 for an empty store (read through the
    /// primary key, without counting the events as [`EventStore::head`] does).
    pub async fn last_position(&self) -> Result<i64, StoreError> {
        sqlx::query("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&self.inner.pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(StoreError::of("read last position"))
    }

    /// Recomputes a stream's hash chain and checks its versions run 1, 2, 3, … .
    pub async fn verify_stream(&self, stream_id: &str) -> Result<u64, ChainError> {
        let events = self.read_stream(stream_id, 0).await?;
        let mut previous = hash::GENESIS.to_vec();
        for (i, e) in events.iter().enumerate() {
            let expected = i as u64 + 1;
            if e.stream_version != expected {
                return Err(ChainError::Gap {
                    stream_id: stream_id.into(),
                    expected,
                    found: e.stream_version,
                });
            }
            let event_id = e.event_id.to_string();
            let link = hash::link(
                &previous,
                &Canonical {
                    event_id: &event_id,
                    stream_id: &e.stream_id,
                    stream_version: e.stream_version,
                    event_type: &e.event_type,
                    occurred_at_micros: e.occurred_at_micros,
                    recorded_at_micros: e.recorded_at_micros,
                    command_id: &e.command_id,
                    correlation_id: &e.correlation_id,
                    causation_id: &e.causation_id,
                    actor: &e.actor,
                    payload: &e.payload,
                },
            );
            if link != e.hash {
                return Err(ChainError::Mismatch {
                    stream_id: stream_id.into(),
                    version: e.stream_version,
                });
            }
            previous = link;
        }
        Ok(events.len() as u64)
    }

    /// The cursor a named reader (such as the relay) saved, or [`GlobalCursor::START`].
    pub async fn load_checkpoint(&self, name: &str) -> Result<GlobalCursor, StoreError> {
        let row = sqlx::query("SELECT tx_id, position FROM checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(StoreError::of("load checkpoint"))?;
        match row {
            Some(r) => Ok(GlobalCursor {
                tx_id: r.try_get(0).map_err(StoreError::of("decode checkpoint"))?,
                position: r.try_get(1).map_err(StoreError::of("decode checkpoint"))?,
            }),
            None => Ok(GlobalCursor::START),
        }
    }

    /// Saves a named reader's cursor.
    pub async fn save_checkpoint(
        &self,
        name: &str,
        cursor: GlobalCursor,
    ) -> Result<(), StoreError> {
        let _writer = match &self.inner.writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        sqlx::query(
            "INSERT INTO checkpoints (name, tx_id, position) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, position = excluded.position",
        )
        .bind(name)
        .bind(cursor.tx_id)
        .bind(cursor.position)
        .execute(&self.writes)
        .await
        .map_err(StoreError::of("save checkpoint"))?;
        Ok(())
    }

    /// Records `value` under `name` unless a value is already there, and returns the stored one.
    /// For facts fixed at the store's creation, such as which key its hashes were made with.
    pub async fn setting_or_init(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let _writer = match &self.inner.writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.writes)
        .await
        .map_err(StoreError::of("save setting"))?;
        sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.inner.pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(StoreError::of("read setting"))
    }

    /// Closes this handle's pools, waiting for their connections to be returned. A handle made
    /// by [`EventStore::with_own_writes`] on PostgreSQL keeps its own connection, closed when
    /// that handle is dropped (the command writer's, when its thread ends).
    pub async fn close(&self) {
        self.writes.close().await;
        self.inner.pool.close().await;
        if let Some(feed) = &self.inner.feed {
            feed.close().await;
        }
    }
}

/// Plans the stored row of `event` at `version` of `stream_id`, linked to `previous_hash`.
fn plan_row(
    stream_id: &str,
    version: u64,
    event: &NewEvent,
    meta: &CommandMeta,
    recorded_at: i64,
    previous_hash: &[u8],
) -> RecordedEvent {
    let event_id = event.event_id.to_string();
    let hash = hash::link(
        previous_hash,
        &Canonical {
            event_id: &event_id,
            stream_id,
            stream_version: version,
            event_type: &event.event_type,
            occurred_at_micros: event.occurred_at_micros,
            recorded_at_micros: recorded_at,
            command_id: &meta.command_id,
            correlation_id: &meta.correlation_id,
            causation_id: &meta.causation_id,
            actor: &meta.actor,
            payload: &event.payload,
        },
    );
    RecordedEvent {
        event_id: event.event_id,
        stream_id: stream_id.to_string(),
        stream_version: version,
        position: 0,
        tx_id: 0,
        event_type: event.event_type.clone(),
        occurred_at_micros: event.occurred_at_micros,
        recorded_at_micros: recorded_at,
        command_id: meta.command_id.clone(),
        correlation_id: meta.correlation_id.clone(),
        causation_id: meta.causation_id.clone(),
        actor: meta.actor.clone(),
        traceparent: meta.traceparent.clone(),
        payload: event.payload.clone(),
        hash,
    }
}

async fn stored_outcome(
    conn: &mut sqlx::AnyConnection,
    command_id: &str,
    fingerprint: &[u8],
) -> Result<Option<AppendOutcome>, AppendError> {
    let seen = sqlx::query("SELECT fingerprint FROM commands WHERE command_id = $1")
        .bind(command_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::of("look up command"))?;
    let Some(row) = seen else { return Ok(None) };
    let stored: Vec<u8> = row.try_get(0).map_err(StoreError::of("decode command"))?;
    if stored != fingerprint {
        return Err(AppendError::CommandIdReused {
            command_id: command_id.to_string(),
        });
    }
    outcome_of(conn, command_id).await.map(Some)
}

/// The events a recorded command wrote, as a replayed outcome: found in the command's stream
/// (the commands table names it), so that events need no index of their own on `command_id`
/// (one random-key index fewer to maintain on every append).
async fn outcome_of(
    conn: &mut sqlx::AnyConnection,
    command_id: &str,
) -> Result<AppendOutcome, AppendError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events \
         WHERE stream_id = (SELECT stream_id FROM commands WHERE command_id = $1) \
           AND command_id = $1 ORDER BY stream_version"
    ))
    .bind(command_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::of("read command outcome"))?;
    let events = rows.iter().map(decode).collect::<Result<_, _>>()?;
    Ok(AppendOutcome {
        events,
        replayed: true,
    })
}

fn validate(stream_id: &str, events: &[NewEvent], meta: &CommandMeta) -> Result<(), AppendError> {
    if events.is_empty() {
        return Err(AppendError::Invalid("no events to append".into()));
    }
    if stream_id.is_empty() || stream_id.len() > MAX_ID_LEN {
        return Err(AppendError::Invalid(format!(
            "stream id must be 1..={MAX_ID_LEN} bytes"
        )));
    }
    if meta.command_id.is_empty() || meta.command_id.len() > MAX_ID_LEN {
        return Err(AppendError::Invalid(format!(
            "command id must be 1..={MAX_ID_LEN} bytes"
        )));
    }
    Ok(())
}

fn check_expected(
    stream_id: &str,
    expected: ExpectedVersion,
    current: u64,
) -> Result<(), AppendError> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current == 0,
        ExpectedVersion::Exact(v) => current == v,
    };
    if ok {
        Ok(())
    } else {
        Err(AppendError::WrongExpectedVersion {
            stream_id: stream_id.to_string(),
            expected: expected_number(expected, current),
            actual: current,
        })
    }
}

fn expected_number(expected: ExpectedVersion, current: u64) -> u64 {
    match expected {
        ExpectedVersion::Any => current,
        ExpectedVersion::NoStream => 0,
        ExpectedVersion::Exact(v) => v,
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// An event from a row of [`COLUMNS`], through the `Any` driver or straight from PostgreSQL.
fn decode<'r, R>(row: &'r R) -> Result<RecordedEvent, StoreError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let bad = StoreError::of("decode event");
    let r = (|| -> Result<RecordedEvent, sqlx::Error> {
        let event_id: String = row.try_get(2)?;
        Ok(RecordedEvent {
            position: row.try_get(0)?,
            tx_id: row.try_get(1)?,
            event_id: Uuid::parse_str(&event_id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            stream_id: row.try_get(3)?,
            stream_version: row.try_get::<i64, _>(4)? as u64,
            event_type: row.try_get(5)?,
            occurred_at_micros: row.try_get(6)?,
            recorded_at_micros: row.try_get(7)?,
            command_id: row.try_get(8)?,
            correlation_id: row.try_get(9)?,
            causation_id: row.try_get(10)?,
            actor: row.try_get(11)?,
            traceparent: row.try_get(12)?,
            payload: row.try_get(13)?,
            hash: row.try_get(14)?,
        })
    })();
    r.map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;

    /// On SQLite the commit-order read is a search of its index from the cursor's transaction on.
    #[tokio::test]
    async fn sqlite_reads_the_global_order_from_the_cursor_on() {
        let db = TestDatabase::sqlite();
        let store = EventStore::open(&db.url).await.expect("open");
        let plan: Vec<String> =
            sqlx::query(&format!("EXPLAIN QUERY PLAN {}", read_committed_sql()))
                .bind(0i64)
                .bind(0i64)
                .bind(100i64)
                .fetch_all(store.pool())
                .await
                .expect("explain")
                .iter()
                .map(|r| r.try_get::<String, _>(3).expect("plan detail"))
                .collect();
        // SQLite shows the row comparison's leading bound: a range search from the cursor's
        // transaction on, not a scan.
        assert_eq!(
            plan,
            ["SEARCH events USING INDEX events_commit_order (tx_id>?)"]
        );
    }

    /// The commit-order read starts at the cursor: on PostgreSQL, with the planner kept to the
    /// index, no event before the cursor is fetched and filtered out.
    #[tokio::test]
    async fn postgres_reads_the_global_order_from_the_cursor_on() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let store = EventStore::open(&db.url).await.expect("open");
        let mut last = GlobalCursor::START;
        for i in 0..40 {
            let meta = CommandMeta {
                command_id: format!("command-{i}"),
                ..CommandMeta::default()
            };
            let event = NewEvent::now("test.Happened", vec![1, 2, 3]);
            let outcome = store
                .append(
                    &format!("s-{i}"),
                    ExpectedVersion::NoStream,
                    vec![event],
                    &meta,
                )
                .await
                .expect("append");
            if i == 29 {
                last = outcome.events[0].cursor();
            }
        }
        let mut conn = store.pool().acquire().await.expect("connection");
        for setting in ["SET enable_seqscan = off", "SET enable_sort = off"] {
            sqlx::query(setting)
                .execute(&mut *conn)
                .await
                .expect(setting);
        }
        let plan: Vec<String> = sqlx::query(&format!("EXPLAIN ANALYZE {}", read_committed_sql()))
            .bind(last.tx_id)
            .bind(last.position)
            .bind(100i64)
            .fetch_all(&mut *conn)
            .await
            .expect("explain")
            .iter()
            .map(|r| r.try_get::<String, _>(0).expect("plan line"))
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("Index Cond"), "{plan}");
        assert!(!plan.contains("Rows Removed by Filter"), "{plan}");
        let events = store.read_committed(last, 100).await.expect("read");
        assert_eq!(events.len(), 10);
        assert_eq!(events[0].stream_id, "s-30");
    }
}
