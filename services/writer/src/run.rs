//! The single writer, on a thread of its own: idempotency, decisions on the in-memory write
//! model, group commit.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;
use decision::{Decision, DomainError};
use eventstore::{
    AppendError, AppendOutcome, AppendRequest, CommandMeta, EventStore, ExpectedVersion,
    GlobalCursor, LeaseError, NewEvent, StoreError,
};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::model::WriteModel;

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The input or a business rule said no.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store refused (concurrency, reused command id) or failed.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The write model could not be read back from the store after a failure (the database
    /// down, say): nothing is decided until it can; retry later with the same command id.
    #[error("{0}")]
    Unavailable(String),
}

/// Failure to open a [`CommandWriter`]: another process writes the store, its write model could
/// not be rebuilt from the store, or its thread could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store's writer lease is held by another process, or could not be taken
    /// ([`EventStore::with_writer_lease`]).
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The writer's thread could not be started.
    #[error("starting the command writer's thread: {0}")]
    Thread(std::io::Error),
    /// A stored event does not decode: the store is damaged or from a newer version.
    #[error("stored event at global position {position} does not decode: {reason}")]
    Decode {
        /// Global position of the event.
        position: i64,
        /// What is wrong.
        reason: String,
    },
}

/// Commands decided and appended together in one transaction, at most.
const MAX_GROUP: usize = 256;

/// How long the writer waits for a command before it looks at its writer lease
/// ([`Inner::check_lease`]): how soon a lease lost while idle shows in the health service, and a
/// free one is taken back.
const LEASE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// A command waiting for the writer.
struct Job<C> {
    command: C,
    meta: CommandMeta,
    today: NaiveDate,
    reply: oneshot::Sender<Result<AppendOutcome, ExecuteError>>,
}

struct Model<M> {
    state: M,
    cursor: GlobalCursor,
    /// A rebuild or catch-up failed part-way: `state` is not what the store holds, and no
    /// command is decided on it until a rebuild succeeds ([`Inner::ensure_current`]).
    stale: bool,
}

/// What a client is told while another process holds the writer lease (the holder's details go
/// to the log, not to clients).
const NOT_THE_WRITER: &str = "this process is not the event store's writer at the moment: \
     another process holds the store's writer lease";

/// The command side of one context: one per process and event store, shared by all its callers.
///
/// Commands queue for a single writer on a thread of its own (group commit): it takes every
/// command waiting, decides them in arrival order on the in-memory write model — each decision
/// sees the ones before it — and appends all their events in one transaction
/// ([`EventStore::append_all`]). If that transaction fails, the write model is rebuilt from the
/// store and the group's commands are carried out one by one, so each still gets its own outcome.
/// The write model therefore always equals the store. A caller that gives up (a cancelled gRPC
/// request) cannot interrupt a command half-way: the writer owns it. Another process writing the
/// same store in spite of the lease (a SQLite store) is detected by the expected-version check. A
/// command id seen before returns the
/// first outcome (`replayed = true`); with a different fingerprint it fails with
/// [`AppendError::CommandIdReused`].
///
/// One process writes a store: on PostgreSQL the writer holds the store's writer lease
/// ([`EventStore::with_writer_lease`]) from before it reads the store until it is dropped. If
/// its database session ends and another process takes the lease meanwhile, commands are
/// answered [`ExecuteError::Unavailable`] until the lease is free again; the writer then takes
/// it back and reads the store again before it decides anything.
pub struct CommandWriter<M: WriteModel> {
    inner: Arc<Inner<M>>,
    queue: mpsc::Sender<Job<M::Command>>,
}

struct Inner<M: WriteModel> {
    store: EventStore,
    /// Another process took the store's writer lease while this writer's session was gone: nothing
    /// is decided, nor the store read back, until the writer takes it again (on its thread, at its
    /// next group or idle check, [`LEASE_CHECK`]). Cleared under the model's lock after the model
    /// was marked stale; read without it by [`CommandWriter::holds_lease`].
    lease_lost: AtomicBool,
    model: Mutex<Model<M>>,
    fresh: Box<dyn Fn() -> M + Send + Sync>,
    actor: String,
}

impl<M: WriteModel> CommandWriter<M> {
    /// Starts the writer on a thread of its own, which takes the store's writer lease on
    /// PostgreSQL ([`EventStore::with_writer_lease`]: one writing process per store), then
    /// rebuilds the write model from every event in `store`, starting from `fresh()`. `actor` is
    /// recorded on commands that name none.
    ///
    /// # Errors
    /// [`OpenError::Lease`] when another process holds the lease (nothing is read then),
    /// [`OpenError::Store`] or [`OpenError::Decode`] when the rebuild fails, and
    /// [`OpenError::Thread`]. The lease is let go when the writer is dropped.
    pub async fn open(
        store: EventStore,
        fresh: impl Fn() -> M + Send + Sync + 'static,
        actor: &str,
    ) -> Result<CommandWriter<M>, OpenError> {
        let model = Model {
            state: fresh(),
            cursor: GlobalCursor::START,
            stale: false,
        };
        let inner = Arc::new(Inner {
            store,
            lease_lost: AtomicBool::new(false),
            model: Mutex::new(model),
            fresh: Box::new(fresh),
            actor: actor.to_owned(),
        });
        let (queue, jobs) = mpsc::channel(4 * MAX_GROUP);
        start(inner.clone(), jobs).await?;
        // No command can arrive before this returns: the model is rebuilt unshared.
        catch_up(&inner.store, &mut *inner.model.lock().await).await?;
        Ok(CommandWriter { inner, queue })
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    /// Whether this writer may write its store: `false` while another process holds the store's
    /// writer lease (this writer's session had ended meanwhile), when every command is answered
    /// [`ExecuteError::Unavailable`]; `true` again once the writer took the lease back. Always
    /// `true` on SQLite.
    pub fn holds_lease(&self) -> bool {
        !self.inner.lease_lost.load(Ordering::SeqCst)
    }

    /// Reads the write model (waits while a group is being decided), as it is: for counts and
    /// inspection. What decides anything reads through [`CommandWriter::read_current`].
    pub async fn read<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        f(&self.inner.model.lock().await.state)
    }

    /// Reads the write model once it equals the store: a model left stale by a failed rebuild
    /// (the database down, say) is rebuilt first, and while that fails the read fails with
    /// [`ExecuteError::Unavailable`], so that nothing is judged on a partial model.
    pub async fn read_current<R>(&self, f: impl FnOnce(&M) -> R) -> Result<R, ExecuteError> {
        let mut model = self.inner.model.lock().await;
        if self.inner.lease_lost.load(Ordering::SeqCst) {
            return Err(ExecuteError::Unavailable(NOT_THE_WRITER.into()));
        }
        self.inner
            .ensure_current(&self.inner.store, &mut model)
            .await
            .map_err(ExecuteError::Unavailable)?;
        Ok(f(&model.state))
    }

    /// Carries out `command` as of the civil date `today` (China Standard Time).
    pub async fn execute(
        &self,
        command: M::Command,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        self.submit(command, meta, today).await?.outcome().await
    }

    /// Queues `command` and returns once it is queued, without waiting for its outcome. Commands
    /// submitted one after the other are decided in that order, so a caller can pipeline many
    /// (they land in the same groups) and collect the outcomes afterwards.
    pub async fn submit(
        &self,
        command: M::Command,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<Submitted, ExecuteError> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            command,
            meta,
            today,
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return Err(stopped());
        }
        Ok(Submitted(outcome))
    }
}

/// Runs the writer loop on an OS thread of its own (`wr-<actor>`: Linux keeps 15 bytes of a
/// thread's name) with a single-threaded runtime, until every [`CommandWriter`] handle is dropped.
/// Returns once the loop holds the store's writer lease and waits for commands, or why the
/// lease could not be taken or the thread or its runtime could not start.
///
/// Every command waits for this loop, and the loop waits for the store once per statement of a
/// group's transaction. As a task of the process's shared runtime, each of those wake-ups queued
/// behind the tasks of the gRPC calls in flight: with 64 clients the loop was busy 95 % of the
/// time while the process used 1.2 of its 2 cores. On its own thread the registry alone,
/// embedded, took about a fifth more registrations per second (docs/performance.md, "Fifth
/// pass"). On PostgreSQL a connection's readiness comes from the runtime that opened it, so the
/// loop writes through a connection of its own, opened on this thread
/// ([`EventStore::with_own_writes`]): through the shared pool's connections each of its round
/// trips waited for the busy shared runtime to pass the reply on. The registry alone on
/// PostgreSQL + Kafka then took 3,430–3,450 → 3,845–4,625 registrations/s (docs/performance.md,
/// "Tenth pass").
async fn start<M: WriteModel>(
    inner: Arc<Inner<M>>,
    jobs: mpsc::Receiver<Job<M::Command>>,
) -> Result<(), OpenError> {
    let (started, running) = oneshot::channel();
    let name = format!("wr-{}", inner.actor);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            // Built on this thread: a runtime dropped inside an async context panics.
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(async {
                    let owner = format!(
                        "bottomline {} writer (pid {})",
                        inner.actor,
                        std::process::id()
                    );
                    match inner.store.with_writer_lease(&owner).await {
                        Ok(store) => {
                            let _ = started.send(Ok(()));
                            inner.run(&store, jobs).await;
                            store.close_writes().await;
                        }
                        Err(e) => {
                            let _ = started.send(Err(OpenError::Lease(e)));
                        }
                    }
                }),
                Err(e) => {
                    let _ = started.send(Err(OpenError::Thread(e)));
                }
            }
        })
        .map_err(OpenError::Thread)?;
    running.await.unwrap_or_else(|_| {
        Err(OpenError::Thread(std::io::Error::other(
            "the writer's thread ended at start",
        )))
    })
}

/// A queued command's outcome to come (see [`CommandWriter::submit`]).
pub struct Submitted(oneshot::Receiver<Result<AppendOutcome, ExecuteError>>);

impl Submitted {
    /// Waits for the outcome.
    pub async fn outcome(self) -> Result<AppendOutcome, ExecuteError> {
        self.0.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> ExecuteError {
    AppendError::Invalid("the command writer has stopped".into()).into()
}

impl<M: WriteModel> Inner<M> {
    /// `store` is the writer's handle on the store, with connections of its own.
    async fn run(&self, store: &EventStore, mut jobs: mpsc::Receiver<Job<M::Command>>) {
        loop {
            // Idle for a while: look at the lease, so that a lost one is reported (health) and a
            // free one taken back without waiting for a command.
            let first = match tokio::time::timeout(LEASE_CHECK, jobs.recv()).await {
                Ok(Some(first)) => first,
                Ok(None) => return,
                Err(_) => {
                    self.check_lease(store).await;
                    continue;
                }
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            self.run_group(store, group).await;
        }
    }

    /// Between commands, on a store with a writer lease: finds out whether the writer's session
    /// was replaced (a dead connection is replaced when it is next used, here), and takes a lost
    /// lease back when it is free. Either way the model is read back from the store before the
    /// next decision, since another process may have written meanwhile.
    async fn check_lease(&self, store: &EventStore) {
        if !store.is_leased() {
            return;
        }
        let lost = self.lease_lost.load(Ordering::SeqCst);
        if !lost {
            if let Err(e) = store.use_writes_connection().await {
                tracing::debug!(writer = %self.actor, error = %e, "writer connection not reachable");
                return;
            }
            if !store.lease_session_replaced() {
                return;
            }
        }
        // Taken without the model's lock: reads answer meanwhile (unavailable while it is lost).
        let taken = self.take_lease_back(store, lost).await;
        let mut model = self.model.lock().await;
        model.stale = true;
        if taken.is_ok() {
            self.lease_lost.store(false, Ordering::SeqCst);
        }
    }

    /// Takes the writer lease again, after the writer's session was replaced or the lease lost to
    /// another process (`was_lost`). On failure marks it lost, and `Err` holds what clients are
    /// told. On success the caller marks the model stale (another process may have written
    /// meanwhile) and only then clears [`Inner::lease_lost`], under the model's lock, so that no
    /// read sees the old model as current in between.
    async fn take_lease_back(&self, store: &EventStore, was_lost: bool) -> Result<(), String> {
        match store.take_lease_again().await {
            Ok(()) => {
                tracing::warn!(writer = %self.actor, "writer lease taken again; the store is read back before the next decision");
                Ok(())
            }
            Err(e) => {
                if was_lost {
                    tracing::debug!(writer = %self.actor, error = %e, "writer lease still held elsewhere");
                } else {
                    tracing::error!(writer = %self.actor, error = %e, "the writer's session was replaced and its lease could not be taken again");
                }
                self.lease_lost.store(true, Ordering::SeqCst);
                Err(NOT_THE_WRITER.to_string())
            }
        }
    }

    async fn run_group(&self, store: &EventStore, group: Vec<Job<M::Command>>) {
        let mut model = self.model.lock().await;
        if self.lease_lost.load(Ordering::SeqCst) {
            model.stale = true;
            if let Err(reason) = self.take_lease_back(store, true).await {
                answer_unavailable(group, &reason);
                return;
            }
            self.lease_lost.store(false, Ordering::SeqCst);
        }
        if let Err(e) = self.ensure_current(store, &mut model).await {
            answer_unavailable(group, &e);
            return;
        }
        let ids_in_group: Vec<&str> = group.iter().map(|j| j.meta.command_id.as_str()).collect();
        // Looked up again when the look-up found the writer's connection dead and opened another:
        // its session held no lease, another process may have written (and recorded these ids)
        // meanwhile, and nothing is decided, not even a refusal, before the lease is back and the
        // store read again.
        let mut replaced = false;
        let recorded = loop {
            let recorded = match store.recorded_commands(&ids_in_group).await {
                Ok(recorded) => recorded,
                Err(e) => {
                    tracing::error!(writer = %self.actor, error = %e, commands = group.len(), "event store failure: the group's command ids could not be looked up");
                    for job in group {
                        let failed = StoreError {
                            context: e.context,
                            source: sqlx::Error::Protocol(e.source.to_string()),
                        };
                        let _ = job.reply.send(Err(AppendError::Store(failed).into()));
                    }
                    return;
                }
            };
            if replaced || !store.lease_session_replaced() {
                break recorded;
            }
            replaced = true;
            model.stale = true;
            let current = match self.take_lease_back(store, false).await {
                Ok(()) => self.ensure_current(store, &mut model).await,
                Err(reason) => Err(reason),
            };
            if let Err(reason) = current {
                answer_unavailable(group, &reason);
                return;
            }
        };
        let mut ids = HashSet::new();
        let mut later = Vec::new();
        let mut planned = Vec::new();
        let mut requests = Vec::new();
        for mut job in group {
            // A second copy of a command in the same group waits for the first one's outcome.
            if !ids.insert(job.meta.command_id.clone()) {
                later.push(job);
                continue;
            }
            if job.meta.actor.is_empty() {
                job.meta.actor = self.actor.clone();
            }
            if recorded.contains(&job.meta.command_id) {
                let answer = match store
                    .replay(&job.meta.command_id, &job.meta.fingerprint)
                    .await
                {
                    Ok(Some(outcome)) => Ok(outcome),
                    Ok(None) => {
                        Err(AppendError::Invalid("recorded command vanished".into()).into())
                    }
                    Err(e) => {
                        tracing::error!(writer = %self.actor, error = %e, "event store failure: a recorded command's outcome could not be read");
                        Err(e.into())
                    }
                };
                let _ = job.reply.send(answer);
                continue;
            }
            match model.state.decide(&job.command, job.today) {
                Err(e) => {
                    let _ = job.reply.send(Err(e.into()));
                }
                Ok(decision) => {
                    // Applied now so the next command of the group is decided on top of it;
                    // undone by a rebuild if the group's transaction fails.
                    for e in &decision.events {
                        model.state.apply(e);
                    }
                    requests.push(AppendRequest {
                        stream_id: decision.stream_id.clone(),
                        expected: ExpectedVersion::from_current(decision.expected_version),
                        events: encode_all::<M>(&decision),
                        meta: job.meta.clone(),
                    });
                    planned.push(job);
                }
            }
        }
        if !requests.is_empty() {
            match store.append_all(&requests).await {
                Ok(outcomes) if outcomes.iter().all(|o| !o.replayed) => {
                    for (job, outcome) in planned.into_iter().zip(outcomes) {
                        if let Some(last) = outcome.events.last() {
                            model.cursor = model.cursor.max(last.cursor());
                        }
                        let _ = job.reply.send(Ok(outcome));
                    }
                }
                Err(AppendError::Lease(e @ LeaseError::Held { .. })) => {
                    // Another process writes the store, and may have written since the model was
                    // read: nothing more is decided on it until the lease is back and the store
                    // read again.
                    tracing::error!(writer = %self.actor, error = %e, commands = planned.len() + later.len(), "group refused: not the store's writer");
                    model.stale = true;
                    self.lease_lost.store(true, Ordering::SeqCst);
                    answer_unavailable(planned.into_iter().chain(later), NOT_THE_WRITER);
                    return;
                }
                result => {
                    if let Err(e) = &result {
                        tracing::warn!(writer = %self.actor, error = %e, commands = planned.len(), "group append failed, retrying one by one");
                    }
                    // The group's decisions are in the model, and the transaction may or may not
                    // have committed: the model is read back from the store.
                    model.stale = true;
                    if let Err(e) = self.ensure_current(store, &mut model).await {
                        answer_unavailable(planned.into_iter().chain(later), &e);
                        return;
                    }
                    later.extend(planned);
                }
            }
        }
        let mut failed = 0;
        let mut first_failure = None;
        for job in later {
            if self.lease_lost.load(Ordering::SeqCst) {
                let _ = job
                    .reply
                    .send(Err(ExecuteError::Unavailable(NOT_THE_WRITER.into())));
                continue;
            }
            let outcome = self
                .execute_alone(store, &mut model, &job.command, job.meta, job.today)
                .await;
            if let Err(ExecuteError::Append(e @ (AppendError::Store(_) | AppendError::Lease(_)))) =
                &outcome
            {
                failed += 1;
                first_failure.get_or_insert_with(|| e.to_string());
            }
            let _ = job.reply.send(outcome);
        }
        if let Some(error) = first_failure {
            tracing::error!(writer = %self.actor, %error, commands = failed, "event store failure: commands retried one by one failed (the first error shown)");
        }
    }

    /// Throws the in-memory model away and reads it again from the store. On failure the model
    /// stays marked stale.
    async fn rebuild(&self, store: &EventStore, model: &mut Model<M>) -> Result<(), OpenError> {
        model.stale = true;
        model.state = (self.fresh)();
        model.cursor = GlobalCursor::START;
        catch_up(store, model).await?;
        model.stale = false;
        Ok(())
    }

    /// Rebuilds a stale model (an earlier rebuild or catch-up failed part-way, say while the
    /// database was down) before anything is decided on it; the error, if it still fails, is
    /// the answer to every command until it succeeds.
    async fn ensure_current(&self, store: &EventStore, model: &mut Model<M>) -> Result<(), String> {
        if !model.stale {
            return Ok(());
        }
        self.rebuild(store, model).await.map_err(|e| {
            tracing::error!(writer = %self.actor, error = %e, "write model rebuild failed");
            format!(
                "the write model could not be read back from the event store ({e}); \
                 commands are refused until it can"
            )
        })
    }

    /// One command in its own transaction (the fallback of a failed group).
    async fn execute_alone(
        &self,
        store: &EventStore,
        model: &mut Model<M>,
        command: &M::Command,
        mut meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        if meta.actor.is_empty() {
            meta.actor = self.actor.clone();
        }
        self.ensure_current(store, model)
            .await
            .map_err(ExecuteError::Unavailable)?;
        if let Some(outcome) = store.replay(&meta.command_id, &meta.fingerprint).await? {
            return Ok(outcome);
        }
        let decision = model.state.decide(command, today)?;
        let expected = ExpectedVersion::from_current(decision.expected_version);
        match store
            .append(
                &decision.stream_id,
                expected,
                encode_all::<M>(&decision),
                &meta,
            )
            .await
        {
            Err(AppendError::Lease(e @ LeaseError::Held { .. })) => {
                tracing::error!(writer = %self.actor, error = %e, "command refused: not the store's writer");
                self.lease_lost.store(true, Ordering::SeqCst);
                model.stale = true;
                Err(ExecuteError::Unavailable(NOT_THE_WRITER.into()))
            }
            Ok(outcome) => {
                if !outcome.replayed {
                    for e in &decision.events {
                        model.state.apply(e);
                    }
                    if let Some(last) = outcome.events.last() {
                        model.cursor = model.cursor.max(last.cursor());
                    }
                }
                Ok(outcome)
            }
            Err(
                e @ (AppendError::WrongExpectedVersion { .. }
                | AppendError::Store(_)
                | AppendError::Lease(_)),
            ) => {
                // Another writer got there first, the store failed after the commit may have
                // happened, or this process was not the store's writer for a while: learn what
                // the store holds past the model (nothing of this command was applied to it yet)
                // before the next decision.
                if let Err(err) = catch_up(store, model).await {
                    tracing::error!(writer = %self.actor, error = %err, "write model catch-up failed");
                    model.stale = true;
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Answers each of `jobs` [`ExecuteError::Unavailable`] with `reason` (nothing of theirs was
/// decided).
fn answer_unavailable<C>(jobs: impl IntoIterator<Item = Job<C>>, reason: &str) {
    for job in jobs {
        let _ = job
            .reply
            .send(Err(ExecuteError::Unavailable(reason.to_string())));
    }
}

fn encode_all<M: WriteModel>(decision: &Decision<M::Event>) -> Vec<NewEvent> {
    decision.events.iter().map(M::encode).collect()
}

async fn catch_up<M: WriteModel>(
    store: &EventStore,
    model: &mut Model<M>,
) -> Result<(), OpenError> {
    loop {
        let batch = store.read_committed(model.cursor, 5000).await?;
        let Some(last) = batch.last().map(|e| e.cursor()) else {
            return Ok(());
        };
        for e in &batch {
            let event = M::decode(e).map_err(|reason| OpenError::Decode {
                position: e.position,
                reason,
            })?;
            model.state.apply(&event);
        }
        model.cursor = last;
    }
}
