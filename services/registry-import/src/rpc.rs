//! Calling the registry: deterministic command ids, retries of transient failures, and turning a
//! refusal into the one-line reason written to the reject file.

use std::future::Future;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

/// UUID v5 namespace of every command id this crate derives. Frozen: changing it would make a
/// re-run of an earlier import register everything again instead of replaying it.
const COMMAND_NAMESPACE: Uuid = Uuid::from_u128(0x3b8e_51d2_7c4a_4f96_a1e0_92d4_6c1b_0f57);

/// A command id: UUID v5 of the NUL-joined `parts` in [`COMMAND_NAMESPACE`]. NUL cannot occur in
/// the parts' text, so distinct part lists never collide by concatenation.
pub(crate) fn command_id(parts: &[&str]) -> String {
    Uuid::new_v5(&COMMAND_NAMESPACE, parts.join("\0").as_bytes()).to_string()
}

/// Attempts after the first for a transient failure.
pub(crate) const RETRIES: u32 = 5;
/// Backoff before the first retry; doubled for each further one.
#[cfg(not(test))]
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(200);
#[cfg(test)]
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(1);
/// Client-side limit of one call, so a stuck connection becomes a retriable failure.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The endpoint answered UNIMPLEMENTED to a registry call: it runs other services (a process of
/// `up --services`), and no retry or re-run of the import can help.
#[derive(Debug)]
pub(crate) struct NotARegistry;

impl std::fmt::Display for NotARegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the endpoint does not run the registry service (a process started with \
             `up --services` serves only its own): point --endpoint at the registry's process",
        )
    }
}

impl std::error::Error for NotARegistry {}

/// How a call ended when it did not succeed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The registry refused the command; the reject reason.
    Refused(String),
    /// Infrastructure failure that outlived the retries, or a status that no retry can fix.
    Failed(Status),
}

impl CallError {
    /// For callers that treat a refusal as fatal too (the demo).
    pub(crate) fn into_anyhow(self, what: &str) -> anyhow::Error {
        match self {
            CallError::Refused(reason) => anyhow::anyhow!("{what} refused: {reason}"),
            CallError::Failed(status) if status.code() == Code::Unimplemented => {
                anyhow::Error::new(NotARegistry)
            }
            CallError::Failed(status) => {
                anyhow::anyhow!("{what} failed: {:?}: {}", status.code(), status.message())
            }
        }
    }
}

/// Whether a retry with the same command id can succeed. Safe to retry because command ids are
/// deterministic: the registry answers a repeated command with its first outcome. UNKNOWN is
/// included because the registry never answers with it: tonic reports a connection torn down
/// mid-call (a server killed or restarted) that way. So is CANCELLED: this client cancels
/// nothing, and the server answers it ("Timeout expired") when its own 30 s call timeout ran
/// out, for example after the process was paused.
pub(crate) fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::ResourceExhausted
            | Code::Unknown
    )
}

/// Whether the registry said no to this command (as opposed to failing).
pub(crate) fn is_refusal(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::AlreadyExists
            | Code::NotFound
            | Code::OutOfRange
    )
}

/// Runs `call` until it succeeds, is refused, or fails for good.
pub(crate) async fn with_retries<T, F, Fut>(call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    with_retries_patient(Duration::ZERO, call).await
}

/// Pause between two attempts of a command refused with NOT_FOUND in [`with_retries_patient`].
const NOT_FOUND_PAUSE: Duration = Duration::from_millis(500);

/// [`with_retries`], also retrying NOT_FOUND for up to `patience`: for commands about a person
/// that a service learns from the registry's events asynchronously (its reference view may lag
/// right after an import).
pub(crate) async fn with_retries_patient<T, F, Fut>(
    patience: Duration,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let started = std::time::Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        let status = match tokio::time::timeout(CALL_TIMEOUT, call()).await {
            Ok(Ok(response)) => return Ok(response.into_inner()),
            Ok(Err(status)) => status,
            Err(_) => Status::deadline_exceeded("no answer within the client call timeout"),
        };
        if status.code() == Code::NotFound && started.elapsed() < patience {
            tracing::debug!(message = status.message(), "not found yet, retrying");
            tokio::time::sleep(NOT_FOUND_PAUSE).await;
            continue;
        }
        if is_refusal(status.code()) {
            return Err(CallError::Refused(reason(&status)));
        }
        if !is_transient(status.code()) || attempt == RETRIES {
            return Err(CallError::Failed(status));
        }
        attempt += 1;
        tracing::warn!(code = ?status.code(), attempt, "registry call failed, retrying");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

/// The reject reason of a refusal: the field violations when there are any (`field: why`),
/// else the status message; for a duplicate, the existing resource named in `ResourceInfo`.
pub(crate) fn reason(status: &Status) -> String {
    let details = status.get_error_details();
    let violations: Vec<String> = details
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect()
        })
        .unwrap_or_default();
    let mut reason = if violations.is_empty() {
        status.message().to_owned()
    } else {
        violations.join("; ")
    };
    if let Some(info) = details.resource_info() {
        if info.resource_type == "command" {
            // The row's command id is derived from its household and citizen ID: the same person
            // was imported before with other values, and the registry keeps the first version.
            return "this person was imported before with different values; the registry keeps \
                    the first version (change it through the registry's commands, not by \
                    re-importing)"
                .to_owned();
        }
        if !reason.contains(&info.resource_name) {
            reason = format!(
                "{reason} (existing {} {})",
                info.resource_type, info.resource_name
            );
        }
    }
    if reason.trim().is_empty() {
        reason = format!("refused by the registry with {:?}", status.code());
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[tokio::test]
    async fn the_servers_own_timeout_is_retried() {
        // tonic's server answers CANCELLED "Timeout expired" when its call timeout ran out.
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let answer = with_retries(|| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(Status::cancelled("Timeout expired"))
                } else {
                    Ok(tonic::Response::new(n))
                }
            }
        })
        .await;
        assert!(matches!(answer, Ok(1)), "{answer:?}");
    }

    #[test]
    fn command_ids_are_stable_and_distinct() {
        let a = command_id(&["household", "f.csv", "h1"]);
        assert_eq!(a, command_id(&["household", "f.csv", "h1"]));
        assert_ne!(a, command_id(&["household", "f.csv", "h2"]));
        assert_ne!(a, command_id(&["household", "f.csvh", "1"]));
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 5);
    }

    #[test]
    fn reasons_prefer_details() {
        let bad = Status::with_error_details(
            Code::InvalidArgument,
            "invalid request",
            ErrorDetails::with_bad_request_violation(
                "citizen_id",
                "citizen ID check character should be '5', found '3'",
            ),
        );
        assert_eq!(
            reason(&bad),
            "citizen_id: citizen ID check character should be '5', found '3'"
        );
        let dup = Status::with_error_details(
            Code::AlreadyExists,
            "citizen ID already registered",
            ErrorDetails::with_resource_info("person", "p-1", "", ""),
        );
        assert_eq!(
            reason(&dup),
            "citizen ID already registered (existing person p-1)"
        );
        assert_eq!(reason(&Status::failed_precondition("rule x")), "rule x");
        let reused = Status::with_error_details(
            Code::AlreadyExists,
            "command_id c was already used for a different command",
            ErrorDetails::with_resource_info("command", "c", "", "reused command id"),
        );
        assert!(
            reason(&reused).starts_with("this person was imported before with different values")
        );
    }
}
