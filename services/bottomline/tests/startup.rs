//! What `up` refuses to start with: a data directory already in use, an id hash key other
//! than the one the event store's hashes were made with, a port in use and a PostgreSQL server
//! that does not answer — the last two before anything is created.

use bottomline::app::App;
use bottomline::config::AppConfig;

fn config(dir: &std::path::Path) -> AppConfig {
    AppConfig::embedded(dir, "127.0.0.1:0".parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_serves_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let first = App::build(config(dir.path())).await.unwrap();
    let Err(e) = App::build(config(dir.path())).await else {
        panic!("second app started")
    };
    assert!(
        format!("{e:#}").contains("in use by another bottomline process"),
        "{e:#}"
    );
    // Started the same way again (same port too), it is the directory that is named.
    let same = AppConfig::embedded(dir.path(), first.local_addr());
    let Err(e) = App::build(same).await else {
        panic!("second app started on the same port")
    };
    assert!(
        format!("{e:#}").contains("in use by another bottomline process"),
        "{e:#}"
    );
    first.stop().await;
    App::build(config(dir.path())).await.unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_or_lost_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    App::build(config(dir.path())).await.unwrap().stop().await;
    let key = dir.path().join("id-hash.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let Err(e) = App::build(config(dir.path())).await else {
        panic!("started with another key")
    };
    assert!(
        format!("{e:#}").contains("id hash key does not match"),
        "{e:#}"
    );
    std::fs::remove_file(&key).unwrap();
    let Err(e) = App::build(config(dir.path())).await else {
        panic!("started with a new key")
    };
    assert!(
        format!("{e:#}").contains("id hash key does not match"),
        "{e:#}"
    );
}

/// Starts on a data directory that does not exist yet, configured by `adjust`, expecting a
/// refusal: checks that no data directory is left and returns the error's message.
async fn refused_in_a_new_directory(adjust: impl FnOnce(&mut AppConfig)) -> String {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let mut config = config(&dir);
    adjust(&mut config);
    let Err(e) = App::build(config).await else {
        panic!("started")
    };
    assert!(
        !dir.exists(),
        "the data directory was left: {:?}",
        std::fs::read_dir(&dir).map(|d| d.count())
    );
    format!("{e:#}")
}

/// Reference data that cannot be read: a refusal that comes after the data directory was made
/// and locked.
fn unreadable_divisions(config: &mut AppConfig) {
    config.divisions = Some("/nonexistent/divisions.tsv".into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_refused_before_the_data_directory_is_made() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let message = refused_in_a_new_directory(|c| c.listen = taken.local_addr().unwrap()).await;
    assert!(message.contains("binding 127.0.0.1:"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_server_that_refuses_is_named_at_once_and_nothing_is_made() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let message = refused_in_a_new_directory(|c| {
        c.database_url = Some(format!("postgres://postgres@127.0.0.1:{port}/bl"));
    })
    .await;
    assert!(
        message.contains(&format!(
            "connecting to postgres://postgres@127.0.0.1:{port}/bl"
        )),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    assert!(
        started.elapsed() < eventstore::backend::CONNECT_TIMEOUT,
        "a refused connection was retried: {:?}",
        started.elapsed()
    );
}

/// Starts on a database URL (`query` appended) whose port is served by a fake server that reads
/// the client's first message, answers it with `reply` and closes the connection (reading what
/// comes after, so that the close is an orderly end of stream and not a reset); returns the
/// refusal's message.
async fn refused_by_a_stranger(reply: &'static [u8], query: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(reply).await;
                let _ = socket.shutdown().await;
                let drain =
                    async { while matches!(socket.read(&mut request).await, Ok(n) if n > 0) {} };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
            });
        }
    });
    let message = refused_in_a_new_directory(|c| {
        c.database_url = Some(format!("postgres://postgres@127.0.0.1:{port}/bl{query}"));
    })
    .await;
    server.abort();
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_url_naming_another_kind_of_server_says_so() {
    // An HTTP server (a gRPC port answers HTTP/1 alike), asked for TLS first or not.
    let http = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
    for query in ["", "?sslmode=disable"] {
        let message = refused_by_a_stranger(http, query).await;
        assert!(
            message.contains("does not speak PostgreSQL's protocol (is this port PostgreSQL's?)"),
            "{query}: {message}"
        );
    }
    // Without TLS sqlx reads `H` as a message type and "TTP/" as its length.
    let message = refused_by_a_stranger(http, "?sslmode=disable").await;
    assert!(
        message.contains("expected to read 1414811696 bytes"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_port_that_closes_without_a_word_is_told_apart() {
    for query in ["", "?sslmode=disable"] {
        let message = refused_by_a_stranger(b"", query).await;
        assert!(
            message.contains("closed the connection without answering"),
            "{query}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_name_postgres_would_cut_is_refused_before_anything_is_made() {
    // 60 characters: the employment store's `<name>_employment` would be cut at 63 and could
    // become another database. No server is asked (port 1).
    let name = format!("bl_{}", "x".repeat(57));
    let message = refused_in_a_new_directory(|c| {
        c.database_url = Some(format!("postgres://postgres@127.0.0.1:1/{name}"));
    })
    .await;
    assert!(
        message.contains(&format!("{name}_employment")) && message.contains("cuts names at 63"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_database_for_both_event_stores_is_refused_before_anything_is_made() {
    // No server is asked (port 1).
    let url = "postgres://postgres@127.0.0.1:1/bl_both".to_string();
    let message = refused_in_a_new_directory(|c| {
        c.database_url = Some(url.clone());
        c.employment_database_url = Some(url.clone());
    })
    .await;
    assert!(
        message.contains("--employment-database-url names the registry's database"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_side_without_its_store_is_refused_before_anything_is_made() {
    // MARA alone, embedded, with no registry store to follow.
    let message =
        refused_in_a_new_directory(|c| c.services = vec![bottomline::config::Service::Mara]).await;
    assert!(message.contains("no registry event store"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_fails_in_a_new_directory_leaves_no_directory() {
    let message = refused_in_a_new_directory(unreadable_divisions).await;
    assert!(message.contains("/nonexistent/divisions.tsv"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_fails_in_a_directory_it_did_not_create_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    unreadable_divisions(&mut config);
    assert!(App::build(config).await.is_err());
    assert!(dir.path().is_dir(), "a directory that existed was removed");
}

/// Adds a dedupe watermark for `source` to the MARA read model of `config`, as following that
/// source would have.
async fn followed(config: &AppConfig, source: &str) {
    let (pool, _) = eventstore::backend::connect(&config.read_model_url(), 1)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO projector_watermarks (projector, source, position) VALUES ('mara', $1, 5)",
    )
    .bind(source)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_is_not_fed_from_other_sources_than_it_followed() {
    // Built from the event store (embedded), then started with Kafka: refused before any
    // topic is created or consumed.
    if let Some(brokers) = eventstore::testing::kafka_brokers() {
        let dir = tempfile::tempdir().unwrap();
        App::build(config(dir.path())).await.unwrap().stop().await;
        followed(&config(dir.path()), "store:registry").await;
        let mut kafka = config(dir.path());
        kafka.kafka_brokers = Some(brokers);
        kafka.kafka_namespace = format!(".test-{}", uuid::Uuid::new_v4().simple());
        let Err(e) = App::build(kafka).await else {
            panic!("a read model built from the event store was fed from Kafka")
        };
        let e = format!("{e:#}");
        assert!(e.contains("the mara read model at"), "{e}");
        assert!(e.contains("[\"store:registry\"]"), "{e}");
        assert!(e.contains("bottomline.registry.events.v1.test-"), "{e}");
        // Embedded again, as before: it starts.
        App::build(config(dir.path())).await.unwrap().stop().await;
    }

    // Built from Kafka, then started embedded: refused too.
    let dir = tempfile::tempdir().unwrap();
    App::build(config(dir.path())).await.unwrap().stop().await;
    followed(&config(dir.path()), "bottomline.registry.events.v1:2").await;
    let Err(e) = App::build(config(dir.path())).await else {
        panic!("a read model built from Kafka was fed from the event store")
    };
    assert!(format!("{e:#}").contains("store:registry"), "{e:#}");
    assert!(format!("{e:#}").contains("--read-model-url"), "{e:#}");
}
