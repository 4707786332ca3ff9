//! The per-stream hash chain: `hash(n) = SHA-256(hash(n-1) || canonical(event n))`, with 32 zero
//! bytes before the first event. Canonical bytes are the fields fixed at append time, each
//! length-prefixed (u32 big-endian) so that no two field lists encode alike. The global position and
//! transaction order are not covered: they are assigned by the database.

use sha2::{Digest, Sha256};

/// The link before a stream's first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// Fields covered by the chain.
pub struct Canonical<'a> {
    /// Event id (UUID text).
    pub event_id: &'a str,
    /// Stream id.
    pub stream_id: &'a str,
    /// Version in the stream.
    pub stream_version: u64,
    /// Event type.
    pub event_type: &'a str,
    /// Occurred-at, UTC microseconds.
    pub occurred_at_micros: i64,
    /// Recorded-at, UTC microseconds.
    pub recorded_at_micros: i64,
    /// Command id.
    pub command_id: &'a str,
    /// Correlation id.
    pub correlation_id: &'a str,
    /// Causation id.
    pub causation_id: &'a str,
    /// Actor.
    pub actor: &'a str,
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// The chain hash of an event given the previous link.
pub fn link(previous: &[u8], event: &Canonical<'_>) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(previous);
    for part in [
        event.event_id.as_bytes(),
        event.stream_id.as_bytes(),
        &event.stream_version.to_be_bytes(),
        event.event_type.as_bytes(),
        &event.occurred_at_micros.to_be_bytes(),
        &event.recorded_at_micros.to_be_bytes(),
        event.command_id.as_bytes(),
        event.correlation_id.as_bytes(),
        event.causation_id.as_bytes(),
        event.actor.as_bytes(),
        event.payload,
    ] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}
