//! The command handler: idempotency, decision on the in-memory write model, append, apply.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use eventstore::{
    AppendError, AppendOutcome, AppendRequest, CommandMeta, EventStore, ExpectedVersion,
    GlobalCursor, NewEvent, StoreError,
};
use hmac::{Hmac, Mac};
use registry_domain::{
    CitizenId, DivisionCatalog, DomainError, MonitoringRules, RegistryCommand, RegistryState,
};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::codec;

/// The deployment's secret key for citizen ID hashes and command fingerprints. Never printed.
#[derive(Clone)]
pub struct IdHashKey(Vec<u8>);

impl std::fmt::Debug for IdHashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdHashKey([redacted])")
    }
}

impl IdHashKey {
    /// A key from bytes (at least 16).
    pub fn new(bytes: Vec<u8>) -> Result<IdHashKey, String> {
        if bytes.len() < 16 {
            return Err(format!(
                "id hash key must have at least 16 bytes, got {}",
                bytes.len()
            ));
        }
        Ok(IdHashKey(bytes))
    }

    /// Reads the key from `path`, or creates it there with 32 random bytes (mode 0600).
    pub fn load_or_create(path: &Path) -> std::io::Result<IdHashKey> {
        match std::fs::read(path) {
            Ok(bytes) => IdHashKey::new(bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
                bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                std::fs::write(path, &bytes)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                }
                Ok(IdHashKey(bytes))
            }
            Err(e) => Err(e),
        }
    }

    /// Lowercase hex HMAC-SHA-256 of the citizen ID under this key.
    pub fn hash(&self, id: &CitizenId) -> String {
        id.keyed_hash(&self.0)
    }

    /// Keyed digest of a command's bytes: requests can hold a citizen ID, so their fingerprint
    /// must not be an unkeyed hash that could be brute-forced back.
    pub fn fingerprint(&self, bytes: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("hmac takes any key length");
        mac.update(b"command-fingerprint\0");
        mac.update(bytes);
        mac.finalize().into_bytes().to_vec()
    }
}

/// Why a command was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The input or a business rule said no.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store refused (concurrency, reused command id) or failed.
    #[error(transparent)]
    Append(#[from] AppendError),
}

/// Failure to rebuild the write model at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event does not decode: the store is damaged or from a newer version.
    #[error(transparent)]
    Decode(#[from] codec::DecodeError),
    /// The id hash key is not the one the store's citizen ID hashes were made with: duplicates
    /// would go unnoticed. Restore the original key file.
    #[error("the id hash key does not match the one this event store was written with (was id-hash.key replaced or lost?); restore the original key")]
    KeyMismatch,
}

struct WriteModel {
    state: RegistryState,
    cursor: GlobalCursor,
}

/// Commands decided and appended together in one transaction, at most.
const MAX_GROUP: usize = 256;

/// A command waiting for the writer.
struct Job {
    command: RegistryCommand,
    meta: CommandMeta,
    today: NaiveDate,
    reply: oneshot::Sender<Result<AppendOutcome, ExecuteError>>,
}

/// The registry's command side: one per process, shared by all gRPC calls.
///
/// Commands queue for a single writer task (group commit): it takes every command waiting, decides
/// them in arrival order on the in-memory write model — each decision sees the ones before it —
/// and appends all their events in one transaction. If that transaction fails, the write model is
/// rebuilt from the store and the group's commands are carried out one by one, so each still gets
/// its own outcome. The write model therefore always equals the store. A caller that gives up (a
/// cancelled gRPC request) cannot interrupt a command half-way: the writer owns it. Another
/// process writing the same store is detected by the expected-version check.
pub struct Registry {
    writer: Arc<Writer>,
    queue: mpsc::Sender<Job>,
    key: IdHashKey,
}

struct Writer {
    store: EventStore,
    model: Mutex<WriteModel>,
    catalog: Arc<DivisionCatalog>,
    rules: MonitoringRules,
    actor: String,
}

impl Registry {
    /// Rebuilds the write model from every event in `store` and starts the writer task.
    pub async fn open(
        store: EventStore,
        catalog: Arc<DivisionCatalog>,
        rules: MonitoringRules,
        key: IdHashKey,
    ) -> Result<Registry, OpenError> {
        let check = key.fingerprint(b"id hash key check");
        if store.setting_or_init("id_hash_key_check", &check).await? != check {
            return Err(OpenError::KeyMismatch);
        }
        let mut model = WriteModel {
            state: RegistryState::new(catalog.clone(), rules),
            cursor: GlobalCursor::START,
        };
        catch_up(&store, &mut model).await?;
        tracing::info!(
            households = model.state.household_count(),
            persons = model.state.person_count(),
            cases = model.state.case_count(),
            "registry write model rebuilt"
        );
        let writer = Arc::new(Writer {
            store,
            model: Mutex::new(model),
            catalog,
            rules,
            actor: "registry".into(),
        });
        let (queue, jobs) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(writer.clone().run(jobs));
        Ok(Registry { writer, queue, key })
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        &self.writer.store
    }

    /// The id hash key.
    pub fn key(&self) -> &IdHashKey {
        &self.key
    }

    /// (households, persons, monitoring cases) in the write model.
    pub async fn counts(&self) -> (usize, usize, usize) {
        let m = self.writer.model.lock().await;
        (
            m.state.household_count(),
            m.state.person_count(),
            m.state.case_count(),
        )
    }

    /// Carries out `command` as of the civil date `today` (China Standard Time).
    ///
    /// A command id seen before returns the first outcome (`replayed = true`); with a different
    /// fingerprint it fails with [`AppendError::CommandIdReused`].
    pub async fn execute(
        &self,
        command: RegistryCommand,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            command,
            meta,
            today,
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return Err(AppendError::Invalid("the registry writer has stopped".into()).into());
        }
        outcome.await.unwrap_or_else(|_| {
            Err(AppendError::Invalid("the registry writer has stopped".into()).into())
        })
    }
}

impl Writer {
    async fn run(self: Arc<Self>, mut jobs: mpsc::Receiver<Job>) {
        while let Some(first) = jobs.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            self.run_group(group).await;
        }
    }

    async fn run_group(&self, group: Vec<Job>) {
        let mut model = self.model.lock().await;
        let ids_in_group: Vec<&str> = group.iter().map(|j| j.meta.command_id.as_str()).collect();
        let recorded = match self.store.recorded_commands(&ids_in_group).await {
            Ok(recorded) => recorded,
            Err(e) => {
                for job in group {
                    let failed = StoreError {
                        context: e.context,
                        source: sqlx_error(&e),
                    };
                    let _ = job.reply.send(Err(AppendError::Store(failed).into()));
                }
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
                let first = self
                    .store
                    .replay(&job.meta.command_id, &job.meta.fingerprint)
                    .await;
                let answer = match first {
                    Ok(Some(outcome)) => Ok(outcome),
                    Ok(None) => {
                        Err(AppendError::Invalid("recorded command vanished".into()).into())
                    }
                    Err(e) => Err(e.into()),
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
                        events: encode_all(&decision),
                        meta: job.meta.clone(),
                    });
                    planned.push(job);
                }
            }
        }
        if !requests.is_empty() {
            match self.store.append_all(&requests).await {
                Ok(outcomes) if outcomes.iter().all(|o| !o.replayed) => {
                    for (job, outcome) in planned.into_iter().zip(outcomes) {
                        if let Some(last) = outcome.events.last() {
                            model.cursor = model.cursor.max(last.cursor());
                        }
                        let _ = job.reply.send(Ok(outcome));
                    }
                }
                result => {
                    if let Err(e) = &result {
                        tracing::warn!(error = %e, commands = planned.len(), "group append failed, retrying one by one");
                    }
                    if let Err(e) = self.rebuild(&mut model).await {
                        tracing::error!(error = %e, "write model rebuild failed");
                        for job in planned {
                            let failed =
                                AppendError::Invalid(format!("write model rebuild failed: {e}"));
                            let _ = job.reply.send(Err(failed.into()));
                        }
                        return;
                    }
                    later.extend(planned);
                }
            }
        }
        for job in later {
            let outcome = self
                .execute_alone(&mut model, &job.command, job.meta, job.today)
                .await;
            let _ = job.reply.send(outcome);
        }
    }

    /// Throws the in-memory model away and reads it again from the store.
    async fn rebuild(&self, model: &mut WriteModel) -> Result<(), OpenError> {
        model.state = RegistryState::new(self.catalog.clone(), self.rules);
        model.cursor = GlobalCursor::START;
        catch_up(&self.store, model).await
    }

    /// One command in its own transaction (the fallback of a failed group).
    async fn execute_alone(
        &self,
        model: &mut WriteModel,
        command: &RegistryCommand,
        mut meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        if meta.actor.is_empty() {
            meta.actor = self.actor.clone();
        }
        if let Some(outcome) = self
            .store
            .replay(&meta.command_id, &meta.fingerprint)
            .await?
        {
            return Ok(outcome);
        }
        let decision = model.state.decide(command, today)?;
        let expected = ExpectedVersion::from_current(decision.expected_version);
        match self
            .store
            .append(&decision.stream_id, expected, encode_all(&decision), &meta)
            .await
        {
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
            Err(e @ AppendError::WrongExpectedVersion { .. }) => {
                // Another writer got there first: learn what it wrote before the client retries.
                if let Err(err) = catch_up(&self.store, model).await {
                    tracing::error!(error = %err, "write model catch-up failed");
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A copy of a store failure for each waiting command (driver errors cannot be cloned).
fn sqlx_error(e: &StoreError) -> sqlx::Error {
    sqlx::Error::Protocol(e.source.to_string())
}

fn encode_all(decision: &registry_domain::Decision) -> Vec<NewEvent> {
    decision
        .events
        .iter()
        .map(|e| {
            let (event_type, payload) = codec::encode(e);
            NewEvent::now(event_type, payload)
        })
        .collect()
}

async fn catch_up(store: &EventStore, model: &mut WriteModel) -> Result<(), OpenError> {
    loop {
        let batch = store.read_committed(model.cursor, 5000).await?;
        let Some(last) = batch.last().map(|e| e.cursor()) else {
            return Ok(());
        };
        for e in &batch {
            model
                .state
                .apply(&codec::decode(&e.event_type, &e.payload)?);
        }
        model.cursor = last;
    }
}
