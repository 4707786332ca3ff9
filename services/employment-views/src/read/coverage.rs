//! Training coverage by county and kind, Rain and Dew coverage by county and term. The county is
//! joined at query time (registry facts may arrive after the enrolment): the person's for
//! training; the household's, else the person's, for Rain and Dew; empty while unknown.

use chrono::NaiveDate;
use proto::employment::v1::{RainAndDewCoverageRow, TrainingCoverageRow};
use sqlx::{AnyConnection, Row};

use crate::convert::{int32, stored_civil};
use crate::sql::Sql;
use crate::validate::Scope;
use projector::query::QueryError;

/// Filters of a coverage table: scope and an inclusive date range.
#[derive(Debug, Clone)]
pub(crate) struct CoverageFilter {
    pub(crate) scope: Scope,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
}

fn range(sql: &mut Sql, column: &str, filter: &CoverageFilter) {
    if let Some(from) = filter.from {
        sql.push(&format!(" AND {column} >= "))
            .text(from.to_string());
    }
    if let Some(to) = filter.to {
        sql.push(&format!(" AND {column} <= ")).text(to.to_string());
    }
}

const TRAINING_COUNTY: &str = "COALESCE(p.county_code, '')";
const TRAINING_PROVINCE: &str = "COALESCE(p.province_code, '')";

/// Enrolments, completions and certificates per county and kind (all rows).
pub(crate) async fn training(
    conn: &mut AnyConnection,
    filter: &CoverageFilter,
) -> Result<Vec<TrainingCoverageRow>, QueryError> {
    let mut sql = Sql::new(&format!(
        "SELECT {TRAINING_COUNTY}, t.kind, COUNT(*), \
         COUNT(CASE WHEN t.completed = 1 THEN 1 END), \
         COUNT(CASE WHEN t.completed = 1 AND t.certified = 1 THEN 1 END) \
         FROM emp_training t LEFT JOIN emp_persons p ON p.person_id = t.person_id \
         WHERE t.enrolled = 1"
    ));
    sql.scope(&filter.scope, TRAINING_PROVINCE, TRAINING_COUNTY);
    range(&mut sql, "t.starts_on", filter);
    sql.push(&format!(" GROUP BY {TRAINING_COUNTY}, t.kind"));
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(TrainingCoverageRow {
                county_code: r.try_get(0)?,
                kind: int32(r.try_get(1)?, "kind")?,
                enrolled: r.try_get(2)?,
                completed: r.try_get(3)?,
                certified: r.try_get(4)?,
            })
        })
        .collect()
}

const RAIN_COUNTY: &str = "CASE WHEN COALESCE(h.county_code, '') <> '' THEN h.county_code \
                           ELSE COALESCE(p.county_code, '') END";
const RAIN_PROVINCE: &str = "CASE WHEN COALESCE(h.province_code, '') <> '' THEN h.province_code \
                             ELSE COALESCE(p.province_code, '') END";

/// Distinct students and subsidy total per county and first day of term (all rows).
pub(crate) async fn rain_and_dew(
    conn: &mut AnyConnection,
    filter: &CoverageFilter,
) -> Result<Vec<RainAndDewCoverageRow>, QueryError> {
    let mut sql = Sql::new(&format!(
        "SELECT {RAIN_COUNTY}, r.term_starts_on, COUNT(DISTINCT r.person_id), \
         CAST(COALESCE(SUM(r.subsidy_fen), 0) AS BIGINT) \
         FROM emp_rain_and_dew r \
         LEFT JOIN emp_households h ON h.household_id = r.household_id \
         LEFT JOIN emp_persons p ON p.person_id = r.person_id WHERE 1 = 1"
    ));
    sql.scope(&filter.scope, RAIN_PROVINCE, RAIN_COUNTY);
    range(&mut sql, "r.term_starts_on", filter);
    sql.push(&format!(" GROUP BY {RAIN_COUNTY}, r.term_starts_on"));
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let term: String = r.try_get(1)?;
            Ok(RainAndDewCoverageRow {
                county_code: r.try_get(0)?,
                term_starts_on: Some(stored_civil(&term)?),
                students: r.try_get(2)?,
                subsidy_total_fen: r.try_get(3)?,
            })
        })
        .collect()
}
