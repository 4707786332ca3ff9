//! The projection: applies one decoded [`Change`] inside the projector's transaction.

use eventstore::{Backend, RecordedEvent};
use futures::future::BoxFuture;
use projector::{Applied, Projection, ProjectionError, RunError};
use sqlx::AnyConnection;

use crate::change::{self, Change, Registration, Update, STAGE_REGISTERED};
use crate::upsert::Upserts;

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
        Box::pin(projector::apply_one(self, conn, event))
    }

    /// Registrations (households, persons, case openings) are written set-based
    /// ([`Upserts`]); the pending ones are written before any change that looks rows up.
    fn apply_run<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        events: &'a [&'a RecordedEvent],
    ) -> BoxFuture<'a, Result<Vec<Applied>, RunError>> {
        Box::pin(async move {
            let mut upserts = Upserts::default();
            let mut outcomes = Vec::with_capacity(events.len());
            let mut poisoned = None;
            for event in events {
                let change = match change::decode(&event.event_type, &event.payload) {
                    Ok(Some(change)) => change,
                    Ok(None) => {
                        outcomes.push(Applied::UnknownType);
                        continue;
                    }
                    Err(reason) => {
                        poisoned = Some(reason);
                        break;
                    }
                };
                match change {
                    Change::Row(row) => upserts.push(conn, row).await.map_err(RunError::Store)?,
                    Change::Update(update) => {
                        upserts.flush(conn).await.map_err(RunError::Store)?;
                        match write(conn, update).await {
                            Ok(()) => {}
                            Err(ProjectionError::Poison(reason)) => {
                                poisoned = Some(reason);
                                break;
                            }
                            Err(ProjectionError::Store(e)) => return Err(RunError::Store(e)),
                        }
                    }
                }
                outcomes.push(Applied::Applied);
            }
            upserts.flush(conn).await.map_err(RunError::Store)?;
            let applied = outcomes.iter().filter(|o| **o == Applied::Applied).count();
            sqlx::query(
                "UPDATE mara_progress SET events_applied = events_applied + $1 WHERE id = 1",
            )
            .bind(applied as i64)
            .execute(&mut *conn)
            .await
            .map_err(RunError::Store)?;
            match poisoned {
                Some(reason) => Err(RunError::Poisoned {
                    applied: outcomes,
                    reason,
                }),
                None => Ok(outcomes),
            }
        })
    }
}

/// Writes one change that updates existing rows (upserts go through [`Upserts`]). Rows a change
/// refers to are looked up first: a missing one makes the event
/// poison, and nothing has been written by then.
async fn write(conn: &mut AnyConnection, update: Update) -> Result<(), ProjectionError> {
    match update {
        Update::LabourCapacity { person_id, to } => {
            must_exist(conn, "mara_persons", "person_id", "person", &person_id).await?;
            sqlx::query("UPDATE mara_persons SET labour_capacity = $1 WHERE person_id = $2")
                .bind(to)
                .bind(person_id)
                .execute(&mut *conn)
                .await?;
        }
        Update::Exit { person_id } => {
            must_exist(conn, "mara_persons", "person_id", "person", &person_id).await?;
            sqlx::query("UPDATE mara_persons SET exited = 1 WHERE person_id = $1")
                .bind(person_id)
                .execute(&mut *conn)
                .await?;
        }
        Update::CaseAdvanced {
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
        Update::Measure { case_id } => {
            must_exist(conn, "mara_cases", "case_id", "monitoring case", &case_id).await?;
            sqlx::query("UPDATE mara_cases SET measures = measures + 1 WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *conn)
                .await?;
        }
        Update::CaseStage { case_id, stage } => {
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
