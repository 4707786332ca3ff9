//! The end-to-end demo: generate a population, import it through [`crate::import_csv`]'s code
//! path, play the monitoring-case plans through the registry API, then wait until MARA's read
//! model shows exactly the counts computed from the generated data; then plays the employment
//! scenario generated from the same seed ([`crate::employment_plan`]) and waits until the employed
//! scale equals the figure computed from it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use futures::StreamExt as _;
use proto::mara::v1::mara_query_service_client::MaraQueryServiceClient;
use proto::mara::v1::{Counts, ListCountiesRequest, SummaryRequest};
use proto::registry::v1::registry_service_client::RegistryServiceClient;
use proto::registry::v1::{
    AdvanceMonitoringCaseRequest, EliminateRiskRequest, OpenMonitoringCaseRequest,
    RecordAssistanceMeasureRequest,
};
use registry_domain::{DivisionCatalog, KeyCounties};
use tonic::transport::Channel;

use crate::convert::{self, civil_date};
use crate::employment_demo::{run_employment, EmploymentReport};
use crate::employment_plan::plan_employment;
use crate::generate::{generate, CasePlan, CaseStep, ExpectedCounts, Population};
use crate::import::{import_with_ids, ImportOptions, ImportSummary};
use crate::progress;
use crate::rpc::{command_id, with_retries};

/// How long MARA may take to catch up with the registry.
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause between two `Summary` polls.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Cases played at the same time.
const CASE_CONCURRENCY: usize = 16;

/// What the demo did and saw.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoReport {
    /// Seed of the population.
    pub seed: u64,
    /// Counts computed from the generated data.
    pub expected: ExpectedCounts,
    /// Counts MARA's `Summary` returned last (equal to `expected` in a returned report).
    pub observed: ExpectedCounts,
    /// MARA's checkpoint (events applied) when the counts matched.
    pub checkpoint: i64,
    /// The import's outcome.
    pub import: ImportSummary,
    /// Cases opened (or replayed).
    pub cases: usize,
    /// Case commands sent after opening (advances, measures, eliminations).
    pub case_steps: usize,
    /// Time to generate the population.
    pub generate_time: Duration,
    /// Time of the import.
    pub import_time: Duration,
    /// Time to play the case plans.
    pub cases_time: Duration,
    /// Time from the last command until MARA showed the expected counts.
    pub convergence_time: Duration,
    /// Households and persons registered or replayed per second of import time.
    pub registrations_per_second: f64,
    /// The employment scenario: expected and observed figures, times.
    pub employment: EmploymentReport,
}

/// The demo checks MARA's national totals against what it generates, so the registry must hold
/// nothing else: nothing, or this same population from an earlier run (which then replays), all
/// of it or, when that run was interrupted, part of it. Checked per county: a county holding more
/// households than the demo generates there (or one it generates none in) means another
/// population, and nothing is imported.
async fn check_registry_holds_only(
    mara: &mut MaraQueryServiceClient<Channel>,
    population: &Population,
) -> anyhow::Result<()> {
    let mut generated: BTreeMap<&str, i64> = BTreeMap::new();
    for h in &population.households {
        *generated.entry(&h.village_code[..6]).or_default() += 1;
    }
    let counties = mara
        .list_counties(ListCountiesRequest::default())
        .await
        .context("reading MARA's counties")?
        .into_inner()
        .counties;
    for county in counties {
        let held = county.counts.unwrap_or_default().households;
        let ours = generated
            .get(county.county_code.as_str())
            .copied()
            .unwrap_or(0);
        anyhow::ensure!(
            held <= ours,
            "the registry already holds {held} households in county {}, where this demo \
             (--seed {} --households {}) generates {ours}: it holds another population, and the \
             demo compares MARA's totals with what it generates; start `bottomline up` with a \
             fresh --data-dir, or re-run the --seed and --households that filled it",
            county.county_code,
            population.seed,
            population.households.len()
        );
    }
    Ok(())
}

/// Runs the demo over `channel` (a connection to e.g. `http://127.0.0.1:50051`), whose endpoint
/// must serve both the registry and MARA's query API.
///
/// The registry should hold no other data: MARA's national totals are compared with the counts of
/// this population. Re-running with the same seed and `today` replays every command (same
/// deterministic command ids) and ends with the same totals.
///
/// Fails when any row is rejected, any case command is refused, or MARA does not show the
/// expected counts within 120 seconds (the error then shows both).
#[tracing::instrument(skip(channel, catalog, key_counties))]
pub async fn run_demo(
    channel: Channel,
    seed: u64,
    households: usize,
    catalog: &DivisionCatalog,
    key_counties: &KeyCounties,
    today: NaiveDate,
) -> anyhow::Result<DemoReport> {
    let registry = RegistryServiceClient::new(channel.clone());
    let mut mara = MaraQueryServiceClient::new(channel.clone());
    anyhow::ensure!(households > 0, "--households must be at least 1");

    let started = Instant::now();
    let population = generate(seed, households, catalog, key_counties, today);
    let employment_plan = plan_employment(&population, catalog);
    let generate_time = started.elapsed();
    check_registry_holds_only(&mut mara, &population).await?;

    let started = Instant::now();
    let options = ImportOptions {
        concurrency: 32,
        // The demo needs the registry's ids of what it registered: unary responses carry them.
        bulk: false,
        progress: true,
        source_name: format!("demo-seed-{seed}"),
    };
    let mut rejects = Vec::new();
    let (import, imported) = import_with_ids(
        registry.clone(),
        &population.to_csv()[..],
        &mut rejects,
        &options,
    )
    .await
    .context("importing the generated population")?;
    let import_time = started.elapsed();
    if import.rejected > 0 {
        anyhow::bail!(
            "{} generated rows were rejected:\n{}",
            import.rejected,
            String::from_utf8_lossy(&rejects)
        );
    }

    let started = Instant::now();
    let bar = progress::bar(
        true,
        population.case_plans.len(),
        "cases",
        "monitoring cases".into(),
    );
    let mut played = futures::stream::iter(&population.case_plans)
        .map(|plan| {
            let household_id = imported.households.get(&plan.household_ref).cloned();
            play_case(registry.clone(), seed, plan, household_id)
        })
        .buffer_unordered(CASE_CONCURRENCY);
    let mut case_steps = 0;
    while let Some(steps) = played.next().await {
        case_steps += steps?;
        bar.inc(1);
    }
    drop(played);
    bar.finish_and_clear();
    let cases_time = started.elapsed();

    let started = Instant::now();
    let spinner = progress::waiting("waiting for MARA's read model to show the population".into());
    let (observed, checkpoint) = loop {
        let response = with_retries(|| {
            let mut mara = mara.clone();
            async move { mara.summary(SummaryRequest::default()).await }
        })
        .await
        .map_err(|e| e.into_anyhow("MARA Summary"))?;
        let observed = observed_counts(response.counts.unwrap_or_default());
        if observed == population.expected {
            break (observed, response.checkpoint);
        }
        if started.elapsed() > CONVERGENCE_TIMEOUT {
            anyhow::bail!(
                "MARA did not show the expected counts within {}s (checkpoint {}); does the \
                 registry hold other data?\n{}",
                CONVERGENCE_TIMEOUT.as_secs(),
                response.checkpoint,
                comparison(&population.expected, &observed)
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    spinner.finish_and_clear();
    let convergence_time = started.elapsed();

    let employment = run_employment(channel, seed, &employment_plan, &imported.persons, today)
        .await
        .context("playing the employment scenario")?;

    let registrations = (import.households_registered
        + import.households_replayed
        + import.persons_registered
        + import.persons_replayed) as f64;
    Ok(DemoReport {
        seed,
        expected: population.expected.clone(),
        observed,
        checkpoint,
        import,
        cases: population.case_plans.len(),
        case_steps,
        generate_time,
        import_time,
        cases_time,
        convergence_time,
        registrations_per_second: registrations / import_time.as_secs_f64().max(1e-3),
        employment,
    })
}

/// Opens the case and sends its steps in order; returns the number of steps. Command ids derive
/// from the seed, the household and the step's index, so a re-run replays them.
async fn play_case(
    registry: RegistryServiceClient<Channel>,
    seed: u64,
    plan: &CasePlan,
    household_id: Option<String>,
) -> anyhow::Result<usize> {
    let household_id = household_id.with_context(|| {
        format!(
            "household {} has no id after the import",
            plan.household_ref
        )
    })?;
    let seed = seed.to_string();
    let id = |step: &str| command_id(&["demo-case", &seed, &plan.household_ref, step]);
    let what = |step: &str| format!("case of household {} ({step})", plan.household_ref);
    let open = OpenMonitoringCaseRequest {
        command_id: id("open"),
        household_id,
        case_type: convert::case_type(plan.case_type),
        risk_factors: plan
            .risk_factors
            .iter()
            .copied()
            .map(convert::risk_factor)
            .collect(),
        lead_source: convert::lead_source(plan.lead_source),
        lead_date: Some(civil_date(plan.lead_date)),
    };
    let case_id = with_retries(|| {
        let (mut registry, open) = (registry.clone(), open.clone());
        async move { registry.open_monitoring_case(open).await }
    })
    .await
    .map_err(|e| e.into_anyhow(&what("open")))?
    .case_id;

    for (index, step) in plan.steps.iter().enumerate() {
        let command_id = id(&format!("step-{index}"));
        let case_id = case_id.clone();
        let outcome = match step {
            CaseStep::Advance { to, on } => {
                let request = AdvanceMonitoringCaseRequest {
                    command_id,
                    case_id,
                    to: convert::case_stage(*to),
                    on: Some(civil_date(*on)),
                    note: "synthetic demo".to_owned(),
                };
                with_retries(|| {
                    let (mut registry, request) = (registry.clone(), request.clone());
                    async move { registry.advance_monitoring_case(request).await }
                })
                .await
            }
            CaseStep::Measure {
                kind,
                on,
                description,
            } => {
                let request = RecordAssistanceMeasureRequest {
                    command_id,
                    case_id,
                    kind: convert::assistance_kind(*kind),
                    on: Some(civil_date(*on)),
                    description: description.clone(),
                };
                with_retries(|| {
                    let (mut registry, request) = (registry.clone(), request.clone());
                    async move { registry.record_assistance_measure(request).await }
                })
                .await
            }
            CaseStep::Eliminate {
                on,
                months_income_above_line,
            } => {
                let request = EliminateRiskRequest {
                    command_id,
                    case_id,
                    on: Some(civil_date(*on)),
                    months_income_above_line: *months_income_above_line,
                };
                with_retries(|| {
                    let (mut registry, request) = (registry.clone(), request.clone());
                    async move { registry.eliminate_risk(request).await }
                })
                .await
            }
        };
        outcome.map_err(|e| e.into_anyhow(&what(&format!("step {} {step:?}", index + 1))))?;
    }
    Ok(plan.steps.len())
}

fn observed_counts(counts: Counts) -> ExpectedCounts {
    let mut cases_by_stage = BTreeMap::new();
    for stage in counts.cases_by_stage.iter().filter(|s| s.cases != 0) {
        *cases_by_stage.entry(stage.stage).or_insert(0) += stage.cases;
    }
    ExpectedCounts {
        households: counts.households,
        poverty_alleviated_households: counts.poverty_alleviated_households,
        persons: counts.persons,
        labour_capable_persons: counts.labour_capable_persons,
        monitoring_cases: counts.monitoring_cases,
        cases_by_stage,
    }
}

/// A table of expected against observed counts, one row per figure and per stage.
fn comparison(expected: &ExpectedCounts, observed: &ExpectedCounts) -> String {
    let mut rows: Vec<(String, i64, i64)> = vec![
        (
            "households".into(),
            expected.households,
            observed.households,
        ),
        (
            "poverty-alleviated households".into(),
            expected.poverty_alleviated_households,
            observed.poverty_alleviated_households,
        ),
        ("persons".into(), expected.persons, observed.persons),
        (
            "labour-capable persons".into(),
            expected.labour_capable_persons,
            observed.labour_capable_persons,
        ),
        (
            "monitoring cases".into(),
            expected.monitoring_cases,
            observed.monitoring_cases,
        ),
    ];
    let stages: std::collections::BTreeSet<i32> = expected
        .cases_by_stage
        .keys()
        .chain(observed.cases_by_stage.keys())
        .copied()
        .collect();
    for stage in stages {
        rows.push((
            format!("  at {}", convert::stage_name(stage)),
            expected.cases_by_stage.get(&stage).copied().unwrap_or(0),
            observed.cases_by_stage.get(&stage).copied().unwrap_or(0),
        ));
    }
    let mut table = format!("{:<32} {:>10} {:>10}\n", "figure", "expected", "observed");
    for (label, e, o) in rows {
        let mark = if e == o { "" } else { "  ← differs" };
        table.push_str(&format!("{label:<32} {e:>10} {o:>10}{mark}\n"));
    }
    table
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "demo population, seed {}", self.seed)?;
        writeln!(f)?;
        write!(f, "{}", comparison(&self.expected, &self.observed))?;
        writeln!(f)?;
        writeln!(f, "{}", self.import)?;
        writeln!(f)?;
        let secs = |d: Duration| format!("{:.2}s", d.as_secs_f64());
        writeln!(f, "{:<32} {:>10}", "generate", secs(self.generate_time))?;
        writeln!(
            f,
            "{:<32} {:>10}   ({:.0} registrations/s)",
            "import",
            secs(self.import_time),
            self.registrations_per_second
        )?;
        writeln!(
            f,
            "{:<32} {:>10}   ({} cases, {} steps)",
            "monitoring cases",
            secs(self.cases_time),
            self.cases,
            self.case_steps
        )?;
        write!(
            f,
            "{:<32} {:>10}   (MARA checkpoint {})",
            "read model caught up",
            secs(self.convergence_time),
            self.checkpoint
        )?;
        writeln!(f)?;
        writeln!(f)?;
        write!(f, "{}", self.employment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employment_plan::ExpectedEmployment;
    use proto::mara::v1::StageCount;

    #[test]
    fn observed_counts_drop_empty_stages_and_compare() {
        let counts = Counts {
            households: 2,
            poverty_alleviated_households: 1,
            persons: 5,
            exited_persons: 0,
            labour_capable_persons: 3,
            monitoring_cases: 1,
            cases_by_stage: vec![
                StageCount { stage: 1, cases: 0 },
                StageCount { stage: 7, cases: 1 },
            ],
        };
        let observed = observed_counts(counts);
        let expected = ExpectedCounts {
            households: 2,
            poverty_alleviated_households: 1,
            persons: 5,
            labour_capable_persons: 3,
            monitoring_cases: 1,
            cases_by_stage: BTreeMap::from([(7, 1)]),
        };
        assert_eq!(observed, expected);
        let table = comparison(&expected, &ExpectedCounts::default());
        assert!(table.contains("at REGISTERED"), "{table}");
        assert!(table.contains("← differs"), "{table}");
        assert!(!comparison(&expected, &observed).contains("differs"));

        let report = DemoReport {
            seed: 1,
            expected: expected.clone(),
            observed: expected,
            checkpoint: 42,
            import: ImportSummary::default(),
            cases: 1,
            case_steps: 6,
            generate_time: Duration::from_millis(5),
            import_time: Duration::from_secs(2),
            cases_time: Duration::from_millis(300),
            convergence_time: Duration::from_millis(700),
            registrations_per_second: 3.5,
            employment: EmploymentReport {
                expected: ExpectedEmployment {
                    employed: 12,
                    follow_up_queue: 2,
                    ..ExpectedEmployment::default()
                },
                observed_employed: 12,
                observed_follow_up_queue: 3,
                commands: 40,
                play_time: Duration::from_secs(1),
                convergence_time: Duration::from_millis(250),
            },
        };
        let text = report.to_string();
        assert!(
            text.contains("seed 1") && text.contains("MARA checkpoint 42"),
            "{text}"
        );
        assert!(text.contains("(4 registrations/s)"), "{text}");
        assert!(text.contains("(40 commands)"), "{text}");
        let employed = text
            .lines()
            .find(|l| l.starts_with("employed scale"))
            .unwrap();
        assert!(
            employed.contains("12") && !employed.contains("differs"),
            "{text}"
        );
        let queue = text
            .lines()
            .find(|l| l.starts_with("follow-up queue"))
            .unwrap();
        assert!(queue.contains("differs"), "{text}");
    }
}
