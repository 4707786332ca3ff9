//! Public-welfare posts: occupancy and subsidy by county and category, and the suspicious
//! patterns of post holders.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proto::employment::v1::{LocationClass, PostOccupancyRow, SuspicionRule, SuspiciousPatternRow};
use sqlx::{AnyConnection, Row};

use crate::convert::{civil_of, int32, stored};
use crate::page::PageToken;
use crate::read::after_clause;
use crate::sql::Sql;
use crate::validate::Scope;
use projector::query::QueryError;

/// Filters of the occupancy table.
#[derive(Debug, Clone)]
pub(crate) struct OccupancyFilter {
    pub(crate) scope: Scope,
    pub(crate) category: Option<i64>,
    /// Inclusive month range of the subsidy paid (first days of months).
    pub(crate) from_month: Option<NaiveDate>,
    pub(crate) to_month: Option<NaiveDate>,
}

fn posts_filter(sql: &mut Sql, filter: &OccupancyFilter) {
    sql.scope(&filter.scope, "p.province_code", "p.county_code");
    if let Some(category) = filter.category {
        sql.push(" AND p.category = ").int(category);
    }
}

/// One row per county and category that has posts (all rows, in key order).
pub(crate) async fn occupancy(
    conn: &mut AnyConnection,
    filter: &OccupancyFilter,
) -> Result<Vec<PostOccupancyRow>, QueryError> {
    let mut rows: BTreeMap<(String, i64), PostOccupancyRow> = BTreeMap::new();

    let mut sql = Sql::new(
        "SELECT p.county_code, p.category, COUNT(*), COUNT(o.post_id) FROM emp_posts p \
         LEFT JOIN (SELECT DISTINCT post_id FROM emp_post_holders WHERE active = 1) o \
         ON o.post_id = p.post_id WHERE 1 = 1",
    );
    posts_filter(&mut sql, filter);
    sql.push(" GROUP BY p.county_code, p.category");
    for r in sql.fetch_all(&mut *conn).await? {
        let county: String = r.try_get(0)?;
        let category: i64 = r.try_get(1)?;
        let posts: i64 = r.try_get(2)?;
        let occupied: i64 = r.try_get(3)?;
        rows.insert(
            (county.clone(), category),
            PostOccupancyRow {
                county_code: county,
                category: int32(category, "category")?,
                posts,
                occupied,
                vacant: posts - occupied,
                subsidy_paid_fen: 0,
                holders: 0,
            },
        );
    }

    let mut sql = Sql::new(
        "SELECT p.county_code, p.category, COUNT(DISTINCT h.person_id) FROM emp_post_holders h \
         JOIN emp_posts p ON p.post_id = h.post_id WHERE h.active = 1",
    );
    posts_filter(&mut sql, filter);
    sql.push(" GROUP BY p.county_code, p.category");
    for r in sql.fetch_all(&mut *conn).await? {
        if let Some(row) = rows.get_mut(&(r.try_get(0)?, r.try_get(1)?)) {
            row.holders = r.try_get(2)?;
        }
    }

    let mut sql = Sql::new(
        "SELECT p.county_code, p.category, CAST(COALESCE(SUM(m.amount_fen), 0) AS BIGINT) \
         FROM emp_post_payments m JOIN emp_posts p ON p.post_id = m.post_id WHERE 1 = 1",
    );
    posts_filter(&mut sql, filter);
    if let Some(from) = filter.from_month {
        sql.push(" AND m.month >= ").text(from.to_string());
    }
    if let Some(to) = filter.to_month {
        sql.push(" AND m.month <= ").text(to.to_string());
    }
    sql.push(" GROUP BY p.county_code, p.category");
    for r in sql.fetch_all(&mut *conn).await? {
        if let Some(row) = rows.get_mut(&(r.try_get(0)?, r.try_get(1)?)) {
            row.subsidy_paid_fen = r.try_get(2)?;
        }
    }
    Ok(rows.into_values().collect())
}

/// The stable name of a rule, as shown in rows and logs.
pub(crate) fn rule_name(rule: SuspicionRule) -> &'static str {
    match rule {
        SuspicionRule::Unspecified => "unspecified",
        SuspicionRule::PostHolderWorkingOutOfProvince => "post_holder_working_out_of_province",
    }
}

/// A page of suspicious patterns of one rule, ordered by `(person_id, post_id, spell_id)`.
#[derive(Debug, Clone)]
pub(crate) struct SuspicionQuery {
    pub(crate) scope: Scope,
    pub(crate) after: Option<PageToken>,
    pub(crate) limit: i64,
}

/// Rule `POST_HOLDER_WORKING_OUT_OF_PROVINCE`: an active post holder with an open spell out of
/// the province cannot be working the post. `since` is the later of the assignment and the
/// spell's start. (Planned when payroll exists: post subsidy and work-relief wages in one month.)
pub(crate) async fn holders_out_of_province(
    conn: &mut AnyConnection,
    q: &SuspicionQuery,
) -> Result<Vec<SuspiciousPatternRow>, QueryError> {
    let rule = SuspicionRule::PostHolderWorkingOutOfProvince;
    let mut sql = Sql::new(
        "SELECT h.person_id, h.post_id, p.county_code, s.spell_id, h.assigned_on, s.start_date \
         FROM emp_post_holders h JOIN emp_posts p ON p.post_id = h.post_id \
         JOIN emp_spells s ON s.person_id = h.person_id \
         WHERE h.active = 1 AND s.started = 1 AND s.end_date IS NULL AND s.location_class = ",
    );
    sql.int(LocationClass::OutOfProvince as i64);
    sql.scope(&q.scope, "p.province_code", "p.county_code");
    if let Some(after) = &q.after {
        sql.push(&after_clause(
            &["h.person_id", "h.post_id", "s.spell_id"],
            false,
        ));
        sql.text(after.key[0].clone()).push(", ");
        sql.text(after.key[1].clone()).push(", ");
        sql.text(after.key[2].clone()).push(")");
    }
    sql.push(" ORDER BY h.person_id, h.post_id, s.spell_id LIMIT ")
        .int(q.limit);
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let assigned: String = r.try_get(4)?;
            let started: String = r.try_get(5)?;
            let since = stored(&assigned)?.max(stored(&started)?);
            Ok(SuspiciousPatternRow {
                rule: rule as i32,
                person_id: r.try_get(0)?,
                post_id: r.try_get(1)?,
                county_code: r.try_get(2)?,
                spell_id: r.try_get(3)?,
                since: Some(civil_of(since)),
                rule_name: rule_name(rule).to_string(),
            })
        })
        .collect()
}
