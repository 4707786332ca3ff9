//! The follow-up queue: people whose latest job loss is older than the follow-up window and who
//! have not been followed up since.

use chrono::{Days, NaiveDate};
use proto::employment::v1::{EndReason, FollowUpQueueRow};
use sqlx::{AnyConnection, Row};

use crate::convert::{civil_of, int32, stored, stored_civil};
use crate::page::PageToken;
use crate::read::after_clause;
use crate::sql::Sql;
use crate::validate::Scope;
use projector::query::QueryError;

/// End reasons that are *not* a job loss: the worker moved, or left the registry. Every other
/// reason (including one a newer producer adds) is a job loss and needs a follow-up.
const NOT_JOB_LOSS: [EndReason; 2] = [EndReason::Moved, EndReason::PersonExited];

/// A page of the queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueQuery {
    pub(crate) as_of: NaiveDate,
    /// N: a loss is overdue once more than N days have passed since its end date.
    pub(crate) days: i64,
    /// Only losses already overdue.
    pub(crate) overdue_only: bool,
    pub(crate) scope: Scope,
    pub(crate) after: Option<PageToken>,
    /// Rows to read (one more than the page).
    pub(crate) limit: i64,
}

fn job_loss(alias: &str) -> String {
    let excluded = NOT_JOB_LOSS.map(|r| (r as i32).to_string()).join(", ");
    format!("{alias}.started = 1 AND {alias}.end_date IS NOT NULL AND {alias}.end_reason NOT IN ({excluded})")
}

/// One page in `(end_date, person_id)` order; rows are `(row, end date text)`.
pub(crate) async fn queue(
    conn: &mut AnyConnection,
    q: &QueueQuery,
) -> Result<Vec<FollowUpQueueRow>, QueryError> {
    let overdue_before = q
        .as_of
        .checked_sub_days(Days::new(u64::try_from(q.days).unwrap_or(0)))
        .unwrap_or(NaiveDate::MIN);
    let as_of = q.as_of.to_string();
    let mut sql = Sql::new(
        "SELECT s.person_id, s.household_id, s.county_code, s.end_date, s.end_reason, s.spell_id, \
         COALESCE(h.monitored, 0), \
         (SELECT MAX(f.follow_date) FROM emp_follow_ups f WHERE f.person_id = s.person_id \
          AND f.follow_date <= ",
    );
    sql.text(as_of.clone());
    sql.push(&format!(
        ") FROM emp_spells s LEFT JOIN emp_households h ON h.household_id = s.household_id \
         WHERE {} AND s.end_date {} ",
        job_loss("s"),
        if q.overdue_only { "<" } else { "<=" }
    ));
    sql.text(if q.overdue_only {
        overdue_before.to_string()
    } else {
        as_of.clone()
    });
    // The latest job loss up to as_of decides (a later, not yet overdue loss hides older ones).
    sql.push(&format!(
        " AND NOT EXISTS (SELECT 1 FROM emp_spells l WHERE l.person_id = s.person_id AND {} \
         AND l.end_date <= ",
        job_loss("l")
    ));
    sql.text(as_of.clone());
    sql.push(
        " AND (l.end_date > s.end_date OR (l.end_date = s.end_date AND l.spell_id > s.spell_id)))",
    );
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM emp_spells o WHERE o.person_id = s.person_id \
         AND o.started = 1 AND o.end_date IS NULL)",
    );
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM emp_persons x WHERE x.person_id = s.person_id \
         AND x.exited = 1)",
    );
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM emp_follow_ups f WHERE f.person_id = s.person_id \
         AND f.follow_date >= s.end_date AND f.follow_date <= ",
    );
    sql.text(as_of);
    sql.push(")");
    sql.scope(&q.scope, "s.province_code", "s.county_code");
    if let Some(after) = &q.after {
        sql.push(&after_clause(&["s.end_date", "s.person_id"], false));
        sql.text(after.key[0].clone()).push(", ");
        sql.text(after.key[1].clone()).push(")");
    }
    sql.push(" ORDER BY s.end_date, s.person_id LIMIT ")
        .int(q.limit);
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            let end_text: String = r.try_get(3)?;
            let end = stored(&end_text)?;
            let due = end
                .checked_add_days(Days::new(u64::try_from(q.days).unwrap_or(0)))
                .unwrap_or(NaiveDate::MAX);
            let last: Option<String> = r.try_get(7)?;
            Ok(FollowUpQueueRow {
                person_id: r.try_get(0)?,
                household_id: r.try_get(1)?,
                county_code: r.try_get(2)?,
                end_date: Some(stored_civil(&end_text)?),
                reason: int32(r.try_get(4)?, "end_reason")?,
                days_since_end: int32((q.as_of - end).num_days(), "days_since_end")?,
                monitored_household: r.try_get::<i64, _>(6)? != 0,
                last_follow_up: last.as_deref().map(stored_civil).transpose()?,
                spell_id: r.try_get(5)?,
                follow_up_due: Some(civil_of(due)),
                overdue: q.as_of > due,
            })
        })
        .collect()
}
