//! The one mapping from every failure of the registry to a gRPC status with details.

use registry_domain::DomainError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::handler::ExecuteError;

/// INVALID_ARGUMENT (BadRequest field violation), FAILED_PRECONDITION (PreconditionFailure naming
/// the rule), ALREADY_EXISTS (ResourceInfo with the existing id), NOT_FOUND (ResourceInfo),
/// ABORTED for a concurrent change, UNAVAILABLE for storage failures. Never UNKNOWN.
pub(crate) fn to_status(error: ExecuteError) -> Status {
    match error {
        ExecuteError::Domain(e) => domain(e),
        ExecuteError::Append(eventstore::AppendError::WrongExpectedVersion {
            stream_id, ..
        }) => Status::aborted(format!(
            "{stream_id} was changed concurrently; retry the command"
        )),
        ExecuteError::Append(eventstore::AppendError::CommandIdReused { command_id }) => {
            Status::with_error_details(
                Code::AlreadyExists,
                format!("command_id {command_id} was already used for a different command"),
                ErrorDetails::with_resource_info("command", command_id, "", "reused command id"),
            )
        }
        ExecuteError::Append(eventstore::AppendError::Invalid(reason)) => {
            Status::internal(format!("append refused: {reason}"))
        }
        ExecuteError::Append(eventstore::AppendError::Store(e)) => {
            tracing::error!(error = %e, "event store failure");
            Status::unavailable("event store unavailable; retry with the same command_id")
        }
    }
}

pub(crate) fn domain(e: DomainError) -> Status {
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
