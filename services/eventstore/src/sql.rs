//! Text of multi-row statements, shared by every set-based writer (the event store's group
//! append, projections that write runs of events).
//!
//! Parameters are numbered (`$1`, `$2`, …) on PostgreSQL and anonymous (`?`, bound in order) on
//! SQLite: SQLite looks a numbered parameter's name up by walking the statement's list of names,
//! so binding thousands of numbered parameters costs time quadratic in their number (it was a
//! fifth of the embedded mode's CPU time under load).

use crate::Backend;

/// Rows per set-based statement at most: at 14 parameters a row (the widest, an event), 256
/// rows bind 3,584 parameters, far below SQLite's limit (32,766) and PostgreSQL's (65,535).
pub const MAX_ROWS: usize = 256;

/// Rows of the statement that carries `n` rows (`1 ≤ n ≤ MAX_ROWS`), padded: the next power of
/// two. A set-based statement's text then takes one of at most nine sizes, each prepared once
/// per connection and reused. A text written for exactly the rows at hand is new nearly every
/// time: PostgreSQL parses and plans it again, and sqlx describes it first, one more round trip
/// (docs/performance.md, tenth pass).
pub fn padded_rows(n: usize) -> usize {
    n.next_power_of_two().min(MAX_ROWS)
}

/// `SELECT * FROM (VALUES {rows}) AS padded WHERE column1 IS NOT NULL`: the rows of a padded
/// statement ([`padded_rows`]) without its padding, rows whose first value is NULL. Both
/// backends name the columns of a `VALUES` list `column1`, `column2`, …; the list keeps its
/// order; and SQLite needs the `WHERE` anyway before an `ON CONFLICT` that follows a `SELECT`.
pub fn without_padding(rows: &str) -> String {
    format!("SELECT * FROM (VALUES {rows}) AS padded WHERE column1 IS NOT NULL")
}

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

    #[test]
    fn statements_are_padded_to_powers_of_two_up_to_256_rows() {
        let sizes: Vec<usize> = [1, 2, 3, 5, 33, 128, 129, 255, 256]
            .into_iter()
            .map(padded_rows)
            .collect();
        assert_eq!(sizes, [1, 2, 4, 8, 64, 128, 256, 256, 256]);
    }
}
