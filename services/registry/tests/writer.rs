//! The group-commit writer: commands decided together land together, and a group whose
//! transaction fails (another writer changed the store) is carried out again one by one on a
//! rebuilt write model, so each command still gets its true outcome.

use std::sync::Arc;

use chrono::NaiveDate;
use eventstore::testing::TestDatabase;
use eventstore::{CommandMeta, EventStore};
use registry::handler::ExecuteError;
use registry::{IdHashKey, Registry};
use registry_domain::{
    CitizenId, DivisionCatalog, DomainError, HouseholdId, LabourCapacity, MonitoringRules,
    RegistryCommand, Relation,
};

const DIVISIONS: &str = include_str!("../../../deploy/reference-data/divisions-mca-202112.tsv");

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
}

/// A valid citizen ID of county 150422 born 1990-01-01 with sequence `seq` (check character
/// computed here, independently of the code under test).
fn citizen(seq: u32) -> String {
    let body = format!("15042219900101{seq:03}");
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!(
        "{body}{}",
        "10X98765432".as_bytes()[(sum % 11) as usize] as char
    )
}

fn meta(id: u128) -> CommandMeta {
    let id = uuid::Uuid::from_u128(id).to_string();
    CommandMeta {
        fingerprint: id.as_bytes().to_vec(),
        correlation_id: id.clone(),
        command_id: id,
        ..Default::default()
    }
}

async fn open(store: &EventStore, key: &IdHashKey) -> Registry {
    let catalog = Arc::new(DivisionCatalog::from_tsv(DIVISIONS).unwrap());
    Registry::open(
        store.clone(),
        catalog,
        MonitoringRules::default(),
        key.clone(),
    )
    .await
    .unwrap()
}

fn household(n: u128) -> RegistryCommand {
    RegistryCommand::RegisterHousehold {
        household_id: HouseholdId(uuid::Uuid::from_u128(n)),
        village_code: "150422100001".into(),
        poverty_alleviated: true,
        relocated: false,
        settlement_area: None,
    }
}

fn person(key: &IdHashKey, household: u128, seq: u32, relation: Relation) -> RegistryCommand {
    let citizen_id = CitizenId::parse(&citizen(seq), today()).unwrap();
    RegistryCommand::RegisterPerson {
        household_id: HouseholdId(uuid::Uuid::from_u128(household)),
        id_hash: key.hash(&citizen_id),
        citizen_id,
        name: "测试".into(),
        relation,
        labour_capacity: LabourCapacity::Ordinary,
        disabled: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_all_land_each_with_its_outcome() {
    let db = TestDatabase::sqlite();
    let store = EventStore::open(&db.url).await.unwrap();
    let key = IdHashKey::new(vec![9; 32]).unwrap();
    let registry = Arc::new(open(&store, &key).await);
    registry
        .execute(household(1), meta(1), today())
        .await
        .unwrap();
    registry
        .execute(person(&key, 1, 0, Relation::Head), meta(100), today())
        .await
        .unwrap();
    // 39 more persons at once: they queue up and are decided in groups, each on top of the others.
    let mut calls = Vec::new();
    for seq in 1..40u32 {
        let (registry, key) = (registry.clone(), key.clone());
        calls.push(tokio::spawn(async move {
            registry
                .execute(
                    person(&key, 1, seq, Relation::Child),
                    meta(100 + u128::from(seq)),
                    today(),
                )
                .await
        }));
    }
    // A second head among them must be refused even when decided in the same group.
    let second_head = registry
        .execute(person(&key, 1, 99, Relation::Head), meta(999), today())
        .await;
    let mut positions = Vec::new();
    for c in calls {
        let outcome = c.await.unwrap().unwrap();
        positions.push(outcome.events[0].position);
    }
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions.len(), 39);
    assert!(
        matches!(
            second_head,
            Err(ExecuteError::Domain(DomainError::Rule {
                rule: "one_head",
                ..
            }))
        ),
        "{second_head:?}"
    );
    assert_eq!(registry.counts().await, (1, 40, 0));
    assert_eq!(store.head().await.unwrap().0, 41);
}

/// Two writers `a` and `b` over one SQLite store (as two processes would be), after `b`
/// registered household 2, which `a` has not seen.
async fn two_writers_after_b_registered_household_2(
) -> (TestDatabase, EventStore, IdHashKey, Registry, Registry) {
    let db = TestDatabase::sqlite();
    let store = EventStore::open(&db.url).await.unwrap();
    let key = IdHashKey::new(vec![9; 32]).unwrap();
    let a = open(&store, &key).await;
    let b = open(&store, &key).await;
    b.execute(household(2), meta(1), today()).await.unwrap();
    (db, store, key, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_group_is_rebuilt_and_retried_one_by_one() {
    let (_db, _store, key, a, b) = two_writers_after_b_registered_household_2().await;
    a.execute(household(1), meta(2), today()).await.unwrap();
    let registered = a
        .execute(person(&key, 1, 7, Relation::Head), meta(3), today())
        .await
        .unwrap();
    let existing = registered.events[0]
        .stream_id
        .trim_start_matches("person-")
        .to_string();
    // b's write model has not seen that person: its decision passes, the append conflicts, and the
    // retry on the rebuilt model gives the true answer.
    let again = b
        .execute(person(&key, 2, 7, Relation::Head), meta(4), today())
        .await;
    match again {
        Err(ExecuteError::Domain(DomainError::AlreadyExists {
            what: "person",
            existing_id,
        })) => {
            assert_eq!(existing_id, existing)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        b.counts().await,
        (2, 1, 0),
        "b rebuilt its model from the store"
    );
}

/// On PostgreSQL the writer writes through a connection of its own. The server ends every
/// session of the database between two commands: a command that meets the dead connection is
/// answered as unavailable (the store failed), nothing is half-written, and the same command
/// sent again lands on a new connection, as do the ones after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writers_connection_ended_by_the_server_is_replaced() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = EventStore::open(&db.url).await.unwrap();
    let key = IdHashKey::new(vec![9; 32]).unwrap();
    let registry = open(&store, &key).await;
    registry
        .execute(household(1), meta(1), today())
        .await
        .unwrap();
    let (admin, _) = eventstore::backend::connect(&db.url, 1).await.unwrap();
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(ended >= 1, "the writer's session was among those ended");
    let second = match registry.execute(household(2), meta(2), today()).await {
        Ok(outcome) => outcome,
        Err(ExecuteError::Append(eventstore::AppendError::Store(_))) => registry
            .execute(household(2), meta(2), today())
            .await
            .unwrap(),
        Err(other) => panic!("{other:?}"),
    };
    assert!(!second.replayed);
    registry
        .execute(person(&key, 2, 7, Relation::Head), meta(3), today())
        .await
        .unwrap();
    assert_eq!(registry.counts().await, (2, 1, 0));
    assert_eq!(store.head().await.unwrap().0, 3);
}

/// A rebuild that fails (here because a stored event no longer decodes) leaves the write model
/// stale: commands, and the bulk path's judgement of new persons, are refused as unavailable
/// instead of being decided on a partial model; once the store reads back whole, the next
/// command rebuilds the model and lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rebuild_refuses_commands_until_the_store_reads_back() {
    let (_db, store, key, a, _b) = two_writers_after_b_registered_household_2().await;
    let payload: Vec<u8> = sqlx::query_scalar("SELECT payload FROM events WHERE position = 1")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let set_payload = |bytes: Vec<u8>| {
        sqlx::query("UPDATE events SET payload = $1 WHERE position = 1")
            .bind(bytes)
            .execute(store.pool())
    };
    set_payload(vec![0xff, 0xff]).await.unwrap();
    // a has not seen household 2: its append conflicts, and its rebuild meets the damaged event.
    for (n, id) in [(2, 2), (3, 3)] {
        let refused = a.execute(household(n), meta(id), today()).await;
        assert!(
            matches!(refused, Err(ExecuteError::Unavailable(_))),
            "{refused:?}"
        );
    }
    let judged = a
        .refusals_of_new_persons([person(&key, 2, 7, Relation::Head)].iter())
        .await;
    assert!(
        matches!(judged, Err(ExecuteError::Unavailable(_))),
        "{judged:?}"
    );
    set_payload(payload).await.unwrap();
    a.execute(household(3), meta(3), today()).await.unwrap();
    assert_eq!(a.counts().await, (2, 0, 0), "households 2 and 3, read back");
    let again = a.execute(household(2), meta(4), today()).await;
    assert!(
        matches!(
            again,
            Err(ExecuteError::Domain(DomainError::AlreadyExists { .. }))
        ),
        "{again:?}"
    );
}

/// Opens a registry on `store` once the writer lease is free (a dropped writer's session ends a
/// moment after it is dropped), within 10 s.
async fn open_when_free(store: &EventStore, key: &IdHashKey) -> Registry {
    open_taking_over(store, key, None).await
}

/// [`open_when_free`], ending the holder's session (of the database at `url`) before each
/// attempt when `url` is given: a writer that lost its session takes the lease back by itself
/// within a second when idle, and may get there first.
async fn open_taking_over(store: &EventStore, key: &IdHashKey, url: Option<&str>) -> Registry {
    let catalog = Arc::new(DivisionCatalog::from_tsv(DIVISIONS).unwrap());
    for _ in 0..100 {
        if let Some(url) = url {
            eventstore::testing::end_writer_lease_session(url).await;
        }
        match Registry::open(
            store.clone(),
            catalog.clone(),
            MonitoringRules::default(),
            key.clone(),
        )
        .await
        {
            Ok(registry) => return registry,
            Err(registry::handler::OpenError::Rebuild(writer::OpenError::Lease(
                eventstore::LeaseError::Held { .. },
            ))) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            Err(other) => panic!("{other:?}"),
        }
    }
    panic!("the writer lease stayed held for 10 s");
}

/// A PostgreSQL store whose first writer registered household 1, then lost its session (and the
/// lease) to the server, after which another writer took the lease and registered household 2:
/// (database, store, key, first writer, other writer).
async fn lease_taken_over() -> Option<(TestDatabase, EventStore, IdHashKey, Registry, Registry)> {
    let db = TestDatabase::postgres().await?;
    let key = IdHashKey::new(vec![9; 32]).unwrap();
    let store = EventStore::open(&db.url).await.unwrap();
    let first = open(&store, &key).await;
    first.execute(household(1), meta(1), today()).await.unwrap();
    assert_eq!(
        eventstore::testing::end_writer_lease_session(&db.url).await,
        1
    );
    let other_store = EventStore::open(&db.url).await.unwrap();
    let other = open_taking_over(&other_store, &key, Some(&db.url)).await;
    other.execute(household(2), meta(2), today()).await.unwrap();
    Some((db, store, key, first, other))
}

/// `command` through `registry`, sent again every 100 ms for up to 10 s while it is told it is
/// not the store's writer (a dropped writer's session ends a moment after it is dropped).
async fn once_the_writer(
    registry: &Registry,
    command: impl Fn() -> RegistryCommand,
    id: u128,
) -> Result<eventstore::AppendOutcome, ExecuteError> {
    for _ in 0..100 {
        match registry.execute(command(), meta(id), today()).await {
            Err(ExecuteError::Unavailable(r)) if r.contains("not the event store's writer") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            other => return other,
        }
    }
    panic!("still not the writer after 10 s");
}

/// On PostgreSQL one process writes a store: a second writer (another process, here another
/// connection pool on the same database) is refused at open with the holder named, and opens
/// once the first is gone, with everything the first wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_of_a_postgres_store_is_refused_until_the_first_is_gone() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let key = IdHashKey::new(vec![9; 32]).unwrap();
    let first_store = EventStore::open(&db.url).await.unwrap();
    let first = open(&first_store, &key).await;
    first.execute(household(1), meta(1), today()).await.unwrap();
    let second_store = EventStore::open(&db.url).await.unwrap();
    let catalog = Arc::new(DivisionCatalog::from_tsv(DIVISIONS).unwrap());
    let refused = Registry::open(
        second_store.clone(),
        catalog,
        MonitoringRules::default(),
        key.clone(),
    )
    .await;
    match refused {
        Err(e @ registry::handler::OpenError::Rebuild(writer::OpenError::Lease(_))) => {
            let message = e.to_string();
            assert!(
                message.contains("another command writer holds this event store")
                    && message.contains("bottomline registry writer (pid ")
                    && message.contains("pg_terminate_backend("),
                "{message}"
            );
            assert!(
                !message.contains("<pid>"),
                "the holder's pid is named: {message}"
            );
        }
        other => panic!("{:?}", other.map(|_| "opened")),
    }
    // The first still writes.
    first.execute(household(2), meta(2), today()).await.unwrap();
    drop(first);
    let second = open_when_free(&second_store, &key).await;
    assert_eq!(second.counts().await, (2, 0, 0));
    second
        .execute(household(3), meta(3), today())
        .await
        .unwrap();
}

/// The writer's session ends (a server restart, a network cut) and another process takes the
/// lease and registers a person before the first writer is back. The first writer may not
/// decide on its old model: while the other holds the lease its commands are unavailable, and
/// once it is gone the first takes the lease again, reads the store back and refuses the same
/// citizen as a duplicate, which its old model had never seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_lost_its_lease_reads_back_what_another_wrote() {
    let Some((_db, store, key, first, other)) = lease_taken_over().await else {
        return;
    };
    let theirs = other
        .execute(person(&key, 2, 7, Relation::Head), meta(3), today())
        .await
        .unwrap();

    // The first writer meets the other's lease (on its first append through a new session, or
    // after the dead session failed a statement and the group was retried), then refuses without
    // deciding anything while the other holds it.
    for _ in 0..2 {
        let refused = first
            .execute(person(&key, 1, 7, Relation::Head), meta(4), today())
            .await;
        assert!(
            matches!(&refused, Err(ExecuteError::Unavailable(r)) if r.contains("not the event store's writer")),
            "{refused:?}"
        );
    }
    assert_eq!(
        store.head().await.unwrap().0,
        3,
        "nothing of the first's was written"
    );

    drop(other);
    let outcome = once_the_writer(&first, || person(&key, 1, 7, Relation::Head), 4).await;
    let existing = theirs.events[0].stream_id.trim_start_matches("person-");
    match outcome {
        Err(ExecuteError::Domain(DomainError::AlreadyExists {
            what: "person",
            existing_id,
        })) => assert_eq!(existing_id, existing),
        other => panic!("{other:?}"),
    }
    assert_eq!(first.counts().await, (2, 1, 0), "read back from the store");
    first.execute(household(3), meta(5), today()).await.unwrap();
    assert_eq!(store.head().await.unwrap().0, 4);
}

/// The writer's session ends, another process takes the lease, registers a household and stops,
/// all before the first writer's next command: a command its old model would refuse (a person
/// of that household, unknown to it) is not answered from that model. The writer sees its
/// connection was replaced, takes the lease again, reads the store back, and registers the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_whose_session_was_replaced_decides_nothing_before_reading_the_store_back() {
    let Some((_db, store, key, first, other)) = lease_taken_over().await else {
        return;
    };
    drop(other);
    let registered = once_the_writer(&first, || person(&key, 2, 7, Relation::Head), 3)
        .await
        .unwrap();
    assert!(!registered.replayed);
    assert_eq!(first.counts().await, (2, 1, 0));
    assert_eq!(store.head().await.unwrap().0, 3);
}

/// Waits up to 10 s for `registry.holds_lease()` to be `holds`, sending it nothing.
async fn until_lease_held_is(registry: &Registry, holds: bool) {
    for _ in 0..100 {
        if registry.holds_lease() == holds {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("holds_lease() stayed {} for 10 s", !holds);
}

/// An idle writer finds out by itself, without a command, that its session ended and another
/// process holds the lease (what the health service reports); once the lease is free it takes
/// it back by itself, so that the bulk path, which only reads the model, works again without a
/// single command having gone through the writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_writer_notices_a_lost_lease_and_takes_it_back_by_itself() {
    let Some((_db, _store, key, first, other)) = lease_taken_over().await else {
        return;
    };
    until_lease_held_is(&first, false).await;
    let judged = first
        .refusals_of_new_persons([person(&key, 2, 7, Relation::Head)].iter())
        .await;
    assert!(
        matches!(&judged, Err(ExecuteError::Unavailable(r)) if r.contains("not the event store's writer")),
        "{judged:?}"
    );
    drop(other);
    until_lease_held_is(&first, true).await;
    let judged = first
        .refusals_of_new_persons([person(&key, 2, 7, Relation::Head)].iter())
        .await
        .unwrap();
    assert!(judged.iter().all(Option::is_none), "{judged:?}");
    assert_eq!(first.counts().await, (2, 0, 0), "read back from the store");
}
