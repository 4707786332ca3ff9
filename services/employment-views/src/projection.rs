//! The projection: applies decoded [`Change`]s inside the projector's transaction, a run of
//! events at a time (see `upsert`).
//!
//! Every write is an upsert of the columns the event knows, so any order across streams ends in
//! the same rows, and a re-applied event writes the same values again.

use chrono::NaiveDate;
use eventstore::{Backend, RecordedEvent};
use futures::future::BoxFuture;
use projector::{Applied, Projection, ProjectionError, RunError};
use sqlx::AnyConnection;

use crate::change::{self, Change, County, Terms};
use crate::upsert::{Upserts, Value};

/// The employment context's read models (projection name `employment-views`, tables `emp_*`).
///
/// Feed it to a [`projector::Projector`]; query it with [`crate::EmploymentQuery`].
#[derive(Debug, Clone, Default)]
pub struct EmploymentViewsProjection {
    _private: (),
}

impl EmploymentViewsProjection {
    /// The projection. It needs no configuration: policy parameters and division names are
    /// applied at query time.
    pub fn new() -> EmploymentViewsProjection {
        EmploymentViewsProjection::default()
    }
}

impl Projection for EmploymentViewsProjection {
    fn name(&self) -> &str {
        "employment-views"
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

    /// Every change is upserts, written set-based ([`Upserts`]).
    fn apply_run<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        events: &'a [&'a RecordedEvent],
    ) -> BoxFuture<'a, Result<Vec<Applied>, RunError>> {
        Box::pin(async move {
            let mut upserts = Upserts::default();
            let mut outcomes = Vec::with_capacity(events.len());
            for event in events {
                let change = match change::decode(&event.event_type, &event.payload) {
                    Ok(Some(change)) => change,
                    Ok(None) => {
                        outcomes.push(Applied::UnknownType);
                        continue;
                    }
                    Err(reason) => {
                        upserts.flush(conn).await.map_err(RunError::Store)?;
                        return Err(RunError::Poisoned {
                            applied: outcomes,
                            reason,
                        });
                    }
                };
                write(&mut upserts, conn, change, &event.event_id.to_string())
                    .await
                    .map_err(RunError::Store)?;
                outcomes.push(Applied::Applied);
            }
            upserts.flush(conn).await.map_err(RunError::Store)?;
            Ok(outcomes)
        })
    }
}

/// One row of a single-row upsert `$sql` with its binds, keyed by `$key` within its table,
/// added to the run's pending upserts.
macro_rules! upsert {
    ($upserts:expr, $conn:expr, $key:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $upserts
            .push($conn, $sql, $key, vec![$(Value::from($bind)),*])
            .await?
    };
}

fn day(date: NaiveDate) -> String {
    date.to_string()
}

/// Writes one change (as pending upserts). `event_id` keys rows that are one per event
/// (payments).
async fn write(
    upserts: &mut Upserts,
    conn: &mut AnyConnection,
    change: Change,
    event_id: &str,
) -> Result<(), sqlx::Error> {
    match change {
        Change::SpellStarted {
            spell_id,
            person_id,
            household_id,
            county:
                County {
                    county_code,
                    province_code,
                },
            terms,
        } => {
            // The end, if already known, is kept; the terms of a correction seen first are not
            // (within a stream a correction always follows its start).
            upsert!(
                upserts,
                conn,
                spell_id.clone(),
                "INSERT INTO emp_spells (spell_id, person_id, household_id, county_code, \
                 province_code, location_class, channel, start_date, end_date, end_reason, started) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, 1) \
                 ON CONFLICT (spell_id) DO UPDATE SET person_id = excluded.person_id, \
                 household_id = excluded.household_id, county_code = excluded.county_code, \
                 province_code = excluded.province_code, location_class = excluded.location_class, \
                 channel = excluded.channel, start_date = excluded.start_date, started = 1",
                spell_id,
                person_id,
                household_id,
                county_code,
                province_code,
                terms.location_class,
                terms.channel,
                day(terms.start_date),
            );
        }
        Change::SpellEnded {
            spell_id,
            person_id,
            household_id,
            end_date,
            reason,
        } => {
            upsert!(
                upserts,
                conn,
                spell_id.clone(),
                "INSERT INTO emp_spells (spell_id, person_id, household_id, county_code, \
                 province_code, location_class, channel, start_date, end_date, end_reason, started) \
                 VALUES ($1, $2, $3, '', '', 0, 0, '', $4, $5, 0) \
                 ON CONFLICT (spell_id) DO UPDATE SET end_date = excluded.end_date, \
                 end_reason = excluded.end_reason",
                spell_id,
                person_id,
                household_id,
                day(end_date),
                reason,
            );
        }
        Change::SpellCorrected {
            spell_id,
            person_id,
            terms:
                Terms {
                    location_class,
                    channel,
                    start_date,
                },
        } => {
            upsert!(
                upserts,
                conn,
                spell_id.clone(),
                "INSERT INTO emp_spells (spell_id, person_id, household_id, county_code, \
                 province_code, location_class, channel, start_date, end_date, end_reason, started) \
                 VALUES ($1, $2, '', '', '', $3, $4, $5, NULL, 0, 0) \
                 ON CONFLICT (spell_id) DO UPDATE SET location_class = excluded.location_class, \
                 channel = excluded.channel, start_date = excluded.start_date",
                spell_id,
                person_id,
                location_class,
                channel,
                day(start_date),
            );
        }
        Change::JobLoss {
            person_id,
            household_id,
            spell_id,
            on,
            monitored,
            without_employment,
        } => {
            upsert!(
                upserts,
                conn,
                format!("{person_id}/{spell_id}"),
                "INSERT INTO emp_job_losses (person_id, spell_id, household_id, on_date, monitored, \
                 without_employment) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (person_id, spell_id) DO UPDATE SET household_id = excluded.household_id, \
                 on_date = excluded.on_date, monitored = excluded.monitored, \
                 without_employment = excluded.without_employment",
                person_id,
                spell_id,
                household_id,
                day(on),
                i64::from(monitored),
                i64::from(without_employment),
            );
        }
        Change::FollowUp { person_id, date } => {
            upsert!(
                upserts,
                conn,
                format!("{person_id}/{date}"),
                "INSERT INTO emp_follow_ups (person_id, follow_date) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                person_id,
                day(date),
            );
        }
        Change::PostCreated {
            post_id,
            county,
            category,
            monthly_subsidy_fen,
            starts_on,
        } => {
            upsert!(
                upserts,
                conn,
                post_id.clone(),
                "INSERT INTO emp_posts (post_id, county_code, province_code, category, \
                 monthly_subsidy_fen, starts_on) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (post_id) DO UPDATE SET county_code = excluded.county_code, \
                 province_code = excluded.province_code, category = excluded.category, \
                 monthly_subsidy_fen = excluded.monthly_subsidy_fen, starts_on = excluded.starts_on",
                post_id,
                county.county_code,
                county.province_code,
                category,
                monthly_subsidy_fen,
                day(starts_on),
            );
        }
        Change::PostAssigned {
            post_id,
            person_id,
            on,
        } => {
            upsert!(
                upserts,
                conn,
                format!("{post_id}/{person_id}"),
                "INSERT INTO emp_post_holders (post_id, person_id, assigned_on, ended_on, active) \
                 VALUES ($1, $2, $3, NULL, 1) ON CONFLICT (post_id, person_id) DO UPDATE SET \
                 assigned_on = excluded.assigned_on, ended_on = NULL, active = 1",
                post_id,
                person_id,
                day(on),
            );
        }
        Change::PostAssignmentEnded {
            post_id,
            person_id,
            on,
        } => {
            upsert!(
                upserts,
                conn,
                format!("{post_id}/{person_id}"),
                "INSERT INTO emp_post_holders (post_id, person_id, assigned_on, ended_on, active) \
                 VALUES ($1, $2, '', $3, 0) ON CONFLICT (post_id, person_id) DO UPDATE SET \
                 ended_on = excluded.ended_on, active = 0",
                post_id,
                person_id,
                day(on),
            );
        }
        Change::PostSubsidyPaid {
            post_id,
            person_id,
            month,
            amount_fen,
        } => {
            upsert!(
                upserts,
                conn,
                event_id.to_string(),
                "INSERT INTO emp_post_payments (event_id, post_id, person_id, month, amount_fen) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                event_id.to_string(),
                post_id,
                person_id,
                day(month),
                amount_fen,
            );
        }
        Change::TrainingEnrolled {
            enrolment_id,
            person_id,
            kind,
            starts_on,
        } => {
            upsert!(
                upserts,
                conn,
                enrolment_id.clone(),
                "INSERT INTO emp_training (enrolment_id, person_id, kind, starts_on, enrolled, \
                 completed, certified) VALUES ($1, $2, $3, $4, 1, 0, 0) \
                 ON CONFLICT (enrolment_id) DO UPDATE SET person_id = excluded.person_id, \
                 kind = excluded.kind, starts_on = excluded.starts_on, enrolled = 1",
                enrolment_id,
                person_id,
                kind,
                day(starts_on),
            );
        }
        Change::TrainingCompleted {
            enrolment_id,
            person_id,
            certified,
        } => {
            upsert!(
                upserts,
                conn,
                enrolment_id.clone(),
                "INSERT INTO emp_training (enrolment_id, person_id, kind, starts_on, enrolled, \
                 completed, certified) VALUES ($1, $2, 0, '', 0, 1, $3) \
                 ON CONFLICT (enrolment_id) DO UPDATE SET completed = 1, \
                 certified = excluded.certified",
                enrolment_id,
                person_id,
                i64::from(certified),
            );
        }
        Change::RainAndDew {
            enrolment_id,
            person_id,
            household_id,
            term_starts_on,
            subsidy_fen,
        } => {
            upsert!(
                upserts,
                conn,
                enrolment_id.clone(),
                "INSERT INTO emp_rain_and_dew (enrolment_id, person_id, household_id, \
                 term_starts_on, subsidy_fen) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (enrolment_id) DO UPDATE SET person_id = excluded.person_id, \
                 household_id = excluded.household_id, term_starts_on = excluded.term_starts_on, \
                 subsidy_fen = excluded.subsidy_fen",
                enrolment_id,
                person_id,
                household_id,
                day(term_starts_on),
                subsidy_fen,
            );
        }
        Change::HouseholdKnown {
            household_id,
            county,
            poverty_alleviated,
        } => {
            upsert!(
                upserts,
                conn,
                household_id.clone(),
                "INSERT INTO emp_households (household_id, county_code, province_code, \
                 poverty_alleviated, monitored, known) VALUES ($1, $2, $3, $4, 0, 1) \
                 ON CONFLICT (household_id) DO UPDATE SET county_code = excluded.county_code, \
                 province_code = excluded.province_code, \
                 poverty_alleviated = excluded.poverty_alleviated, known = 1",
                household_id.clone(),
                county.county_code,
                county.province_code,
                i64::from(poverty_alleviated),
            );
            // Known: placeholders (`household_seen`) leave the row as it is from now on.
            upserts.settle(HOUSEHOLDS, household_id);
        }
        Change::PersonKnown {
            person_id,
            household_id,
            county,
            birth_date,
            labour_capable,
        } => {
            upsert!(
                upserts,
                conn,
                person_id.clone(),
                "INSERT INTO emp_persons (person_id, household_id, county_code, province_code, \
                 birth_date, labour_capable, exited, exit_date, known) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, '', 1) \
                 ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id, \
                 county_code = excluded.county_code, province_code = excluded.province_code, \
                 birth_date = excluded.birth_date, labour_capable = excluded.labour_capable, known = 1",
                person_id,
                household_id.clone(),
                county.county_code.clone(),
                county.province_code.clone(),
                birth_date.map(day).unwrap_or_default(),
                i64::from(labour_capable),
            );
            household_seen(upserts, conn, &household_id, Some(&county)).await?;
        }
        Change::LabourCapacity {
            person_id,
            household_id,
            labour_capable,
        } => {
            upsert!(
                upserts,
                conn,
                person_id.clone(),
                "INSERT INTO emp_persons (person_id, household_id, county_code, province_code, \
                 birth_date, labour_capable, exited, exit_date, known) \
                 VALUES ($1, $2, '', '', '', $3, 0, '', 0) \
                 ON CONFLICT (person_id) DO UPDATE SET labour_capable = excluded.labour_capable",
                person_id,
                household_id.clone(),
                i64::from(labour_capable),
            );
            household_seen(upserts, conn, &household_id, None).await?;
        }
        Change::PersonExited {
            person_id,
            household_id,
            exit_date,
        } => {
            upsert!(
                upserts,
                conn,
                person_id.clone(),
                "INSERT INTO emp_persons (person_id, household_id, county_code, province_code, \
                 birth_date, labour_capable, exited, exit_date, known) \
                 VALUES ($1, $2, '', '', '', 0, 1, $3, 0) \
                 ON CONFLICT (person_id) DO UPDATE SET exited = 1, exit_date = excluded.exit_date",
                person_id,
                household_id.clone(),
                exit_date.map(day).unwrap_or_default(),
            );
            household_seen(upserts, conn, &household_id, None).await?;
        }
        Change::Monitored {
            household_id,
            monitored,
        } => {
            upsert!(
                upserts,
                conn,
                household_id.clone(),
                "INSERT INTO emp_households (household_id, county_code, province_code, \
                 poverty_alleviated, monitored, known) VALUES ($1, '', '', 0, $2, 0) \
                 ON CONFLICT (household_id) DO UPDATE SET monitored = excluded.monitored",
                household_id,
                i64::from(monitored),
            );
        }
    }
    Ok(())
}

/// Makes sure a household row exists once one of its members is known; until the household's
/// own facts arrive it takes the county of the first member that carries one.
async fn household_seen(
    upserts: &mut Upserts,
    conn: &mut AnyConnection,
    household_id: &str,
    county: Option<&County>,
) -> Result<(), sqlx::Error> {
    if upserts.is_settled(HOUSEHOLDS, household_id) {
        return Ok(());
    }
    let (county_code, province_code) = county
        .map(|c| (c.county_code.clone(), c.province_code.clone()))
        .unwrap_or_default();
    upsert!(
        upserts,
        conn,
        household_id.to_string(),
        "INSERT INTO emp_households (household_id, county_code, province_code, poverty_alleviated, \
         monitored, known) VALUES ($1, $2, $3, 0, 0, 0) \
         ON CONFLICT (household_id) DO UPDATE SET \
         county_code = CASE WHEN emp_households.known = 0 AND emp_households.county_code = '' \
             THEN excluded.county_code ELSE emp_households.county_code END, \
         province_code = CASE WHEN emp_households.known = 0 AND emp_households.province_code = '' \
             THEN excluded.province_code ELSE emp_households.province_code END",
        household_id.to_string(),
        county_code,
        province_code,
    );
    // With its county the row is complete for a placeholder: a later one keeps that county.
    if county.is_some() {
        upserts.settle(HOUSEHOLDS, household_id.to_string());
    }
    Ok(())
}

/// The table of households (`emp_households`), as [`Upserts`] names it.
const HOUSEHOLDS: &str = "emp_households";
