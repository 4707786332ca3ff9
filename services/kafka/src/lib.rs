//! Kafka adapters. Only the Kafka protocol is assumed (Apache Kafka in production, any compatible
//! broker in tests); topics are created explicitly, never auto-created.
//!
//! - [`relay`]: publishes committed events from an event store to a topic in commit order with an
//!   idempotent producer (key = stream id), advancing its checkpoint only after the broker
//!   acknowledged every event before it. At least once; consumers skip copies by global position.
//! - [`consumer`]: runs a [`projector::Projector`] as a consumer group, storing offsets in the
//!   read-model transaction and publishing parked events to a dead-letter topic.
//! - [`headers`]: the CloudEvents binary-mode mapping between a stored event and a Kafka record.
//! - [`admin`]: topic creation.

pub mod admin;
pub mod config;
pub mod consumer;
pub mod headers;
pub mod relay;
