//! The SQL of the queries. Each call reads inside one snapshot, so totals, rows and the
//! checkpoint agree with each other.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proto::registry::v1::LabourCapacity;
use sqlx::{AnyConnection, Row};

use crate::change::STAGE_REGISTERED;
use crate::validate::{PageToken, Scope};

/// Totals of one county (or of a sum of counties).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) households: i64,
    pub(crate) poverty_alleviated: i64,
    pub(crate) persons: i64,
    pub(crate) exited: i64,
    pub(crate) labour_capable: i64,
    pub(crate) cases: i64,
    /// Cases per stage number, only stages that have cases.
    pub(crate) by_stage: BTreeMap<i64, i64>,
}

impl Tally {
    /// Adds `other` into `self`.
    pub(crate) fn add(&mut self, other: &Tally) {
        self.households += other.households;
        self.poverty_alleviated += other.poverty_alleviated;
        self.persons += other.persons;
        self.exited += other.exited;
        self.labour_capable += other.labour_capable;
        self.cases += other.cases;
        for (stage, n) in &other.by_stage {
            *self.by_stage.entry(*stage).or_default() += n;
        }
    }
}

/// One monitoring case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseRecord {
    pub(crate) case_id: String,
    pub(crate) household_id: String,
    pub(crate) county_code: String,
    pub(crate) case_type: i64,
    pub(crate) stage: i64,
    pub(crate) lead_date: String,
    pub(crate) registered_on: Option<String>,
    pub(crate) days_to_register: i64,
    pub(crate) measures: i64,
}

/// The identification clock as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overdue {
    /// Unregistered cases with a lead date before this one are overdue (`as_of` minus the limit).
    pub(crate) lead_before: NaiveDate,
    /// Registered cases are overdue when registration took more days than this.
    pub(crate) limit_days: i64,
}

/// A page of cases: filters, where the previous page ended, and how many rows to read.
#[derive(Debug, Clone)]
pub(crate) struct CaseQuery {
    pub(crate) scope: Scope,
    pub(crate) stage: Option<i64>,
    pub(crate) overdue: Option<Overdue>,
    pub(crate) after: Option<PageToken>,
    pub(crate) limit: i64,
}

/// Events applied to the read model so far.
pub(crate) async fn events_applied(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT events_applied FROM mara_progress WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Totals per county code, for every county of `scope` that has any row.
pub(crate) async fn tally_by_county(
    conn: &mut AnyConnection,
    scope: &Scope,
) -> Result<BTreeMap<String, Tally>, sqlx::Error> {
    let mut counties: BTreeMap<String, Tally> = BTreeMap::new();

    let mut sql = Sql::new(
        "SELECT county_code, COUNT(*), COUNT(CASE WHEN poverty_alleviated = 1 THEN 1 END) \
         FROM mara_households WHERE 1 = 1",
    );
    sql.scope(scope);
    sql.push(" GROUP BY county_code");
    for row in sql.fetch_all(conn).await? {
        let tally = counties.entry(row.try_get(0)?).or_default();
        tally.households = row.try_get(1)?;
        tally.poverty_alleviated = row.try_get(2)?;
    }

    let capable = [
        LabourCapacity::Skilled,
        LabourCapacity::Ordinary,
        LabourCapacity::Weak,
    ]
    .map(|c| (c as i32).to_string())
    .join(", ");
    let mut sql = Sql::new(&format!(
        "SELECT county_code, COUNT(CASE WHEN exited = 0 THEN 1 END), \
         COUNT(CASE WHEN exited <> 0 THEN 1 END), \
         COUNT(CASE WHEN exited = 0 AND labour_capacity IN ({capable}) THEN 1 END) \
         FROM mara_persons WHERE 1 = 1"
    ));
    sql.scope(scope);
    sql.push(" GROUP BY county_code");
    for row in sql.fetch_all(conn).await? {
        let tally = counties.entry(row.try_get(0)?).or_default();
        tally.persons = row.try_get(1)?;
        tally.exited = row.try_get(2)?;
        tally.labour_capable = row.try_get(3)?;
    }

    let mut sql = Sql::new("SELECT county_code, stage, COUNT(*) FROM mara_cases WHERE 1 = 1");
    sql.scope(scope);
    sql.push(" GROUP BY county_code, stage");
    for row in sql.fetch_all(conn).await? {
        let tally = counties.entry(row.try_get(0)?).or_default();
        let n: i64 = row.try_get(2)?;
        tally.cases += n;
        tally.by_stage.insert(row.try_get(1)?, n);
    }
    Ok(counties)
}

/// One page of cases in `(lead_date, case_id)` order.
pub(crate) async fn cases(
    conn: &mut AnyConnection,
    query: &CaseQuery,
) -> Result<Vec<CaseRecord>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT case_id, household_id, county_code, case_type, stage, lead_date, registered_on, \
         days_to_register, measures FROM mara_cases WHERE 1 = 1",
    );
    sql.scope(&query.scope);
    if let Some(stage) = query.stage {
        sql.push(" AND stage = ");
        sql.bind(Bind::Int(stage));
    }
    if let Some(overdue) = query.overdue {
        sql.push(" AND ((stage < ");
        sql.bind(Bind::Int(STAGE_REGISTERED));
        sql.push(" AND lead_date < ");
        sql.bind(Bind::Text(overdue.lead_before.to_string()));
        // A late registration was already overdue on any day more than the limit after its lead
        // (unregistered then, or registered late by then); before that it was not yet.
        sql.push(") OR (days_to_register > ");
        sql.bind(Bind::Int(overdue.limit_days));
        sql.push(" AND lead_date < ");
        sql.bind(Bind::Text(overdue.lead_before.to_string()));
        sql.push("))");
    }
    if let Some(after) = &query.after {
        let date = after.lead_date.clone();
        sql.push(" AND (lead_date > ");
        sql.bind(Bind::Text(date.clone()));
        sql.push(" OR (lead_date = ");
        sql.bind(Bind::Text(date));
        sql.push(" AND case_id > ");
        sql.bind(Bind::Text(after.case_id.clone()));
        sql.push("))");
    }
    sql.push(" ORDER BY lead_date, case_id LIMIT ");
    sql.bind(Bind::Int(query.limit));
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(CaseRecord {
                case_id: r.try_get(0)?,
                household_id: r.try_get(1)?,
                county_code: r.try_get(2)?,
                case_type: r.try_get(3)?,
                stage: r.try_get(4)?,
                lead_date: r.try_get(5)?,
                registered_on: r.try_get(6)?,
                days_to_register: r.try_get(7)?,
                measures: r.try_get(8)?,
            })
        })
        .collect()
}

/// A value bound to a placeholder.
enum Bind {
    Int(i64),
    Text(String),
}

/// A statement assembled from constant fragments and `$n` placeholders, so no input is ever
/// spliced into SQL text.
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            binds: Vec::new(),
        }
    }

    fn push(&mut self, fragment: &str) {
        self.text.push_str(fragment);
    }

    fn bind(&mut self, value: Bind) {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
    }

    fn scope(&mut self, scope: &Scope) {
        match scope {
            Scope::Country => {}
            Scope::Province(code) => {
                self.push(" AND province_code = ");
                self.bind(Bind::Text(code.clone()));
            }
            Scope::County(code) => {
                self.push(" AND county_code = ");
                self.bind(Bind::Text(code.clone()));
            }
        }
    }

    async fn fetch_all(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
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
