//! Read models of the employment context (MOHRSS and MARA views) and the gRPC query service over
//! them, with live (server-streaming) watches.
//!
//! The employment service records spells, follow-ups, public-welfare posts, training, Rain and Dew
//! enrolments and the registry facts it learnt about households and persons as events
//! (`bottomline.employment.v1`, see `events.proto`). This crate folds them into a few tables
//! (prefix `emp_`) and answers `bottomline.employment.v1.EmploymentQueryService` (`views.proto`):
//!
//! - MOHRSS: employed scale per month vs the national target, the follow-up queue, training and
//!   Rain and Dew coverage;
//! - MARA: zero-employment households, households that lost work, post occupancy and subsidy,
//!   suspicious patterns.
//!
//! [`EmploymentViewsProjection`] is the [`projector::Projection`] (name `employment-views`): it
//! decodes and validates each event *before* writing (a bad event is poison and gets parked) and
//! passes over types it does not know. Events arrive in stream order but not in global order across
//! streams (Kafka partitions by stream id), so every write is an upsert of a partial row and every
//! view joins at query time: a person's facts may come before their household's, a spell before
//! the person's registry facts.
//!
//! [`EmploymentQuery`] serves the views. Each `Watch...` RPC re-runs its query when the projector
//! reports a committed batch ([`projector::Projector::subscribe`]) and sends the result only when
//! it differs from the last one sent.
//!
//! Layout, one purpose per module: `schema` (tables), `change` (payload → validated change),
//! `projection` (writing changes), `read/*` (SQL of each view), `sql` (statement builder),
//! `validate` (request fields → filters), `page` (page tokens), `convert` (dates and enums),
//! `query` (the views), `service` (the gRPC trait),
//! `watch` (live results).
//!
//! Wiring (as `services/bottomline/src/app.rs` does for MARA):
//!
//! ```text
//! let projector = Projector::open(EmploymentViewsProjection::new(), &read_model_url).await?;
//! let query = EmploymentQuery::new(
//!     projector.pool().clone(),
//!     catalog,                            // Arc<registry_domain::DivisionCatalog>
//!     Arc::new(PolicyBook::national()),   // or the operator's dated parameters
//!     config.follow_up_days,              // 0 = 7 days
//!     projector.subscribe(),
//! );
//! router.add_service(query.into_server());
//! // feed `projector` from Kafka (kafka crate) or `projector::embedded::run`.
//! ```
//!
//! Both SQLite and PostgreSQL are supported through sqlx's `Any` driver: dates are ISO
//! `YYYY-MM-DD` text, flags `BIGINT` 0/1, enums their protobuf numbers; only `i64`, `String` and
//! byte binds are used.

mod change;
mod convert;
mod page;
mod projection;
mod query;
mod read;
mod schema;
mod service;
mod sql;
mod upsert;
mod validate;
mod watch;

pub use projection::EmploymentViewsProjection;
pub use projector::query::QueryError;
pub use query::{EmploymentQuery, DEFAULT_FOLLOW_UP_DAYS};
