//! `bottomline bench` end to end on a small stack: every generated registration is counted,
//! `--registry-only` measures the registry service alone, and on PostgreSQL + Kafka the relay's
//! capacity and the raw producer are measured alike, and nothing of the run is left behind.

use bottomline::cli::bench::paced::Pacing;
use bottomline::cli::bench::suite::{self, Stack};
use bottomline::reference::ReferenceData;
use chrono::NaiveDate;

const HOUSEHOLDS: usize = 40;
const SEED: u64 = 20261129;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

/// Registrations the bench must count: its first `HOUSEHOLDS` households and their members (one
/// more household warms the stack up first, unmeasured).
fn expected_registrations(reference: &ReferenceData) -> usize {
    let population = registry_import::generate(
        SEED,
        HOUSEHOLDS + 1,
        &reference.catalog,
        &reference.key_counties,
        today(),
    );
    population.households[..HOUSEHOLDS]
        .iter()
        .map(|h| 1 + h.members.len())
        .sum()
}

/// The bench on an embedded stack of `HOUSEHOLDS` households and 4 clients.
async fn embedded_bench(
    reference: &ReferenceData,
    registry_only: bool,
    pacing: Option<Pacing>,
) -> suite::SuiteReport {
    let stack = Stack {
        database_url: None,
        kafka_brokers: None,
        registry_only,
    };
    suite::run(&stack, reference, HOUSEHOLDS, 4, SEED, today(), pacing)
        .await
        .unwrap()
}

/// Registrations and households the paced phase sends: the shortest run of households of the
/// next seed's population whose registrations reach `rate × seconds`, and the registrations
/// of its last household.
fn paced_registrations(reference: &ReferenceData, pacing: Pacing) -> (usize, usize) {
    let want = (pacing.rate * pacing.seconds) as usize;
    let population = registry_import::generate(
        SEED + 1,
        want,
        &reference.catalog,
        &reference.key_counties,
        today(),
    );
    let (mut total, mut last) = (0, 0);
    for h in &population.households {
        if total >= want {
            break;
        }
        last = 1 + h.members.len();
        total += last;
    }
    (total, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_alone_is_measured_without_read_models() {
    let reference = ReferenceData::load(None, None, None).unwrap();
    let report = embedded_bench(&reference, true, None).await;
    assert_eq!(
        report.registrations.commands,
        expected_registrations(&reference)
    );
    assert_eq!(report.registrations.refused, 0);
    assert!(report.employment.is_none());
    assert!(report.lag.is_empty() && report.projectors.is_empty());
    assert!(report.registrations.lag_events.is_none());
    // The raw gRPC baseline: as many calls and clients as the registrations, of their sizes. Every
    // request carries a 36-character command id and an 18-digit citizen id or a 12-digit
    // village code, each with its tag and length.
    let (r, g) = (&report.registrations, &report.grpc_baseline);
    assert_eq!((g.calls, g.clients), (r.commands, 4));
    assert!(r.request_bytes >= 38 + 14, "{r:?}");
    assert!(r.reply_bytes > 0, "{r:?}");
    assert!(r.request_bytes.abs_diff(g.request_bytes) <= 1, "{g:?}");
    assert!(r.reply_bytes.abs_diff(g.reply_bytes) <= 1, "{g:?}");
    assert!(report
        .ratios
        .iter()
        .any(|x| x.figure == "registrations vs raw gRPC calls"
            && x.system_per_second == r.commands_per_second
            && x.baseline_per_second == g.calls_per_second));
    let table = report.to_string();
    assert!(table.contains("the registry service alone"), "{table}");
    assert!(table.contains("baseline grpc"), "{table}");
    assert!(!table.contains("employment "), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_stack_is_measured_with_every_read_model() {
    let reference = ReferenceData::load(None, None, None).unwrap();
    // About 1,000 households over 4 streams: each stream is closed after 250 and another opened.
    let pacing = Pacing {
        rate: 2_500,
        seconds: 2,
    };
    let report = embedded_bench(&reference, false, Some(pacing)).await;
    let registrations = expected_registrations(&reference);
    assert_eq!(report.registrations.commands, registrations);
    assert!(report.employment.as_ref().is_some_and(|e| e.commands > 0));
    let lagged: Vec<_> = report.lag.iter().map(|l| l.read_model).collect();
    assert_eq!(lagged, ["mara", "employment-intake", "employment-views"]);
    // MARA sees every registration once: one lag sample per registry event of the load.
    assert_eq!(report.lag[0].events, registrations);

    // The paced phase sends its own population on schedule and its lag covers exactly it.
    let paced = report.paced.as_ref().expect("paced phase");
    let (sent, last) = paced_registrations(&reference, pacing);
    assert_eq!(paced.commands as usize, sent);
    assert_eq!(paced.refused, 0);
    // The last household leaves when the registrations before it are due.
    let last_due = (sent - last) as f64 / f64::from(pacing.rate);
    assert!(paced.sending_seconds >= last_due, "{paced:?}");
    let lagged: Vec<_> = paced.lag.iter().map(|l| (l.read_model, l.events)).collect();
    assert_eq!(lagged[0], ("mara", sent));
    assert_eq!(lagged[1], ("employment-intake", sent));
    let table = report.to_string();
    assert!(table.contains("2500 registrations/s offered"), "{table}");

    // Each phase's CPU, from two sources checked against each other and against what the
    // machine can give: this process, which ran the stack and the load, used some; never more
    // than the whole machine was busy; the machine never more than its cores. The margins: /proc
    // counts ticks of 10 ms, and a process's ticks are scaled to its exact run time while the
    // machine's are sampled, a few per cent apart.
    let phases = [
        Some(&report.registrations_cpu),
        report.employment_cpu.as_ref(),
        paced.cpu.as_ref(),
    ];
    let commands = [
        report.registrations.commands,
        report.employment.as_ref().unwrap().commands,
        paced.commands as usize,
    ];
    let margin = |seconds: f64| 1.1 * seconds + 0.05;
    for (cpu, commands) in phases.into_iter().zip(commands) {
        let cpu = cpu.expect("CPU of every phase");
        let process = cpu.process_cores.expect("Linux") * cpu.seconds;
        let machine = cpu.machine_cores.expect("Linux") * cpu.seconds;
        assert!(process > 0.0, "{cpu:?}");
        assert!(process <= margin(machine), "{cpu:?}");
        assert!(machine <= margin(cpu.cores as f64 * cpu.seconds), "{cpu:?}");
        let per_command = cpu
            .process_us_per_command
            .expect("commands were carried out");
        assert!(
            per_command > 0.0 && per_command * commands as f64 <= (process + 0.01) * 1e6,
            "{cpu:?}"
        );
    }
    assert_eq!(table.matches("µs CPU per command").count(), 3, "{table}");
}

/// On PostgreSQL + Kafka (skipped unless both are configured, failing when they must be): the
/// relay's capacity is the median of three replays, and the raw producer's records carry the
/// relay's headers, so the two are compared at the same record size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kafka_the_relay_and_the_raw_producer_are_compared_at_the_same_record_size() {
    let Some(db) = eventstore::testing::TestDatabase::postgres().await else {
        return;
    };
    let Some(brokers) = eventstore::testing::kafka_brokers() else {
        return;
    };
    let reference = ReferenceData::load(None, None, None).unwrap();
    let stack = Stack {
        database_url: Some(db.url.clone()),
        kafka_brokers: Some(brokers),
        registry_only: true,
    };
    let report = suite::run(&stack, &reference, HOUSEHOLDS, 4, SEED, today(), None)
        .await
        .unwrap();
    assert_eq!(
        report.registrations.commands,
        expected_registrations(&reference)
    );
    let relay = report.relay_replay.as_ref().expect("relay capacity");
    assert!(relay.events >= report.registrations.commands as u64);
    let runs = &report.relay_replay_runs_per_second;
    assert_eq!(runs.len(), 3);
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(relay.events_per_second, sorted[1]);
    let k = report.kafka_baseline.as_ref().expect("Kafka baseline");
    assert_eq!(k.produce_runs_per_second.len(), 3);
    assert_eq!(k.consume_runs_per_second.len(), 3);
    // The projector's raw baseline: a consumer inserting each record, three runs, the median
    // reported and compared with the projector's capacity.
    assert_eq!(k.consume_insert_runs_per_second.len(), 3);
    let mut inserting = k.consume_insert_runs_per_second.clone();
    inserting.sort_by(f64::total_cmp);
    let median = k.consume_insert.expect("consume and insert");
    assert_eq!(median.per_second, inserting[1]);
    assert!((median.records as f64 / median.seconds - median.per_second).abs() < 1e-6);
    assert!(report.ratios.iter().any(|r| r.figure
        == "projector capacity vs raw consumer inserting"
        && r.baseline_per_second == inserting[1]));
    // The CloudEvents attributes of a registry event: at least the fifteen the relay always
    // sends, several times the payload's size.
    assert!(k.headers >= 15, "{} headers", k.headers);
    assert!(k.header_bytes > k.payload_bytes, "{k:?}");
    // Nothing of the run is left beside the database it was given: neither the employment store
    // nor the replay's read model.
    let name = db.url.rsplit_once('/').unwrap().1;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let left: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)")
            .bind(format!("{name}_"))
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A database name PostgreSQL would refuse is reported as given, before anything is reached;
/// one too long only for the replay's database beside it says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_names_are_checked_as_given_then_for_the_replay() {
    let reference = ReferenceData::load(None, None, None).unwrap();
    let run = |name: String| {
        let stack = Stack {
            database_url: Some(format!("postgres://postgres@127.0.0.1:1/{name}")),
            kafka_brokers: Some("127.0.0.1:1".into()),
            registry_only: true,
        };
        let reference = &reference;
        async move {
            let Err(e) = suite::run(&stack, reference, HOUSEHOLDS, 4, SEED, today(), None).await
            else {
                panic!("ran with database {name}")
            };
            format!("{e:#}")
        }
    };
    let dashed = run("nu-dash".into()).await;
    assert!(dashed.contains("database name \"nu-dash\""), "{dashed}");
    assert!(!dashed.contains("_replay_0"), "{dashed}");
    let long = run("n".repeat(50)).await;
    assert!(
        long.starts_with("the bench's replay database is named after"),
        "{long}"
    );
    assert!(long.contains("at most 47"), "{long}");
}
