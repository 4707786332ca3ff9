//! Why a command was refused.
//!
//! Each variant maps to one gRPC status in the service: `Invalid` → INVALID_ARGUMENT with a field
//! violation, `Rule` → FAILED_PRECONDITION, `AlreadyExists` → ALREADY_EXISTS, `NotFound` →
//! NOT_FOUND. Concurrency conflicts are not decided here: they surface when the event store checks
//! [`crate::state::Decision::expected_version`].

pub use decision::DomainError;

impl From<crate::uscc::UsccError> for DomainError {
    /// An employer code that fails to parse is malformed input in the `employer_uscc` field.
    fn from(err: crate::uscc::UsccError) -> Self {
        DomainError::Invalid {
            field: "employer_uscc",
            reason: err.to_string(),
        }
    }
}
