//! What every command API needs at its gRPC edge: one mapping from failures to statuses with
//! details, the caller's command metadata, and China's civil date.

use chrono::{FixedOffset, NaiveDate, Utc};
use decision::DomainError;
use eventstore::{AppendError, AppendOutcome, CommandMeta, LeaseError};
use tonic::{Code, Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::run::ExecuteError;

/// Today's civil date in China Standard Time (UTC+8).
pub fn today_in_china() -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&cst).date_naive()
}

/// The command id of a request: a UUID, not the nil one (which every client would share).
pub fn command_id(value: &str) -> Result<uuid::Uuid, DomainError> {
    crate::fields::uuid_field("command_id", value)
}

/// A command request: its id, and its bytes without the id (what the fingerprint covers).
pub trait CommandRequest: prost::Message + Clone + Default {
    /// The client-chosen command id.
    fn command_id(&self) -> &str;
    /// Blanks the command id.
    fn clear_command_id(&mut self);

    /// The request's protobuf bytes without its command id: what the idempotency fingerprint
    /// covers, so a retry with the same id must carry the same payload.
    fn bytes_without_id(&self) -> Vec<u8> {
        let mut without_id = self.clone();
        without_id.clear_command_id();
        without_id.encode_to_vec()
    }
}

macro_rules! command_requests {
    ($($t:ty),* $(,)?) => {$(
        impl CommandRequest for $t {
            fn command_id(&self) -> &str { &self.command_id }
            fn clear_command_id(&mut self) { self.command_id.clear() }
        }
    )*};
}

// Every command request of every context (the trait and the generated types both live outside
// the services, so the implementations live here).
command_requests!(
    proto::registry::v1::RegisterHouseholdRequest,
    proto::registry::v1::RegisterPersonRequest,
    proto::registry::v1::ChangeLabourCapacityRequest,
    proto::registry::v1::RecordExitRequest,
    proto::registry::v1::OpenMonitoringCaseRequest,
    proto::registry::v1::AdvanceMonitoringCaseRequest,
    proto::registry::v1::RecordAssistanceMeasureRequest,
    proto::registry::v1::EliminateRiskRequest,
    proto::registry::v1::ReturnToAssistedRequest,
    proto::employment::v1::StartSpellRequest,
    proto::employment::v1::EndSpellRequest,
    proto::employment::v1::CorrectSpellRequest,
    proto::employment::v1::RecordFollowUpRequest,
    proto::employment::v1::RegisterWorkshopRequest,
    proto::employment::v1::ClassifyWorkshopRequest,
    proto::employment::v1::ReportWorkshopWorkersRequest,
    proto::employment::v1::CreatePostRequest,
    proto::employment::v1::AssignPostRequest,
    proto::employment::v1::EndPostAssignmentRequest,
    proto::employment::v1::RecordPostSubsidyPaidRequest,
    proto::employment::v1::EnrolTrainingRequest,
    proto::employment::v1::CompleteTrainingRequest,
    proto::employment::v1::EnrolRainAndDewRequest,
);

/// Metadata of a command: its id doubles as correlation id; `fingerprint` covers the request
/// without its id; the trace context is the caller's, or a new one.
pub fn command_meta<T>(
    request: &Request<T>,
    command_id: uuid::Uuid,
    fingerprint: Vec<u8>,
) -> CommandMeta {
    CommandMeta {
        command_id: command_id.to_string(),
        fingerprint,
        correlation_id: command_id.to_string(),
        causation_id: String::new(),
        actor: String::new(),
        traceparent: traceparent(request),
    }
}

/// The W3C trace context of the request, or a new one when absent or malformed.
pub fn traceparent<T>(request: &Request<T>) -> String {
    let valid = |s: &str| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 4
            && parts[0].len() == 2
            && parts[1].len() == 32
            && parts[2].len() == 16
            && parts[3].len() == 2
            && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    };
    match request
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        Some(tp) if valid(tp) => tp.to_string(),
        _ => {
            let trace = uuid::Uuid::new_v4().simple().to_string();
            let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
            format!("00-{trace}-{span}-01")
        }
    }
}

/// The last event of an accepted command: (stream id, stream version, global position).
///
/// # Panics
/// Never for outcomes of [`crate::CommandWriter::execute`]: a decision has at least one event.
pub fn last_event(outcome: &AppendOutcome) -> (&str, i64, i64) {
    let last = outcome
        .events
        .last()
        .expect("a command writes at least one event");
    (&last.stream_id, last.stream_version as i64, last.position)
}

/// INVALID_ARGUMENT (BadRequest field violation), FAILED_PRECONDITION (PreconditionFailure naming
/// the rule), ALREADY_EXISTS (ResourceInfo with the existing id), NOT_FOUND (ResourceInfo),
/// ABORTED for a concurrent change, UNAVAILABLE for storage failures. Never UNKNOWN.
pub fn to_status(error: ExecuteError) -> Status {
    match error {
        ExecuteError::Domain(e) => domain_status(e),
        ExecuteError::Append(AppendError::WrongExpectedVersion { stream_id, .. }) => {
            Status::aborted(format!(
                "{stream_id} was changed concurrently; retry the command"
            ))
        }
        ExecuteError::Append(AppendError::CommandIdReused { command_id }) => {
            Status::with_error_details(
                Code::AlreadyExists,
                format!("command_id {command_id} was already used for a different command"),
                ErrorDetails::with_resource_info("command", command_id, "", "reused command id"),
            )
        }
        ExecuteError::Append(AppendError::Invalid(reason)) => {
            Status::internal(format!("append refused: {reason}"))
        }
        ExecuteError::Append(AppendError::Store(e)) => {
            // Logged where it happened, once for all the commands it failed (the writer).
            tracing::debug!(error = %e, "event store failure");
            Status::unavailable("event store unavailable; retry with the same command_id")
        }
        ExecuteError::Append(AppendError::Lease(e)) => match e {
            LeaseError::Retaken => {
                Status::unavailable(format!("{e}; retry with the same command_id"))
            }
            // The holder's details (session, address) and the driver's errors stay in the log.
            LeaseError::Held { .. } | LeaseError::Store(_) => {
                tracing::debug!(error = %e, "writer lease");
                Status::unavailable("event store unavailable; retry with the same command_id")
            }
        },
        ExecuteError::Unavailable(reason) => {
            Status::unavailable(format!("{reason}; retry with the same command_id"))
        }
    }
}

/// The status of a refused command.
pub fn domain_status(e: DomainError) -> Status {
    let message = e.to_string();
    match e {
        DomainError::Invalid { field, reason } => Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(field, reason),
        ),
        DomainError::Rule { rule, message: why } => Status::with_error_details(
            Code::FailedPrecondition,
            message,
            ErrorDetails::with_precondition_failure_violation("RULE", rule, why),
        ),
        DomainError::AlreadyExists { what, existing_id } => Status::with_error_details(
            Code::AlreadyExists,
            message,
            ErrorDetails::with_resource_info(what, existing_id, "", "already registered"),
        ),
        DomainError::NotFound { what, id } => Status::with_error_details(
            Code::NotFound,
            message,
            ErrorDetails::with_resource_info(what, id, "", "not found"),
        ),
    }
}
