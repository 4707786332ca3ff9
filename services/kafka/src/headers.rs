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

/// The attributes [`decode`] reads, in one pass over a record's headers.
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

/// Rebuilds the event from a record, or says which attribute is missing or malformed.
pub fn decode(message: &BorrowedMessage<'_>) -> Result<RecordedEvent, String> {
    let headers = message.headers().ok_or("record has no headers")?;
    // The first value of each attribute, found in one pass (a record has some 16 headers).
    let mut values: [Option<Option<&[u8]>>; NAMES.len()] = [None; NAMES.len()];
    for h in headers.iter() {
        if let Some(i) = NAMES.iter().position(|n| *n == h.key) {
            values[i].get_or_insert(h.value);
        }
    }
    let get = |name: &str| -> Result<&str, String> {
        let i = NAMES
            .iter()
            .position(|n| *n == name)
            .expect("a decoded attribute");
        let v = values[i]
            .ok_or_else(|| format!("header {name} is missing"))?
            .ok_or_else(|| format!("header {name} is null"))?;
        std::str::from_utf8(v).map_err(|_| format!("header {name} is not UTF-8"))
    };
    let optional = |name: &str| get(name).map(str::to_string).unwrap_or_default();
    let time = |name: &str| -> Result<i64, String> {
        DateTime::parse_from_rfc3339(get(name)?)
            .map(|t| t.with_timezone(&Utc).timestamp_micros())
            .map_err(|e| format!("header {name}: {e}"))
    };
    let number = |name: &str| -> Result<i64, String> {
        get(name)?
            .parse::<i64>()
            .map_err(|e| format!("header {name}: {e}"))
    };
    if get("ce_specversion")? != "1.0" {
        return Err("unsupported ce_specversion".into());
    }
    let event_id =
        uuid::Uuid::parse_str(get("ce_id")?).map_err(|e| format!("header ce_id: {e}"))?;
    Ok(RecordedEvent {
        event_id,
        stream_id: get("ce_subject")?.to_string(),
        stream_version: number("ce_streamversion")? as u64,
        position: number("ce_position")?,
        tx_id: 0,
        event_type: get("ce_type")?.to_string(),
        occurred_at_micros: time("ce_time")?,
        recorded_at_micros: time("ce_recordedat")?,
        command_id: optional("ce_commandid"),
        correlation_id: optional("ce_correlationid"),
        causation_id: optional("ce_causationid"),
        actor: optional("ce_actor"),
        traceparent: optional("traceparent"),
        payload: message.payload().unwrap_or_default().to_vec(),
        hash: hex::decode(optional("ce_hash")).map_err(|e| format!("header ce_hash: {e}"))?,
    })
}
