//! CloudEvents (v1.0) binary content mode over Kafka: the payload is the record value, attributes
//! are `ce_`-prefixed headers, plus the W3C `traceparent`. Any Kafka tool can read the topics.
//!
//! Standard attributes: `ce_specversion`, `ce_id` (event id), `ce_source`, `ce_type` (protobuf
//! message name), `ce_time` (occurred-at, RFC 3339 UTC), `ce_subject` (stream id) and
//! `content-type: application/protobuf`. Extension attributes carry the rest of the envelope:
//! `ce_streamversion`, `ce_position`, `ce_recordedat`, `ce_commandid`, `ce_correlationid`,
//! `ce_causationid`, `ce_actor`, `ce_hash` (hex).

use chrono::{DateTime, SecondsFormat, Utc};
use eventstore::RecordedEvent;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::Message;

/// Headers for `event` published by `source` (e.g. `/bottomline/registry`).
pub fn encode(event: &RecordedEvent, source: &str) -> OwnedHeaders {
    let time = DateTime::<Utc>::from_timestamp_micros(event.occurred_at_micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true);
    let recorded = DateTime::<Utc>::from_timestamp_micros(event.recorded_at_micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true);
    let (version, position) = (event.stream_version.to_string(), event.position.to_string());
    let (id, hash) = (event.event_id.to_string(), hex::encode(&event.hash));
    // Values borrowed from the event where it has them: this runs once per published event.
    let pairs: [(&str, &str); 15] = [
        ("ce_specversion", "1.0"),
        ("ce_id", &id),
        ("ce_source", source),
        ("ce_type", &event.event_type),
        ("ce_time", &time),
        ("ce_subject", &event.stream_id),
        ("content-type", "application/protobuf"),
        ("ce_streamversion", &version),
        ("ce_position", &position),
        ("ce_recordedat", &recorded),
        ("ce_commandid", &event.command_id),
        ("ce_correlationid", &event.correlation_id),
        ("ce_causationid", &event.causation_id),
        ("ce_actor", &event.actor),
        ("ce_hash", &hash),
    ];
    let mut headers = OwnedHeaders::new_with_capacity(pairs.len() + 1);
    for (key, value) in pairs {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    if !event.traceparent.is_empty() {
        headers = headers.insert(Header {
            key: "traceparent",
            value: Some(event.traceparent.as_bytes()),
        });
    }
    headers
}

/// The attributes [`decode`] reads, in one pass over a record's headers; the constants below
/// index this list.
const NAMES: [&str; 14] = [
    "ce_specversion",
    "ce_id",
    "ce_subject",
    "ce_streamversion",
    "ce_position",
    "ce_type",
    "ce_time",
    "ce_recordedat",
    "ce_commandid",
    "ce_correlationid",
    "ce_causationid",
    "ce_actor",
    "traceparent",
    "ce_hash",
];
const SPECVERSION: usize = 0;
const ID: usize = 1;
const SUBJECT: usize = 2;
const STREAM_VERSION: usize = 3;
const POSITION: usize = 4;
const TYPE: usize = 5;
const TIME: usize = 6;
const RECORDED_AT: usize = 7;
const COMMAND_ID: usize = 8;
const CORRELATION_ID: usize = 9;
const CAUSATION_ID: usize = 10;
const ACTOR: usize = 11;
const TRACEPARENT: usize = 12;
const HASH: usize = 13;

/// The global position a record carries (`ce_position`), if it carries a well-formed one.
pub fn position(message: &BorrowedMessage<'_>) -> Option<i64> {
    let value = message
        .headers()?
        .iter()
        .find(|h| h.key == "ce_position")?
        .value?;
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Rebuilds the event from a record, or says which attribute is missing or malformed.
pub fn decode(message: &BorrowedMessage<'_>) -> Result<RecordedEvent, String> {
    let headers = message.headers().ok_or("record has no headers")?;
    decode_parts(headers, message.payload().unwrap_or_default())
}

/// [`decode`] of a record's headers and payload. Of an attribute sent twice, the first counts.
fn decode_parts(headers: &impl Headers, payload: &[u8]) -> Result<RecordedEvent, String> {
    // The first value of each attribute (`Some(None)`: a null value), in one pass.
    let mut values: [Option<Option<&[u8]>>; NAMES.len()] = [None; NAMES.len()];
    for h in headers.iter() {
        if let Some(i) = NAMES.iter().position(|n| *n == h.key) {
            values[i].get_or_insert(h.value);
        }
    }
    let get = |i: usize| -> Result<&str, String> {
        let name = NAMES[i];
        let v = values[i]
            .ok_or_else(|| format!("header {name} is missing"))?
            .ok_or_else(|| format!("header {name} is null"))?;
        std::str::from_utf8(v).map_err(|_| format!("header {name} is not UTF-8"))
    };
    let optional = |i: usize| get(i).map(str::to_string).unwrap_or_default();
    let time = |i: usize| -> Result<i64, String> {
        DateTime::parse_from_rfc3339(get(i)?)
            .map(|t| t.with_timezone(&Utc).timestamp_micros())
            .map_err(|e| format!("header {}: {e}", NAMES[i]))
    };
    let number = |i: usize| -> Result<i64, String> {
        get(i)?
            .parse::<i64>()
            .map_err(|e| format!("header {}: {e}", NAMES[i]))
    };
    if get(SPECVERSION)? != "1.0" {
        return Err("unsupported ce_specversion".into());
    }
    let event_id = uuid::Uuid::parse_str(get(ID)?).map_err(|e| format!("header ce_id: {e}"))?;
    Ok(RecordedEvent {
        event_id,
        stream_id: get(SUBJECT)?.to_string(),
        stream_version: number(STREAM_VERSION)? as u64,
        position: number(POSITION)?,
        tx_id: 0,
        event_type: get(TYPE)?.to_string(),
        occurred_at_micros: time(TIME)?,
        recorded_at_micros: time(RECORDED_AT)?,
        command_id: optional(COMMAND_ID),
        correlation_id: optional(CORRELATION_ID),
        causation_id: optional(CAUSATION_ID),
        actor: optional(ACTOR),
        traceparent: optional(TRACEPARENT),
        payload: payload.to_vec(),
        hash: hex::decode(optional(HASH)).map_err(|e| format!("header ce_hash: {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> RecordedEvent {
        RecordedEvent {
            event_id: uuid::Uuid::now_v7(),
            stream_id: "person-1".into(),
            stream_version: 3,
            position: 42,
            tx_id: 0,
            event_type: "bottomline.registry.v1.PersonRegistered".into(),
            occurred_at_micros: 1_764_000_000_123_456,
            recorded_at_micros: 1_764_000_000_223_456,
            command_id: "c1".into(),
            correlation_id: "k1".into(),
            causation_id: String::new(),
            actor: "registry".into(),
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
            payload: vec![1, 2, 3],
            hash: vec![0xab, 0xcd],
        }
    }

    /// `headers` with one more header (a header sent again, or a damaged one).
    fn with(headers: OwnedHeaders, key: &str, value: Option<&[u8]>) -> OwnedHeaders {
        headers.insert(Header { key, value })
    }

    /// The headers of `e` without `key`.
    fn all_but(e: &RecordedEvent, key: &str) -> OwnedHeaders {
        let mut headers = OwnedHeaders::new();
        for h in encode(e, "/x").iter().filter(|h| h.key != key) {
            headers = with(headers, h.key, h.value);
        }
        headers
    }

    #[test]
    fn an_encoded_event_decodes_to_itself() {
        let e = event();
        assert_eq!(
            decode_parts(&encode(&e, "/bottomline/registry"), &e.payload),
            Ok(e)
        );
    }

    #[test]
    fn the_first_of_a_repeated_attribute_counts() {
        let e = event();
        let headers = with(encode(&e, "/x"), "ce_subject", Some(b"person-2"));
        assert_eq!(
            decode_parts(&headers, &e.payload).unwrap().stream_id,
            "person-1"
        );
    }

    #[test]
    fn a_missing_null_or_malformed_attribute_is_named() {
        let e = event();
        let only = |key: &str, value: Option<&[u8]>| {
            decode_parts(&with(all_but(&e, key), key, value), &e.payload).unwrap_err()
        };
        let without = |key: &str| decode_parts(&all_but(&e, key), &e.payload).unwrap_err();
        assert_eq!(without("ce_type"), "header ce_type is missing");
        assert_eq!(only("ce_subject", None), "header ce_subject is null");
        assert_eq!(
            only("ce_subject", Some(&[0xff])),
            "header ce_subject is not UTF-8"
        );
        assert!(only("ce_position", Some(b"x")).starts_with("header ce_position: "));
        assert!(only("ce_time", Some(b"yesterday")).starts_with("header ce_time: "));
        assert_eq!(
            only("ce_specversion", Some(b"0.3")),
            "unsupported ce_specversion"
        );
    }
}
