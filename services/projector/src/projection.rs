//! The read-model side of a projector.

use eventstore::{Backend, RecordedEvent};
use futures::future::BoxFuture;
use sqlx::AnyConnection;

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The read model changed (or was confirmed unchanged) because of the event.
    Applied,
    /// The event type is not one this read model knows (for example from a newer producer): it is
    /// counted and passed over, never a crash.
    UnknownType,
}

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event itself is bad (cannot be decoded, violates the read model's expectations). It is
    /// parked in the dead-letter store; retrying would not help. A projection must detect this
    /// **before** it writes anything for the event.
    #[error("poison event: {0}")]
    Poison(String),
    /// The database failed: the whole batch is rolled back and retried.
    #[error("read model store: {0}")]
    Store(#[from] sqlx::Error),
}

/// A read model fed by events.
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the consumer group, and the key of its checkpoints and dedupe records.
    fn name(&self) -> &str;

    /// DDL creating the read model's tables when missing (idempotent statements).
    fn schema(&self, backend: Backend) -> Vec<String>;

    /// Applies one event inside the batch's transaction (`conn`). Must return
    /// [`ProjectionError::Poison`] before writing anything when the event is unusable.
    fn apply<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<Applied, ProjectionError>>;

    /// Called once per batch after every event was applied and before the checkpoint is written
    /// and the transaction commits: a projection that hands work elsewhere (for example commands
    /// pipelined to a command writer) waits for it here. An error rolls the batch back and the
    /// caller retries it from its last checkpoint, so that work must be idempotent. The default
    /// does nothing.
    fn before_commit(&self) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async { Ok(()) })
    }
}
