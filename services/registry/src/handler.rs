//! The command handler: idempotency, decision on the in-memory write model, append, apply.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use eventstore::{
    AppendError, AppendOutcome, CommandMeta, EventStore, ExpectedVersion, GlobalCursor, NewEvent,
    StoreError,
};
use hmac::{Hmac, Mac};
use registry_domain::{
    CitizenId, DivisionCatalog, DomainError, MonitoringRules, RegistryCommand, RegistryState,
};
use sha2::Sha256;
use tokio::sync::Mutex;

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

/// The registry's command side: one per process, shared by all gRPC calls.
///
/// Commands are decided and appended one at a time under a lock, so the in-memory write model is
/// always the store's state. Another process writing the same store is detected by the expected
/// version check (the command fails with a conflict and the model catches up).
pub struct Registry {
    store: EventStore,
    model: Mutex<WriteModel>,
    key: IdHashKey,
    actor: String,
}

impl Registry {
    /// Rebuilds the write model from every event in `store`.
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
            state: RegistryState::new(catalog, rules),
            cursor: GlobalCursor::START,
        };
        catch_up(&store, &mut model).await?;
        tracing::info!(
            households = model.state.household_count(),
            persons = model.state.person_count(),
            cases = model.state.case_count(),
            "registry write model rebuilt"
        );
        Ok(Registry {
            store,
            model: Mutex::new(model),
            key,
            actor: "registry".into(),
        })
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The id hash key.
    pub fn key(&self) -> &IdHashKey {
        &self.key
    }

    /// (households, persons, monitoring cases) in the write model.
    pub async fn counts(&self) -> (usize, usize, usize) {
        let m = self.model.lock().await;
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
    ///
    /// Runs on its own task: a caller that gives up (a cancelled gRPC request) cannot interrupt it
    /// between the append and the update of the write model.
    pub async fn execute(
        self: &Arc<Self>,
        command: RegistryCommand,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        let registry = self.clone();
        tokio::spawn(async move { registry.execute_to_end(&command, meta, today).await })
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    async fn execute_to_end(
        &self,
        command: &RegistryCommand,
        mut meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        if meta.actor.is_empty() {
            meta.actor = self.actor.clone();
        }
        let mut model = self.model.lock().await;
        // Checked under the lock: a copy of the command that waited here while the first one
        // committed must get the first outcome, not a fresh decision.
        if let Some(outcome) = self
            .store
            .replay(&meta.command_id, &meta.fingerprint)
            .await?
        {
            return Ok(outcome);
        }
        let decision = model.state.decide(command, today)?;
        let events: Vec<NewEvent> = decision
            .events
            .iter()
            .map(|e| {
                let (event_type, payload) = codec::encode(e);
                NewEvent::now(event_type, payload)
            })
            .collect();
        let expected = ExpectedVersion::from_current(decision.expected_version);
        match self
            .store
            .append(&decision.stream_id, expected, events, &meta)
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
                if let Err(err) = catch_up(&self.store, &mut model).await {
                    tracing::error!(error = %err, "write model catch-up failed");
                }
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }
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
