//! Employed scale: DISTINCT persons with a spell covering a month, computed at query time over
//! `emp_spells` (indexed by start date, county and province).

use chrono::NaiveDate;
use proto::employment::v1::EmployedScaleRow;
use sqlx::{AnyConnection, Row};

use crate::convert::{int32, last_day_of_month};
use crate::sql::Sql;
use crate::validate::Scope;
use projector::query::QueryError;

/// Filters of the employed scale.
#[derive(Debug, Clone)]
pub(crate) struct ScaleFilter {
    pub(crate) scope: Scope,
    pub(crate) location_class: Option<i64>,
    pub(crate) channel: Option<i64>,
}

/// `SELECT <columns> FROM emp_spells` restricted to spells covering the month starting on
/// `first` and to the filters: start on or before the month's last day, and open or ended on or
/// after its first day.
fn covering(columns: &str, filter: &ScaleFilter, first: NaiveDate) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {columns} FROM emp_spells WHERE started = 1 AND start_date <= "
    ));
    sql.text(last_day_of_month(first).to_string());
    sql.push(" AND (end_date IS NULL OR end_date >= ");
    sql.text(first.to_string());
    sql.push(")");
    sql.scope(&filter.scope, "province_code", "county_code");
    if let Some(class) = filter.location_class {
        sql.push(" AND location_class = ").int(class);
    }
    if let Some(channel) = filter.channel {
        sql.push(" AND channel = ").int(channel);
    }
    sql
}

/// Distinct employed persons in the month starting on `first`.
pub(crate) async fn employed(
    conn: &mut AnyConnection,
    filter: &ScaleFilter,
    first: NaiveDate,
) -> Result<i64, sqlx::Error> {
    let rows = covering("COUNT(DISTINCT person_id)", filter, first)
        .fetch_all(conn)
        .await?;
    rows.first().map(|r| r.try_get(0)).unwrap_or(Ok(0))
}

/// Distinct employed persons per county, location class and channel (all rows, in key order).
pub(crate) async fn breakdown(
    conn: &mut AnyConnection,
    filter: &ScaleFilter,
    first: NaiveDate,
) -> Result<Vec<EmployedScaleRow>, QueryError> {
    let mut sql = covering(
        "county_code, location_class, channel, COUNT(DISTINCT person_id)",
        filter,
        first,
    );
    sql.push(
        " GROUP BY county_code, location_class, channel \
         ORDER BY county_code, location_class, channel",
    );
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(EmployedScaleRow {
                county_code: r.try_get(0)?,
                location_class: int32(r.try_get(1)?, "location_class")?,
                channel: int32(r.try_get(2)?, "channel")?,
                employed: r.try_get(3)?,
            })
        })
        .collect()
}
