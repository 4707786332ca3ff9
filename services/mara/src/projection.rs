//! The projection: applies one decoded [`Change`] inside the projector's transaction.

use eventstore::{Backend, RecordedEvent};
use futures::future::BoxFuture;
use projector::{Applied, Projection, ProjectionError};
use sqlx::AnyConnection;

use crate::change::{self, Change, Registration, STAGE_LEAD, STAGE_REGISTERED};

/// MARA's read model of the registry (projection name `mara`): households, persons and monitoring
/// cases by county and province, plus the number of events applied.
///
/// Feed it to a [`projector::Projector`]; query it with [`crate::MaraQuery`].
#[derive(Debug, Clone, Default)]
pub struct MaraProjection {
    _private: (),
}

impl MaraProjection {
    /// The projection. It needs no configuration: reference lists are applied at query time.
    pub fn new() -> MaraProjection {
        MaraProjection::default()
    }
}

impl Projection for MaraProjection {
    fn name(&self) -> &str {
        "mara"
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        crate::schema::ddl(backend)
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<Applied, ProjectionError>> {
        Box::pin(async move {
            let change = match change::decode(&event.event_type, &event.payload) {
                Ok(Some(change)) => change,
                Ok(None) => return Ok(Applied::UnknownType),
                Err(reason) => return Err(ProjectionError::Poison(reason)),
            };
            write(conn, change).await?;
            sqlx::query(
                "UPDATE mara_progress SET events_applied = events_applied + 1 WHERE id = 1",
            )
            .execute(&mut *conn)
            .await?;
            Ok(Applied::Applied)
        })
    }
}

/// Writes one change. Rows a change refers to are looked up first: a missing one makes the event
/// poison, and nothing has been written by then.
async fn write(conn: &mut AnyConnection, change: Change) -> Result<(), ProjectionError> {
    match change {
        Change::Household {
            household_id,
            village_code,
            county_code,
            province_code,
            poverty_alleviated,
            relocated,
            settlement_area,
        } => {
            sqlx::query(
                "INSERT INTO mara_households (household_id, village_code, county_code, province_code, \
                 poverty_alleviated, relocated, settlement_area) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (household_id) DO UPDATE SET village_code = excluded.village_code, \
                 county_code = excluded.county_code, province_code = excluded.province_code, \
                 poverty_alleviated = excluded.poverty_alleviated, relocated = excluded.relocated, \
                 settlement_area = excluded.settlement_area",
            )
            .bind(household_id)
            .bind(village_code)
            .bind(county_code)
            .bind(province_code)
            .bind(i64::from(poverty_alleviated))
            .bind(i64::from(relocated))
            .bind(settlement_area)
            .execute(&mut *conn)
            .await?;
        }
        Change::Person {
            person_id,
            household_id,
            county_code: county,
            province_code: province,
            labour_capacity,
        } => {
            sqlx::query(
                "INSERT INTO mara_persons (person_id, household_id, county_code, province_code, \
                 labour_capacity, exited) VALUES ($1, $2, $3, $4, $5, 0) \
                 ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id, \
                 county_code = excluded.county_code, province_code = excluded.province_code, \
                 labour_capacity = excluded.labour_capacity",
            )
            .bind(person_id)
            .bind(household_id)
            .bind(county)
            .bind(province)
            .bind(labour_capacity)
            .execute(&mut *conn)
            .await?;
        }
        Change::LabourCapacity { person_id, to } => {
            must_exist(conn, "mara_persons", "person_id", "person", &person_id).await?;
            sqlx::query("UPDATE mara_persons SET labour_capacity = $1 WHERE person_id = $2")
                .bind(to)
                .bind(person_id)
                .execute(&mut *conn)
                .await?;
        }
        Change::Exit { person_id } => {
            must_exist(conn, "mara_persons", "person_id", "person", &person_id).await?;
            sqlx::query("UPDATE mara_persons SET exited = 1 WHERE person_id = $1")
                .bind(person_id)
                .execute(&mut *conn)
                .await?;
        }
        Change::CaseOpened {
            case_id,
            household_id,
            county_code,
            province_code,
            case_type,
            lead_date,
        } => {
            // A re-delivered opening must not rewind a case that has moved on: only the facts
            // the opening states are overwritten, never the stage or the counters.
            sqlx::query(
                "INSERT INTO mara_cases (case_id, household_id, county_code, province_code, case_type, \
                 stage, lead_date, registered_on, days_to_register, clock_breached, measures) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, -1, 0, 0) \
                 ON CONFLICT (case_id) DO UPDATE SET household_id = excluded.household_id, \
                 county_code = excluded.county_code, province_code = excluded.province_code, \
                 case_type = excluded.case_type, lead_date = excluded.lead_date",
            )
            .bind(case_id)
            .bind(household_id)
            .bind(county_code)
            .bind(province_code)
            .bind(case_type)
            .bind(STAGE_LEAD)
            .bind(lead_date.to_string())
            .execute(&mut *conn)
            .await?;
        }
        Change::CaseAdvanced {
            case_id,
            to,
            registration,
        } => {
            must_exist(conn, "mara_cases", "case_id", "monitoring case", &case_id).await?;
            match registration {
                Some(Registration {
                    on,
                    days_since_lead,
                    clock_breached,
                }) => {
                    sqlx::query(
                        "UPDATE mara_cases SET stage = $1, registered_on = $2, days_to_register = $3, \
                         clock_breached = $4 WHERE case_id = $5",
                    )
                    .bind(STAGE_REGISTERED)
                    .bind(on.to_string())
                    .bind(days_since_lead)
                    .bind(i64::from(clock_breached))
                    .bind(case_id)
                    .execute(&mut *conn)
                    .await?;
                }
                None => set_stage(conn, &case_id, to).await?,
            }
        }
        Change::Measure { case_id } => {
            must_exist(conn, "mara_cases", "case_id", "monitoring case", &case_id).await?;
            sqlx::query("UPDATE mara_cases SET measures = measures + 1 WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *conn)
                .await?;
        }
        Change::CaseStage { case_id, stage } => {
            must_exist(conn, "mara_cases", "case_id", "monitoring case", &case_id).await?;
            set_stage(conn, &case_id, stage).await?;
        }
    }
    Ok(())
}

async fn set_stage(conn: &mut AnyConnection, case_id: &str, stage: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mara_cases SET stage = $1 WHERE case_id = $2")
        .bind(stage)
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Poison unless `table` has a row whose `key` is `id`. Table and column names are constants of
/// this module, never input.
async fn must_exist(
    conn: &mut AnyConnection,
    table: &str,
    key: &str,
    what: &str,
    id: &str,
) -> Result<(), ProjectionError> {
    let found = sqlx::query(&format!("SELECT 1 FROM {table} WHERE {key} = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(poison(format!("{what} {id} is unknown"))),
    }
}

fn poison(reason: String) -> ProjectionError {
    ProjectionError::Poison(reason)
}
