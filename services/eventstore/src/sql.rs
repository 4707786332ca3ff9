//! Text of multi-row statements, shared by every set-based writer (the event store's group
//! append, the projector runtime's dedupe records, projections that write runs of events).

/// Rows per multi-row statement: at 14 parameters a row (the widest, an event), 500 rows bind
/// 7,000 parameters, below SQLite's limit (32,766) and PostgreSQL's (65,535).
pub const CHUNK: usize = 500;

/// `$first, $first+1, …` for `n` parameters.
pub fn placeholders(first: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for i in first..first + n {
        if i > first {
            s.push(',');
        }
        s.push('$');
        s.push_str(&i.to_string());
    }
    s
}

/// `($1,…,$w),($w+1,…)` for `rows` rows of `width` parameters.
pub fn value_rows(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(",")
}
