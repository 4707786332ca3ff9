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

/// After a start that failed in a data directory it had created: removes the lock files of
/// `services` and then the directory, if that left it empty (a store or key already written
/// stays, with the directory). Failures are logged, not returned: the start's error is the news.
pub(crate) fn remove_lock_files(dir: &std::path::Path, services: &[Service]) {
    for service in services {
        let path = lock_path(dir, *service);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "lock file not removed");
            }
        }
    }
    // Only an empty directory is removed.
    let _ = std::fs::remove_dir(dir);
}

/// A projector following the event store of `service`, which another process runs, must find
/// that store: an embedded (SQLite) one missing from the data directory means the two processes
/// were given different `--data-dir`s, or the service has never started — a new empty file would
/// silently give read models with nothing in them.
pub(crate) fn ensure_followed_store_exists(url: &str, service: Service) -> anyhow::Result<()> {
    let Some(path) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    anyhow::ensure!(
        std::path::Path::new(path).exists(),
        "no {service} event store at {path}: without --kafka-brokers, this process reads the \
         {service} service's store, so start `up --services {service}` (or all services) on the \
         same --data-dir first"
    );
    Ok(())
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
             {MAX_DATABASE_NAME} without a word, and two databases could become one (the \
             employment store adds `_employment` to the name of --database-url, the bench's \
             replay `_replay_` and 8 hex digits); use a shorter name",
            redact(url),
            name.len()
        );
    }
    Ok((base, name))
}

/// Longest database name PostgreSQL keeps (`NAMEDATALEN` − 1 bytes); it cuts longer ones
/// silently, in `CREATE DATABASE` and in connections alike.
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
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
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
    anyhow::ensure!(
        !name.chars().any(|c| c.is_ascii_uppercase()),
        "database {name:?} does not exist and cannot be created under that name: PostgreSQL \
         folds it to lower case ({:?}); use lower case",
        name.to_ascii_lowercase()
    );
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
    let created = sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await;
    pool.close().await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if database_error_code(&e).as_deref() == Some(DUPLICATE_DATABASE) => Ok(()),
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
/// SQLSTATE of `CREATE DATABASE` for one that exists (`duplicate_database`).
const DUPLICATE_DATABASE: &str = "42P04";

fn database_error_code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// A database URL without its password.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
