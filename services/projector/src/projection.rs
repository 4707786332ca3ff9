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

/// Why [`Projection::apply_run`] stopped before the end of its run.
#[derive(Debug)]
pub enum RunError {
    /// `events[applied.len()]` is poison (see [`ProjectionError::Poison`]): the events before it
    /// were written (their outcomes in `applied`), nothing of it or after it was.
    Poisoned {
        /// Outcomes of the events before the poison one, in order.
        applied: Vec<Applied>,
        /// Why the event is poison.
        reason: String,
    },
    /// The database failed: the whole batch is rolled back and retried.
    Store(sqlx::Error),
}

/// A read model fed by events.
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the consumer group, and the key of its checkpoints and dedupe watermarks.
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

    /// Applies a run of events in order inside the batch's transaction and returns one outcome
    /// per event. A projection may override it to write a run with set-based statements (one
    /// multi-row statement per table instead of one per event); it must keep the meaning of
    /// applying the events one by one, and stop at the first poison event with
    /// [`RunError::Poisoned`] having written exactly the events before it. The default applies
    /// them one by one with [`Projection::apply`].
    fn apply_run<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        events: &'a [&'a RecordedEvent],
    ) -> BoxFuture<'a, Result<Vec<Applied>, RunError>> {
        Box::pin(async move {
            let mut applied = Vec::with_capacity(events.len());
            for event in events {
                match self.apply(conn, event).await {
                    Ok(outcome) => applied.push(outcome),
                    Err(ProjectionError::Poison(reason)) => {
                        return Err(RunError::Poisoned { applied, reason })
                    }
                    Err(ProjectionError::Store(e)) => return Err(RunError::Store(e)),
                }
            }
            Ok(applied)
        })
    }

    /// Called once per batch after every event was applied and before the checkpoint is written
    /// and the transaction commits: a projection that hands work elsewhere (for example commands
    /// pipelined to a command writer) waits for it here. An error rolls the batch back and the
    /// caller retries it from its last checkpoint, so that work must be idempotent. The default
    /// does nothing.
    fn before_commit(&self) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async { Ok(()) })
    }
}

/// [`Projection::apply`] for a projection that writes runs ([`Projection::apply_run`]): the run
/// of one event, so both paths share one implementation.
pub async fn apply_one<P: Projection + ?Sized>(
    projection: &P,
    conn: &mut AnyConnection,
    event: &RecordedEvent,
) -> Result<Applied, ProjectionError> {
    match projection.apply_run(conn, &[event]).await {
        Ok(applied) => Ok(applied[0]),
        Err(RunError::Poisoned { reason, .. }) => Err(ProjectionError::Poison(reason)),
        Err(RunError::Store(e)) => Err(ProjectionError::Store(e)),
    }
}
