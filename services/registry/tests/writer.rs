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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_group_is_rebuilt_and_retried_one_by_one() {
    let db = TestDatabase::sqlite();
    let store = EventStore::open(&db.url).await.unwrap();
    let key = IdHashKey::new(vec![9; 32]).unwrap();
    let a = open(&store, &key).await;
    let b = open(&store, &key).await;
    b.execute(household(2), meta(1), today()).await.unwrap();
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
