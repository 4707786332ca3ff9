//! The employment read models and their query service, driven through the projector runtime and
//! the gRPC trait. Every test runs on SQLite and, when `BOTTOMLINE_TEST_POSTGRES_URL` is set,
//! PostgreSQL.

mod support;

mod batching;
mod coverage;
mod edges;
mod follow_up;
mod households;
mod posts;
mod scale;
mod watch;
