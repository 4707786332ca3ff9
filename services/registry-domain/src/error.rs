//! Why a command was refused.
//!
//! Each variant maps to one gRPC status in the service: `Invalid` → INVALID_ARGUMENT with a field
//! violation, `Rule` → FAILED_PRECONDITION, `AlreadyExists` → ALREADY_EXISTS (with the existing
//! id as resource info), `NotFound` → NOT_FOUND. Concurrency conflicts are not decided here: they
//! surface when the event store checks [`crate::state::Decision::expected_version`].

/// A refused command. Messages never contain a citizen ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Malformed input; `field` is the protobuf request field name (e.g. `village_code`).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Request field at fault, named as in the protobuf request.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A business rule refused the command; `rule` is a short stable code such as
    /// `stage_order`, `public_notice_days`, `min_monitoring_months`,
    /// `assistance_required`, `income_stable_months`, `nobody_can_work`, `person_exited`,
    /// or `case_open`.
    #[error("rule {rule}: {message}")]
    Rule {
        /// Stable rule code.
        rule: &'static str,
        /// Human-readable explanation with the figures involved.
        message: String,
    },
    /// The thing to create already exists.
    #[error("{what} already exists: {existing_id}")]
    AlreadyExists {
        /// Kind of thing: `household`, `person` or `case`.
        what: &'static str,
        /// Id of the existing one.
        existing_id: String,
    },
    /// A referenced thing does not exist.
    #[error("{what} not found: {id}")]
    NotFound {
        /// Kind of thing: `household`, `person` or `case`.
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },
}

impl DomainError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn rule(rule: &'static str, message: impl Into<String>) -> Self {
        DomainError::Rule {
            rule,
            message: message.into(),
        }
    }
}

impl From<crate::citizen_id::CitizenIdError> for DomainError {
    /// A citizen ID that fails to parse is malformed input in the `citizen_id` request field.
    fn from(err: crate::citizen_id::CitizenIdError) -> Self {
        DomainError::Invalid {
            field: "citizen_id",
            reason: err.to_string(),
        }
    }
}
