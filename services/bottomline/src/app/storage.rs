//! Storage chores of `up`: the per-service lock in the data directory, creating a PostgreSQL
//! database on first start, and URLs without passwords for logs.

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
    let path = dir.join(format!("{}.lock", service.name()));
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

/// Creates the PostgreSQL database of `url` when it does not exist, connecting through `existing`
/// (a database on the same server that does). Needs the CREATEDB privilege the first time only.
pub(crate) async fn ensure_postgres_database(existing: &str, url: &str) -> anyhow::Result<()> {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let name = base.rsplit_once('/').map_or("", |(_, name)| name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        anyhow::bail!(
            "database name {name:?} in {} must be letters, digits and _",
            redact(url)
        );
    }
    let (pool, _) = eventstore::backend::connect(existing, 1)
        .await
        .with_context(|| format!("connecting to {}", redact(existing)))?;
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM pg_database WHERE datname = $1")
            .bind(name.to_string())
            .fetch_optional(&pool)
            .await?;
    if found.is_none() {
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
        {
            // Another process may have created it in the meantime.
            let again: Option<(i64,)> =
                sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM pg_database WHERE datname = $1")
                    .bind(name.to_string())
                    .fetch_optional(&pool)
                    .await?;
            if again.is_none() {
                return Err(e).with_context(|| format!("creating database {name}"));
            }
        }
    }
    pool.close().await;
    Ok(())
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
