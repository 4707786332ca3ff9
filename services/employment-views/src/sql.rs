//! A statement assembled from constant fragments and `$n` placeholders, so no input is ever
//! spliced into SQL text. Each bind gets its own number (placeholders are never reused).

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::validate::Scope;

/// A value bound to a placeholder: the only kinds the `Any` driver binds reliably here.
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

/// A statement under construction.
pub(crate) struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            binds: Vec::new(),
        }
    }

    /// Appends constant SQL text.
    pub(crate) fn push(&mut self, fragment: &str) -> &mut Sql {
        self.text.push_str(fragment);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind(&mut self, value: Bind) -> &mut Sql {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    /// Appends a placeholder bound to text.
    pub(crate) fn text(&mut self, value: impl Into<String>) -> &mut Sql {
        self.bind(Bind::Text(value.into()))
    }

    /// Appends a placeholder bound to an integer.
    pub(crate) fn int(&mut self, value: i64) -> &mut Sql {
        self.bind(Bind::Int(value))
    }

    /// ` AND <province> = $n` or ` AND <county> = $n`; the column expressions are constants of
    /// the caller.
    pub(crate) fn scope(&mut self, scope: &Scope, province: &str, county: &str) -> &mut Sql {
        match scope {
            Scope::Country => {}
            Scope::Province(code) => {
                self.push(&format!(" AND {province} = "));
                self.text(code.clone());
            }
            Scope::County(code) => {
                self.push(&format!(" AND {county} = "));
                self.text(code.clone());
            }
        }
        self
    }

    /// Runs the statement and returns its rows.
    pub(crate) async fn fetch_all(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let Sql { text, binds } = self;
        let mut query = sqlx::query(&text);
        for value in binds {
            query = match value {
                Bind::Int(n) => query.bind(n),
                Bind::Text(s) => query.bind(s),
            };
        }
        query.fetch_all(conn).await
    }
}
