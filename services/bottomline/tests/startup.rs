//! What `up` refuses to start with: a data directory already in use, and an id hash key other
//! than the one the event store's hashes were made with.

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
