//! `BulkRegister`: households and their members from one client stream, pipelined to the writer.
//!
//! Each item is converted exactly as its unary RPC would convert it (same validation, same
//! fingerprint over the equivalent unary request, same derived household id) and queued with
//! [`Registry::submit`] without waiting for its outcome, so the items of a stream fill the
//! writer's groups. A collector task awaits the outcomes in submission order and tallies them; a
//! refusal is turned into the unary RPC's status and flattened into a [`pb::BulkRejection`].

use std::sync::Arc;

use eventstore::CommandMeta;
use proto::registry::v1 as pb;
use registry_domain::RegistryCommand;
use tokio::sync::mpsc;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::StatusExt;
use writer::grpc::{self, domain_status, to_status, CommandRequest};
use writer::Submitted;

use crate::convert;
use crate::handler::Registry;
use crate::service::today_in_china;

/// Most households in one message of the stream.
pub(crate) const MAX_HOUSEHOLDS_PER_MESSAGE: usize = 1_000;
/// Most members (over all its households) in one message of the stream.
pub(crate) const MAX_MEMBERS_PER_MESSAGE: usize = 4_000;
/// Outcomes awaited by the collector at most (back-pressure on a fast client beyond the writer's
/// own queue).
const IN_FLIGHT: usize = 8_192;

/// One queued (or already refused) item.
struct Pending {
    household_index: i64,
    household_command_id: String,
    /// -1 for the household item.
    member_index: i32,
    outcome: Result<Submitted, Status>,
}

/// Serves one `BulkRegister` stream.
pub(crate) async fn bulk_register(
    registry: Arc<Registry>,
    request: Request<Streaming<pb::BulkRegisterRequest>>,
) -> Result<Response<pb::BulkRegisterResponse>, Status> {
    let traceparent = grpc::traceparent(&request);
    let mut stream = request.into_inner();
    let (pending, outcomes) = mpsc::channel(IN_FLIGHT);
    let collector = tokio::spawn(collect(outcomes));
    let mut next_index = 0i64;
    let ended = loop {
        let message = match stream.message().await {
            Ok(Some(message)) => message,
            Ok(None) => break Ok(()),
            Err(status) => break Err(status),
        };
        let members: usize = message.households.iter().map(|h| h.members.len()).sum();
        if message.households.len() > MAX_HOUSEHOLDS_PER_MESSAGE
            || members > MAX_MEMBERS_PER_MESSAGE
        {
            break Err(Status::invalid_argument(format!(
                "a BulkRegister message carries at most {MAX_HOUSEHOLDS_PER_MESSAGE} households \
                 and {MAX_MEMBERS_PER_MESSAGE} members; this one has {} and {members} (the \
                 messages before it were carried out; send it again split)",
                message.households.len()
            )));
        }
        let today = today_in_china();
        let verdicts = match left_out(&registry, &message.households, today).await {
            Ok(verdicts) => verdicts,
            Err(status) => break Err(status),
        };
        for (household, refusals) in message.households.into_iter().zip(verdicts) {
            let index = next_index;
            next_index += 1;
            let item = Item {
                household_index: index,
                item: household,
                refusals,
            };
            if submit_household(&registry, &pending, item, &traceparent, today)
                .await
                .is_err()
            {
                break;
            }
        }
    };
    drop(pending);
    let response = collector
        .await
        .map_err(|e| Status::internal(format!("bulk outcome collector failed: {e}")))?;
    ended?;
    tracing::info!(
        households = response.households_registered,
        persons = response.persons_registered,
        replayed = response.households_replayed + response.persons_replayed,
        rejected = response.households_rejected + response.persons_rejected,
        "bulk registration finished"
    );
    Ok(Response::new(response))
}

/// One household item of a message, with its members' refusals when it is left out.
struct Item {
    household_index: i64,
    item: pb::BulkHousehold,
    refusals: Option<Vec<Status>>,
}

/// Converts and queues one household item and its members. Fails only when the collector is gone.
async fn submit_household(
    registry: &Registry,
    pending: &mpsc::Sender<Pending>,
    Item {
        household_index,
        item,
        refusals,
    }: Item,
    traceparent: &str,
    today: chrono::NaiveDate,
) -> Result<(), mpsc::error::SendError<Pending>> {
    let household_command_id = item
        .household
        .as_ref()
        .map(|h| h.command_id.clone())
        .unwrap_or_default();
    if let Some(refusals) = refusals {
        // None of its members can be registered: registering the household would leave it
        // empty. It is refused, and each member with its own reason.
        let household = registry_domain::DomainError::rule(
            "household_with_members",
            format!(
                "none of its {} members can be registered (the first: {}); the household was \
                 not registered",
                refusals.len(),
                refusals.first().map_or("", |status| status.message())
            ),
        );
        let refused = std::iter::once((-1, domain_status(household))).chain((0..).zip(refusals));
        for (member_index, status) in refused {
            pending
                .send(Pending {
                    household_index,
                    household_command_id: household_command_id.clone(),
                    member_index,
                    outcome: Err(status),
                })
                .await?;
        }
        return Ok(());
    }
    // The household's id, derived from its command id as RegisterHousehold derives it.
    let mut household_id = None;
    if let Some(household) = &item.household {
        let outcome = match grpc::command_id(&household.command_id)
            .and_then(|id| Ok((id, convert::register_household(household, id)?)))
        {
            Err(e) => Err(domain_status(e)),
            Ok((id, command)) => {
                if let RegistryCommand::RegisterHousehold {
                    household_id: h, ..
                } = &command
                {
                    household_id = Some(h.0);
                }
                let fingerprint = registry.key().fingerprint(&household.bytes_without_id());
                let meta = meta(id, fingerprint, traceparent);
                registry
                    .submit(command, meta, today)
                    .await
                    .map_err(to_status)
            }
        };
        pending
            .send(Pending {
                household_index,
                household_command_id: household_command_id.clone(),
                member_index: -1,
                outcome,
            })
            .await?;
    }
    for (member_index, mut member) in item.members.into_iter().enumerate() {
        let outcome = match household_id {
            Some(id) if member.household_id.is_empty() => {
                member.household_id = id.to_string();
                Ok(())
            }
            Some(id) if uuid::Uuid::parse_str(member.household_id.trim()).ok() != Some(id) => {
                Err(domain_status(registry_domain::DomainError::invalid(
                    "household_id",
                    "must be empty or the id of the household the member is sent with",
                )))
            }
            _ => Ok(()),
        };
        let outcome = match outcome {
            Err(status) => Err(status),
            Ok(()) => submit_member(registry, &member, traceparent, today).await,
        };
        pending
            .send(Pending {
                household_index,
                household_command_id: household_command_id.clone(),
                member_index: i32::try_from(member_index).unwrap_or(i32::MAX),
                outcome,
            })
            .await?;
    }
    Ok(())
}

/// For each household item of a message: its members' refusals when it is new and none of its
/// members can be registered (invalid fields, citizen IDs registered before), so that it is left
/// out; `None` when one can, or when it or a member was sent before (replays go through). All
/// members of the message are judged with one read of the write model; the store is asked only
/// about items none of whose members can land. `UNAVAILABLE` while the write model cannot be
/// read back from the store (nothing is judged on a partial model).
async fn left_out(
    registry: &Registry,
    items: &[pb::BulkHousehold],
    today: chrono::NaiveDate,
) -> Result<Vec<Option<Vec<Status>>>, Status> {
    let converted: Vec<Option<Vec<Result<RegistryCommand, Status>>>> = items
        .iter()
        .map(|item| convert_members(registry, item, today))
        .collect();
    let judged = registry
        .refusals_of_new_persons(
            converted
                .iter()
                .flatten()
                .flatten()
                .filter_map(|c| c.as_ref().ok()),
        )
        .await
        .map_err(to_status)?;
    let mut judged = judged.into_iter();
    let mut verdicts = Vec::with_capacity(items.len());
    for (item, commands) in items.iter().zip(converted) {
        let Some(commands) = commands else {
            verdicts.push(None);
            continue;
        };
        let converted = commands.iter().filter(|c| c.is_ok()).count();
        let mine: Vec<Option<registry_domain::DomainError>> =
            judged.by_ref().take(converted).collect();
        if mine.iter().any(Option::is_none) || sent_before(registry, item).await? {
            verdicts.push(None);
            continue;
        }
        let mut mine = mine.into_iter().flatten();
        let refusals = commands
            .into_iter()
            .map(|c| match c {
                Err(status) => status,
                Ok(_) => domain_status(mine.next().expect("one judgement per converted member")),
            })
            .collect();
        verdicts.push(Some(refusals));
    }
    Ok(verdicts)
}

/// The item's members as `RegisterPerson` commands (or why each cannot be one), when the item
/// has a valid household and members.
fn convert_members(
    registry: &Registry,
    item: &pb::BulkHousehold,
    today: chrono::NaiveDate,
) -> Option<Vec<Result<RegistryCommand, Status>>> {
    let household = item.household.as_ref()?;
    if item.members.is_empty() {
        return None;
    }
    let household_id = match grpc::command_id(&household.command_id)
        .and_then(|id| convert::register_household(household, id))
    {
        Ok(RegistryCommand::RegisterHousehold { household_id, .. }) => household_id.0,
        _ => return None,
    };
    let commands = item
        .members
        .iter()
        .map(|member| {
            let mut member = member.clone();
            if member.household_id.is_empty() {
                member.household_id = household_id.to_string();
            }
            grpc::command_id(&member.command_id)
                .and_then(|_| convert::register_person(&member, registry.key(), today))
                .map_err(domain_status)
        })
        .collect();
    Some(commands)
}

/// Whether the item's household or one of its members was recorded before (a replay).
/// `UNAVAILABLE` when the store cannot say: counted as a replay, a household none of whose
/// members can land would be registered empty (found under a fault storm).
async fn sent_before(registry: &Registry, item: &pb::BulkHousehold) -> Result<bool, Status> {
    let ids: Vec<&str> = item
        .household
        .iter()
        .map(|h| h.command_id.as_str())
        .chain(item.members.iter().map(|m| m.command_id.as_str()))
        .collect();
    let recorded = registry
        .store()
        .recorded_commands(&ids)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "event store failure: a household's command ids could not be looked up");
            to_status(eventstore::AppendError::Store(e).into())
        })?;
    Ok(!recorded.is_empty())
}

/// Converts and queues one member, as the RegisterPerson RPC would for `request`.
async fn submit_member(
    registry: &Registry,
    request: &pb::RegisterPersonRequest,
    traceparent: &str,
    today: chrono::NaiveDate,
) -> Result<Submitted, Status> {
    let id = grpc::command_id(&request.command_id).map_err(domain_status)?;
    let command =
        convert::register_person(request, registry.key(), today).map_err(domain_status)?;
    let fingerprint = registry.key().fingerprint(&request.bytes_without_id());
    registry
        .submit(command, meta(id, fingerprint, traceparent), today)
        .await
        .map_err(to_status)
}

fn meta(command_id: uuid::Uuid, fingerprint: Vec<u8>, traceparent: &str) -> CommandMeta {
    CommandMeta {
        command_id: command_id.to_string(),
        fingerprint,
        correlation_id: command_id.to_string(),
        causation_id: String::new(),
        actor: String::new(),
        traceparent: traceparent.to_owned(),
    }
}

/// Awaits every outcome in submission order and tallies them.
async fn collect(mut outcomes: mpsc::Receiver<Pending>) -> pb::BulkRegisterResponse {
    let mut response = pb::BulkRegisterResponse::default();
    while let Some(item) = outcomes.recv().await {
        let result = match item.outcome {
            Ok(submitted) => submitted.outcome().await.map_err(to_status),
            Err(status) => Err(status),
        };
        let household = item.member_index < 0;
        match result {
            Ok(outcome) => match (household, outcome.replayed) {
                (true, false) => response.households_registered += 1,
                (true, true) => response.households_replayed += 1,
                (false, false) => response.persons_registered += 1,
                (false, true) => response.persons_replayed += 1,
            },
            Err(status) => {
                if household {
                    response.households_rejected += 1;
                } else {
                    response.persons_rejected += 1;
                }
                response.rejections.push(rejection(
                    item.household_index,
                    item.household_command_id,
                    item.member_index,
                    &status,
                ));
            }
        }
    }
    response
}

/// Longest status message carried in a rejection (the response lists every rejection).
const MAX_MESSAGE: usize = 500;

/// The unary RPC's error status, flattened.
fn rejection(
    household_index: i64,
    household_command_id: String,
    member_index: i32,
    status: &Status,
) -> pb::BulkRejection {
    let details = status.get_error_details();
    let mut rejection = pb::BulkRejection {
        household_index,
        household_command_id,
        member_index,
        code: i32::from(status.code()),
        message: status.message().chars().take(MAX_MESSAGE).collect(),
        ..pb::BulkRejection::default()
    };
    if let Some(v) = details
        .bad_request()
        .and_then(|b| b.field_violations.first())
    {
        rejection.field = v.field.clone();
        rejection.description = v.description.clone();
    }
    if let Some(v) = details
        .precondition_failure()
        .and_then(|p| p.violations.first())
    {
        rejection.rule = v.subject.clone();
        rejection.description = v.description.clone();
    }
    if let Some(info) = details.resource_info() {
        rejection.resource_type = info.resource_type.clone();
        rejection.resource_name = info.resource_name.clone();
    }
    if rejection.code == i32::from(Code::Ok) {
        rejection.code = i32::from(Code::Internal);
    }
    rejection
}
