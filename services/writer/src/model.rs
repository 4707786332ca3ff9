//! What a bounded context gives the writer.

use chrono::NaiveDate;
use decision::{Decision, DomainError};
use eventstore::{NewEvent, RecordedEvent};

/// A context's in-memory write model: the pure `decide`/`apply` pair and the codec of its events.
///
/// `decide` must be read-only (a refusal leaves the model untouched) and `apply` total (it never
/// panics, whatever the order of events), so the writer can decide a group of commands one after
/// the other on top of each other and, when the group's transaction fails, rebuild the model from
/// the store.
pub trait WriteModel: Send + 'static {
    /// A validated command of the context.
    type Command: Send + Sync + 'static;
    /// An event of the context.
    type Event: Send + Sync + 'static;

    /// What `command` means now: events for one stream with its expected version, or why not.
    /// `today` is the current civil date in China Standard Time (UTC+8).
    fn decide(
        &self,
        command: &Self::Command,
        today: NaiveDate,
    ) -> Result<Decision<Self::Event>, DomainError>;

    /// Folds one event (decided now or read back from the store) into the model.
    fn apply(&mut self, event: &Self::Event);

    /// The event's stored form: type name and protobuf payload.
    fn encode(event: &Self::Event) -> NewEvent;

    /// An event read back from the store; `Err` names what does not decode.
    fn decode(event: &RecordedEvent) -> Result<Self::Event, String>;
}
