//! The CSV importer: reads the whole file, rejects malformed rows locally, then registers
//! households in parallel (bounded) and the persons of each household in file order after it.
//!
//! Every data row ends in exactly one of three places — registered, replayed (an earlier run
//! already registered it under the same deterministic command id) or the reject file — which is
//! the invariant `rows == persons_registered + persons_replayed + rejected`. Infrastructure
//! failures are not rejects: after the retries they abort the import, and a re-run resumes it.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};

use anyhow::Context as _;
use futures::StreamExt as _;
use indicatif::ProgressBar;
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use proto::registry::v1::{RegisterHouseholdRequest, RegisterPersonRequest};
use tonic::transport::Channel;

use crate::convert;
use crate::format::{self, HouseholdFields, PersonFields, COLUMNS};
use crate::rpc::{command_id, with_retries, CallError};

/// How to run an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Households registered at the same time (each one's persons go one after another). At
    /// least 1; default 32. Unary path only.
    pub concurrency: usize,
    /// Send the rows through the client-streaming `BulkRegister` RPC (default), falling back to
    /// the unary RPCs when the registry does not offer it; `false` always uses the unary RPCs
    /// (`RegisterHousehold`, then `RegisterPerson` per row). Both give the same outcome, counts
    /// and reject file, and replay each other's commands.
    pub bulk: bool,
    /// Draw a progress bar on standard error (counting rows).
    pub progress: bool,
    /// Name of the source, e.g. the file name without its directory, shown on the progress bar.
    /// Command ids do not depend on it: they derive from the rows' content (see
    /// `household_command_id`), so a re-run — or a renamed copy of the file — replays.
    pub source_name: String,
}

impl Default for ImportOptions {
    /// Bulk, concurrency 32, no progress bar, empty source name.
    fn default() -> Self {
        ImportOptions {
            concurrency: 32,
            bulk: true,
            progress: false,
            source_name: String::new(),
        }
    }
}

/// What an import did. Always `rows == persons_registered + persons_replayed + rejected`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Data rows read (the header not counted).
    pub rows: usize,
    /// Households newly registered.
    pub households_registered: usize,
    /// Households an earlier run had registered (the registry answered `replayed`).
    pub households_replayed: usize,
    /// Persons newly registered.
    pub persons_registered: usize,
    /// Persons an earlier run had registered.
    pub persons_replayed: usize,
    /// Rows written to the reject file.
    pub rejected: usize,
}

impl ImportSummary {
    /// Whether every row is accounted for exactly once.
    pub fn is_consistent(&self) -> bool {
        self.rows == self.persons_registered + self.persons_replayed + self.rejected
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows read    {:>9}", self.rows)?;
        writeln!(
            f,
            "households   {:>9} registered, {} replayed from an earlier run",
            self.households_registered, self.households_replayed
        )?;
        writeln!(
            f,
            "persons      {:>9} registered, {} replayed from an earlier run",
            self.persons_registered, self.persons_replayed
        )?;
        write!(f, "rejected     {:>9}", self.rejected)?;
        if self.rejected > 0 {
            write!(f, " (see the reject file)")?;
        }
        Ok(())
    }
}

/// A row that does not land, as written to the reject file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reject {
    line: u64,
    reason: String,
    raw: String,
}

#[derive(Debug)]
struct PersonJob {
    line: u64,
    raw: String,
    fields: PersonFields,
}

#[derive(Debug)]
struct HouseholdJob {
    household_ref: String,
    /// Line of the row the household is registered from.
    line: u64,
    fields: HouseholdFields,
    persons: Vec<PersonJob>,
}

/// The file split into work and local rejects.
#[derive(Debug, Default)]
struct Plan {
    rows: usize,
    households: Vec<HouseholdJob>,
    rejects: Vec<Reject>,
}

/// Ends an import: writes the rejects found, then returns the failure that stopped it, if any
/// (running the import again resumes it). An endpoint that is no registry imported nothing, so
/// nothing is written: an earlier run's reject file stays as it was.
fn finish(
    out: impl Write,
    rejects: &mut [Reject],
    failure: Option<anyhow::Error>,
) -> anyhow::Result<()> {
    match failure {
        Some(err) if err.downcast_ref::<crate::rpc::NotARegistry>().is_some() => Err(err),
        failure => {
            write_rejects(out, rejects)?;
            match failure {
                Some(err) => {
                    Err(err.context("import aborted; running it again resumes where it stopped"))
                }
                None => Ok(()),
            }
        }
    }
}

/// Imports a CSV file of persons (format: see the crate docs or `FORMAT.md`) through the
/// registry's gRPC API.
///
/// Rejected rows are written to `rejects` as CSV `line,reason,raw_line` (with that header), in
/// line order, after the import. An error means the file could not be read (no header, I/O) or
/// the registry kept failing; rows not yet sent are then neither registered nor rejected, and
/// running the import again finishes the job.
#[tracing::instrument(skip_all, fields(source = %options.source_name))]
pub async fn import_csv(
    client: RegistryServiceClient<Channel>,
    mut input: impl Read,
    rejects: impl Write,
    options: &ImportOptions,
) -> anyhow::Result<ImportSummary> {
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .context("reading the import file")?;
    let mut unsupported = false;
    if options.bulk {
        match bulk::import_bulk(client.clone(), &data, options).await? {
            bulk::BulkImport::Unsupported => unsupported = true,
            bulk::BulkImport::Done {
                summary,
                rejects: mut found,
                failure,
            } => {
                finish(rejects, &mut found, failure)?;
                debug_assert!(summary.is_consistent(), "{summary:?}");
                return Ok(summary);
            }
        }
    }
    let imported = import_with_ids(client, data.as_slice(), rejects, options).await;
    // Said once the rows went in one by one: an endpoint that is no registry at all refuses
    // BulkRegister too, and the row-by-row import then says that instead.
    if unsupported && imported.is_ok() {
        tracing::warn!(
            "the endpoint does not offer BulkRegister (an older registry?); the rows were \
             imported one call each"
        );
    }
    imported.map(|(summary, _)| summary)
}

/// The registry's ids of what an import registered (or replayed).
#[derive(Debug, Clone, Default)]
pub(crate) struct ImportedIds {
    /// Household id by `household_ref`.
    pub(crate) households: HashMap<String, String>,
    /// Person id by citizen ID.
    pub(crate) persons: HashMap<String, String>,
}

/// [`import_csv`], also returning the registry's household id of every registered `household_ref`
/// and person id of every registered citizen ID (the demo needs them to open cases and to play
/// the employment scenario).
pub(crate) async fn import_with_ids(
    client: RegistryServiceClient<Channel>,
    mut input: impl Read,
    rejects: impl Write,
    options: &ImportOptions,
) -> anyhow::Result<(ImportSummary, ImportedIds)> {
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .context("reading the import file")?;
    let plan = plan(&data)?;
    let mut summary = ImportSummary {
        rows: plan.rows,
        rejected: plan.rejects.len(),
        ..ImportSummary::default()
    };
    let bar = progress_bar(options, plan.rows);
    bar.inc(plan.rejects.len() as u64);
    let mut all_rejects = plan.rejects;
    let mut ids = ImportedIds::default();
    let mut results = futures::stream::iter(plan.households)
        .map(|job| register_household(client.clone(), job, &bar))
        .buffer_unordered(options.concurrency.max(1));
    let mut failure = None;
    while let Some(result) = results.next().await {
        match result {
            Ok(done) => {
                summary.households_registered += usize::from(done.registered == Some(false));
                summary.households_replayed += usize::from(done.registered == Some(true));
                summary.persons_registered += done.persons_registered;
                summary.persons_replayed += done.persons_replayed;
                summary.rejected += done.rejects.len();
                all_rejects.extend(done.rejects);
                if let Some(id) = done.household_id {
                    ids.households.insert(done.household_ref, id);
                }
                ids.persons.extend(done.person_ids);
            }
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    drop(results);
    bar.finish_and_clear();
    finish(rejects, &mut all_rejects, failure)?;
    debug_assert!(summary.is_consistent(), "{summary:?}");
    tracing::info!(
        rows = summary.rows,
        households = summary.households_registered,
        persons = summary.persons_registered,
        replayed = summary.persons_replayed,
        rejected = summary.rejected,
        "import finished"
    );
    Ok((summary, ids))
}

fn progress_bar(options: &ImportOptions, rows: usize) -> ProgressBar {
    let message = if options.source_name.is_empty() {
        "import".to_owned()
    } else {
        options.source_name.clone()
    };
    crate::progress::bar(options.progress, rows, "rows", message)
}

/// Reads the header and every record, rejecting what is malformed and grouping the rest into
/// households. Line numbers are physical, 1-based lines of the input (a quoted field spanning
/// lines counts all of them; the reported line is where the record starts).
fn plan(data: &[u8]) -> anyhow::Result<Plan> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut records = Vec::new();
    // Physical line numbers are counted here from byte offsets: the csv crate's own line counter
    // and start offset do not account for skipped blank lines.
    let (mut counted_to, mut line) = (0, 1u64);
    for record in reader.byte_records() {
        let record = record.context("reading the import file")?;
        let mut byte = record
            .position()
            .map_or(0, |p| p.byte() as usize)
            .min(data.len());
        // After a blank line the reported start is the blank line itself.
        while matches!(data.get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        line += data[counted_to.min(byte)..byte]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        counted_to = counted_to.max(byte);
        records.push((line, byte, record));
    }
    let end = data.len();
    let raw_line = |i: usize| -> String {
        let start = records[i].1.min(end);
        let stop = records.get(i + 1).map_or(end, |r| r.1).clamp(start, end);
        String::from_utf8_lossy(&data[start..stop])
            .trim_end_matches(['\r', '\n'])
            .to_owned()
    };

    let Some((header_line, _, header)) = records.first() else {
        anyhow::bail!("the import file is empty; a header row is required");
    };
    let header_fields: Vec<&str> = header
        .iter()
        .map(|f| std::str::from_utf8(f).unwrap_or(""))
        .collect();
    if !format::is_header(&header_fields) {
        anyhow::bail!(
            "line {header_line}: expected the header row {:?}, found {:?}",
            COLUMNS.join(","),
            raw_line(0)
        );
    }

    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let mut plan = Plan::default();
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    let mut seen_ids: HashMap<String, u64> = HashMap::new();
    for (i, (line, _, record)) in records.iter().enumerate().skip(1) {
        // A line of only spaces is as blank as an empty one (which the reader already skips).
        if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        plan.rows += 1;
        let line = *line;
        let raw = raw_line(i);
        let mut reject = |reason: String| {
            plan.rejects.push(Reject {
                line,
                reason,
                raw: raw.clone(),
            })
        };
        let row = match utf8_fields(record).and_then(|fields| format::parse_row(&fields)) {
            Ok(row) => row,
            Err(reason) => {
                reject(reason);
                continue;
            }
        };
        let existing = by_ref.get(&row.household_ref).copied();
        if let Some(index) = existing {
            let household = &plan.households[index];
            if let Some((column, first, this)) = household.fields.first_difference(&row.household) {
                reject(format!(
                    "household {} is defined on line {} with {column} {first:?}; this row has {this:?}",
                    row.household_ref, household.line
                ));
                continue;
            }
        }
        // The registry's own rules (length, birth date, check character), checked before anything
        // is sent, so that a household is never registered for rows that could not land.
        if let Err(e) = registry_domain::CitizenId::parse(&row.person.citizen_id, today) {
            reject(format!("citizen_id: {e}"));
            continue;
        }
        // The name too: with --unary a household is registered before its members, and one
        // none of whose members lands would stay empty.
        if let Err(e) = registry_domain::person_name(&row.person.name) {
            reject(match e {
                registry_domain::DomainError::Invalid { field, reason } => {
                    format!("{field}: {reason}")
                }
                other => other.to_string(),
            });
            continue;
        }
        if let Some(first) = seen_ids.get(&row.person.citizen_id) {
            reject(format!("citizen ID already appears on line {first}"));
            continue;
        }
        seen_ids.insert(row.person.citizen_id.clone(), line);
        let index = existing.unwrap_or_else(|| {
            by_ref.insert(row.household_ref.clone(), plan.households.len());
            plan.households.push(HouseholdJob {
                household_ref: row.household_ref.clone(),
                line,
                fields: row.household.clone(),
                persons: Vec::new(),
            });
            plan.households.len() - 1
        });
        plan.households[index].persons.push(PersonJob {
            line,
            raw,
            fields: row.person,
        });
    }
    Ok(plan)
}

/// The record's fields as UTF-8, after checking the column count (so that a short row is
/// reported as such even when it also has bad bytes).
fn utf8_fields(record: &csv::ByteRecord) -> Result<Vec<&str>, String> {
    if record.len() != COLUMNS.len() {
        return Err(format!(
            "expected {} columns, found {}",
            COLUMNS.len(),
            record.len()
        ));
    }
    record
        .iter()
        .zip(COLUMNS)
        .map(|(bytes, column)| {
            std::str::from_utf8(bytes).map_err(|e| {
                format!(
                    "column {column}: not valid UTF-8 (bad byte at offset {} of the field)",
                    e.valid_up_to()
                )
            })
        })
        .collect()
}

/// What happened to one household and its persons.
#[derive(Debug, Default)]
struct HouseholdDone {
    household_ref: String,
    household_id: Option<String>,
    /// `Some(replayed)` when the household landed, `None` when it was refused.
    registered: Option<bool>,
    persons_registered: usize,
    persons_replayed: usize,
    /// `(citizen ID, person id)` of every person that landed.
    person_ids: Vec<(String, String)>,
    rejects: Vec<Reject>,
}

/// The household's command id, derived from its content: its ref, its household columns and the
/// citizen IDs of its well-formed rows. The same household in another file (or a renamed copy)
/// gets the same id and replays; another household that happens to reuse a ref does not.
fn household_command_id(job: &HouseholdJob) -> String {
    let mut members: Vec<&str> = job
        .persons
        .iter()
        .map(|p| p.fields.citizen_id.as_str())
        .collect();
    members.sort_unstable();
    let f = &job.fields;
    let flags = format!(
        "{}{}",
        u8::from(f.poverty_alleviated),
        u8::from(f.relocated)
    );
    let mut parts = vec![
        "household",
        job.household_ref.as_str(),
        f.village_code.as_str(),
        flags.as_str(),
        f.settlement_area.as_deref().unwrap_or(""),
    ];
    parts.extend(members);
    command_id(&parts)
}

async fn register_household(
    client: RegistryServiceClient<Channel>,
    job: HouseholdJob,
    bar: &ProgressBar,
) -> anyhow::Result<HouseholdDone> {
    let household_command = household_command_id(&job);
    let request = RegisterHouseholdRequest {
        command_id: household_command.clone(),
        village_code: job.fields.village_code.clone(),
        poverty_alleviated: job.fields.poverty_alleviated,
        relocated: job.fields.relocated,
        settlement_area: job.fields.settlement_area.clone().unwrap_or_default(),
    };
    let outcome = with_retries(|| {
        let (mut client, request) = (client.clone(), request.clone());
        async move { client.register_household(request).await }
    })
    .await;
    let mut done = HouseholdDone {
        household_ref: job.household_ref.clone(),
        ..HouseholdDone::default()
    };
    let household_id = match outcome {
        Ok(response) => {
            done.registered = Some(response.ack.is_some_and(|ack| ack.replayed));
            response.household_id
        }
        Err(CallError::Refused(reason)) => {
            for person in job.persons {
                let reason = if person.line == job.line {
                    reason.clone()
                } else {
                    format!(
                        "household {} was rejected on line {}: {reason}",
                        job.household_ref, job.line
                    )
                };
                done.rejects.push(Reject {
                    line: person.line,
                    reason,
                    raw: person.raw,
                });
                bar.inc(1);
            }
            return Ok(done);
        }
        Err(failed) => {
            return Err(failed.into_anyhow(&format!(
                "registering household {} (line {})",
                job.household_ref, job.line
            )))
        }
    };
    done.household_id = Some(household_id.clone());
    for person in job.persons {
        let fields = &person.fields;
        let request = RegisterPersonRequest {
            command_id: command_id(&["person", &household_command, &fields.citizen_id]),
            household_id: household_id.clone(),
            citizen_id: fields.citizen_id.clone(),
            name: fields.name.clone(),
            relation: convert::relation(fields.relation),
            labour_capacity: convert::labour_capacity(fields.labour_capacity),
            disabled: fields.disabled,
        };
        let outcome = with_retries(|| {
            let (mut client, request) = (client.clone(), request.clone());
            async move { client.register_person(request).await }
        })
        .await;
        match outcome {
            Ok(response) => {
                if response.ack.as_ref().is_some_and(|ack| ack.replayed) {
                    done.persons_replayed += 1;
                } else {
                    done.persons_registered += 1;
                }
                done.person_ids
                    .push((fields.citizen_id.clone(), response.person_id));
            }
            Err(CallError::Refused(reason)) => done.rejects.push(Reject {
                line: person.line,
                reason,
                raw: person.raw,
            }),
            Err(failed) => {
                return Err(
                    failed.into_anyhow(&format!("registering the person on line {}", person.line))
                )
            }
        }
        bar.inc(1);
    }
    Ok(done)
}

fn write_rejects(out: impl Write, rejects: &mut [Reject]) -> anyhow::Result<()> {
    rejects.sort_by_key(|r| r.line);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(["line", "reason", "raw_line"])?;
    for reject in rejects.iter() {
        writer.write_record([
            reject.line.to_string().as_str(),
            &reject.reason,
            &reject.raw,
        ])?;
    }
    writer.flush().context("writing the reject file")?;
    Ok(())
}

mod bulk;
#[cfg(test)]
mod tests;
