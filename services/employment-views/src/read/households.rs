//! MARA household views: zero-employment households (computed at query time from persons and
//! spells) and households that lost work (one row per job-loss risk signal).

use chrono::NaiveDate;
use proto::employment::v1::{HouseholdLostWorkRow, ZeroEmploymentHouseholdRow};
use sqlx::{AnyConnection, Row};

use crate::convert::{int32, stored_civil};
use crate::page::PageToken;
use crate::read::after_clause;
use crate::sql::Sql;
use crate::validate::Scope;
use projector::query::QueryError;

/// A page of zero-employment households, ordered by `(county_code, household_id)`.
#[derive(Debug, Clone)]
pub(crate) struct ZeroQuery {
    pub(crate) scope: Scope,
    pub(crate) monitored_only: bool,
    pub(crate) after: Option<PageToken>,
    pub(crate) limit: i64,
}

/// Members that count as labour: capable and not exited.
const CAPABLE: &str = "FROM emp_persons p WHERE p.household_id = h.household_id \
                       AND p.exited = 0 AND p.labour_capable = 1";

/// Households with labour and no non-exited member in an open spell.
pub(crate) async fn zero_employment(
    conn: &mut AnyConnection,
    q: &ZeroQuery,
) -> Result<Vec<ZeroEmploymentHouseholdRow>, QueryError> {
    let mut sql = Sql::new(&format!(
        "SELECT h.household_id, h.county_code, h.monitored, h.poverty_alleviated, \
         (SELECT COUNT(*) {CAPABLE}), \
         (SELECT MAX(s.end_date) FROM emp_spells s WHERE s.household_id = h.household_id \
          AND s.started = 1) \
         FROM emp_households h WHERE EXISTS (SELECT 1 {CAPABLE}) \
         AND NOT EXISTS (SELECT 1 FROM emp_spells s WHERE s.household_id = h.household_id \
          AND s.started = 1 AND s.end_date IS NULL AND NOT EXISTS (SELECT 1 FROM emp_persons x \
          WHERE x.person_id = s.person_id AND x.exited = 1))"
    ));
    sql.scope(&q.scope, "h.province_code", "h.county_code");
    if q.monitored_only {
        sql.push(" AND h.monitored = 1");
    }
    if let Some(after) = &q.after {
        sql.push(&after_clause(&["h.county_code", "h.household_id"], false));
        sql.text(after.key[0].clone()).push(", ");
        sql.text(after.key[1].clone()).push(")");
    }
    sql.push(" ORDER BY h.county_code, h.household_id LIMIT ")
        .int(q.limit);
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let since: Option<String> = r.try_get(5)?;
            Ok(ZeroEmploymentHouseholdRow {
                household_id: r.try_get(0)?,
                county_code: r.try_get(1)?,
                monitored: r.try_get::<i64, _>(2)? != 0,
                poverty_alleviated: r.try_get::<i64, _>(3)? != 0,
                labour_capable_members: int32(r.try_get(4)?, "labour_capable_members")?,
                since: since.as_deref().map(stored_civil).transpose()?,
            })
        })
        .collect()
}

/// A page of job-loss signals, newest first: `(on_date, person_id, spell_id)` descending.
#[derive(Debug, Clone)]
pub(crate) struct LostQuery {
    pub(crate) scope: Scope,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
    pub(crate) monitored_only: bool,
    pub(crate) after: Option<PageToken>,
    pub(crate) limit: i64,
}

const LOST_COUNTY: &str = "CASE WHEN COALESCE(h.county_code, '') <> '' THEN h.county_code \
                           ELSE COALESCE(p.county_code, '') END";
const LOST_PROVINCE: &str = "CASE WHEN COALESCE(h.province_code, '') <> '' THEN h.province_code \
                             ELSE COALESCE(p.province_code, '') END";

/// Households that lost work.
pub(crate) async fn lost_work(
    conn: &mut AnyConnection,
    q: &LostQuery,
) -> Result<Vec<HouseholdLostWorkRow>, QueryError> {
    let mut sql = Sql::new(&format!(
        "SELECT j.household_id, j.person_id, j.spell_id, j.on_date, j.monitored, \
         j.without_employment, {LOST_COUNTY} FROM emp_job_losses j \
         LEFT JOIN emp_households h ON h.household_id = j.household_id \
         LEFT JOIN emp_persons p ON p.person_id = j.person_id WHERE 1 = 1"
    ));
    sql.scope(&q.scope, LOST_PROVINCE, LOST_COUNTY);
    if let Some(from) = q.from {
        sql.push(" AND j.on_date >= ").text(from.to_string());
    }
    if let Some(to) = q.to {
        sql.push(" AND j.on_date <= ").text(to.to_string());
    }
    if q.monitored_only {
        sql.push(" AND j.monitored = 1");
    }
    if let Some(after) = &q.after {
        sql.push(&after_clause(
            &["j.on_date", "j.person_id", "j.spell_id"],
            true,
        ));
        sql.text(after.key[0].clone()).push(", ");
        sql.text(after.key[1].clone()).push(", ");
        sql.text(after.key[2].clone()).push(")");
    }
    sql.push(" ORDER BY j.on_date DESC, j.person_id DESC, j.spell_id DESC LIMIT ")
        .int(q.limit);
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let on: String = r.try_get(3)?;
            Ok(HouseholdLostWorkRow {
                household_id: r.try_get(0)?,
                person_id: r.try_get(1)?,
                spell_id: r.try_get(2)?,
                on: Some(stored_civil(&on)?),
                monitored_household: r.try_get::<i64, _>(4)? != 0,
                household_without_employment: r.try_get::<i64, _>(5)? != 0,
                county_code: r.try_get(6)?,
            })
        })
        .collect()
}
