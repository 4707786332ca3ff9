//! The `bottomline` process: composition of the services (`app`), its typed configuration
//! (`config`), and the client-side commands of the CLI (`cli`).
//!
//! `app` is the only place that knows every adapter: it opens the event store (SQLite or
//! PostgreSQL), rebuilds the registry, starts the MARA projector fed either from the store
//! (embedded) or from Kafka (with the relay publishing the store), and serves all gRPC services,
//! health and reflection on one address.

pub mod app;
pub mod cli;
pub mod config;
pub mod reference;
