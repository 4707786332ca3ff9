//! Read models kept while an event store is replaced: `up` refuses to feed them from a store
//! that ends before what they applied, and refuses to run the registry intake over an empty
//! employment store, rather than leave them showing nothing new or never recording the facts
//! again.

use bottomline::app::App;
use e2e_tests::{
    citizen_id, embedded_config, eventually, household_of_one, mara_client, registry_client, start,
    wait_for_tally, Tally,
};
use eventstore::EventStore;
use proto::registry::v1::LabourCapacity;

/// What MARA shows of [`one_household`].
const ONE_HOUSEHOLD: Tally = Tally {
    households: 1,
    persons: 1,
    labour_capable: 1,
    poverty_alleviated: 1,
};

/// Registers one household and its head in a fresh embedded stack in `dir`, waits for MARA to
/// show them and for the intake to record them in the employment store, and stops.
async fn one_household(dir: &std::path::Path) {
    let app = start(embedded_config(dir)).await;
    let endpoint = app.endpoint();
    let mut registry = registry_client(&endpoint).await;
    let head = citizen_id("150422", "19800101", 11);
    household_of_one(
        &mut registry,
        "150422101001",
        &head,
        LabourCapacity::Ordinary,
    )
    .await;
    wait_for_tally(&mut mara_client(&endpoint).await, ONE_HOUSEHOLD).await;
    let employment = format!("sqlite:{}", dir.join("employment-events.db").display());
    let employment = EventStore::open(&employment).await.unwrap();
    // The household's fact and the person's.
    eventually("the intake to record both facts", || async {
        (employment.last_position().await.unwrap() >= 2).then_some(())
    })
    .await;
    employment.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_is_not_fed_from_an_event_store_that_ends_before_it() {
    let dir = tempfile::tempdir().unwrap();
    one_household(dir.path()).await;

    // The registry store moved away, the read models kept: a start would make a new, empty
    // store. Refused, it leaves none behind, nor a write-ahead log that SQLite would replay
    // onto the store once it is put back.
    let (store, saved) = (
        dir.path().join("registry-events.db"),
        dir.path().join("saved.db"),
    );
    std::fs::rename(&store, &saved).unwrap();
    assert!(App::build(embedded_config(dir.path())).await.is_err());
    for file in [
        "registry-events.db",
        "registry-events.db-wal",
        "registry-events.db-shm",
    ] {
        assert!(
            !dir.path().join(file).exists(),
            "the refused start left {file}"
        );
    }
    std::fs::rename(&saved, &store).unwrap();
    let app = start(embedded_config(dir.path())).await;
    let mut mara = mara_client(&app.endpoint()).await;
    wait_for_tally(&mut mara, ONE_HOUSEHOLD).await;
    app.stop().await;

    // The registry store's files removed: a new, empty store.
    remove_database(dir.path(), "registry-events.db");
    let Err(e) = App::build(embedded_config(dir.path())).await else {
        panic!("a read model was fed from an event store that ends before what it applied")
    };
    let e = format!("{e:#}");
    // Two events applied (the household, then the person): positions 1 and 2.
    assert!(
        e.contains("the mara read model at sqlite:"),
        "the read model is not named: {e}"
    );
    assert!(e.contains("up to position 2"), "{e}");
    assert!(e.contains("ends at position 0"), "{e}");
    assert!(
        e.contains("read-models.db (and its -wal and -shm files)"),
        "{e}"
    );

    // Every read model fed from the registry store is named in the same refusal: MARA's, and
    // the employment service's registry intake, which says the employment service must start
    // over too.
    assert!(e.contains("employment-intake read model"), "{e}");
    assert!(e.contains("start the employment service over too"), "{e}");
    assert_eq!(e.matches("up to position 2").count(), 2, "{e}");
    // As the messages say: MARA's read model rebuilt, the employment service started over.
    for file in [
        "read-models.db",
        "employment-intake.db",
        "employment-events.db",
        "employment-views.db",
    ] {
        remove_database(dir.path(), file);
    }
    App::build(embedded_config(dir.path()))
        .await
        .unwrap()
        .stop()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_intake_does_not_run_over_an_empty_employment_store() {
    let dir = tempfile::tempdir().unwrap();
    one_household(dir.path()).await;
    remove_database(dir.path(), "employment-events.db");
    let Err(e) = App::build(embedded_config(dir.path())).await else {
        panic!("the intake ran over an empty employment store: its facts would never come back")
    };
    let e = format!("{e:#}");
    assert!(e.contains("the registry intake at sqlite:"), "{e}");
    assert!(e.contains("[\"store:registry\"]"), "{e}");
    assert!(e.contains("is empty: the store was replaced"), "{e}");
    // Taken in again from the start (and the employment views rebuilt): it starts, and records
    // the facts again.
    remove_database(dir.path(), "employment-intake.db");
    remove_database(dir.path(), "employment-views.db");
    let app = start(embedded_config(dir.path())).await;
    let employment = format!(
        "sqlite:{}",
        dir.path().join("employment-events.db").display()
    );
    let employment = EventStore::open(&employment).await.unwrap();
    eventually("the intake to record both facts again", || async {
        (employment.last_position().await.unwrap() >= 2).then_some(())
    })
    .await;
    employment.close().await;
    app.stop().await;
}

/// Removes the SQLite database `file` of `dir`, with its write-ahead log and shared-memory file.
fn remove_database(dir: &std::path::Path, file: &str) {
    std::fs::remove_file(dir.join(file)).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{file}{suffix}")));
    }
}
