//! Failures of the store, typed by what the caller can do about them.

/// Why an append did not happen. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Someone else appended to the stream first (optimistic concurrency): reload and retry.
    #[error("stream {stream_id} is at version {actual}, expected {expected}")]
    WrongExpectedVersion {
        /// The stream.
        stream_id: String,
        /// What the caller expected (0 = no stream).
        expected: u64,
        /// What the store has.
        actual: u64,
    },
    /// The command id was used before with a different payload.
    #[error("command id {command_id} was already used for a different command")]
    CommandIdReused {
        /// The reused id.
        command_id: String,
    },
    /// The request itself was unusable (empty event list, over-long id).
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The handle appends under the writer lease ([`crate::lease`]) and its session had lost it:
    /// another session holds it, or it was taken again on a new session (nothing was written
    /// either way), or the database failed while taking it.
    #[error(transparent)]
    Lease(#[from] crate::lease::LeaseError),
}

/// The database failed or is unreachable.
#[derive(Debug, thiserror::Error)]
#[error("event store: {context}: {source}")]
pub struct StoreError {
    /// What the store was doing.
    pub context: &'static str,
    /// The driver's error.
    #[source]
    pub source: sqlx::Error,
}

impl StoreError {
    pub(crate) fn of(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError { context, source }
    }
}

/// A stream's hash chain does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The stored hash differs from the recomputed one: the event or one before it was altered.
    #[error("stream {stream_id}: hash mismatch at version {version}")]
    Mismatch {
        /// The stream.
        stream_id: String,
        /// First version whose hash does not match.
        version: u64,
    },
    /// Versions are not 1, 2, 3, …: an event was removed.
    #[error("stream {stream_id}: expected version {expected}, found {found}")]
    Gap {
        /// The stream.
        stream_id: String,
        /// Version that should come next.
        expected: u64,
        /// Version found instead.
        found: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
