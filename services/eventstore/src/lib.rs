//! The event store: the write side's only storage, and the outbox the relay publishes from.
//!
//! - [`EventStore::append`] writes a command's events to one stream in one transaction, checking the
//!   stream's expected version (optimistic concurrency) and the command's idempotency key.
//! - Every event carries a SHA-256 **hash chain** link over the previous event of its stream, so a
//!   changed or removed event is detected by [`EventStore::verify_stream`].
//! - [`EventStore::read_committed`] walks the **global order** in commit-safe order: it never returns
//!   an event while an older transaction could still commit an event before it, so a reader that
//!   remembers its [`GlobalCursor`] never skips an event that commits late.
//!
//! Two backends share one implementation through `sqlx`'s `Any` driver: PostgreSQL (production) and
//! SQLite (embedded mode). Backend differences are confined to [`backend`].
//!
//! Layout: `model` (what goes in and comes out), `hash` (the chain), `backend` (SQL per backend),
//! `store` (the append and read algorithms), `batch` (a group append's set-based statements), `sql` (multi-row statement text), `lease` (one writing process per PostgreSQL store), `error`, `testing` (fresh databases for tests).

pub mod backend;
mod batch;
mod error;
pub mod hash;
pub mod lease;
mod model;
pub mod sql;
mod store;
pub mod testing;

pub use backend::Backend;
pub use error::{AppendError, ChainError, StoreError};
pub use lease::LeaseError;
pub use model::{CommandMeta, ExpectedVersion, GlobalCursor, NewEvent, RecordedEvent};
pub use store::{AppendOutcome, AppendRequest, EventStore};
