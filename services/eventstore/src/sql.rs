//! Text of multi-row statements, shared by every set-based writer (the event store's group
//! append, projections that write runs of events).
//!
//! Parameters are numbered (`$1`, `$2`, …) on PostgreSQL and anonymous (`?`, bound in order) on
//! SQLite: SQLite looks a numbered parameter's name up by walking the statement's list of names,
//! so binding thousands of numbered parameters costs time quadratic in their number (it was a
//! fifth of the embedded mode's CPU time under load).

use crate::Backend;

/// Rows per multi-row statement: at 14 parameters a row (the widest, an event), 500 rows bind
/// 7,000 parameters, below SQLite's limit (32,766) and PostgreSQL's (65,535).
pub const CHUNK: usize = 500;

/// `n` parameters, the first numbered `first` (on PostgreSQL), comma-separated.
pub fn placeholders(backend: Backend, first: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for i in first..first + n {
        if i > first {
            s.push(',');
        }
        match backend {
            Backend::Postgres => {
                s.push('$');
                s.push_str(&i.to_string());
            }
            Backend::Sqlite => s.push('?'),
        }
    }
    s
}

/// `(…),(…)`: `rows` rows of `width` parameters, numbered from 1.
pub fn value_rows(backend: Backend, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(backend, row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_on_postgres_anonymous_on_sqlite() {
        assert_eq!(value_rows(Backend::Postgres, 2, 2), "($1,$2),($3,$4)");
        assert_eq!(value_rows(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
        assert_eq!(placeholders(Backend::Postgres, 3, 2), "$3,$4");
    }
}
