//! [`StreamVersions`]: the current version of every stream a write model has seen, kept compact.
//!
//! Write models hold one entry per stream for their whole life (one per person, household, post…),
//! so the key matters: a `String` such as `person-0190c7a4-…` costs about 100 bytes with its map
//! entry. Stream ids of the form `<prefix>-<uuid>` are kept as (interned prefix, 128-bit uuid)
//! instead, about 25 bytes an entry; any other id falls back to its text.

use std::collections::HashMap;

/// Stream id → number of events in the stream.
#[derive(Debug, Clone, Default)]
pub struct StreamVersions {
    prefixes: Vec<String>,
    /// Key: the prefix's index (2 bytes, little-endian) then the uuid's 16 bytes; byte arrays
    /// keep the entry at 24 bytes (a `(u16, u128)` key would be aligned to 32).
    by_uuid: HashMap<[u8; 18], u32>,
    other: HashMap<String, u64>,
}

impl StreamVersions {
    /// No streams.
    pub fn new() -> Self {
        StreamVersions::default()
    }

    /// The stream's version: its number of events, 0 when unknown.
    pub fn get(&self, stream_id: &str) -> u64 {
        match self.split(stream_id) {
            Some((prefix, uuid)) => self
                .prefix_index(prefix)
                .and_then(|p| self.by_uuid.get(&key(p, uuid)))
                .map_or(0, |v| u64::from(*v)),
            None => self.other.get(stream_id).copied().unwrap_or(0),
        }
    }

    /// Counts one more event in the stream.
    pub fn bump(&mut self, stream_id: &str) {
        match self.split(stream_id) {
            Some((prefix, uuid)) => {
                let p = match self.prefix_index(prefix) {
                    Some(p) => p,
                    None => {
                        self.prefixes.push(prefix.to_owned());
                        (self.prefixes.len() - 1) as u16
                    }
                };
                let version = self.by_uuid.entry(key(p, uuid)).or_insert(0);
                match version.checked_add(1) {
                    Some(next) => *version = next,
                    // Past u32::MAX events in one stream: keep counting as text.
                    None => {
                        self.by_uuid.remove(&key(p, uuid));
                        self.other
                            .insert(stream_id.to_owned(), u64::from(u32::MAX) + 1);
                    }
                }
            }
            None => *self.other.entry(stream_id.to_owned()).or_insert(0) += 1,
        }
    }

    /// Number of streams.
    pub fn len(&self) -> usize {
        self.by_uuid.len() + self.other.len()
    }

    /// Whether no stream is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `<prefix>-<uuid>` with a prefix of at most 64 characters, as (prefix, uuid); `None` for
    /// other ids and for streams already counted as text.
    fn split<'a>(&self, stream_id: &'a str) -> Option<(&'a str, u128)> {
        if self.other.contains_key(stream_id) {
            return None;
        }
        let (prefix, uuid) = stream_id.rsplit_once('-').and_then(|_| {
            let at = stream_id.len().checked_sub(37)?;
            let (prefix, rest) = stream_id.split_at(at);
            Some((prefix, rest.strip_prefix('-')?))
        })?;
        if prefix.is_empty()
            || prefix.len() > 64
            || (self.prefixes.len() >= usize::from(u16::MAX) && self.prefix_index(prefix).is_none())
        {
            return None;
        }
        let parsed = uuid::Uuid::parse_str(uuid).ok()?;
        // Only the canonical lower-case form maps back to the same text.
        (parsed.hyphenated().to_string() == uuid).then_some((prefix, parsed.as_u128()))
    }

    fn prefix_index(&self, prefix: &str) -> Option<u16> {
        self.prefixes
            .iter()
            .position(|p| p == prefix)
            .map(|i| i as u16)
    }
}

fn key(prefix: u16, uuid: u128) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[..2].copy_from_slice(&prefix.to_le_bytes());
    key[2..].copy_from_slice(&uuid.to_le_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_stream_whatever_the_form_of_the_id() {
        let mut v = StreamVersions::new();
        let a = "person-0190c7a4-1b2c-7d3e-8f40-123456789abc";
        let b = "employment-household-0190c7a4-1b2c-7d3e-8f40-123456789abc";
        let upper = "person-0190C7A4-1B2C-7D3E-8F40-123456789ABC";
        for id in [a, a, b, upper, "settings", "x-not-a-uuid"] {
            v.bump(id);
        }
        assert_eq!(v.get(a), 2);
        assert_eq!(v.get(b), 1);
        assert_eq!(v.get(upper), 1);
        assert_eq!(v.get("settings"), 1);
        assert_eq!(v.get("x-not-a-uuid"), 1);
        assert_eq!(v.get("person-00000000-0000-0000-0000-000000000000"), 0);
        assert_eq!(v.get("unknown"), 0);
        assert_eq!(v.len(), 5);
    }
}
