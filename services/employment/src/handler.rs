//! The employment context's command side: its write model behind the shared [`CommandWriter`].

use std::sync::Arc;

use chrono::NaiveDate;
use decision::{Decision, DomainError};
use employment_domain::{EmploymentCommand, EmploymentEvent, EmploymentState, PolicyBook};
use eventstore::{AppendOutcome, CommandMeta, EventStore, NewEvent, RecordedEvent};
use writer::{CommandWriter, ExecuteError, OpenError, Submitted, WriteModel};

use crate::codec;

/// The employment write model as the [`CommandWriter`] drives it.
pub struct EmploymentModel(pub EmploymentState);

impl WriteModel for EmploymentModel {
    type Command = EmploymentCommand;
    type Event = EmploymentEvent;

    fn decide(
        &self,
        command: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision<EmploymentEvent>, DomainError> {
        self.0.decide(command, today)
    }

    fn apply(&mut self, event: &EmploymentEvent) {
        self.0.apply(event);
    }

    fn encode(event: &EmploymentEvent) -> NewEvent {
        let (event_type, payload) = codec::encode(event);
        NewEvent::now(event_type, payload)
    }

    fn decode(event: &RecordedEvent) -> Result<EmploymentEvent, String> {
        codec::decode(&event.event_type, &event.payload).map_err(|e| e.to_string())
    }
}

/// The employment service's command side: one per process, shared by the gRPC API and the
/// registry intake. Commands go through a [`CommandWriter`] over the context's own event store
/// (single writer thread, group commit, idempotent command ids).
pub struct Employment {
    writer: CommandWriter<EmploymentModel>,
}

impl Employment {
    /// Rebuilds the write model (registry facts included) from every event in `store`, deciding
    /// with the parameters of `policy`, and starts the writer thread.
    pub async fn open(store: EventStore, policy: Arc<PolicyBook>) -> Result<Employment, OpenError> {
        let fresh = move || EmploymentModel(EmploymentState::new(policy.clone()));
        let writer = CommandWriter::open(store, fresh, "employment").await?;
        Ok(Employment { writer })
    }

    /// The event store.
    pub fn store(&self) -> &EventStore {
        self.writer.store()
    }

    /// Whether this process may write the employment store ([`CommandWriter::holds_lease`]).
    pub fn holds_lease(&self) -> bool {
        self.writer.holds_lease()
    }

    /// Reads the write model.
    pub async fn read<R>(&self, f: impl FnOnce(&EmploymentState) -> R) -> R {
        self.writer.read(|m| f(&m.0)).await
    }

    /// Carries out `command` as of the civil date `today` (China Standard Time); see
    /// [`CommandWriter::execute`].
    pub async fn execute(
        &self,
        command: EmploymentCommand,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<AppendOutcome, ExecuteError> {
        self.writer.execute(command, meta, today).await
    }

    /// Queues `command` without waiting for its outcome; see [`CommandWriter::submit`].
    pub async fn submit(
        &self,
        command: EmploymentCommand,
        meta: CommandMeta,
        today: NaiveDate,
    ) -> Result<Submitted, ExecuteError> {
        self.writer.submit(command, meta, today).await
    }
}
