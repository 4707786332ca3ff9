//! Why a command was refused.
//!
//! Each variant maps to one gRPC status in the service: `Invalid` → INVALID_ARGUMENT with a field
//! violation, `Rule` → FAILED_PRECONDITION, `AlreadyExists` → ALREADY_EXISTS, `NotFound` →
//! NOT_FOUND. Concurrency conflicts are not decided here: they surface when the event store checks
//! [`crate::state::Decision::expected_version`].

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Malformed input; `field` is the protobuf request field name (e.g. `end_date`).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Request field at fault, named as in the protobuf request.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A business rule refused the command; `rule` is a short stable code such as
    /// `person_exited`, `open_spell_per_employer`, `spell_ended`, `no_subsidy_band`,
    /// `subsidy_band`, `post_eligibility`, `post_age`, `one_post`, `post_occupied`,
    /// `post_term`, `post_not_occupied`, `subsidy_not_assigned`, `subsidy_paid`,
    /// `subsidy_amount`, `same_class`, `training_completed` or `rain_and_dew_eligibility`.
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
        /// Kind of thing: `spell`, `post`, `workshop` or `enrolment`.
        what: &'static str,
        /// Id of the existing one.
        existing_id: String,
    },
    /// A referenced thing does not exist.
    #[error("{what} not found: {id}")]
    NotFound {
        /// Kind of thing: `person`, `spell`, `post`, `workshop` or `enrolment`.
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

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        DomainError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub(crate) fn already_exists(what: &'static str, id: impl ToString) -> Self {
        DomainError::AlreadyExists {
            what,
            existing_id: id.to_string(),
        }
    }
}

impl From<crate::uscc::UsccError> for DomainError {
    /// An employer code that fails to parse is malformed input in the `employer_uscc` field.
    fn from(err: crate::uscc::UsccError) -> Self {
        DomainError::Invalid {
            field: "employer_uscc",
            reason: err.to_string(),
        }
    }
}
