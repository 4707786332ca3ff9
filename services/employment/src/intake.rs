//! The registry intake: registry events (from the bus, or the registry's store in embedded mode)
//! become [`RegistryFact`]s recorded in the employment store, so the employment context keeps its
//! own reference view of persons and households and never reads the registry's database.
//!
//! It runs as a [`Projection`] (name `employment-intake`) so it gets the projector runtime's
//! checkpoints, dedupe watermarks and dead-lettering; its "read model" is the employment event
//! store itself.
//! The commands of a batch are pipelined to the employment writer (so they share its group
//! commits) and awaited in [`Projection::before_commit`]: the checkpoint moves only once every
//! fact of the batch is recorded.
//! Each registry event becomes one command whose id is derived from the registry event id
//! (UUID v5), so an event delivered again after a crash between the append and the checkpoint
//! (the intake's checkpoint and watermark live in its own database, not in the employment
//! store) replays the first outcome and the exit reaction happens exactly once.

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use employment_domain::{EmploymentCommand, HouseholdId, PersonId, RegistryFact};
use eventstore::{AppendError, Backend, CommandMeta, RecordedEvent};
use futures::future::BoxFuture;
use projector::{Applied, Projection, ProjectionError};
use prost::Message;
use proto::registry::v1 as pb;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use uuid::Uuid;
use writer::fields::date_of;
use writer::{ExecuteError, Submitted};

use crate::handler::Employment;

/// Namespace of the command ids derived from registry event ids.
const INTAKE_NAMESPACE: Uuid = Uuid::from_u128(0x2b7e_41d0_5c8a_4f19_a3e6_07d2_9f4b_61c8);

/// Feeds registry facts into an [`Employment`] command side.
pub struct RegistryIntake {
    employment: Arc<Employment>,
    /// Commands of the current batch, queued and not yet awaited.
    pending: Mutex<Vec<(Uuid, Submitted)>>,
}

impl RegistryIntake {
    /// An intake recording into `employment`.
    pub fn new(employment: Arc<Employment>) -> RegistryIntake {
        RegistryIntake {
            employment,
            pending: Mutex::new(Vec::new()),
        }
    }
}

/// The fact a registry event carries for this context, `Ok(None)` for events it does not need
/// (monitoring-case steps before registration, assistance measures), `Err` when the payload does
/// not decode.
pub fn fact_of(event_type: &str, payload: &[u8]) -> Result<Option<RegistryFact>, String> {
    let short = event_type
        .strip_prefix("bottomline.registry.v1.")
        .unwrap_or("");
    let id = |s: &str| Uuid::parse_str(s).map_err(|e| format!("id {s:?}: {e}"));
    let date = |d: &Option<proto::common::v1::CivilDate>, field: &str| {
        d.as_ref()
            .and_then(date_of)
            .ok_or_else(|| format!("{field} is not a valid date"))
    };
    let capable = |capacity: i32| {
        matches!(
            pb::LabourCapacity::try_from(capacity),
            Ok(pb::LabourCapacity::Skilled
                | pb::LabourCapacity::Ordinary
                | pb::LabourCapacity::Weak)
        )
    };
    macro_rules! msg {
        ($t:ty) => {
            <$t>::decode(payload).map_err(|e| format!("{event_type}: {e}"))?
        };
    }
    let fact = match short {
        "HouseholdRegistered" => {
            let m = msg!(pb::HouseholdRegistered);
            RegistryFact::HouseholdKnown {
                household: HouseholdId(id(&m.household_id)?),
                county_code: m.county_code,
                poverty_alleviated: m.poverty_alleviated,
            }
        }
        "PersonRegistered" => {
            let m = msg!(pb::PersonRegistered);
            RegistryFact::PersonKnown {
                person: PersonId(id(&m.person_id)?),
                household: HouseholdId(id(&m.household_id)?),
                birth_date: date(&m.birth_date, "birth_date")?,
                county_code: m.county_code,
                labour_capable: capable(m.labour_capacity),
            }
        }
        "LabourCapacityChanged" => {
            let m = msg!(pb::LabourCapacityChanged);
            RegistryFact::LabourCapacityChanged {
                person: PersonId(id(&m.person_id)?),
                household: HouseholdId(id(&m.household_id)?),
                labour_capable: capable(m.to),
            }
        }
        "PersonExited" => {
            let m = msg!(pb::PersonExited);
            RegistryFact::PersonExited {
                person: PersonId(id(&m.person_id)?),
                household: HouseholdId(id(&m.household_id)?),
                date: date(&m.exit_date, "exit_date")?,
            }
        }
        "MonitoringCaseAdvanced" => {
            let m = msg!(pb::MonitoringCaseAdvanced);
            if m.to != pb::CaseStage::Registered as i32 {
                return Ok(None);
            }
            RegistryFact::HouseholdMonitored {
                household: HouseholdId(id(&m.household_id)?),
                from: date(&m.on, "on")?,
            }
        }
        "RiskEliminated" => {
            let m = msg!(pb::RiskEliminated);
            RegistryFact::HouseholdRiskEliminated {
                household: HouseholdId(id(&m.household_id)?),
                on: date(&m.on, "on")?,
            }
        }
        "RiskReturned" => {
            let m = msg!(pb::RiskReturned);
            RegistryFact::HouseholdRiskReturned {
                household: HouseholdId(id(&m.household_id)?),
                on: date(&m.on, "on")?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(fact))
}

/// The command recording the fact of registry event `event`: id derived from the event id, the
/// registry command as causation, its correlation id kept.
fn command_meta(event: &RecordedEvent) -> CommandMeta {
    let mut fingerprint = Sha256::new();
    fingerprint.update(event.event_type.as_bytes());
    fingerprint.update([0]);
    fingerprint.update(&event.payload);
    CommandMeta {
        command_id: Uuid::new_v5(&INTAKE_NAMESPACE, event.event_id.as_bytes()).to_string(),
        fingerprint: fingerprint.finalize().to_vec(),
        correlation_id: event.correlation_id.clone(),
        causation_id: event.event_id.to_string(),
        actor: "employment-intake".into(),
        traceparent: event.traceparent.clone(),
    }
}

impl Projection for RegistryIntake {
    fn name(&self) -> &str {
        "employment-intake"
    }

    fn schema(&self, _backend: Backend) -> Vec<String> {
        Vec::new()
    }

    fn apply<'a>(
        &'a self,
        _conn: &'a mut AnyConnection,
        event: &'a RecordedEvent,
    ) -> BoxFuture<'a, Result<Applied, ProjectionError>> {
        Box::pin(async move {
            let fact = match fact_of(&event.event_type, &event.payload) {
                Ok(Some(fact)) => fact,
                Ok(None) if event.event_type.starts_with("bottomline.registry.v1.") => {
                    return Ok(Applied::Applied)
                }
                Ok(None) => return Ok(Applied::UnknownType),
                Err(reason) => return Err(ProjectionError::Poison(reason)),
            };
            let command = EmploymentCommand::RecordRegistryFact {
                fact,
                source_event_id: event.event_id.to_string(),
            };
            // Facts do not depend on today; the date only bounds user-entered dates.
            let today = NaiveDate::MAX;
            let submitted = self
                .employment
                .submit(command, command_meta(event), today)
                .await
                .map_err(retry)?;
            self.pending
                .lock()
                .expect("pending facts")
                .push((event.event_id, submitted));
            Ok(Applied::Applied)
        })
    }

    fn before_commit(&self) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let pending = std::mem::take(&mut *self.pending.lock().expect("pending facts"));
            for (event_id, submitted) in pending {
                match submitted.outcome().await {
                    Ok(_) => {}
                    // A fact is always recordable and its command id is its event's: neither can
                    // happen short of a damaged store, and retrying would stall the intake.
                    Err(
                        e @ (ExecuteError::Domain(_)
                        | ExecuteError::Append(AppendError::CommandIdReused { .. })),
                    ) => {
                        tracing::error!(%event_id, error = %e, "registry fact not recorded");
                    }
                    // Concurrency conflicts and store failures: the batch is retried.
                    Err(e) => return Err(retry(e)),
                }
            }
            Ok(())
        })
    }
}

/// A failure worth retrying the batch for.
fn retry(e: ExecuteError) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}
