//! The bulk path of the importer: the planned households go to the registry's client-streaming
//! `BulkRegister` RPC, a few streams at a time, each stream a slice of the file split into
//! messages under the server's message size limit. The outcome — counts, reject file, exit
//! status — is the one the unary path gives, with the same command ids (so either path replays
//! the other's rows).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;
use indicatif::ProgressBar;
use prost::Message as _;
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use proto::registry::v1::{
    BulkHousehold, BulkRegisterRequest, BulkRegisterResponse, RegisterHouseholdRequest,
    RegisterPersonRequest,
};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{
    household_command_id, plan, progress_bar, HouseholdJob, ImportOptions, ImportSummary, Reject,
};
use crate::convert;
use crate::rpc::{command_id, is_refusal, is_transient, reason, FIRST_BACKOFF, RETRIES};

/// Households per stream: a stream is the unit of retry and of progress.
const HOUSEHOLDS_PER_STREAM: usize = 1_000;
/// Streams sent at the same time.
const STREAMS_IN_FLIGHT: usize = 2;
/// Encoded bytes per message at most (the registry decodes at most 64 KiB per message).
const MESSAGE_BYTES: usize = 56 * 1024;
/// Households and members per message at most (the registry's limits).
const MESSAGE_HOUSEHOLDS: usize = 1_000;
const MESSAGE_MEMBERS: usize = 4_000;
/// Largest response accepted (the registry lists every rejected item).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Client-side limit of one stream.
const STREAM_TIMEOUT: Duration = Duration::from_secs(300);

/// How a bulk import ended.
pub(super) enum BulkImport {
    /// The registry does not offer `BulkRegister` (UNIMPLEMENTED before anything was sent).
    Unsupported,
    /// Everything sent, or `failure` after the retries; `rejects` are the rows rejected so far.
    Done {
        summary: ImportSummary,
        rejects: Vec<Reject>,
        failure: Option<anyhow::Error>,
    },
}

/// What one stream did.
#[derive(Default)]
struct StreamDone {
    summary: ImportSummary,
    rejects: Vec<Reject>,
}

/// Why a stream did not finish.
enum StreamError {
    Unimplemented,
    Failed(anyhow::Error),
}

/// Imports the file's rows through `BulkRegister`.
pub(super) async fn import_bulk(
    client: RegistryServiceClient<Channel>,
    data: &[u8],
    options: &ImportOptions,
) -> anyhow::Result<BulkImport> {
    let plan = plan(data)?;
    let mut summary = ImportSummary {
        rows: plan.rows,
        rejected: plan.rejects.len(),
        ..ImportSummary::default()
    };
    let bar = progress_bar(options, plan.rows);
    bar.inc(plan.rejects.len() as u64);
    let mut all_rejects = plan.rejects;
    let mut streams = Vec::new();
    let mut households = plan.households.into_iter().peekable();
    while households.peek().is_some() {
        streams.push(
            households
                .by_ref()
                .take(HOUSEHOLDS_PER_STREAM)
                .collect::<Vec<_>>(),
        );
    }
    let client = client.max_decoding_message_size(MAX_RESPONSE);
    let mut results = futures::stream::iter(streams)
        .map(|jobs| send_stream(client.clone(), jobs, &bar))
        .buffered(STREAMS_IN_FLIGHT);
    let (mut failure, mut landed) = (None, false);
    while let Some(result) = results.next().await {
        match result {
            Ok(done) => {
                landed = true;
                let s = done.summary;
                summary.households_registered += s.households_registered;
                summary.households_replayed += s.households_replayed;
                summary.persons_registered += s.persons_registered;
                summary.persons_replayed += s.persons_replayed;
                summary.rejected += s.rejected;
                all_rejects.extend(done.rejects);
            }
            Err(StreamError::Unimplemented) if !landed => {
                bar.finish_and_clear();
                return Ok(BulkImport::Unsupported);
            }
            Err(StreamError::Unimplemented) => {
                failure = Some(anyhow::anyhow!(
                    "the registry stopped offering BulkRegister during the import"
                ));
                break;
            }
            Err(StreamError::Failed(err)) => {
                failure = Some(err);
                break;
            }
        }
    }
    drop(results);
    bar.finish_and_clear();
    if failure.is_none() {
        tracing::info!(
            rows = summary.rows,
            households = summary.households_registered,
            persons = summary.persons_registered,
            replayed = summary.persons_replayed,
            rejected = summary.rejected,
            "bulk import finished"
        );
    }
    Ok(BulkImport::Done {
        summary,
        rejects: all_rejects,
        failure,
    })
}

/// The stream's messages: every household with its rows, exactly the unary requests (the members
/// without `household_id`, which the registry fills in).
fn messages(jobs: &[HouseholdJob]) -> Vec<BulkRegisterRequest> {
    let mut messages = Vec::new();
    let (mut current, mut bytes, mut members) = (BulkRegisterRequest::default(), 0, 0);
    for job in jobs {
        let household_command = household_command_id(job);
        let item = BulkHousehold {
            household: Some(RegisterHouseholdRequest {
                command_id: household_command.clone(),
                village_code: job.fields.village_code.clone(),
                poverty_alleviated: job.fields.poverty_alleviated,
                relocated: job.fields.relocated,
                settlement_area: job.fields.settlement_area.clone().unwrap_or_default(),
            }),
            members: job
                .persons
                .iter()
                .map(|person| {
                    let fields = &person.fields;
                    RegisterPersonRequest {
                        command_id: command_id(&["person", &household_command, &fields.citizen_id]),
                        household_id: String::new(),
                        citizen_id: fields.citizen_id.clone(),
                        name: fields.name.clone(),
                        relation: convert::relation(fields.relation),
                        labour_capacity: convert::labour_capacity(fields.labour_capacity),
                        disabled: fields.disabled,
                    }
                })
                .collect(),
        };
        // Field tag and length prefix of the item: at most 6 bytes.
        let size = item.encoded_len() + 6;
        let full = bytes + size > MESSAGE_BYTES
            || current.households.len() == MESSAGE_HOUSEHOLDS
            || members + item.members.len() > MESSAGE_MEMBERS;
        if full && !current.households.is_empty() {
            messages.push(std::mem::take(&mut current));
            (bytes, members) = (0, 0);
        }
        bytes += size;
        members += item.members.len();
        current.households.push(item);
    }
    if !current.households.is_empty() {
        messages.push(current);
    }
    messages
}

/// Sends one stream, again (the whole of it: what landed replays) after a transient failure.
async fn send_stream(
    client: RegistryServiceClient<Channel>,
    jobs: Vec<HouseholdJob>,
    bar: &ProgressBar,
) -> Result<StreamDone, StreamError> {
    let messages = messages(&jobs);
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        let mut client = client.clone();
        let call = client.bulk_register(futures::stream::iter(messages.clone()));
        let status = match tokio::time::timeout(STREAM_TIMEOUT, call).await {
            Ok(Ok(response)) => {
                let response = response.into_inner();
                match response
                    .rejections
                    .iter()
                    .map(|r| Code::from(r.code))
                    .find(|code| !is_refusal(*code))
                {
                    None => {
                        let done = outcome(&jobs, response);
                        bar.inc(jobs.iter().map(|j| j.persons.len() as u64).sum());
                        return Ok(done);
                    }
                    Some(code) => {
                        let first = response
                            .rejections
                            .iter()
                            .find(|r| r.code == i32::from(code))
                            .map(|r| r.message.clone())
                            .unwrap_or_default();
                        Status::new(code, first)
                    }
                }
            }
            Ok(Err(status)) => status,
            Err(_) => Status::deadline_exceeded("no answer within the client stream timeout"),
        };
        if status.code() == Code::Unimplemented {
            return Err(StreamError::Unimplemented);
        }
        let first_line = jobs.first().map_or(0, |j| j.line);
        if !is_transient(status.code()) || attempt == RETRIES {
            return Err(StreamError::Failed(anyhow::anyhow!(
                "registering the households from line {first_line} in bulk failed: {:?}: {}",
                status.code(),
                status.message()
            )));
        }
        attempt += 1;
        tracing::warn!(code = ?status.code(), attempt, "bulk registration failed, sending the stream again");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

/// The stream's counts and reject rows. A row of a rejected household gets the household's
/// reason, worded as the unary path words it.
fn outcome(jobs: &[HouseholdJob], response: BulkRegisterResponse) -> StreamDone {
    let mut done = StreamDone::default();
    let s = &mut done.summary;
    s.households_registered = response.households_registered as usize;
    s.households_replayed = response.households_replayed as usize;
    s.persons_registered = response.persons_registered as usize;
    s.persons_replayed = response.persons_replayed as usize;
    let mut refused_households: HashMap<i64, String> = HashMap::new();
    for rejection in response.rejections {
        let Some(job) = usize::try_from(rejection.household_index)
            .ok()
            .and_then(|i| jobs.get(i))
        else {
            continue;
        };
        let why = reason(&status(&rejection));
        if rejection.member_index < 0 {
            refused_households.insert(rejection.household_index, why);
            continue;
        }
        let Some(person) = usize::try_from(rejection.member_index)
            .ok()
            .and_then(|i| job.persons.get(i))
        else {
            continue;
        };
        let why = match refused_households.get(&rejection.household_index) {
            Some(household) if person.line == job.line => household.clone(),
            Some(household) => format!(
                "household {} was rejected on line {}: {household}",
                job.household_ref, job.line
            ),
            None => why,
        };
        done.rejects.push(Reject {
            line: person.line,
            reason: why,
            raw: person.raw.clone(),
        });
    }
    done.summary.rejected = done.rejects.len();
    done
}

/// The unary RPC's status a rejection stands for.
fn status(rejection: &proto::registry::v1::BulkRejection) -> Status {
    let mut details = ErrorDetails::new();
    if !rejection.field.is_empty() {
        details.add_bad_request_violation(&rejection.field, &rejection.description);
    }
    if !rejection.rule.is_empty() {
        details.add_precondition_failure_violation("RULE", &rejection.rule, &rejection.description);
    }
    if !rejection.resource_type.is_empty() {
        details.set_resource_info(&rejection.resource_type, &rejection.resource_name, "", "");
    }
    Status::with_error_details(Code::from(rejection.code), &rejection.message, details)
}
