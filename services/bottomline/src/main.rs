//! `bottomline`: run the services (`up`), load data (`import`, `demo`), query MARA's read model
//! (`mara`) and measure (`bench`). See the README for the two commands that matter first.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bottomline::app::App;
use bottomline::cli::{self, EndpointArg};
use bottomline::config::{AppConfig, Service};
use bottomline::reference::ReferenceData;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use proto::mara::v1 as mara_pb;

#[derive(Parser)]
#[command(
    name = "bottomline",
    version,
    about = "Joint employment action against return to poverty: registry, read models and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the services (all of them, or those of --services) and serve gRPC until Ctrl-C.
    Up(UpArgs),
    /// Load a households/persons CSV through the registry's gRPC API.
    Import(ImportArgs),
    /// Generate a synthetic population over the key counties, import it, play monitoring cases
    /// and an employment scenario (spells, job losses, follow-ups, workshops, posts), and wait
    /// until MARA's summary and the employed scale equal the figures computed from the seed.
    /// Needs every service behind one endpoint (an `up` without --services).
    Demo(DemoArgs),
    /// Query MARA's read model.
    Mara(MaraArgs),
    /// Query the employment read models (MOHRSS and MARA views); `--watch` follows changes.
    Employment(cli::employment::EmploymentArgs),
    /// Measure the whole stack, started in this process on throw-away storage (embedded, or a
    /// PostgreSQL database + Kafka you give), through the gRPC API: commands/s, latency,
    /// end-to-end lag, relay and projector throughput, peak memory.
    Bench(BenchArgs),
    /// Resident memory of the registry and employment write models holding N persons (no store,
    /// no gRPC): the state a service keeps in memory for its whole life.
    BenchMemory(BenchMemoryArgs),
}

#[derive(Args)]
struct UpArgs {
    /// Directory for SQLite files and the id hash key.
    #[arg(long, env = "BOTTOMLINE_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// PostgreSQL URL for the event store (embedded SQLite when absent); the database is created
    /// when missing (needs the CREATEDB privilege then).
    #[arg(long, env = "BOTTOMLINE_DATABASE_URL", value_parser = database_url)]
    database_url: Option<String>,
    /// URL for read models (default: the event store's PostgreSQL database, or SQLite).
    #[arg(long, env = "BOTTOMLINE_READ_MODEL_URL", value_parser = database_url)]
    read_model_url: Option<String>,
    /// PostgreSQL URL of the employment context's own event store (default: the registry's
    /// database name plus `_employment` on the same server, created when missing).
    #[arg(long, env = "BOTTOMLINE_EMPLOYMENT_DATABASE_URL", value_parser = database_url)]
    employment_database_url: Option<String>,
    /// Days after a job loss within which a follow-up is due (default N of the follow-up queue).
    #[arg(long, env = "BOTTOMLINE_FOLLOW_UP_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=365))]
    follow_up_days: u32,
    /// Kafka bootstrap servers, e.g. 127.0.0.1:9092 (embedded bus when absent).
    #[arg(long, env = "BOTTOMLINE_KAFKA_BROKERS", value_parser = kafka_brokers)]
    kafka_brokers: Option<String>,
    /// Suffix of every topic and consumer group name, starting with `.` (e.g. `.staging`), so
    /// that several deployments can share one broker; none by default. Then letters, digits,
    /// `.`, `_`, `-`.
    #[arg(long, env = "BOTTOMLINE_KAFKA_NAMESPACE", default_value = "", value_parser = kafka_namespace)]
    kafka_namespace: String,
    /// What names this process to its Kafka consumer groups, stable across its restarts and
    /// unique among the live processes running the same services (e.g. a pod's stable name).
    /// Default: the host name and the data directory. Two live processes with one name fence
    /// each other: the broker stops the older one's consumers.
    #[arg(long, env = "BOTTOMLINE_KAFKA_INSTANCE_ID", value_parser = kafka_instance_id)]
    kafka_instance_id: Option<String>,
    /// gRPC listen address.
    #[arg(long, env = "BOTTOMLINE_LISTEN", default_value = "127.0.0.1:50051", value_parser = listen_address)]
    listen: SocketAddr,
    /// The services this process runs, comma-separated (default: all). Production runs each in
    /// its own process with PostgreSQL and Kafka; embedded, a projector in another process than
    /// its service reads that service's event store (files in the same --data-dir).
    #[arg(long, env = "BOTTOMLINE_SERVICES", value_delimiter = ',', value_name = "SERVICE,...",
          value_parser = ServiceName::new(), default_values_t = Service::ALL.to_vec(),
          hide_default_value = true)]
    services: Vec<Service>,
    #[command(flatten)]
    reference: ReferenceArgs,
}

#[derive(Args)]
struct ReferenceArgs {
    /// Division list (TSV `code<TAB>name`); the built-in December 2021 list when absent.
    #[arg(long, env = "BOTTOMLINE_DIVISIONS")]
    divisions: Option<PathBuf>,
    /// National key-county list (TSV `code name province list`); built-in when absent.
    #[arg(long, env = "BOTTOMLINE_KEY_COUNTIES")]
    key_counties: Option<PathBuf>,
    /// Provincial minimum wage table (TSV, yuan per month by tier), the basis of public-welfare
    /// post subsidy ceilings; the built-in 2023-10 table when absent.
    #[arg(long, env = "BOTTOMLINE_MINIMUM_WAGES")]
    minimum_wages: Option<PathBuf>,
}

impl ReferenceArgs {
    fn load(&self) -> anyhow::Result<ReferenceData> {
        ReferenceData::load(
            self.divisions.as_deref(),
            self.key_counties.as_deref(),
            self.minimum_wages.as_deref(),
        )
    }
}

#[derive(Args)]
struct ImportArgs {
    /// The CSV file (format: services/registry-import/FORMAT.md); `-` reads standard input.
    file: PathBuf,
    /// Where rejected rows go (default: FILE.rejects.csv; stdin.rejects.csv in the working
    /// directory when reading standard input).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Households registered in parallel (with --unary).
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    concurrency: usize,
    /// One gRPC call per household and per person instead of the client-streaming BulkRegister
    /// RPC (the default; the unary RPCs are used automatically when the registry lacks it).
    /// Same counts, reject file and exit status either way, but for one case: a household none
    /// of whose members the registry takes (each citizen ID registered before) is left out by
    /// BulkRegister, while --unary has registered it, empty, before its members were refused.
    #[arg(long)]
    unary: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    endpoint: EndpointArg,
}

#[derive(Args)]
struct DemoArgs {
    /// Households to generate.
    #[arg(long, default_value_t = 10_000)]
    households: usize,
    /// Seed: the same seed generates the same population.
    #[arg(long, default_value_t = 20231001)]
    seed: u64,
    /// "Today" for generated dates, YYYY-MM-DD (default: today in China Standard Time). At the
    /// earliest 540 days after the reference data's policy parameters all start (with the
    /// built-in data: 2025-03-24), since the demo dates employment records that far back.
    #[arg(long, value_parser = cli::parse_date)]
    today: Option<NaiveDate>,
    #[command(flatten)]
    endpoint: EndpointArg,
    #[command(flatten)]
    reference: ReferenceArgs,
}

#[derive(Args)]
struct MaraArgs {
    #[command(subcommand)]
    query: MaraQuery,
    #[command(flatten)]
    endpoint: EndpointArg,
}

#[derive(Subcommand)]
enum MaraQuery {
    /// Totals for the country, a province or a county.
    Summary {
        /// Province code, e.g. 510000.
        #[arg(long, default_value = "", hide_default_value = true)]
        province: String,
        /// County code, e.g. 513226.
        #[arg(long, default_value = "", hide_default_value = true)]
        county: String,
    },
    /// One row per county.
    Counties {
        /// Only counties of this province.
        #[arg(long, default_value = "", hide_default_value = true)]
        province: String,
        /// Only national key counties.
        #[arg(long)]
        key_only: bool,
    },
    /// Monitoring cases, optionally by stage.
    Cases {
        /// Stage, e.g. lead, registered, assisted.
        #[arg(long, value_parser = cli::mara::parse_stage)]
        stage: Option<i32>,
        #[command(flatten)]
        place: Place,
    },
    /// Cases past the 15-day identification clock.
    Overdue {
        /// Date to judge on, YYYY-MM-DD (default: today in China Standard Time).
        #[arg(long, value_parser = cli::parse_date)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        place: Place,
    },
}

/// Where to look and how much to print.
#[derive(Args)]
struct Place {
    /// Province code, e.g. 510000.
    #[arg(long, default_value = "", hide_default_value = true)]
    province: String,
    /// County code, e.g. 513226.
    #[arg(long, default_value = "", hide_default_value = true)]
    county: String,
    /// Most rows to print.
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    limit: usize,
}

#[derive(Args)]
struct BenchMemoryArgs {
    /// Persons to hold, at least: households of about four are generated in chunks of 5,000
    /// households until there are this many (the report gives the real count and bytes per person).
    #[arg(long, default_value_t = 1_000_000)]
    persons: usize,
    /// Population seed.
    #[arg(long, default_value_t = 20261129)]
    seed: u64,
    /// Only the registry's write model (what the registry service holds).
    #[arg(long)]
    registry_only: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    reference: ReferenceArgs,
}

#[derive(Args)]
struct BenchArgs {
    /// Households to register (each with its members); their labour-capable members then start
    /// a spell and one in five loses it.
    #[arg(long, default_value_t = 2_000, value_parser = at_least_one)]
    households: usize,
    /// Concurrent gRPC clients (at least 1).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    clients: u16,
    /// Population seed (default: a fresh one each run).
    #[arg(long)]
    seed: Option<u64>,
    /// PostgreSQL URL of a throw-away database for the stack under test (embedded SQLite in a
    /// temporary directory when absent). Needs --kafka-brokers too.
    #[arg(long, requires = "kafka_brokers", value_parser = postgres_url)]
    database_url: Option<String>,
    /// Kafka brokers for the stack under test (embedded bus when absent).
    #[arg(long, requires = "database_url", value_parser = kafka_brokers)]
    kafka_brokers: Option<String>,
    /// Run the registry service alone (`up --services registry`, as production deploys it):
    /// registrations, latency, its relay and the baselines; no read models, employment scenario
    /// or end-to-end lag.
    #[arg(long)]
    registry_only: bool,
    /// After everything else, offer registrations at this rate (per second, open loop) through
    /// BulkRegister streams and report the rate accepted and each read model's end-to-end lag
    /// over them: the lag target is stated at 5,000 commands/s.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    paced_rate: Option<u32>,
    /// Seconds the paced phase offers its rate for.
    #[arg(long, default_value_t = 10, requires = "paced_rate",
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    paced_seconds: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    reference: ReferenceArgs,
}

impl Place {
    fn request(&self, stage: i32) -> mara_pb::ListCasesRequest {
        mara_pb::ListCasesRequest {
            stage,
            province_code: self.province.clone(),
            county_code: self.county.clone(),
            page_size: 200,
            page_token: String::new(),
        }
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices ("relation … already exists, skipping" from the idempotent DDL
        // run at every start) are not the operator's business.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{default},sqlx::postgres::notice=warn"))
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// `host:port`, the host an address or a name (`localhost:50051`), resolved to its first
/// address.
fn listen_address(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(address) = s.parse() {
        return Ok(address);
    }
    s.to_socket_addrs()
        .map_err(|e| format!("expected host:port, e.g. 127.0.0.1:50051 ({e})"))?
        .next()
        .ok_or_else(|| format!("{s} resolves to no address"))
}

/// A count of at least 1.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A `--services` item, blanks around it ignored (`registry, mara`), then parsed as clap parses
/// a [`Service`] name (whose list the help and errors show).
#[derive(Clone)]
struct ServiceName(clap::builder::EnumValueParser<Service>);

impl ServiceName {
    fn new() -> ServiceName {
        ServiceName(clap::builder::EnumValueParser::new())
    }
}

impl clap::builder::TypedValueParser for ServiceName {
    type Value = Service;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Service, clap::Error> {
        let value = value
            .to_str()
            .map_or(value, |s| std::ffi::OsStr::new(s.trim()));
        self.0.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

/// `services` in their order of first mention, each once.
fn dedup(services: Vec<Service>) -> Vec<Service> {
    let mut once = Vec::with_capacity(services.len());
    for s in services {
        if !once.contains(&s) {
            once.push(s);
        }
    }
    once
}

fn civil(d: NaiveDate) -> proto::common::v1::CivilDate {
    registry_import::convert::civil_date(d)
}

/// Exit status of an import that rejected rows (the rest landed).
const EXIT_REJECTED_ROWS: u8 = 2;

/// mimalloc instead of glibc's allocator: under load glibc's `malloc`/`free` (with its
/// consolidation of freed chunks) took about a quarter of the process's CPU time, the many small
/// allocations of gRPC, Kafka records and statements crossing threads. With mimalloc the whole
/// stack on PostgreSQL + Kafka took about a fifth more registrations per second
/// (docs/performance.md, "Tenth pass").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option `purge_delay`, by its number in `mi_option_e` (mimalloc.h of mimalloc v2
/// and v3, v3 being the one built): milliseconds before memory freed is returned to the
/// operating system (1,000 by default in v3). libmimalloc-sys exposes no constant for it; the
/// assertion below fails the build if its successor, `use_numa_nodes`, ever moves.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const _: () = assert!(MI_OPTION_PURGE_DELAY + 1 == libmimalloc_sys::mi_option_use_numa_nodes);

/// Memory freed is returned to the operating system at once, as glibc does with large blocks,
/// unless `MIMALLOC_PURGE_DELAY` says otherwise. With the default delay the registry's write
/// model at 1,000,000 persons stayed at 466 MiB resident instead of 361 MiB (the tables a
/// growing hash map left behind), too close to the 500 MB the registry service may use; at
/// once, 357 MiB, at no cost in throughput measured. Called first thing in `main`, before any
/// other thread exists: mimalloc's options are not thread-safe. The services' one `unsafe`
/// call (`unsafe_code` is denied elsewhere).
#[allow(unsafe_code)]
fn return_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets a plain option of the allocator, before any other thread could allocate.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

fn main() -> ExitCode {
    return_freed_memory_at_once();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cli::describe_error(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(a) => {
            init_tracing("info");
            let config = AppConfig {
                data_dir: a.data_dir,
                database_url: a.database_url,
                read_model_url: a.read_model_url,
                employment_database_url: a.employment_database_url,
                kafka_brokers: a.kafka_brokers,
                kafka_namespace: a.kafka_namespace,
                kafka_instance_id: a.kafka_instance_id,
                listen: a.listen,
                divisions: a.reference.divisions,
                key_counties: a.reference.key_counties,
                minimum_wages: a.reference.minimum_wages,
                follow_up_days: a.follow_up_days,
                services: dedup(a.services),
            };
            let app = App::build(config).await?;
            println!("bottomline is up");
            for line in app.describe() {
                println!("  {line}");
            }
            println!("press Ctrl-C to stop");
            app.run_until_stopped(cli::stop_signal()).await;
            println!("stopped");
        }
        Command::Import(a) => {
            init_tracing("warn");
            let stdin = a.file.as_os_str() == "-";
            let rejects_path = a.rejects.unwrap_or_else(|| {
                let mut p = if stdin {
                    "stdin".into()
                } else {
                    a.file.clone().into_os_string()
                };
                p.push(".rejects.csv");
                p.into()
            });
            let input: Box<dyn std::io::Read> = if stdin {
                Box::new(std::io::stdin())
            } else {
                Box::new(
                    std::fs::File::open(&a.file)
                        .with_context(|| format!("opening {}", a.file.display()))?,
                )
            };
            let rejects = cli::CreateOnWrite::new(&rejects_path);
            rejects.check(&a.file).context("--rejects")?;
            let channel = cli::connect(&a.endpoint.endpoint).await?;
            let options = registry_import::ImportOptions {
                concurrency: a.concurrency,
                bulk: !a.unary,
                progress: !a.quiet,
                source_name: if stdin {
                    "standard input".into()
                } else {
                    a.file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                },
            };
            let client =
                proto::registry::v1::registry_service_client::RegistryServiceClient::new(channel);
            let summary = registry_import::import_csv(client, input, rejects, &options).await?;
            cli::out!("{summary}");
            if summary.rejected > 0 {
                cli::out!("rejected rows with reasons: {}", rejects_path.display());
                return Ok(ExitCode::from(EXIT_REJECTED_ROWS));
            }
        }
        Command::Demo(a) => {
            init_tracing("warn");
            let reference = a.reference.load()?;
            let real_today = registry::service::today_in_china();
            let today = a.today.unwrap_or(real_today);
            // The employment plan dates records up to LOOKBACK_DAYS before `today`, and each
            // must fall where the reference data's policy parameters (post subsidy bands from
            // the minimum wage table, age rules, targets) have a value.
            let lookback = registry_import::employment_plan::LOOKBACK_DAYS;
            let policy_from = reference.policy.complete_from().context(
                "the reference data leaves a policy parameter without any value, so the demo's \
                 employment records cannot be checked",
            )?;
            let earliest = policy_from + chrono::Days::new(lookback);
            anyhow::ensure!(
                (earliest..=real_today).contains(&today),
                "--today {today}: must be from {earliest} to today in China ({real_today}): the \
                 demo dates employment records up to {lookback} days before --today, and the \
                 policy parameters of the reference data (post subsidy bands from the minimum \
                 wages, age rules, targets) start on {policy_from}; the registry refuses dates \
                 after its today"
            );
            let report = registry_import::run_demo(
                cli::connect(&a.endpoint.endpoint).await?,
                a.seed,
                a.households,
                &reference.catalog,
                &reference.key_counties,
                today,
            )
            .await?;
            cli::out!("{report}");
        }
        Command::Mara(a) => {
            init_tracing("warn");
            let channel = cli::connect(&a.endpoint.endpoint).await?;
            match a.query {
                MaraQuery::Summary { province, county } => {
                    cli::mara::summary(channel, province, county).await?
                }
                MaraQuery::Counties { province, key_only } => {
                    cli::mara::counties(channel, province, key_only).await?
                }
                MaraQuery::Cases { stage, place } => {
                    let request = place.request(stage.unwrap_or(0));
                    cli::mara::cases(channel, request, None, place.limit).await?
                }
                MaraQuery::Overdue { as_of, place } => {
                    let request = place.request(0);
                    cli::mara::cases(channel, request, Some(as_of.map(civil)), place.limit).await?
                }
            }
        }
        Command::Employment(a) => {
            init_tracing("warn");
            cli::employment::run(a).await?;
        }
        Command::BenchMemory(a) => {
            init_tracing("warn");
            let reference = a.reference.load()?;
            let today = registry::service::today_in_china();
            let report =
                cli::bench::memory::run(&reference, a.persons, a.seed, today, a.registry_only)?;
            if a.json {
                cli::out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                cli::out!("{}", report.to_string().trim_end());
            }
        }
        Command::Bench(a) => {
            init_tracing("warn");
            let reference = a.reference.load()?;
            let today = registry::service::today_in_china();
            let seed = a.seed.unwrap_or_else(|| {
                u64::from_le_bytes(
                    uuid::Uuid::new_v4().as_bytes()[..8]
                        .try_into()
                        .expect("8 bytes"),
                )
            });
            let stack = cli::bench::suite::Stack {
                database_url: a.database_url,
                kafka_brokers: a.kafka_brokers,
                registry_only: a.registry_only,
            };
            if let Some(rate) = a.paced_rate {
                let total = u64::from(rate) * u64::from(a.paced_seconds);
                anyhow::ensure!(
                    total <= MAX_PACED_REGISTRATIONS,
                    "--paced-rate {rate} for --paced-seconds {} offers {total} registrations; at \
                     most {MAX_PACED_REGISTRATIONS} (the population is held in memory)",
                    a.paced_seconds
                );
            }
            let report = cli::bench::suite::run(
                &stack,
                &reference,
                a.households,
                usize::from(a.clients),
                seed,
                today,
                a.paced_rate.map(|rate| cli::bench::paced::Pacing {
                    rate,
                    seconds: a.paced_seconds,
                }),
            )
            .await?;
            if a.json {
                cli::out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                cli::out!("{}", report.to_string().trim_end());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Most registrations the bench's paced phase may offer (`--paced-rate` × `--paced-seconds`):
/// about 400,000 generated households held in memory.
const MAX_PACED_REGISTRATIONS: u64 = 2_000_000;

/// A database URL `up` can open: `postgres://`, `postgresql://` or `sqlite:` (checked when the
/// arguments are read, so that nothing is created for a URL that cannot be opened).
fn database_url(s: &str) -> Result<String, String> {
    match eventstore::Backend::of_url(s) {
        Some(_) => Ok(s.to_string()),
        None => Err(
            "must be a PostgreSQL URL (postgres://user@host:port/database) or a SQLite one \
                     (sqlite:FILE); leave it out, and its environment variable unset, for the \
                     embedded SQLite files in --data-dir"
                .into(),
        ),
    }
}

/// A `postgres://` or `postgresql://` URL (the bench's PostgreSQL + Kafka stack).
fn postgres_url(s: &str) -> Result<String, String> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        Ok(s.to_string())
    } else {
        Err("must be a PostgreSQL URL (postgres://user@host:port/database); without it the bench runs embedded on SQLite".into())
    }
}

/// A broker list, `host[:port][,host[:port]…]` as librdkafka reads `bootstrap.servers`: none of
/// its entries blank, a port a number from 1 to 65535 (an IPv6 address in brackets:
/// `[::1]:9092`), and a scheme, if any, `PLAINTEXT://`, the only security protocol the services
/// speak (librdkafka refuses a scheme other than the client's protocol). `http://…` and the
/// like are refused here rather than tried for 15 s.
fn kafka_brokers(s: &str) -> Result<String, String> {
    for broker in s.split(',').map(str::trim) {
        if broker.is_empty() {
            return Err(
                "must list brokers as host:port, comma-separated, none of them empty".into(),
            );
        }
        let address = match broker.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("PLAINTEXT") => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "broker {broker:?}: {scheme}:// is not supported; give host:port (or \
                     PLAINTEXT://host:port: the services speak Kafka's plaintext protocol only)"
                ))
            }
            None => broker,
        };
        let (host, port) = match address.strip_prefix('[') {
            // [IPv6] or [IPv6]:port
            Some(bracketed) => match bracketed.split_once(']') {
                Some((ip, "")) => (ip, None),
                Some((ip, rest)) => (ip, Some(rest.strip_prefix(':').unwrap_or(rest))),
                None => ("", None),
            },
            None => match address.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (address, None),
            },
        };
        let bracketed = address.starts_with('[');
        let bad = |c: char| c == '/' || c == ';' || c.is_whitespace() || (c == ':' && !bracketed);
        if host.is_empty() || host.contains(bad) {
            return Err(format!(
                "broker {broker:?}: must be host:port (an IPv6 address in brackets: [::1]:9092)"
            ));
        }
        if let Some(port) = port {
            if !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
                return Err(format!(
                    "broker {broker:?}: port {port:?} is not a number from 1 to 65535"
                ));
            }
        }
    }
    Ok(s.to_string())
}

/// A Kafka instance name: not empty, at most 200 characters, no control characters.
fn kafka_instance_id(s: &str) -> Result<String, String> {
    if s.trim().is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err("must be 1 to 200 characters, without control characters".into());
    }
    Ok(s.to_string())
}

/// A suffix for Kafka topic and group names: empty, or `.` then at most 99 of `[A-Za-z0-9._-]`.
fn kafka_namespace(s: &str) -> Result<String, String> {
    let valid = s.is_empty()
        || (s.starts_with('.')
            && s.len() <= 100
            && s[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
    if valid {
        Ok(s.to_string())
    } else {
        Err(
            "must start with '.' and go on with at most 99 letters, digits, '.', '_' or '-' \
             (it ends topic names: bottomline.registry.events.v1.staging)"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(arg: &str) -> Result<Vec<Service>, clap::Error> {
        match Cli::try_parse_from(["bottomline", "up", "--services", arg])?.command {
            Command::Up(up) => Ok(up.services),
            _ => unreachable!("parsed as up"),
        }
    }

    #[test]
    fn an_empty_broker_list_is_refused() {
        for brokers in ["", " ", "127.0.0.1:9092,", "a:1,,b:2"] {
            let parsed = Cli::try_parse_from(["bottomline", "up", "--kafka-brokers", brokers]);
            let error = parsed.err().expect(brokers).to_string();
            assert!(error.contains("none of them empty"), "{error}");
        }
        assert!(Cli::try_parse_from(["bottomline", "up", "--kafka-brokers", "a:1,b:2"]).is_ok());
    }

    #[test]
    fn a_broker_that_is_no_kafka_address_is_refused_at_once() {
        let parse = |brokers: &str| {
            Cli::try_parse_from(["bottomline", "up", "--kafka-brokers", brokers])
                .err()
                .map(|e| e.to_string())
        };
        for (bad, says) in [
            ("http://127.0.0.1:9092", "http:// is not supported"),
            ("a:1,https://b:2", "https:// is not supported"),
            ("SASL_SSL://b.example:9093", "plaintext protocol only"),
            ("[::1", "must be host:port"),
            ("::1:9092", "in brackets"),
            ("127.0.0.1:9092:7", "must be host:port"),
            ("h :9092", "must be host:port"),
            ("h:1;b:2", "must be host:port"),
            ("127.0.0.1:kafka", "port \"kafka\" is not a number"),
            ("127.0.0.1:0", "from 1 to 65535"),
            ("127.0.0.1:70000", "from 1 to 65535"),
            (":9092", "must be host:port"),
            ("h:1/path", "is not a number"),
        ] {
            let error = parse(bad).expect(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
        for good in [
            "localhost",
            "127.0.0.1:9092",
            "PLAINTEXT://127.0.0.1:9092,plaintext://b.example:9093",
            "[::1]:9092",
            "[::1]",
        ] {
            assert_eq!(parse(good), None, "{good}");
        }
    }

    #[test]
    fn a_kafka_instance_id_is_taken_as_given_and_an_empty_one_refused() {
        let parse = |id: &str| Cli::try_parse_from(["bottomline", "up", "--kafka-instance-id", id]);
        match parse("bottomline-mara-0").unwrap().command {
            Command::Up(up) => {
                assert_eq!(up.kafka_instance_id.as_deref(), Some("bottomline-mara-0"))
            }
            _ => unreachable!("parsed as up"),
        }
        for bad in ["", " ", "a\nb"] {
            let error = parse(bad).err().expect(bad).to_string();
            assert!(error.contains("1 to 200 characters"), "{error}");
        }
    }

    #[test]
    fn services_are_read_with_blanks_around_names() {
        assert_eq!(
            services("registry, mara ,employment-views").unwrap(),
            [Service::Registry, Service::Mara, Service::EmploymentViews]
        );
    }

    #[test]
    fn an_unknown_service_is_named_with_the_possible_ones() {
        let error = services("registry, ledger").unwrap_err().to_string();
        assert!(error.contains("'ledger'"), "{error}");
        assert!(
            error.contains("registry, employment, mara, employment-views"),
            "{error}"
        );
    }
}
