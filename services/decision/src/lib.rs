//! What every bounded context's pure `decide` shares: [`Decision`], what an accepted command
//! appends, [`DomainError`], the one way a command is refused, and the date checks on China civil
//! dates that every context makes.
//!
//! Each variant maps to one gRPC status at a service's edge: `Invalid` → INVALID_ARGUMENT with a
//! field violation, `Rule` → FAILED_PRECONDITION naming the rule, `AlreadyExists` →
//! ALREADY_EXISTS with the existing id as resource info, `NotFound` → NOT_FOUND. Concurrency
//! conflicts are not decided here: they surface when the event store checks a decision's expected
//! version. Messages never contain a citizen ID number.

use chrono::NaiveDate;

mod versions;

pub use versions::StreamVersions;

/// The outcome of an accepted command: events of type `E` to append to one stream, guarded by the
/// version the stream had when the decision was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<E> {
    /// The stream to append to.
    pub stream_id: String,
    /// The stream's current version (0 for a new stream); the append must fail if it moved.
    pub expected_version: u64,
    /// The events to append, in order; never empty.
    pub events: Vec<E>,
}

/// A refused command.
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
    /// A business rule refused the command; `rule` is a short stable code (each context's
    /// `decide` documents its codes, e.g. `stage_order`, `one_post`).
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
        /// Kind of thing, e.g. `household`, `person`, `post`.
        what: &'static str,
        /// Id of the existing one.
        existing_id: String,
    },
    /// A referenced thing does not exist.
    #[error("{what} not found: {id}")]
    NotFound {
        /// Kind of thing, e.g. `household`, `person`, `post`.
        what: &'static str,
        /// The id that was looked up.
        id: String,
    },
}

impl DomainError {
    /// [`DomainError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// [`DomainError::Rule`].
    pub fn rule(rule: &'static str, message: impl Into<String>) -> Self {
        DomainError::Rule {
            rule,
            message: message.into(),
        }
    }

    /// [`DomainError::NotFound`].
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        DomainError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// [`DomainError::AlreadyExists`].
    pub fn already_exists(what: &'static str, id: impl ToString) -> Self {
        DomainError::AlreadyExists {
            what,
            existing_id: id.to_string(),
        }
    }
}

/// `date` (a civil date in China Standard Time) must not be after `today`.
pub fn not_after_today(
    field: &'static str,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), DomainError> {
    if date > today {
        return Err(DomainError::invalid(
            field,
            format!("{date} is after today ({today})"),
        ));
    }
    Ok(())
}

/// `date` must not be before `earliest`; `what` names `earliest` in the error (e.g. "the birth
/// date", "the previous step").
pub fn not_before(
    what: &str,
    field: &'static str,
    date: NaiveDate,
    earliest: NaiveDate,
) -> Result<(), DomainError> {
    if date < earliest {
        return Err(DomainError::invalid(
            field,
            format!("{date} is before {what} ({earliest})"),
        ));
    }
    Ok(())
}

/// Then-steps of given/when/then tests, shared by every domain crate's suite.
pub mod testing {
    use super::DomainError;

    /// Asserts the command was accepted and returns the decision.
    pub fn then_ok<T>(result: Result<T, DomainError>) -> T {
        result.unwrap_or_else(|e| panic!("expected acceptance, got {e:?}"))
    }

    /// Asserts the command was refused by rule `expected`; returns the explanation.
    pub fn then_rule<T: std::fmt::Debug>(result: Result<T, DomainError>, expected: &str) -> String {
        match result {
            Err(DomainError::Rule { rule, message }) if rule == expected => message,
            other => panic!("expected rule {expected}, got {other:?}"),
        }
    }

    /// Asserts the command was refused as malformed in field `expected`; returns the reason.
    pub fn then_invalid<T: std::fmt::Debug>(
        result: Result<T, DomainError>,
        expected: &str,
    ) -> String {
        match result {
            Err(DomainError::Invalid { field, reason }) if field == expected => reason,
            other => panic!("expected invalid {expected}, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_are_checked_with_the_field_named() {
        assert!(not_after_today("on", d(2024, 1, 1), d(2024, 1, 1)).is_ok());
        assert_eq!(
            not_after_today("on", d(2024, 1, 2), d(2024, 1, 1)),
            Err(DomainError::invalid(
                "on",
                "2024-01-02 is after today (2024-01-01)"
            ))
        );
        assert!(not_before("the birth date", "exit_date", d(2000, 1, 1), d(2000, 1, 1)).is_ok());
        assert_eq!(
            not_before(
                "the birth date",
                "exit_date",
                d(1999, 12, 31),
                d(2000, 1, 1)
            ),
            Err(DomainError::invalid(
                "exit_date",
                "1999-12-31 is before the birth date (2000-01-01)"
            ))
        );
    }
}
