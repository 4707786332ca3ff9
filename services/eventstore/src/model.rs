//! Values that go into and come out of the store.

use uuid::Uuid;

/// An event to append: the caller decides its id, type and payload; the store assigns the stream
/// version, global position, transaction order and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// UUID v7 (time-ordered), unique across all stores.
    pub event_id: Uuid,
    /// Fully-qualified protobuf message name of the payload, e.g. `bottomline.registry.v1.PersonRegistered`.
    pub event_type: String,
    /// Protobuf encoding of the payload.
    pub payload: Vec<u8>,
    /// When the fact happened, UTC microseconds since the Unix epoch.
    pub occurred_at_micros: i64,
}

impl NewEvent {
    /// A new event with a fresh UUID v7 id, occurring now.
    pub fn now(event_type: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            payload,
            occurred_at_micros: chrono::Utc::now().timestamp_micros(),
        }
    }
}

/// Metadata of the command that produced an append; stored on every event it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandMeta {
    /// Client-chosen idempotency key (a UUID in practice; at most 100 characters).
    pub command_id: String,
    /// Digest of the command's content without its id: a retry must carry the same digest.
    pub fingerprint: Vec<u8>,
    /// Correlation id of the whole conversation (defaults to the command id).
    pub correlation_id: String,
    /// Id of the event or command that caused this one (empty for user commands).
    pub causation_id: String,
    /// Who issued the command (service or user name).
    pub actor: String,
    /// W3C `traceparent` of the request, empty when none.
    pub traceparent: String,
}

/// What the caller expects the stream's current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version is (no concurrency check).
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version (1-based).
    Exact(u64),
}

impl ExpectedVersion {
    /// `NoStream` for 0, `Exact(v)` otherwise: the form a decision over current state produces.
    pub fn from_current(version: u64) -> Self {
        if version == 0 {
            Self::NoStream
        } else {
            Self::Exact(version)
        }
    }
}

/// A position in the commit-safe global order: events are read ordered by `(tx_id, position)`.
///
/// `tx_id` identifies the appending transaction (PostgreSQL transaction id, or a counter in SQLite
/// where writers are serialised); `position` is the event's global position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlobalCursor {
    /// Transaction order key of the last event read.
    pub tx_id: i64,
    /// Global position of the last event read.
    pub position: i64,
}

impl GlobalCursor {
    /// Before the first event.
    pub const START: GlobalCursor = GlobalCursor {
        tx_id: 0,
        position: 0,
    };
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// UUID v7 of the event.
    pub event_id: Uuid,
    /// Stream (aggregate) id, e.g. `person-0190…`.
    pub stream_id: String,
    /// 1-based version inside the stream.
    pub stream_version: u64,
    /// Global position (gaps are possible: rolled-back transactions consume positions).
    pub position: i64,
    /// Transaction order key (see [`GlobalCursor`]); 0 when the event came from Kafka.
    pub tx_id: i64,
    /// Fully-qualified protobuf message name of the payload.
    pub event_type: String,
    /// When the fact happened, UTC microseconds.
    pub occurred_at_micros: i64,
    /// When the store recorded it, UTC microseconds.
    pub recorded_at_micros: i64,
    /// Command metadata (see [`CommandMeta`]; the fingerprint is not repeated here).
    pub command_id: String,
    /// Correlation id.
    pub correlation_id: String,
    /// Causation id.
    pub causation_id: String,
    /// Actor.
    pub actor: String,
    /// W3C `traceparent`, empty when none.
    pub traceparent: String,
    /// Protobuf payload.
    pub payload: Vec<u8>,
    /// Chain hash (32 bytes), see [`crate::hash`].
    pub hash: Vec<u8>,
}

impl RecordedEvent {
    /// This event's place in the commit-safe global order.
    pub fn cursor(&self) -> GlobalCursor {
        GlobalCursor {
            tx_id: self.tx_id,
            position: self.position,
        }
    }
}
