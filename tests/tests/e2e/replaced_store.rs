//! A read model kept while its event store is replaced: `up` refuses to feed it from a store
//! that ends before what it has applied, rather than leave it waiting for positions it has
//! already seen and showing nothing new.

use bottomline::app::App;
use e2e_tests::{
    citizen_id, embedded_config, mara_client, registry_client, start, wait_for_tally, Tally,
};
use proto::registry::v1::{
    LabourCapacity, RegisterHouseholdRequest, RegisterPersonRequest, Relation,
};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_is_not_fed_from_an_event_store_that_ends_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let endpoint = app.endpoint();
    let mut registry = registry_client(&endpoint).await;
    let household = registry
        .register_household(RegisterHouseholdRequest {
            command_id: Uuid::new_v4().to_string(),
            village_code: "150422101001".into(),
            poverty_alleviated: true,
            relocated: false,
            settlement_area: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .household_id;
    registry
        .register_person(RegisterPersonRequest {
            command_id: Uuid::new_v4().to_string(),
            household_id: household,
            citizen_id: citizen_id("150422", "19800101", 11),
            name: "测试甲".into(),
            relation: Relation::Head as i32,
            labour_capacity: LabourCapacity::Ordinary as i32,
            disabled: false,
        })
        .await
        .unwrap();
    let expected = Tally {
        households: 1,
        persons: 1,
        labour_capable: 1,
        poverty_alleviated: 1,
    };
    wait_for_tally(&mut mara_client(&endpoint).await, expected).await;
    app.stop().await;

    // The event store's files removed, the read models kept: a new, empty store.
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
    assert!(e.contains("--read-model-url"), "{e}");

    // Each read model fed from the registry store is refused in turn until its file is removed
    // (rebuilt from the start): MARA's, then the employment service's registry intake.
    remove_database(dir.path(), "read-models.db");
    let Err(e) = App::build(embedded_config(dir.path())).await else {
        panic!("the registry intake was fed from an event store that ends before what it applied")
    };
    let e = format!("{e:#}");
    assert!(e.contains("employment-intake.db"), "{e}");
    assert!(e.contains("up to position 2"), "{e}");
    remove_database(dir.path(), "employment-intake.db");
    App::build(embedded_config(dir.path()))
        .await
        .unwrap()
        .stop()
        .await;
}

/// Removes the SQLite database `file` of `dir`, with its write-ahead log and shared-memory file.
fn remove_database(dir: &std::path::Path, file: &str) {
    std::fs::remove_file(dir.join(file)).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{file}{suffix}")));
    }
}
