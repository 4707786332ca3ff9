//! The MARA read model and its query service, driven through the projector runtime and the gRPC
//! trait. Every test runs on SQLite and, when `BOTTOMLINE_TEST_POSTGRES_URL` is set, PostgreSQL.

mod support;

mod batching;
mod cases;
mod counts;
mod edges;
