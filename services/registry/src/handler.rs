//! The registry's command side: its write model behind the shared [`CommandWriter`], and the
//! deployment key that hashes citizen ID numbers.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use eventstore::{AppendOutcome, CommandMeta, EventStore, NewEvent, RecordedEvent, StoreError};
use hmac::{Hmac, Mac};
use registry_domain::{
    CitizenId, Decision, DivisionCatalog, DomainError, MonitoringRules, RegistryCommand,
    RegistryEvent, RegistryState,
};
use sha2::Sha256;
pub use writer::ExecuteError;
use writer::{CommandWriter, Submitted, WriteModel};

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

/// Failure to rebuild the write model at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The write model could not be rebuilt from the store, or the writer's thread not started.
    #[error(transparent)]
    Rebuild(#[from] writer::OpenError),
    /// The id hash key is not the one the store's citizen ID hashes were made with: duplicates
    /// would go unnoticed. Restore the original key file.
    #[error("the id hash key does not match the one this event store was written with (was id-hash.key replaced or lost?); restore the original key")]
    KeyMismatch,
}

/// The registry's write model as the [`CommandWriter`] drives it.
pub struct RegistryModel(pub RegistryState);

impl WriteModel for RegistryModel {
    type Command = RegistryCommand;
    type Event = RegistryEvent;

    fn decide(&self, command: &RegistryCommand, today: NaiveDate) -> Result<Decision, DomainError> {
        self.0.decide(command, today)
    }

    fn apply(&mut self, event: &RegistryEvent) {
        self.0.apply(event);
    }

    fn encode(event: &RegistryEvent) -> NewEvent {
        let (event_type, payload) = codec::encode(event);
        NewEvent::now(event_type, payload)
    }

    fn decode(event: &RecordedEvent) -> Result<RegistryEvent, String> {
        codec::decode(&event.event_type, &event.payload).map_err(|e| e.to_string())
    }
}

/// The registry's command side: one per process, shared by all gRPC calls. Commands go through a
/// [`CommandWriter`] (single writer thread, group commit, idempotent command ids).
pub struct Registry {
    writer: CommandWriter<RegistryModel>,
    key: IdHashKey,
}

impl Registry {
    /// Checks the id hash key against the store, rebuilds the write model from every event in
    /// `store` and starts the writer thread.
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
        let fresh = move || RegistryModel(RegistryState::new(catalog.clone(), rules));
        let writer = CommandWriter::open(store, fresh, "registry").await?;
        let (households, persons, cases) = writer.read(counts).await;
        tracing::info!(households, persons, cases, "registry write model rebuilt");
        Ok(Registry { writer, key })
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        self.writer.store()
    }

    /// Whether this process may write the registry's store ([`CommandWriter::holds_lease`]).
    pub fn holds_lease(&self) -> bool {
        self.writer.holds_lease()
    }

    /// The id hash key.
    pub fn key(&self) -> &IdHashKey {
        &self.key
    }

    /// (households, persons, monitoring cases) in the write model.
    pub async fn counts(&self) -> (usize, usize, usize) {
        self.writer.read(counts).await
    }

    /// Carries out `command` as of the civil date `today` (China Standard Time); see
    /// [`CommandWriter::execute`].
    pub async fn execute(
        &self,
        command: RegistryCommand,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        self.writer.execute(command, meta, today).await
    }

    /// For each command, the refusal a `RegisterPerson` would get whatever its household (see
    /// [`RegistryState::refusal_of_new_person`]), as of the write model now (one read).
    /// [`ExecuteError::Unavailable`] while the model cannot be read back from the store.
    pub async fn refusals_of_new_persons<'c>(
        &self,
        commands: impl Iterator<Item = &'c RegistryCommand>,
    ) -> Result<Vec<Option<DomainError>>, ExecuteError> {
        self.writer
            .read_current(|model| {
                commands
                    .map(|command| model.0.refusal_of_new_person(command))
                    .collect()
            })
            .await
    }

    /// Queues `command` without waiting for its outcome (pipelining, for bulk registration); see
    /// [`CommandWriter::submit`].
    pub async fn submit(
        &self,
        command: RegistryCommand,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<Submitted, ExecuteError> {
        self.writer.submit(command, meta, today).await
    }
}

fn counts(model: &RegistryModel) -> (usize, usize, usize) {
    (
        model.0.household_count(),
        model.0.person_count(),
        model.0.case_count(),
    )
}
