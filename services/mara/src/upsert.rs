//! Registrations written set-based: a run of household, person and case-opening changes becomes
//! one multi-row upsert per table instead of one statement per event.
//!
//! Upserts of different rows commute, so the run is kept per table; a second change of a row
//! already pending is written only after the first one (the pending rows are flushed first), so
//! the result equals applying the events one by one.

use std::collections::HashSet;

use eventstore::sql::{value_rows, MAX_ROWS};
use eventstore::Backend;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use crate::change::{Row, STAGE_LEAD};

const HOUSEHOLDS: &str = "INSERT INTO mara_households (household_id, village_code, county_code, \
    province_code, poverty_alleviated, relocated, settlement_area) VALUES {rows} \
    ON CONFLICT (household_id) DO UPDATE SET village_code = excluded.village_code, \
    county_code = excluded.county_code, province_code = excluded.province_code, \
    poverty_alleviated = excluded.poverty_alleviated, relocated = excluded.relocated, \
    settlement_area = excluded.settlement_area";

const PERSONS: &str = "INSERT INTO mara_persons (person_id, household_id, county_code, \
    province_code, labour_capacity, exited) VALUES {rows} \
    ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id, \
    county_code = excluded.county_code, province_code = excluded.province_code, \
    labour_capacity = excluded.labour_capacity";

// A re-delivered opening must not rewind a case that has moved on: only the facts the opening
// states are overwritten, never the stage or the counters.
const CASES: &str = "INSERT INTO mara_cases (case_id, household_id, county_code, province_code, \
    case_type, stage, lead_date, registered_on, days_to_register, clock_breached, measures) \
    VALUES {rows} \
    ON CONFLICT (case_id) DO UPDATE SET household_id = excluded.household_id, \
    county_code = excluded.county_code, province_code = excluded.province_code, \
    case_type = excluded.case_type, lead_date = excluded.lead_date";

/// Upserts waiting to be written, per table, in event order.
#[derive(Default)]
pub(crate) struct Upserts {
    households: Vec<Row>,
    persons: Vec<Row>,
    cases: Vec<Row>,
    /// `(table, key)` of every pending row.
    keys: HashSet<(&'static str, String)>,
}

/// The table and key a row change writes.
fn key_of(row: &Row) -> (&'static str, &str) {
    match row {
        Row::Household { household_id, .. } => ("households", household_id),
        Row::Person { person_id, .. } => ("persons", person_id),
        Row::CaseOpened { case_id, .. } => ("cases", case_id),
    }
}

impl Upserts {
    /// Adds `row` to the pending ones (writing those first if it changes one of them again).
    pub(crate) async fn push(
        &mut self,
        conn: &mut AnyConnection,
        row: Row,
    ) -> Result<(), sqlx::Error> {
        let (table, key) = key_of(&row);
        if !self.keys.insert((table, key.to_string())) {
            self.flush(conn).await?;
            self.keys.insert((table, key.to_string()));
        }
        match row {
            Row::Household { .. } => self.households.push(row),
            Row::Person { .. } => self.persons.push(row),
            Row::CaseOpened { .. } => self.cases.push(row),
        }
        Ok(())
    }

    /// Writes every pending row.
    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        write(conn, HOUSEHOLDS, 7, std::mem::take(&mut self.households)).await?;
        write(conn, PERSONS, 6, std::mem::take(&mut self.persons)).await?;
        write(conn, CASES, 11, std::mem::take(&mut self.cases)).await?;
        self.keys.clear();
        Ok(())
    }
}

/// Writes `changes` with `template`, whose `{rows}` takes the `VALUES` rows of `width` columns.
///
/// Rows go in statements of a power of two rows each, the largest that fits, at most
/// [`MAX_ROWS`]: 400 rows are written as 256, 128 and 16. A table's statements thus have at
/// most nine texts, each prepared once per connection and then reused, where one statement of
/// exactly the rows at hand had a new text nearly every batch, which PostgreSQL parsed and
/// planned again each time (with 3,000 parameters, about a quarter of MARA's time per batch;
/// docs/performance.md, ninth pass).
async fn write(
    conn: &mut AnyConnection,
    template: &str,
    width: usize,
    mut changes: Vec<Row>,
) -> Result<(), sqlx::Error> {
    let backend = Backend::of_connection(conn);
    while !changes.is_empty() {
        let rows = prepared_size(changes.len());
        let rest = changes.split_off(rows);
        let sql = template.replace("{rows}", &value_rows(backend, rows, width));
        let mut q = sqlx::query(&sql);
        for row in changes {
            q = bind(q, row);
        }
        q.execute(&mut *conn).await?;
        changes = rest;
    }
    Ok(())
}

/// Rows of the next statement when `pending` rows are left: the largest power of two that is
/// at most `pending` and [`MAX_ROWS`].
fn prepared_size(pending: usize) -> usize {
    1 << pending.min(MAX_ROWS).ilog2()
}

fn bind<'q>(q: Query<'q, Any, AnyArguments<'q>>, row: Row) -> Query<'q, Any, AnyArguments<'q>> {
    match row {
        Row::Household {
            household_id,
            village_code,
            county_code,
            province_code,
            poverty_alleviated,
            relocated,
            settlement_area,
        } => q
            .bind(household_id)
            .bind(village_code)
            .bind(county_code)
            .bind(province_code)
            .bind(i64::from(poverty_alleviated))
            .bind(i64::from(relocated))
            .bind(settlement_area),
        Row::Person {
            person_id,
            household_id,
            county_code,
            province_code,
            labour_capacity,
        } => q
            .bind(person_id)
            .bind(household_id)
            .bind(county_code)
            .bind(province_code)
            .bind(labour_capacity)
            .bind(0i64),
        Row::CaseOpened {
            case_id,
            household_id,
            county_code,
            province_code,
            case_type,
            lead_date,
        } => q
            .bind(case_id)
            .bind(household_id)
            .bind(county_code)
            .bind(province_code)
            .bind(case_type)
            .bind(STAGE_LEAD)
            .bind(lead_date.to_string())
            .bind(None::<String>)
            .bind(-1i64)
            .bind(0i64)
            .bind(0i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_in_power_of_two_statements() {
        let split = |mut pending: usize| {
            let mut sizes = Vec::new();
            while pending > 0 {
                let rows = prepared_size(pending);
                sizes.push(rows);
                pending -= rows;
            }
            sizes
        };
        assert_eq!(MAX_ROWS, 256);
        assert_eq!(split(1), [1]);
        assert_eq!(split(400), [256, 128, 16]);
        assert_eq!(split(500), [256, 128, 64, 32, 16, 4]);
        assert_eq!(split(1000), [256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(split(255), [128, 64, 32, 16, 8, 4, 2, 1]);
    }
}
