//! Storage chores of `up`: the per-service lock in the data directory, creating a PostgreSQL
//! database on first start (and dropping the bench's throw-away ones), and URLs without
//! passwords for logs.

use anyhow::Context;

use crate::config::Service;

/// Takes `service`'s lock file in the data directory (`<service>.lock`): a second process running
/// the same service there would rebuild a second write model over the same store and race it, or
/// project into the same read model twice. Processes running other services may share the
/// directory.
pub(crate) fn lock_service(
    dir: &std::path::Path,
    service: Service,
) -> anyhow::Result<std::fs::File> {
    let path = lock_path(dir, service);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another bottomline process running the {} service",
            dir.display(),
            service.name()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// `<dir>/<service>.lock`.
fn lock_path(dir: &std::path::Path, service: Service) -> std::path::PathBuf {
    dir.join(format!("{}.lock", service.name()))
}

/// The data directory of a starting process and the service locks it holds there. Dropped
/// before [`DataDir::keep`] (the start failed), it removes the lock files it holds, while it still
/// holds them, and then the directory if this process created it and nothing else is in it.
pub(crate) struct DataDir {
    dir: std::path::PathBuf,
    created: bool,
    locks: Vec<(std::path::PathBuf, std::fs::File)>,
    kept: bool,
}

impl DataDir {
    /// The directory `dir`, not created or locked yet.
    pub(crate) fn new(dir: &std::path::Path) -> DataDir {
        DataDir {
            dir: dir.to_path_buf(),
            created: false,
            locks: Vec::new(),
            kept: false,
        }
    }

    /// Creates the directory (and its parents) when missing; it counts as created by this
    /// process only when this call made it.
    pub(crate) fn create(&mut self) -> anyhow::Result<()> {
        let what = || format!("creating data directory {}", self.dir.display());
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(what)?;
        }
        match std::fs::create_dir(&self.dir) {
            Ok(()) => self.created = true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(what),
        }
        Ok(())
    }

    /// Takes the lock of each of `services` ([`lock_service`]).
    pub(crate) fn lock(&mut self, services: &[Service]) -> anyhow::Result<()> {
        for service in services {
            let file = lock_service(&self.dir, *service)?;
            self.locks.push((lock_path(&self.dir, *service), file));
        }
        Ok(())
    }

    /// The start succeeded: the locks, to hold for the life of the process.
    pub(crate) fn keep(mut self) -> Vec<std::fs::File> {
        self.kept = true;
        std::mem::take(&mut self.locks)
            .into_iter()
            .map(|(_, file)| file)
            .collect()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if self.created {
            for (path, _held) in &self.locks {
                if let Err(e) = std::fs::remove_file(path) {
                    tracing::warn!(path = %path.display(), error = %e, "lock file not removed");
                }
            }
        }
        self.locks.clear();
        if self.created {
            // Only an empty directory is removed: another process may have started in it.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// A projector following the event store of `service`, which another process runs, must find
/// that store, and nothing here creates it: a new empty one would silently give read models with
/// nothing in them. Embedded (SQLite), a file missing from the data directory means the two
/// processes were given different `--data-dir`s, or the service has never started; on
/// PostgreSQL, a wrong URL or the same.
pub(crate) async fn ensure_followed_store_exists(
    url: &str,
    service: Service,
) -> anyhow::Result<()> {
    match sqlite_path(url) {
        Some(path) => {
            anyhow::ensure!(
                path.exists(),
                "no {service} event store at {}: without --kafka-brokers, this process reads \
                 the {service} service's store, so start `up --services {service}` (or all \
                 services) on the same --data-dir first",
                path.display()
            );
        }
        None => anyhow::ensure!(
            database_exists(url).await?,
            "no {service} event store at {}: this process reads the {service} service's store, \
             so start `up --services {service}` (or all services) on it first, or check the URL",
            redact(url)
        ),
    }
    Ok(())
}

/// The file of a SQLite database URL (`sqlite:<path>[?<parameters>]`); `None` for another
/// database.
pub(crate) fn sqlite_path(url: &str) -> Option<&std::path::Path> {
    let path = url.strip_prefix("sqlite:")?;
    Some(std::path::Path::new(
        path.split_once('?').map_or(path, |(path, _)| path),
    ))
}

/// The part of a PostgreSQL `url` before its query string, and the database name it ends with,
/// checked to be letters, digits and `_` (the name goes into DDL, which takes no parameters).
fn database_name(url: &str) -> anyhow::Result<(&str, &str)> {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let name = base.rsplit_once('/').map_or("", |(_, name)| name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        anyhow::bail!(
            "database name {name:?} in {} must be letters, digits and _",
            redact(url)
        );
    }
    if name.len() > MAX_DATABASE_NAME {
        anyhow::bail!(
            "database name {name:?} in {} has {} characters: PostgreSQL cuts names at \
             {MAX_DATABASE_NAME} (with only a notice), and two databases could become one (the \
             employment store adds `_employment` to the name of --database-url, the bench's \
             replay `_replay_` and 8 hex digits); so --database-url's name may have at most 52 \
             characters, the bench's at most 47",
            redact(url),
            name.len()
        );
    }
    Ok((base, name))
}

/// Longest database name PostgreSQL keeps (`NAMEDATALEN` − 1 bytes); it cuts longer ones
/// with only a notice, in `CREATE DATABASE` and in connections alike.
const MAX_DATABASE_NAME: usize = 63;

/// Checks the database name of the PostgreSQL `url` as [`ensure_postgres_database`] would,
/// before anything is created: letters, digits and `_`, at most 63 characters.
pub(crate) fn check_database_name(url: &str) -> anyhow::Result<()> {
    database_name(url).map(|_| ())
}

/// Drops the PostgreSQL database of `url`, if it exists, through a connection to `via` (another
/// database of the same server). `WITH (FORCE)`: connections still open to it (a stack that
/// failed) are closed by the server.
pub(crate) async fn drop_postgres_database(via: &str, url: &str) -> anyhow::Result<()> {
    let (_, name) = database_name(url)?;
    let (pool, _) = eventstore::backend::connect(via, 1)
        .await
        .with_context(|| format!("connecting to {}", redact(via)))?;
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&pool)
        .await;
    pool.close().await;
    dropped.with_context(|| format!("dropping database {name}"))?;
    Ok(())
}

/// Creates the PostgreSQL database of `url` when it does not exist, through the same server's
/// `postgres` database (needs the CREATEDB privilege the first time only). Several processes may
/// do it at once: a database created meanwhile by another is fine.
pub(crate) async fn ensure_postgres_database(url: &str) -> anyhow::Result<()> {
    let (base, name) = database_name(url)?;
    if database_exists(url).await? {
        return Ok(());
    }
    let maintenance = format!(
        "{}/postgres{}",
        &base[..base.len() - name.len() - 1],
        &url[base.len()..]
    );
    let (pool, _) = eventstore::backend::connect(&maintenance, 1)
        .await
        .with_context(|| {
            format!(
                "database {name} does not exist, and creating it needs a connection to {}",
                redact(&maintenance)
            )
        })?;
    // Quoted: the name is kept as written (upper case too), as the URL names it.
    let created = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&pool)
        .await;
    pool.close().await;
    match created {
        Ok(_) => Ok(()),
        // Created by another process meanwhile: PostgreSQL says 42P04, or, when both ran at the
        // same moment, a unique violation of its catalog.
        Err(_) if database_exists(url).await? => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating database {name}")),
    }
}

/// Whether the PostgreSQL database of `url` exists; errors when its server does not answer or
/// refuses the connection for another reason (authentication, too many connections), naming the
/// URL without its password.
async fn database_exists(url: &str) -> anyhow::Result<bool> {
    match eventstore::backend::probe_postgres(url).await {
        Ok(()) => Ok(true),
        Err(e) if database_error_code(&e).as_deref() == Some(UNDEFINED_DATABASE) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("connecting to {}", redact(url))),
    }
}

/// SQLSTATE of a missing database (`invalid_catalog_name`).
const UNDEFINED_DATABASE: &str = "3D000";

fn database_error_code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// A database URL without its password: `user:***@` for one given before the host, and
/// `password=***` for one given as a query parameter.
pub(crate) fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &base[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme + 3], &base[at..]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    let Some(query) = query else {
        return base;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_wherever_the_url_gives_them() {
        assert_eq!(
            redact("postgres://u:s3cret@h:5432/bl?sslmode=disable"),
            "postgres://u:***@h:5432/bl?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://u@h/bl?sslmode=disable&password=s3cret&application_name=x"),
            "postgres://u@h/bl?sslmode=disable&password=***&application_name=x"
        );
        assert_eq!(
            redact("postgres://u:a@h/bl?PASSWORD=b"),
            "postgres://u:***@h/bl?PASSWORD=***"
        );
        assert_eq!(
            redact("sqlite:/data/x.db?mode=rwc"),
            "sqlite:/data/x.db?mode=rwc"
        );
    }

    /// A fresh name on the test server (`None`: PostgreSQL not configured, the test is skipped).
    async fn server_url(name: &str) -> Option<String> {
        let admin = eventstore::testing::TestDatabase::postgres().await?.url;
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string())?;
        Some(format!("{base}/{name}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_creating_one_database_at_once_all_succeed_and_case_is_kept() {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let Some(url) = server_url(&format!("Bl_Race_{suffix}")).await else {
            return;
        };
        let attempts: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { ensure_postgres_database(&url).await })
            })
            .collect();
        for attempt in attempts {
            attempt.await.unwrap().unwrap();
        }
        // Created under the name the URL gives, upper case kept.
        assert!(database_exists(&url).await.unwrap());
        let via = format!("{}/postgres", url.rsplit_once('/').unwrap().0);
        drop_postgres_database(&via, &url).await.unwrap();
        assert!(!database_exists(&url).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_followed_store_that_does_not_exist_is_named() {
        let Some(url) = server_url("bl_never_created_store").await else {
            return;
        };
        let e = ensure_followed_store_exists(&url, Service::Registry)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("no registry event store at postgres://"),
            "{e}"
        );
        assert!(!database_exists(&url).await.unwrap(), "it was created");
    }
}
