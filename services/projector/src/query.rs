//! What every gRPC query service over a read model shares: why a query failed and the one
//! mapping from that to a gRPC status ([`QueryError`]), and a read-only snapshot transaction
//! ([`snapshot`]) so a view's totals and rows agree.

use sqlx::{AnyPool, Transaction};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A failed query.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A request field is malformed: `INVALID_ARGUMENT` with a `google.rpc.BadRequest` field
    /// violation naming `field`.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The request field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored row cannot be read back (a bug or a hand-edited database): `INTERNAL`.
    #[error("read model row unreadable: {0}")]
    Corrupt(String),
    /// The read-model database failed: `UNAVAILABLE`, the client may retry.
    #[error("read model store: {0}")]
    Store(#[from] sqlx::Error),
}

impl QueryError {
    /// A [`QueryError::Invalid`] for `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> QueryError {
        QueryError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<QueryError> for Status {
    fn from(error: QueryError) -> Status {
        match error {
            QueryError::Invalid { field, reason } => Status::with_error_details(
                Code::InvalidArgument,
                format!("invalid {field}: {reason}"),
                ErrorDetails::with_bad_request_violation(field, reason),
            ),
            QueryError::Corrupt(reason) => {
                tracing::error!(reason, "read model row unreadable");
                Status::internal("read model row unreadable")
            }
            QueryError::Store(e) => {
                tracing::warn!(error = %e, "read model store failed");
                Status::unavailable("read model store unavailable")
            }
        }
    }
}

/// A read-only transaction that sees one snapshot. SQLite in WAL mode takes the snapshot at the
/// first read of a transaction; PostgreSQL needs `REPEATABLE READ` for that.
pub async fn snapshot(pool: &AnyPool) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}
