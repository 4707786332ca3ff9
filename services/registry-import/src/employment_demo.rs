//! The employment part of the demo: plays an [`EmploymentPlan`] through `EmploymentService`, then
//! waits until `EmploymentQueryService` shows the employed scale computed from the plan.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use futures::StreamExt as _;
use proto::employment::v1::employment_query_service_client::EmploymentQueryServiceClient;
use proto::employment::v1::employment_service_client::EmploymentServiceClient;
use proto::employment::v1::{
    AssignPostRequest, ClassifyWorkshopRequest, CreatePostRequest, EmployedScaleRequest,
    EndSpellRequest, FollowUpQueueRequest, RecordFollowUpRequest, RecordPostSubsidyPaidRequest,
    RegisterWorkshopRequest, ReportWorkshopWorkersRequest, SpellTerms, StartSpellRequest,
};
use tonic::transport::Channel;

use crate::convert::civil_date;
use crate::employment_plan::{
    EmploymentPlan, ExpectedEmployment, PostPlan, WorkerPlan, WorkshopPlan, FOLLOW_UP_DAYS,
};
use crate::progress;
use crate::rpc::{command_id, with_retries, with_retries_patient, CallError};

/// Workers (or workshops, posts) played at the same time.
const CONCURRENCY: usize = 32;
/// How long a person may stay unknown to the employment service after the import.
const PERSON_PATIENCE: Duration = Duration::from_secs(60);
/// How long the employment read models may take to catch up.
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(120);
/// Extra time given to the follow-up queue once the employed scale matched.
const QUEUE_GRACE: Duration = Duration::from_secs(10);
/// Pause between two polls.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// What the employment part of the demo did and saw.
#[derive(Debug, Clone, PartialEq)]
pub struct EmploymentReport {
    /// Figures computed from the plan.
    pub expected: ExpectedEmployment,
    /// Employed scale of `expected.month` the read model returned last.
    pub observed_employed: i64,
    /// Follow-up queue length on `today` the read model returned last.
    pub observed_follow_up_queue: i64,
    /// Commands sent (or replayed).
    pub commands: usize,
    /// Time to play the plan.
    pub play_time: Duration,
    /// Time from the last command until the employed scale matched.
    pub convergence_time: Duration,
}

/// Plays `plan` against `channel` (serving both employment services); `person_ids` maps citizen
/// IDs to the registry's person ids. Command ids derive from `seed` and the plan's refs, so a
/// re-run replays. Fails on any refusal, or when the employed scale does not reach the expected
/// figure within 120 seconds.
pub(crate) async fn run_employment(
    channel: Channel,
    seed: u64,
    plan: &EmploymentPlan,
    person_ids: &HashMap<String, String>,
    today: NaiveDate,
) -> anyhow::Result<EmploymentReport> {
    let client = EmploymentServiceClient::new(channel.clone());
    let seed = seed.to_string();
    let started = Instant::now();
    let mut commands = 0;
    let bar = progress::bar(
        true,
        plan.workers.len() + plan.workshops.len() + plan.posts.len(),
        "plans",
        "employment: workers, workshops, posts".into(),
    );

    let mut played = futures::stream::iter(&plan.workers)
        .map(|worker| {
            let person = person_ids.get(&worker.citizen_id).cloned();
            play_worker(client.clone(), &seed, worker, person)
        })
        .buffer_unordered(CONCURRENCY);
    while let Some(sent) = played.next().await {
        commands += sent?;
        bar.inc(1);
    }
    drop(played);
    let mut played = futures::stream::iter(&plan.workshops)
        .map(|workshop| play_workshop(client.clone(), &seed, workshop))
        .buffer_unordered(CONCURRENCY);
    while let Some(sent) = played.next().await {
        commands += sent?;
        bar.inc(1);
    }
    drop(played);
    let mut played = futures::stream::iter(&plan.posts)
        .map(|post| {
            let person = person_ids.get(&post.holder_citizen_id).cloned();
            play_post(client.clone(), &seed, post, person)
        })
        .buffer_unordered(CONCURRENCY);
    while let Some(sent) = played.next().await {
        commands += sent?;
        bar.inc(1);
    }
    drop(played);
    bar.finish_and_clear();
    let play_time = started.elapsed();

    let views = EmploymentQueryServiceClient::new(channel);
    let started = Instant::now();
    let mut matched_at = None;
    let spinner = progress::waiting("waiting for the employment views to show the plans".into());
    let (observed_employed, observed_follow_up_queue) = loop {
        let employed = employed_scale(&views, plan.expected.month).await?;
        let queue = follow_up_queue(&views, today).await?;
        if employed == plan.expected.employed && matched_at.is_none() {
            matched_at = Some(started.elapsed());
        }
        if let Some(at) = matched_at {
            if queue == plan.expected.follow_up_queue || started.elapsed() > at + QUEUE_GRACE {
                break (employed, queue);
            }
        }
        anyhow::ensure!(
            started.elapsed() <= CONVERGENCE_TIMEOUT,
            "the employed scale of {} did not reach the expected {} within {}s (observed {}); \
             does the employment service hold other data?",
            plan.expected.month,
            plan.expected.employed,
            CONVERGENCE_TIMEOUT.as_secs(),
            employed
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    spinner.finish_and_clear();
    Ok(EmploymentReport {
        expected: plan.expected.clone(),
        observed_employed,
        observed_follow_up_queue,
        commands,
        play_time,
        convergence_time: matched_at.unwrap_or_default(),
    })
}

/// `EmployedScale` of `month`, no filters.
async fn employed_scale(
    views: &EmploymentQueryServiceClient<Channel>,
    month: NaiveDate,
) -> anyhow::Result<i64> {
    let request = EmployedScaleRequest {
        month: Some(civil_date(month)),
        ..Default::default()
    };
    let response = with_retries(|| {
        let (mut views, request) = (views.clone(), request.clone());
        async move { views.employed_scale(request).await }
    })
    .await
    .map_err(|e| e.into_anyhow("EmployedScale"))?;
    Ok(response.employed)
}

/// Rows of the follow-up queue on `as_of` with [`FOLLOW_UP_DAYS`], over every page.
async fn follow_up_queue(
    views: &EmploymentQueryServiceClient<Channel>,
    as_of: NaiveDate,
) -> anyhow::Result<i64> {
    let mut rows = 0;
    let mut page_token = String::new();
    loop {
        let request = FollowUpQueueRequest {
            as_of: Some(civil_date(as_of)),
            follow_up_days: Some(FOLLOW_UP_DAYS as i32),
            overdue_only: true,
            page_size: 1000,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let response = with_retries(|| {
            let (mut views, request) = (views.clone(), request.clone());
            async move { views.follow_up_queue(request).await }
        })
        .await
        .map_err(|e| e.into_anyhow("FollowUpQueue"))?;
        rows += response.rows.len() as i64;
        if response.next_page_token.is_empty() {
            return Ok(rows);
        }
        page_token = response.next_page_token;
    }
}

/// Sends one command with the person patience, naming it in the error.
async fn send<T, F, Fut>(what: impl FnOnce() -> String, call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    with_retries_patient(PERSON_PATIENCE, call)
        .await
        .map_err(|e: CallError| e.into_anyhow(&what()))
}

/// The worker's spells in order: start, end, follow-up. Returns the commands sent.
async fn play_worker(
    client: EmploymentServiceClient<Channel>,
    seed: &str,
    worker: &WorkerPlan,
    person_id: Option<String>,
) -> anyhow::Result<usize> {
    let person_id = person_id.with_context(|| {
        format!(
            "worker of household {} has no person id",
            worker.household_ref
        )
    })?;
    let mut sent = 0;
    for spell in &worker.spells {
        let id = |step: &str| command_id(&["demo-employment", seed, &spell.spell_ref, step]);
        let what = |step: &str| {
            format!(
                "spell {} of household {} ({step})",
                spell.spell_ref, worker.household_ref
            )
        };
        let spell_id = id("spell-id");
        let start = StartSpellRequest {
            command_id: id("start"),
            spell_id: spell_id.clone(),
            person_id: person_id.clone(),
            terms: Some(SpellTerms {
                employer_uscc: spell.employer_uscc.clone(),
                place_of_work: spell.place_of_work.clone(),
                location_class: spell.location_class as i32,
                channel: spell.channel as i32,
                start_date: Some(civil_date(spell.start)),
                monthly_income_fen: spell.monthly_income_fen,
                evidence: spell.evidence as i32,
            }),
        };
        send(
            || what("start"),
            || {
                let (mut client, request) = (client.clone(), start.clone());
                async move { client.start_spell(request).await }
            },
        )
        .await?;
        sent += 1;
        let Some((end_date, reason)) = spell.end else {
            continue;
        };
        let end = EndSpellRequest {
            command_id: id("end"),
            spell_id,
            end_date: Some(civil_date(end_date)),
            reason: reason as i32,
        };
        send(
            || what("end"),
            || {
                let (mut client, request) = (client.clone(), end.clone());
                async move { client.end_spell(request).await }
            },
        )
        .await?;
        sent += 1;
        if let Some(visit) = &spell.follow_up {
            let request = RecordFollowUpRequest {
                command_id: id("follow-up"),
                person_id: person_id.clone(),
                date: Some(civil_date(visit.date)),
                channel: visit.channel as i32,
                outcome: visit.outcome as i32,
            };
            send(
                || what("follow-up"),
                || {
                    let (mut client, request) = (client.clone(), request.clone());
                    async move { client.record_follow_up(request).await }
                },
            )
            .await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// Registers, classifies and reports the workers of one workshop. Returns the commands sent.
async fn play_workshop(
    client: EmploymentServiceClient<Channel>,
    seed: &str,
    workshop: &WorkshopPlan,
) -> anyhow::Result<usize> {
    let id = |step: &str| command_id(&["demo-employment", seed, &workshop.workshop_ref, step]);
    let what = |step: &str| format!("workshop {} ({step})", workshop.workshop_ref);
    let workshop_id = id("workshop-id");
    let register = RegisterWorkshopRequest {
        command_id: id("register"),
        workshop_id: workshop_id.clone(),
        name: workshop.name.clone(),
        workshop_type: workshop.workshop_type as i32,
        county_code: workshop.county_code.clone(),
        registered_on: Some(civil_date(workshop.registered_on)),
    };
    send(
        || what("register"),
        || {
            let (mut client, request) = (client.clone(), register.clone());
            async move { client.register_workshop(request).await }
        },
    )
    .await?;
    let classify = ClassifyWorkshopRequest {
        command_id: id("classify"),
        workshop_id: workshop_id.clone(),
        class: workshop.class as i32,
        on: Some(civil_date(workshop.classified_on)),
    };
    send(
        || what("classify"),
        || {
            let (mut client, request) = (client.clone(), classify.clone());
            async move { client.classify_workshop(request).await }
        },
    )
    .await?;
    for (month, workers) in &workshop.reports {
        let report = ReportWorkshopWorkersRequest {
            command_id: id(&format!("report-{month}")),
            workshop_id: workshop_id.clone(),
            month: Some(civil_date(*month)),
            workers: *workers,
        };
        send(
            || what(&format!("report {month}")),
            || {
                let (mut client, request) = (client.clone(), report.clone());
                async move { client.report_workshop_workers(request).await }
            },
        )
        .await?;
    }
    Ok(2 + workshop.reports.len())
}

/// Creates one post, assigns its holder and records the subsidies paid. Returns the commands sent.
async fn play_post(
    client: EmploymentServiceClient<Channel>,
    seed: &str,
    post: &PostPlan,
    person_id: Option<String>,
) -> anyhow::Result<usize> {
    let person_id =
        person_id.with_context(|| format!("holder of post {} has no person id", post.post_ref))?;
    let id = |step: &str| command_id(&["demo-employment", seed, &post.post_ref, step]);
    let what = |step: &str| format!("post {} ({step})", post.post_ref);
    let post_id = id("post-id");
    let create = CreatePostRequest {
        command_id: id("create"),
        post_id: post_id.clone(),
        county_code: post.county_code.clone(),
        category: post.category as i32,
        funding_source: post.funding_source.clone(),
        monthly_subsidy_fen: post.monthly_subsidy_fen,
        term_months: post.term_months,
        starts_on: Some(civil_date(post.starts_on)),
    };
    send(
        || what("create"),
        || {
            let (mut client, request) = (client.clone(), create.clone());
            async move { client.create_post(request).await }
        },
    )
    .await?;
    let assign = AssignPostRequest {
        command_id: id("assign"),
        post_id: post_id.clone(),
        person_id,
        on: Some(civil_date(post.assigned_on)),
        age_override_reason: String::new(),
    };
    send(
        || what("assign"),
        || {
            let (mut client, request) = (client.clone(), assign.clone());
            async move { client.assign_post(request).await }
        },
    )
    .await?;
    for month in &post.paid_months {
        let pay = RecordPostSubsidyPaidRequest {
            command_id: id(&format!("paid-{month}")),
            post_id: post_id.clone(),
            month: Some(civil_date(*month)),
            amount_fen: post.monthly_subsidy_fen,
        };
        send(
            || what(&format!("subsidy {month}")),
            || {
                let (mut client, request) = (client.clone(), pay.clone());
                async move { client.record_post_subsidy_paid(request).await }
            },
        )
        .await?;
    }
    Ok(2 + post.paid_months.len())
}

impl fmt::Display for EmploymentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.expected;
        let mark = |a: i64, b: i64| if a == b { "" } else { "  ← differs" };
        writeln!(
            f,
            "{:<32} {:>10} {:>10}",
            "employment", "expected", "observed"
        )?;
        writeln!(
            f,
            "{:<32} {:>10} {:>10}{}",
            format!("employed scale {}", &e.month.to_string()[..7]),
            e.employed,
            self.observed_employed,
            mark(e.employed, self.observed_employed)
        )?;
        writeln!(
            f,
            "{:<32} {:>10} {:>10}{}",
            format!("follow-up queue (> {FOLLOW_UP_DAYS} days)"),
            e.follow_up_queue,
            self.observed_follow_up_queue,
            mark(e.follow_up_queue, self.observed_follow_up_queue)
        )?;
        for (label, value) in [
            ("spells started", e.spells_started),
            ("spells ended", e.spells_ended),
            ("follow-ups", e.follow_ups),
            ("workshops", e.workshops),
            ("public-welfare posts", e.posts),
            ("post subsidy payments", e.subsidy_payments),
        ] {
            writeln!(f, "{label:<32} {value:>10}")?;
        }
        let secs = |d: Duration| format!("{:.2}s", d.as_secs_f64());
        writeln!(
            f,
            "{:<32} {:>10}   ({} commands)",
            "employment commands",
            secs(self.play_time),
            self.commands
        )?;
        write!(
            f,
            "{:<32} {:>10}",
            "employment views caught up",
            secs(self.convergence_time)
        )
    }
}
