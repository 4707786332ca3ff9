//! Typed configuration of `bottomline up`: defaults < command-line flags < environment
//! (`BOTTOMLINE_*`, read by clap so each flag names its variable in `--help`).

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
    /// Kafka brokers; `None` = embedded bus (projectors read the event store directly).
    pub kafka_brokers: Option<String>,
    /// Suffix appended to topic names and consumer groups (tests use a random one).
    pub kafka_namespace: String,
    /// gRPC listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Division list file; `None` = built-in.
    pub divisions: Option<PathBuf>,
    /// Key-county list file; `None` = built-in.
    pub key_counties: Option<PathBuf>,
}

impl AppConfig {
    /// Embedded defaults under `data_dir`, listening on `listen`.
    pub fn embedded(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            read_model_url: None,
            kafka_brokers: None,
            kafka_namespace: String::new(),
            listen,
            divisions: None,
            key_counties: None,
        }
    }

    /// The event store URL in use.
    pub fn event_store_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite:{}",
                self.data_dir.join("registry-events.db").display()
            )
        })
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
