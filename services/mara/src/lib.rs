//! MARA's read model of the registry and the gRPC query service over it.
//!
//! The registry (write side) records households, their members and the monitoring cases of
//! households at risk of returning to poverty as events. This crate folds those events into a few
//! relational tables keyed by county and province, so county rural-revitalisation bureaus and MARA
//! can see totals, county tables, monitoring cases and cases past the 15-day identification clock.
//!
//! - [`MaraProjection`] is the [`projector::Projection`] that keeps the tables: it decodes and
//!   validates each event *before* writing (a bad event is poison and gets parked), and passes over
//!   event types it does not know.
//! - [`MaraQuery`] implements `bottomline.mara.v1.MaraQueryService` over the read-model pool:
//!   inputs are validated at the edge (`INVALID_ARGUMENT` with a field violation), a store failure
//!   is `UNAVAILABLE`.
//!
//! Layout, one purpose per module: `schema` (tables, portable DDL), `change` (event payload →
//! validated read-model change), `projection` (writing changes), `read` (SQL of the queries),
//! `validate` (request fields → typed filters), `convert` (read rows → proto messages),
//! `query` (the service); errors and snapshots come from [`projector::query`].
//!
//! Both SQLite and PostgreSQL are supported through sqlx's `Any` driver: dates are ISO
//! `YYYY-MM-DD` text (ordering as text is date order), flags are `BIGINT` 0/1, enums are their
//! protobuf numbers, so values from a newer producer are kept as they come.

mod change;
mod convert;
mod projection;
mod query;
mod read;
mod schema;
mod upsert;
mod validate;

pub use projection::MaraProjection;
pub use projector::query::QueryError;
pub use query::MaraQuery;
