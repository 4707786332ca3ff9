//! Runs of events written set-based: every change is one or two single-row upserts; the rows of a
//! run that share a statement become one multi-row statement.
//!
//! Upserts of different rows commute, so pending rows are kept per statement. A row already
//! pending (same table and key) is written only after the pending ones (they are flushed first),
//! so a run ends exactly as its events applied one by one would leave it. Placeholder upserts of
//! a row the run has settled are not pushed at all (see [`Upserts::settle`]): they would change
//! nothing, yet flush the run.

use std::collections::{HashMap, HashSet};

use eventstore::sql::{padded_rows, MAX_ROWS};
use eventstore::Backend;
use sqlx::AnyConnection;

/// A value bound to an upsert.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    /// A NULL of padding in a text column.
    NullText,
    /// A NULL of padding in an integer column.
    NullInt,
}

impl Value {
    /// A NULL of `value`'s type.
    fn null_of(value: &Value) -> Value {
        match value {
            Value::Text(_) | Value::NullText => Value::NullText,
            Value::Int(_) | Value::NullInt => Value::NullInt,
        }
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

/// Upserts waiting to be written.
#[derive(Default)]
pub(crate) struct Upserts {
    /// Statement (a single-row upsert) → the values of each pending row, in order.
    pending: Vec<(&'static str, Vec<Vec<Value>>)>,
    /// `(table, key)` of every pending row.
    keys: HashSet<(&'static str, String)>,
    /// `(table, key)` of rows this run left (pending or written) in a state that placeholder
    /// upserts of the same key no longer change (see [`Upserts::settle`]).
    settled: HashMap<&'static str, HashSet<String>>,
}

impl Upserts {
    /// Adds one row of `sql` — `INSERT INTO <table> (…) VALUES (…$1…$n…) ON CONFLICT …`, its
    /// parameters numbered in order of appearance — identified by `key` within its table.
    pub(crate) async fn push(
        &mut self,
        conn: &mut AnyConnection,
        sql: &'static str,
        key: String,
        values: Vec<Value>,
    ) -> Result<(), sqlx::Error> {
        let row = (table_of(sql), key);
        if self.keys.contains(&row) {
            self.flush(conn).await?;
        }
        self.keys.insert(row);
        match self.pending.iter_mut().find(|(s, _)| *s == sql) {
            Some((_, rows)) => rows.push(values),
            None => self.pending.push((sql, vec![values])),
        }
        Ok(())
    }

    /// Records that the row of `table` with `key`, pending or written by this run, is in a state
    /// that a placeholder upsert of that key (one that creates a missing row or fills what is
    /// still unknown) leaves as it is, so the projection may skip such upserts
    /// ([`Upserts::is_settled`]). Without that, the placeholder of a row already pending would
    /// flush every pending statement first: one flush per member of a household whose members
    /// arrive together, statements of a row or two each.
    pub(crate) fn settle(&mut self, table: &'static str, key: String) {
        self.settled.entry(table).or_default().insert(key);
    }

    /// Whether [`Upserts::settle`] was called for this row during the run.
    pub(crate) fn is_settled(&self, table: &'static str, key: &str) -> bool {
        self.settled
            .get(table)
            .is_some_and(|keys| keys.contains(key))
    }

    /// Writes every pending row.
    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let backend = Backend::of_connection(conn);
        for (sql, mut rows) in std::mem::take(&mut self.pending) {
            let shape = Shape::of(sql);
            while !rows.is_empty() {
                let rest = rows.split_off(rows.len().min(MAX_ROWS));
                let padded = padded_rows(rows.len());
                let text = shape.render(backend, padded);
                let mut q = sqlx::query(&text);
                // Rows of NULLs of the first row's types (one type per column on PostgreSQL),
                // dropped by the statement's `WHERE column1 IS NOT NULL`.
                let nulls: Vec<Value> = rows[0].iter().map(Value::null_of).collect();
                let padding = padded - rows.len();
                for value in rows
                    .into_iter()
                    .flatten()
                    .chain(std::iter::repeat_n(nulls, padding).flatten())
                {
                    q = match value {
                        Value::Text(s) => q.bind(s),
                        Value::Int(i) => q.bind(i),
                        Value::NullText => q.bind(None::<String>),
                        Value::NullInt => q.bind(None::<i64>),
                    };
                }
                q.execute(&mut *conn).await?;
                rows = rest;
            }
        }
        self.keys.clear();
        Ok(())
    }
}

/// The table a statement inserts into.
fn table_of(sql: &'static str) -> &'static str {
    sql.trim_start()
        .strip_prefix("INSERT INTO ")
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an INSERT INTO statement")
}

/// A single-row upsert cut around its row of values.
struct Shape<'a> {
    head: &'a str,
    /// The row's text split at its parameters: `pieces.len() - 1` parameters.
    pieces: Vec<&'a str>,
    tail: &'a str,
}

impl<'a> Shape<'a> {
    fn of(sql: &'a str) -> Shape<'a> {
        let start = sql.find("VALUES (").expect("a VALUES row") + "VALUES ".len();
        let end = start + matching_paren(&sql[start..]) + 1;
        let row = &sql[start..end];
        let mut pieces = Vec::new();
        let mut rest = row;
        let mut expected = 1;
        while let Some(at) = rest.find('$') {
            pieces.push(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len() - at - 1, |n| n);
            let n: usize = rest[at + 1..at + 1 + digits]
                .parse()
                .expect("a parameter number");
            assert_eq!(n, expected, "parameters numbered in order of appearance");
            expected += 1;
            rest = &rest[at + 1 + digits..];
        }
        pieces.push(rest);
        assert_eq!(
            pieces[0], "(",
            "a row whose first value is a parameter (the key)"
        );
        Shape {
            head: &sql[..start],
            pieces,
            tail: &sql[end..],
        }
    }

    /// The statement with `rows` rows, parameters numbered across them, as `INSERT INTO t (…)
    /// SELECT * FROM (VALUES …) AS padded WHERE column1 IS NOT NULL ON CONFLICT …`: rows whose
    /// first value is NULL (padding, [`eventstore::sql::padded_rows`]) are not written
    /// ([`eventstore::sql::without_padding`]).
    fn render(&self, backend: Backend, rows: usize) -> String {
        let width = self.pieces.len() - 1;
        let mut s = String::with_capacity(rows * 64);
        for r in 0..rows {
            if r > 0 {
                s.push(',');
            }
            for (i, piece) in self.pieces.iter().enumerate() {
                s.push_str(piece);
                if i < width {
                    s.push_str(&eventstore::sql::placeholders(
                        backend,
                        r * width + i + 1,
                        1,
                    ));
                }
            }
        }
        format!(
            "{}{}{}",
            self.head.strip_suffix("VALUES ").expect("a VALUES row"),
            eventstore::sql::without_padding(&s),
            self.tail
        )
    }
}

/// Offset of the parenthesis closing the one `text` starts with.
fn matching_paren(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses in {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(sql: &'static str, backend: Backend, rows: usize) -> String {
        Shape::of(sql).render(backend, rows)
    }

    const SQL: &str = "INSERT INTO emp_t (a, b, c, d) VALUES ($1, '', $2, COALESCE(NULL, $3)) \
        ON CONFLICT (a) DO UPDATE SET b = excluded.b";

    #[test]
    fn rows_are_numbered_across_the_statement() {
        assert_eq!(
            rendered(SQL, Backend::Postgres, 2),
            "INSERT INTO emp_t (a, b, c, d) SELECT * FROM (VALUES ($1, '', $2, COALESCE(NULL, $3)),\
             ($4, '', $5, COALESCE(NULL, $6))) AS padded WHERE column1 IS NOT NULL \
             ON CONFLICT (a) DO UPDATE SET b = excluded.b"
        );
        assert_eq!(
            rendered(SQL, Backend::Sqlite, 2),
            "INSERT INTO emp_t (a, b, c, d) SELECT * FROM (VALUES (?, '', ?, COALESCE(NULL, ?)),\
             (?, '', ?, COALESCE(NULL, ?))) AS padded WHERE column1 IS NOT NULL \
             ON CONFLICT (a) DO UPDATE SET b = excluded.b"
        );
        assert_eq!(table_of(SQL), "emp_t");
    }
}
