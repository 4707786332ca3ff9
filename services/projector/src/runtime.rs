//! Batches applied exactly once: read-model change, dedupe watermarks, parked events and source
//! checkpoints commit in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use eventstore::backend::WalCheckpointer;
use eventstore::sql::{placeholders, value_rows};
use eventstore::{Backend, RecordedEvent};
use sqlx::{AnyPool, Row};
use tokio::sync::watch;

use crate::metrics::ProjectorMetrics;
use crate::projection::{Applied, Projection, RunError};

/// One event as a source delivers it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Ordering key: the stream id.
    pub key: String,
    /// The sequence it was delivered in, whose events come in the order of their event store's
    /// global positions: a Kafka partition (`<topic>:<partition>`) or an event store
    /// (`store:<name>`). Its dedupe watermark is kept under this name.
    pub source: Arc<str>,
    /// The decoded event, or why it could not be decoded (it will be parked).
    pub event: Result<RecordedEvent, String>,
    /// Its place in `source`: the record's offset in a Kafka partition, the event's global
    /// position in an event store.
    pub offset: i64,
    /// The record's bytes when `event` could not be decoded, kept with the parked event so it can
    /// be inspected or replayed; empty when `event` is decoded (its payload is those bytes).
    pub raw: Vec<u8>,
}

impl Delivery {
    /// The bytes as delivered: the decoded event's payload, or [`Delivery::raw`].
    pub fn bytes(&self) -> &[u8] {
        match &self.event {
            Ok(event) => &event.payload,
            Err(_) => &self.raw,
        }
    }

    /// Where it came from, for the dead-letter record: `<source>/<offset>`, e.g.
    /// `bottomline.registry.events:2/1041` or `store:registry/1041`.
    pub fn origin(&self) -> String {
        format!("{}/{}", self.source, self.offset)
    }

    /// A delivery of a decoded event read from an event store `source` (see
    /// [`Delivery::source`]), at its global position.
    pub fn of_event(event: RecordedEvent, source: Arc<str>) -> Delivery {
        Delivery {
            key: event.stream_id.clone(),
            source,
            offset: event.position,
            raw: Vec::new(),
            event: Ok(event),
        }
    }
}

/// How far a source has been consumed: stored in the same transaction as the read model.
///
/// Embedded source: `source = "store:<name>"`, `(a, b)` = the event store cursor
/// `(tx_id, position)`. Kafka: `source = "<topic>:<partition>"`, `a` = next offset to read, `b` = 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Source key.
    pub source: String,
    /// First cursor component.
    pub a: i64,
    /// Second cursor component.
    pub b: i64,
}

/// An event set aside instead of applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    /// Stream id (ordering key).
    pub key: String,
    /// Event id, when it could be decoded.
    pub event_id: String,
    /// Where it came from.
    pub origin: String,
    /// Why it was parked.
    pub reason: String,
    /// The bytes as delivered.
    pub raw: Vec<u8>,
}

/// What one batch did.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// Events applied.
    pub applied: u64,
    /// Events skipped as copies: at or below their source's watermark (applied or parked
    /// before, or a second copy within the batch).
    pub duplicates: u64,
    /// Events of unknown type passed over.
    pub unknown: u64,
    /// Events parked.
    pub parked: Vec<ParkedEvent>,
    /// Position and recorded-at of the last decoded event of the batch.
    pub last_event: Option<(i64, i64)>,
    /// Recorded-at (UTC microseconds) of every event applied, for the end-to-end lag.
    pub applied_recorded_at: Vec<i64>,
}

/// A batch in progress: its report and the keys parked so far.
struct Batch {
    report: BatchReport,
    /// Keys whose later events are parked: those parked before the batch and in it.
    blocked: HashSet<String>,
    /// Keys parked in this batch (remembered once it commits).
    newly_parked: HashSet<String>,
}

fn waiting_behind(key: &str) -> String {
    format!("waiting behind an earlier parked event of stream {key}")
}

/// How far below its source's watermark a republished event can be: the relay has at most two
/// batches of 5,000 events in flight when it fails, and positions have few gaps. A duplicate
/// further below is more likely an event of a recreated event store (see
/// [`Projector::apply_batch`]); it is skipped all the same, and logged.
const REPUBLISHED_WINDOW: i64 = 20_000;

/// The dedupe watermarks of projector `name` for `sources` (sorted, distinct): by source, the
/// highest global position applied from it (0 for a source seen first now). The rows are created
/// when missing and, on PostgreSQL, locked until the batch's transaction ends, so that two
/// consumers applying the same partition at once (during a rebalance, one finishing the batch it
/// started while the other starts on the partition) take turns and the second sees what the
/// first applied. SQLite has one writer at a time anyway.
async fn lock_watermarks(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    name: &str,
    sources: &[&str],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    if sources.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "INSERT INTO projector_watermarks (projector, source, position) VALUES {} \
         ON CONFLICT DO NOTHING",
        value_rows(backend, sources.len(), 3)
    );
    let mut q = sqlx::query(&sql).persistent(false);
    for source in sources {
        q = q.bind(name).bind(*source).bind(0i64);
    }
    q.execute(&mut *conn).await?;
    let sql = format!(
        "SELECT source, position FROM projector_watermarks WHERE projector = {} \
         AND source IN ({}) ORDER BY source{}",
        placeholders(backend, 1, 1),
        placeholders(backend, 2, sources.len()),
        match backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    );
    let mut q = sqlx::query(&sql).persistent(false).bind(name);
    for source in sources {
        q = q.bind(*source);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Applies batches of events to one [`Projection`]'s read model.
pub struct Projector<P> {
    projection: P,
    pool: AnyPool,
    backend: Backend,
    parked_keys: Mutex<HashSet<String>>,
    metrics: Arc<ProjectorMetrics>,
    /// Batches committed that applied at least one event (see [`Projector::subscribe`]).
    changes: watch::Sender<u64>,
    _checkpointer: Option<WalCheckpointer>,
}

impl<P: Projection> Projector<P> {
    /// Opens the read-model database at `url` (on PostgreSQL its commits do not wait for the
    /// disk: [`eventstore::backend::connect_read_model`]), creates the runtime's and the
    /// projection's tables, and loads the keys that have parked events. The per-event dedupe records of earlier
    /// versions (`projector_processed`) are dropped: watermarks replaced them.
    pub async fn open(projection: P, url: &str) -> Result<Projector<P>, sqlx::Error> {
        let (pool, backend) = eventstore::backend::connect_read_model(url, 8).await?;
        Self::with_pool(projection, pool, backend).await
    }

    /// Like [`Projector::open`] on an existing pool.
    pub async fn with_pool(
        projection: P,
        pool: AnyPool,
        backend: Backend,
    ) -> Result<Projector<P>, sqlx::Error> {
        let bytes = backend.bytes();
        let serial = backend.serial_key();
        let mut ddl = vec![
            "CREATE TABLE IF NOT EXISTS projector_checkpoints (
                projector TEXT NOT NULL, source TEXT NOT NULL, a BIGINT NOT NULL, b BIGINT NOT NULL,
                PRIMARY KEY (projector, source))"
                .to_string(),
            "CREATE TABLE IF NOT EXISTS projector_watermarks (
                projector TEXT NOT NULL, source TEXT NOT NULL, position BIGINT NOT NULL,
                PRIMARY KEY (projector, source))"
                .to_string(),
            // One row per event applied, kept by earlier versions and never read now.
            "DROP TABLE IF EXISTS projector_processed".to_string(),
            format!(
                "CREATE TABLE IF NOT EXISTS projector_parked (
                    id {serial}, projector TEXT NOT NULL, stream_id TEXT NOT NULL,
                    event_id TEXT NOT NULL, origin TEXT NOT NULL, reason TEXT NOT NULL,
                    raw {bytes} NOT NULL, parked_at BIGINT NOT NULL)"
            ),
        ];
        ddl.extend(projection.schema(backend));
        eventstore::backend::create_schema(&pool, backend, &ddl).await?;
        let keys: Vec<String> =
            sqlx::query("SELECT DISTINCT stream_id FROM projector_parked WHERE projector = $1")
                .bind(projection.name())
                .fetch_all(&pool)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
        Ok(Projector {
            _checkpointer: WalCheckpointer::start(&pool, backend),
            projection,
            pool,
            backend,
            parked_keys: Mutex::new(keys.into_iter().collect()),
            metrics: Arc::default(),
            changes: watch::Sender::new(0),
        })
    }

    /// The projection's name.
    pub fn name(&self) -> &str {
        self.projection.name()
    }

    /// The read-model database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Live counters.
    pub fn metrics(&self) -> Arc<ProjectorMetrics> {
        self.metrics.clone()
    }

    /// A cheap change notification for live queries: the value counts the committed batches that
    /// applied at least one event (duplicates, unknown types and parked events alone do not bump
    /// it), and changes only after the batch's transaction committed, so a reader woken by it sees
    /// the new rows. Receivers see only the latest value: many batches may be folded into one
    /// wake-up. The counter starts at 0 with each `Projector` (it is not persisted).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The sources this read model has followed (its checkpoints' and watermarks' names),
    /// sorted: `store:<name>` when it was fed from an event store, `<topic>:<partition>` from
    /// Kafka.
    pub async fn sources(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query(
            "SELECT source FROM projector_checkpoints WHERE projector = $1 \
             UNION SELECT source FROM projector_watermarks WHERE projector = $1 ORDER BY 1",
        )
        .bind(self.name())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect()
    }

    /// The dedupe watermark of `source` (see [`Projector::apply_batch`]), if it has one.
    pub async fn watermark(&self, source: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query(
            "SELECT position FROM projector_watermarks WHERE projector = $1 AND source = $2",
        )
        .bind(self.name())
        .bind(source)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get(0))
        .transpose()
    }

    /// Raises the dedupe watermark of `source` to `position` (creating it when missing; a higher
    /// one is kept): for a source known to have been applied up to `position` by other means,
    /// such as a read model built before watermarks existed, whose Kafka offsets say which
    /// records it applied.
    pub async fn raise_watermark(&self, source: &str, position: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO projector_watermarks (projector, source, position) VALUES ($1, $2, $3) \
             ON CONFLICT (projector, source) DO UPDATE SET position = excluded.position \
             WHERE projector_watermarks.position < excluded.position",
        )
        .bind(self.name())
        .bind(source)
        .bind(position)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored checkpoint of `source`, if any.
    pub async fn checkpoint(&self, source: &str) -> Result<Option<Checkpoint>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT a, b FROM projector_checkpoints WHERE projector = $1 AND source = $2",
        )
        .bind(self.name())
        .bind(source)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Checkpoint {
                source: source.to_string(),
                a: r.try_get(0)?,
                b: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Applies `deliveries` in order and stores `checkpoints`, all in one transaction. On error
    /// nothing of the batch is kept; the caller retries it from its last checkpoint.
    ///
    /// **Dedupe.** The relay delivers at least once: after a crash it publishes again the events
    /// after its checkpoint, under new offsets. Each source delivers its events in the order of
    /// their global positions (the relay publishes in commit order; its idempotent producer
    /// keeps a partition's order, never gives up on a record and stops rather than leave a gap,
    /// see `kafka::config::KafkaConfig::producer`; positions grow in commit order, see
    /// `eventstore::backend::append_lock`), so a copy comes after the original and at or below
    /// the highest position seen before it. The runtime keeps that position per source, its
    /// **watermark** (`projector_watermarks`, committed with the batch), and skips every event at
    /// or below it as a duplicate: within the batch, across batches, restarts and rebalances.
    /// The batch's watermark rows are locked (PostgreSQL) until it commits, so two consumers on
    /// one partition during a rebalance take turns. Two statements per batch and one write per
    /// source that moved, instead of a record per event. Parked events move the watermark too,
    /// so a copy of one is a duplicate, not parked twice.
    ///
    /// The rule assumes a source's positions come from one event store. Topics outlive their
    /// store: one recreated empty under the same topics starts again at position 1, and its
    /// events would be skipped; give it new topics (another `--namespace`) or rebuild the read
    /// models. An event far below its watermark (more than 20,000 positions) is
    /// logged as a likely sign of that.
    ///
    /// Events that pass go to the projection in runs ([`Projection::apply_run`]), a run ending
    /// where an event has to be parked. An event parked from a store source keeps its payload as
    /// its bytes ([`Delivery::bytes`]).
    pub async fn apply_batch(
        &self,
        deliveries: &[Delivery],
        checkpoints: &[Checkpoint],
    ) -> Result<BatchReport, sqlx::Error> {
        let name = self.projection.name().to_string();
        let mut batch = Batch {
            report: BatchReport::default(),
            blocked: self.parked_keys.lock().expect("parked keys").clone(),
            newly_parked: HashSet::new(),
        };
        let mut tx = self.pool.begin().await?;
        let mut sources: Vec<&str> = deliveries
            .iter()
            .filter(|d| d.event.is_ok())
            .map(|d| &*d.source)
            .collect();
        sources.sort_unstable();
        sources.dedup();
        let stored = lock_watermarks(&mut tx, self.backend, &name, &sources).await?;
        let mut moved: HashMap<&str, i64> = HashMap::new();
        let mut far_below = None;
        let mut run: Vec<&Delivery> = Vec::new();
        for d in deliveries {
            let event = match &d.event {
                Ok(event) => event,
                Err(reason) => {
                    self.apply_run(&mut tx, &name, &mut run, &mut batch).await?;
                    self.park(&mut tx, &name, d, reason, &mut batch).await?;
                    continue;
                }
            };
            batch.report.last_event = Some((event.position, event.recorded_at_micros));
            let watermark = moved
                .entry(&d.source)
                .or_insert_with(|| stored.get(&*d.source).copied().unwrap_or(0));
            if event.position <= *watermark {
                if *watermark - event.position > REPUBLISHED_WINDOW {
                    far_below.get_or_insert((d.source.clone(), event.position, *watermark));
                }
                batch.report.duplicates += 1;
                continue;
            }
            *watermark = event.position;
            run.push(d);
        }
        self.apply_run(&mut tx, &name, &mut run, &mut batch).await?;
        self.projection.before_commit().await?;
        if let Some((source, position, watermark)) = far_below {
            tracing::warn!(projector = name, %source, position, watermark, "events far below their source's watermark skipped as duplicates: was the event store recreated under the same topics?");
        }
        for (source, position) in moved {
            if stored.get(source) == Some(&position) {
                continue;
            }
            sqlx::query(
                "UPDATE projector_watermarks SET position = $1 \
                 WHERE projector = $2 AND source = $3 AND position < $1",
            )
            .bind(position)
            .bind(&name)
            .bind(source)
            .execute(&mut *tx)
            .await?;
        }
        for c in checkpoints {
            sqlx::query(
                "INSERT INTO projector_checkpoints (projector, source, a, b) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (projector, source) DO UPDATE SET a = excluded.a, b = excluded.b",
            )
            .bind(&name)
            .bind(&c.source)
            .bind(c.a)
            .bind(c.b)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let Batch {
            report,
            newly_parked,
            ..
        } = batch;
        if !newly_parked.is_empty() {
            self.parked_keys
                .lock()
                .expect("parked keys")
                .extend(newly_parked);
        }
        if report.applied > 0 {
            self.changes.send_modify(|batches| *batches += 1);
        }
        self.metrics.record(&report);
        Ok(report)
    }

    /// Applies and empties `run`, in order: an event of a blocked key is parked behind the
    /// earlier one; the events between such are applied together; an event the projection finds
    /// poison is parked and its key blocked, and the rest of the run goes on.
    async fn apply_run(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
        run: &mut Vec<&Delivery>,
        batch: &mut Batch,
    ) -> Result<(), sqlx::Error> {
        let run = std::mem::take(run);
        let mut start = 0;
        while start < run.len() {
            let end = run[start..]
                .iter()
                .position(|d| batch.blocked.contains(&d.key))
                .map_or(run.len(), |i| start + i);
            if end == start {
                let reason = waiting_behind(&run[start].key);
                self.park(tx, name, run[start], &reason, batch).await?;
                start += 1;
                continue;
            }
            let events: Vec<&RecordedEvent> = run[start..end]
                .iter()
                .map(|d| d.event.as_ref().expect("runs hold decoded events"))
                .collect();
            let (applied, poisoned) = match self.projection.apply_run(tx, &events).await {
                Ok(applied) => (applied, None),
                Err(RunError::Poisoned { applied, reason }) => (applied, Some(reason)),
                Err(RunError::Store(e)) => return Err(e),
            };
            for (outcome, event) in applied.iter().zip(&events) {
                match outcome {
                    Applied::Applied => {
                        batch.report.applied += 1;
                        batch
                            .report
                            .applied_recorded_at
                            .push(event.recorded_at_micros);
                    }
                    Applied::UnknownType => batch.report.unknown += 1,
                }
            }
            start += applied.len();
            if let Some(reason) = poisoned {
                self.park(tx, name, run[start], &reason, batch).await?;
                start += 1;
            }
        }
        Ok(())
    }

    async fn park(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
        d: &Delivery,
        reason: &str,
        batch: &mut Batch,
    ) -> Result<(), sqlx::Error> {
        batch.blocked.insert(d.key.clone());
        batch.newly_parked.insert(d.key.clone());
        let event_id = d
            .event
            .as_ref()
            .map(|e| e.event_id.to_string())
            .unwrap_or_default();
        let origin = d.origin();
        tracing::warn!(projector = name, stream = %d.key, event_id, origin, reason, "event parked");
        sqlx::query(
            "INSERT INTO projector_parked (projector, stream_id, event_id, origin, reason, raw, parked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(name)
        .bind(&d.key)
        .bind(&event_id)
        .bind(&origin)
        .bind(reason)
        .bind(d.bytes())
        .bind(chrono::Utc::now().timestamp_micros())
        .execute(&mut **tx)
        .await?;
        batch.report.parked.push(ParkedEvent {
            key: d.key.clone(),
            event_id,
            origin,
            reason: reason.to_string(),
            raw: d.bytes().to_vec(),
        });
        Ok(())
    }

    /// Parked events of this projector, oldest first.
    pub async fn parked(&self) -> Result<Vec<ParkedEvent>, sqlx::Error> {
        sqlx::query(
            "SELECT stream_id, event_id, origin, reason, raw FROM projector_parked \
             WHERE projector = $1 ORDER BY id",
        )
        .bind(self.name())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ParkedEvent {
                key: r.try_get(0)?,
                event_id: r.try_get(1)?,
                origin: r.try_get(2)?,
                reason: r.try_get(3)?,
                raw: r.try_get(4)?,
            })
        })
        .collect()
    }
}
