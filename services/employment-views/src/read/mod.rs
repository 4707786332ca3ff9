//! The SQL of the views, one module per view family. Each query of a view runs inside one
//! snapshot, so a view's totals and rows agree with each other.

pub(crate) mod coverage;
pub(crate) mod follow_up;
pub(crate) mod households;
pub(crate) mod posts;
pub(crate) mod scale;

use sqlx::{AnyPool, Transaction};

/// A read-only transaction that sees one snapshot. SQLite in WAL mode takes the snapshot at the
/// first read of a transaction; PostgreSQL needs `REPEATABLE READ` for that.
pub(crate) async fn snapshot(
    pool: &AnyPool,
) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// Ordering-key rows read with `LIMIT n + 1`: SQL for "after this key" on a list ordered by
/// `columns` (ascending, or descending when `descending`), as a row-value comparison.
pub(crate) fn after_clause(columns: &[&str], descending: bool) -> String {
    let op = if descending { "<" } else { ">" };
    format!(" AND ({}) {op} (", columns.join(", "))
}
