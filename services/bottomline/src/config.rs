//! Typed configuration of `bottomline up`: defaults < environment (`BOTTOMLINE_*`) < command-line
//! flags (clap reads both, so each flag names its variable in `--help`).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `up` needs. Secrets (the id hash key) live in files, never in this struct's output.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Where SQLite files and the id hash key are kept.
    pub data_dir: PathBuf,
    /// Event store URL; `None` = `sqlite:<data_dir>/registry-events.db`.
    pub database_url: Option<String>,
    /// Read-model URL; `None` = the event store's PostgreSQL database, or
    /// `sqlite:<data_dir>/read-models.db` in embedded mode.
    pub read_model_url: Option<String>,
    /// The employment context's own event store; `None` = the PostgreSQL database next to the
    /// registry's named `<name>_employment` (created when missing), or
    /// `sqlite:<data_dir>/employment-events.db` in embedded mode.
    pub employment_database_url: Option<String>,
    /// Kafka brokers; `None` = embedded bus (projectors read the event store directly).
    pub kafka_brokers: Option<String>,
    /// Suffix appended to topic names and consumer groups (tests use a random one).
    pub kafka_namespace: String,
    /// What names this process to its Kafka consumer groups (static membership); `None`: its
    /// host name and data directory.
    pub kafka_instance_id: Option<String>,
    /// gRPC listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Division list file; `None` = built-in.
    pub divisions: Option<PathBuf>,
    /// Key-county list file; `None` = built-in.
    pub key_counties: Option<PathBuf>,
    /// Provincial minimum wage table (TSV, yuan per month by tier); `None` = built-in 2023-10 table.
    pub minimum_wages: Option<PathBuf>,
    /// Default N of the follow-up queue: days after a job loss within which a follow-up is due.
    pub follow_up_days: u32,
    /// The services this process runs (default: all of them, [`Service::ALL`]).
    pub services: Vec<Service>,
}

/// A service `up` can run. Production runs each in its own process (`--services registry`, …)
/// over PostgreSQL and Kafka; the embedded default runs all of them in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// The registry command API over the registry event store, and its relay to Kafka.
    Registry,
    /// The employment command API over its own event store, its registry intake and its relay.
    Employment,
    /// MARA's read models (projector of registry events) and their query API.
    Mara,
    /// The employment read models (projector of employment events) and their query API.
    EmploymentViews,
}

impl Service {
    /// Every service, in start order.
    pub const ALL: [Service; 4] = [
        Service::Registry,
        Service::Employment,
        Service::Mara,
        Service::EmploymentViews,
    ];

    /// The name used by `--services` and in lock files: `registry`, `employment`, `mara`,
    /// `employment-views`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Registry => "registry",
            Service::Employment => "employment",
            Service::Mara => "mara",
            Service::EmploymentViews => "employment-views",
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl AppConfig {
    /// Embedded defaults under `data_dir`, listening on `listen`.
    pub fn embedded(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            read_model_url: None,
            employment_database_url: None,
            kafka_brokers: None,
            kafka_namespace: String::new(),
            kafka_instance_id: None,
            listen,
            divisions: None,
            key_counties: None,
            minimum_wages: None,
            follow_up_days: 7,
            services: Service::ALL.to_vec(),
        }
    }

    /// Whether this process runs `service`.
    pub fn runs(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    /// Whether this process opens the registry's event store: it runs the registry, or, embedded
    /// (no Kafka), a projector that follows that store (MARA, the employment service's intake).
    pub fn opens_registry_store(&self) -> bool {
        self.runs(Service::Registry)
            || self.kafka_brokers.is_none()
                && (self.runs(Service::Mara) || self.runs(Service::Employment))
    }

    /// Whether this process opens the employment event store: it runs the employment service, or,
    /// embedded, the employment views that follow that store.
    pub fn opens_employment_store(&self) -> bool {
        self.runs(Service::Employment)
            || self.kafka_brokers.is_none() && self.runs(Service::EmploymentViews)
    }

    /// The event stores this process opens without running their service (embedded projectors
    /// follow them), with that service: they must exist, as nothing here creates them.
    pub fn followed_stores(&self) -> Vec<(String, Service)> {
        let mut followed = Vec::new();
        if self.opens_registry_store() && !self.runs(Service::Registry) {
            followed.push((self.event_store_url(), Service::Registry));
        }
        if self.opens_employment_store() && !self.runs(Service::Employment) {
            followed.push((self.employment_store_url(), Service::Employment));
        }
        followed
    }

    /// Every database URL this process opens (event stores and read models), each once.
    pub fn databases(&self) -> Vec<String> {
        let mut urls = Vec::new();
        if self.opens_registry_store() {
            urls.push(self.event_store_url());
        }
        if self.opens_employment_store() {
            urls.push(self.employment_store_url());
        }
        if self.runs(Service::Mara) {
            urls.push(self.read_model_url());
        }
        if self.runs(Service::EmploymentViews) {
            urls.push(self.employment_views_url());
        }
        if self.runs(Service::Employment) {
            urls.push(self.intake_url());
        }
        urls.sort();
        urls.dedup();
        urls
    }

    /// The event store URL in use.
    pub fn event_store_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| self.embedded_store_url(Service::Registry))
    }

    /// The URL of the event store `service` writes or reads in embedded mode:
    /// `sqlite:<data_dir>/registry-events.db` (registry, MARA) or
    /// `sqlite:<data_dir>/employment-events.db` (employment and its views).
    pub fn embedded_store_url(&self, service: Service) -> String {
        let file = match service {
            Service::Registry | Service::Mara => "registry-events.db",
            Service::Employment | Service::EmploymentViews => "employment-events.db",
        };
        format!("sqlite:{}", self.data_dir.join(file).display())
    }

    /// The employment event store URL in use.
    pub fn employment_store_url(&self) -> String {
        match (&self.employment_database_url, &self.database_url) {
            (Some(url), _) => url.clone(),
            (None, Some(db)) if db.starts_with("postgres") => sibling_database(db, "_employment"),
            _ => self.embedded_store_url(Service::Employment),
        }
    }

    /// Where the registry intake of the employment service keeps its checkpoints: the read-model
    /// database on PostgreSQL, `<data_dir>/employment-intake.db` in embedded mode (the intake
    /// holds its transaction open while the employment writer records a batch of facts, and
    /// SQLite has one writer per file: sharing `read-models.db` would stall the other projectors).
    pub fn intake_url(&self) -> String {
        self.read_model_file("employment-intake.db")
    }

    /// Where the employment read models live: the read-model database on PostgreSQL,
    /// `<data_dir>/employment-views.db` in embedded mode (a SQLite file per projector, so they do
    /// not queue behind each other's write lock).
    pub fn employment_views_url(&self) -> String {
        self.read_model_file("employment-views.db")
    }

    fn read_model_file(&self, file: &str) -> String {
        let read = self.read_model_url();
        if read.starts_with("sqlite") {
            format!("sqlite:{}", self.data_dir.join(file).display())
        } else {
            read
        }
    }

    /// The read-model URL in use.
    pub fn read_model_url(&self) -> String {
        match (&self.read_model_url, &self.database_url) {
            (Some(url), _) => url.clone(),
            (None, Some(db)) if db.starts_with("postgres") => db.clone(),
            _ => format!("sqlite:{}", self.data_dir.join("read-models.db").display()),
        }
    }
}

/// The URL of the database named like the one in `url` plus `suffix`, on the same server with
/// the same credentials and parameters: `postgres://u@h/bl?x=1` → `postgres://u@h/bl_employment?x=1`.
pub fn sibling_database(url: &str, suffix: &str) -> String {
    let (base, params) = match url.split_once('?') {
        Some((base, params)) => (base, format!("?{params}")),
        None => (url, String::new()),
    };
    format!("{base}{suffix}{params}")
}

/// Whether two PostgreSQL URLs name the same database: the same host, port and database name
/// once parsed (`postgres://` or `postgresql://`, the default port written or not, other
/// parameters aside). Host names are compared as written: `localhost` and `127.0.0.1` differ.
/// URLs that do not parse, or are not PostgreSQL's, are the same only when equal.
pub fn same_postgres_database(a: &str, b: &str) -> bool {
    use std::str::FromStr as _;
    let parse = |url: &str| {
        (url.starts_with("postgres://") || url.starts_with("postgresql://"))
            .then(|| sqlx::postgres::PgConnectOptions::from_str(url).ok())
            .flatten()
            .map(|o| {
                (
                    o.get_host().to_string(),
                    o.get_port(),
                    o.get_database().map(str::to_string),
                )
            })
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_postgres_database_written_differently_is_the_same() {
        let same = [
            (
                "postgres://u@h/db",
                "postgresql://u@h:5432/db?sslmode=disable",
            ),
            ("postgres://u@h:6000/db", "postgres://other@h:6000/db"),
        ];
        for (a, b) in same {
            assert!(same_postgres_database(a, b), "{a} {b}");
        }
        let different = [
            ("postgres://u@h/db", "postgres://u@h/db_employment"),
            ("postgres://u@h/db", "postgres://u@h:6000/db"),
            ("postgres://u@h/db", "postgres://u@g/db"),
            ("sqlite:a.db", "sqlite:b.db"),
        ];
        for (a, b) in different {
            assert!(!same_postgres_database(a, b), "{a} {b}");
        }
    }

    #[test]
    fn the_employment_store_sits_beside_the_registry_store() {
        let mut config = AppConfig::embedded("/d", "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            config.employment_store_url(),
            "sqlite:/d/employment-events.db"
        );
        config.database_url = Some("postgres://u:p@h:5432/bl?sslmode=disable".into());
        assert_eq!(
            config.employment_store_url(),
            "postgres://u:p@h:5432/bl_employment?sslmode=disable"
        );
        config.employment_database_url = Some("postgres://h/other".into());
        assert_eq!(config.employment_store_url(), "postgres://h/other");
    }

    #[test]
    fn a_process_opens_the_databases_of_its_services_only() {
        let mut config = AppConfig::embedded("/d", "127.0.0.1:0".parse().unwrap());
        config.services = vec![Service::EmploymentViews];
        // Embedded, the views follow the employment store.
        assert_eq!(
            config.databases(),
            [
                "sqlite:/d/employment-events.db",
                "sqlite:/d/employment-views.db"
            ]
        );
        config.kafka_brokers = Some("127.0.0.1:9092".into());
        config.database_url = Some("postgres://h/bl".into());
        assert_eq!(config.databases(), ["postgres://h/bl"]);
        config.services = vec![Service::Registry, Service::Employment];
        assert_eq!(
            config.databases(),
            ["postgres://h/bl", "postgres://h/bl_employment"]
        );
    }
}
