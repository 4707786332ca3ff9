//! The end-to-end test binary: each module is one theme, each test starts its own stack on port
//! 0 with fresh databases (and, for Kafka, random topic names) and drives it over gRPC.

mod bad_rows;
mod bulk;
mod crash_recovery;
mod demo;
mod employment;
mod idempotency;
mod monitoring_cases;
mod postgres_kafka;
mod privacy;
mod replaced_store;
mod split_processes;
mod up_import_query;
mod writer_lease;
