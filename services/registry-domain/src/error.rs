//! Why a command was refused.
//!
//! Each variant maps to one gRPC status in the service: `Invalid` → INVALID_ARGUMENT with a field
//! violation, `Rule` → FAILED_PRECONDITION, `AlreadyExists` → ALREADY_EXISTS (with the existing
//! id as resource info), `NotFound` → NOT_FOUND. Concurrency conflicts are not decided here: they
//! surface when the event store checks [`crate::state::Decision::expected_version`].

pub use decision::DomainError;

impl From<crate::citizen_id::CitizenIdError> for DomainError {
    /// A citizen ID that fails to parse is malformed input in the `citizen_id` request field.
    fn from(err: crate::citizen_id::CitizenIdError) -> Self {
        DomainError::Invalid {
            field: "citizen_id",
            reason: err.to_string(),
        }
    }
}
