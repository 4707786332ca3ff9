//! The SQL of the views, one module per view family. Each query of a view runs inside one
//! snapshot, so a view's totals and rows agree with each other.

pub(crate) mod coverage;
pub(crate) mod follow_up;
pub(crate) mod households;
pub(crate) mod posts;
pub(crate) mod scale;

/// Ordering-key rows read with `LIMIT n + 1`: SQL for "after this key" on a list ordered by
/// `columns` (ascending, or descending when `descending`), as a row-value comparison.
pub(crate) fn after_clause(columns: &[&str], descending: bool) -> String {
    let op = if descending { "<" } else { ">" };
    format!(" AND ({}) {op} (", columns.join(", "))
}
