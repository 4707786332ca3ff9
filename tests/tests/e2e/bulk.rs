//! `BulkRegister` (client streaming): the same outcome as the unary RPCs, replays across both
//! paths, and per-item rejections that never stop the other items.

use e2e_tests::{
    citizen_id, embedded_config, import, import_bulk, mara_client, population, registry_client,
    start, wait_for_tally, Tally,
};
use proto::registry::v1::{
    BulkHousehold, BulkRegisterRequest, BulkRegisterResponse, LabourCapacity,
    RegisterHouseholdRequest, RegisterPersonRequest, Relation,
};
use tonic::Code;

const SEED: u64 = 20261101;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_gives_the_unary_counts_and_replays_across_paths() {
    let population = population(SEED, 300);
    let csv = population.to_csv();
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let unary_app = start(embedded_config(dir1.path())).await;
    let bulk_app = start(embedded_config(dir2.path())).await;
    let (unary, unary_rejects) = import(&unary_app.endpoint(), &csv, "p.csv").await.unwrap();
    let (bulk, bulk_rejects) = import_bulk(&bulk_app.endpoint(), &csv, "p.csv")
        .await
        .unwrap();
    assert_eq!(bulk, unary);
    assert_eq!(bulk_rejects, unary_rejects);
    assert_eq!(bulk_rejects, []);
    assert_eq!(
        bulk.households_registered as i64,
        population.expected.households
    );
    assert_eq!(bulk.persons_registered as i64, population.expected.persons);

    let everything_replayed = |s: registry_import::ImportSummary| {
        assert_eq!(
            (s.households_registered, s.persons_registered),
            (0, 0),
            "{s:?}"
        );
        assert_eq!(s.households_replayed, bulk.households_registered, "{s:?}");
        assert_eq!(s.persons_replayed, bulk.persons_registered, "{s:?}");
        assert_eq!(s.rejected, 0, "{s:?}");
    };
    // The same stream again, the unary path over bulk registrations, the bulk path over unary.
    everything_replayed(
        import_bulk(&bulk_app.endpoint(), &csv, "p.csv")
            .await
            .unwrap()
            .0,
    );
    everything_replayed(import(&bulk_app.endpoint(), &csv, "p.csv").await.unwrap().0);
    everything_replayed(
        import_bulk(&unary_app.endpoint(), &csv, "p.csv")
            .await
            .unwrap()
            .0,
    );

    let mut mara = mara_client(&bulk_app.endpoint()).await;
    let expected = Tally::from(&population.expected);
    let converged = wait_for_tally(&mut mara, expected).await;
    assert_eq!(converged.checkpoint, expected.households + expected.persons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_and_unary_write_the_same_reject_file() {
    let a = citizen_id("110101", "19800101", 11);
    let b = citizen_id("110101", "19820202", 22);
    let d = citizen_id("110101", "19700707", 71);
    let e = citizen_id("110101", "19720808", 82);
    let f = citizen_id("110101", "19650909", 91);
    let bad_check = format!("{}{}", &f[..17], if f.ends_with('1') { '2' } else { '1' });
    let header = "household_ref,village_code,poverty_alleviated,relocated,settlement_area,citizen_id,name,relation,labour_capacity,disabled";
    let lines = [
        header.to_owned(),
        format!("G-1,110101001001,false,false,,{a},王建国,head,ordinary,false"), // 2
        format!("G-1,110101001001,false,false,,{bad_check},王小明,child,ordinary,false"), // 3 local
        format!("X-1,999999001001,true,false,,{d},钱五,head,ordinary,false"),    // 4 unknown county
        format!("X-1,999999001001,true,false,,{e},孙六,spouse,ordinary,false"),  // 5 its member
        format!("G-1,110101001001,false,false,,{b},李秀英,spouse,none,false"),   // 6
    ];
    let csv = lines.join("\n").into_bytes();
    let (dir1, dir2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let unary_app = start(embedded_config(dir1.path())).await;
    let bulk_app = start(embedded_config(dir2.path())).await;
    let (unary, unary_rejects) = import(&unary_app.endpoint(), &csv, "bad.csv")
        .await
        .unwrap();
    let (bulk, bulk_rejects) = import_bulk(&bulk_app.endpoint(), &csv, "bad.csv")
        .await
        .unwrap();
    assert_eq!(bulk, unary);
    assert_eq!(bulk_rejects, unary_rejects);
    assert_eq!(
        bulk_rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert!(
        bulk_rejects[1].reason.contains("village_code"),
        "{bulk_rejects:#?}"
    );
    assert!(
        bulk_rejects[2]
            .reason
            .contains("household X-1 was rejected on line 4"),
        "{bulk_rejects:#?}"
    );
    assert_eq!(
        (bulk.households_registered, bulk.persons_registered),
        (1, 2)
    );

    // A citizen ID registered before, now in another household: refused by the registry, named.
    let again = format!("{header}\nG-9,110101001001,true,false,,{a},王建国,head,ordinary,false\n");
    let (dup, dup_rejects) = import_bulk(&bulk_app.endpoint(), again.as_bytes(), "again.csv")
        .await
        .unwrap();
    assert_eq!(dup.rejected, 1, "{dup:?}");
    // Its household, left with no member that can be registered, is not registered either.
    assert_eq!(dup.households_registered, 0, "{dup:?}");
    assert!(
        dup_rejects[0].reason.contains("household_with_members")
            && dup_rejects[0].reason.contains("person already exists: "),
        "{dup_rejects:#?}"
    );
}

fn person(command: u128, citizen: &str, name: &str, relation: Relation) -> RegisterPersonRequest {
    RegisterPersonRequest {
        command_id: uuid::Uuid::from_u128(command).to_string(),
        household_id: String::new(),
        citizen_id: citizen.to_owned(),
        name: name.to_owned(),
        relation: relation as i32,
        labour_capacity: LabourCapacity::Ordinary as i32,
        disabled: false,
    }
}

fn household(command: &str, village: &str) -> Option<RegisterHouseholdRequest> {
    Some(RegisterHouseholdRequest {
        command_id: command.to_owned(),
        village_code: village.to_owned(),
        poverty_alleviated: true,
        relocated: false,
        settlement_area: String::new(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_rejects_exactly_its_bad_items_and_lands_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let mut client = registry_client(&app.endpoint()).await;
    let h0 = uuid::Uuid::from_u128(0xa0).to_string();
    let h1 = uuid::Uuid::from_u128(0xa1).to_string();
    let h3 = uuid::Uuid::from_u128(0xa3).to_string();
    let id = |seq| citizen_id("110101", "19800101", seq);
    let good0 = person(1, &id(11), "甲", Relation::Head);
    let first = BulkRegisterRequest {
        households: vec![
            BulkHousehold {
                household: household(&h0, "110101001001"),
                members: vec![
                    good0.clone(),
                    person(2, &id(21), "", Relation::Spouse), // no name
                    person(3, &id(31), "丙", Relation::Unspecified), // no relation
                    person(4, &id(41), "丁", Relation::Child),
                ],
            },
            BulkHousehold {
                household: household(&h1, "999999001001"), // unknown county
                members: vec![person(5, &id(51), "戊", Relation::Head)],
            },
        ],
    };
    let mut stranger = person(8, &id(81), "辛", Relation::Head);
    stranger.household_id = uuid::Uuid::from_u128(0xbad).to_string();
    let second = BulkRegisterRequest {
        households: vec![
            BulkHousehold {
                household: household("not-a-uuid", "110101001001"),
                members: vec![person(6, &id(61), "己", Relation::Head)],
            },
            BulkHousehold {
                household: household(&h3, "110101001001"),
                members: vec![stranger],
            },
        ],
    };
    let send =
        |mut client: proto::registry::v1::registry_service_client::RegistryServiceClient<_>| {
            let messages = vec![first.clone(), second.clone()];
            async move {
                client
                    .bulk_register(futures_iter(messages))
                    .await
                    .unwrap()
                    .into_inner()
            }
        };
    let response = send(client.clone()).await;
    let counts = |r: &BulkRegisterResponse| {
        [
            r.households_registered,
            r.households_replayed,
            r.households_rejected,
            r.persons_registered,
            r.persons_replayed,
            r.persons_rejected,
        ]
    };
    assert_eq!(counts(&response), [2, 0, 2, 2, 0, 5], "{response:#?}");
    let found: Vec<(i64, i32, Code, &str)> = response
        .rejections
        .iter()
        .map(|r| {
            let named = if r.field.is_empty() {
                &r.rule
            } else {
                &r.field
            };
            (
                r.household_index,
                r.member_index,
                Code::from(r.code),
                named.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (0, 1, Code::InvalidArgument, "name"),
            (0, 2, Code::InvalidArgument, "relation"),
            (1, -1, Code::InvalidArgument, "village_code"),
            (1, 0, Code::NotFound, ""),
            (2, -1, Code::InvalidArgument, "command_id"),
            (2, 0, Code::InvalidArgument, "household_id"),
            (3, 0, Code::InvalidArgument, "household_id"),
        ],
        "{response:#?}"
    );
    assert_eq!(response.rejections[0].household_command_id, h0);

    // Sent again: what landed replays, the same items are rejected.
    let again = send(client.clone()).await;
    assert_eq!(counts(&again), [0, 2, 2, 0, 2, 5], "{again:#?}");
    assert_eq!(again.rejections, response.rejections);

    // The unary RPCs replay the bulk registrations (same derived id, same fingerprint).
    let replayed = client
        .register_household(household(&h0, "110101001001").unwrap())
        .await
        .unwrap()
        .into_inner();
    assert!(replayed.ack.unwrap().replayed);
    let mut unary = good0.clone();
    unary.household_id = replayed.household_id;
    let person = client.register_person(unary).await.unwrap().into_inner();
    assert!(person.ack.unwrap().replayed);

    let mut mara = mara_client(&app.endpoint()).await;
    let expected = Tally {
        households: 2,
        persons: 2,
        labour_capable: 2,
        poverty_alleviated: 2,
    };
    wait_for_tally(&mut mara, expected).await;
}

/// A new household whose members are all refused (here: citizen IDs registered before, under
/// another household) is not registered: it would stay empty. One member that can land is
/// enough for it to be registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_none_of_whose_members_lands_is_not_registered() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let client = registry_client(&app.endpoint()).await;
    let id = |seq| citizen_id("110101", "19800101", seq);
    let h = |n: u128| uuid::Uuid::from_u128(n).to_string();
    let first = BulkRegisterRequest {
        households: vec![BulkHousehold {
            household: household(&h(0xb0), "110101001001"),
            members: vec![
                person(0x11, &id(101), "甲", Relation::Head),
                person(0x12, &id(102), "乙", Relation::Spouse),
            ],
        }],
    };
    let second = BulkRegisterRequest {
        households: vec![
            BulkHousehold {
                household: household(&h(0xb1), "110101001001"),
                members: vec![
                    person(0x21, &id(101), "甲", Relation::Head),
                    person(0x22, &id(102), "乙", Relation::Spouse),
                ],
            },
            BulkHousehold {
                household: household(&h(0xb2), "110101001001"),
                members: vec![
                    person(0x31, &id(101), "甲", Relation::Head),
                    person(0x32, &id(103), "丙", Relation::Head),
                ],
            },
        ],
    };
    let send = |messages: Vec<BulkRegisterRequest>| {
        let mut client = client.clone();
        async move {
            client
                .bulk_register(futures_iter(messages))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let landed = send(vec![first.clone()]).await;
    assert_eq!(
        (landed.households_registered, landed.persons_registered),
        (1, 2)
    );
    for round in 0..2 {
        let response = send(vec![second.clone()]).await;
        let found: Vec<(i64, i32, Code, &str)> = response
            .rejections
            .iter()
            .map(|r| {
                (
                    r.household_index,
                    r.member_index,
                    Code::from(r.code),
                    r.rule.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (0, -1, Code::FailedPrecondition, "household_with_members"),
                (0, 0, Code::AlreadyExists, ""),
                (0, 1, Code::AlreadyExists, ""),
                (1, 0, Code::AlreadyExists, ""),
            ],
            "round {round}: {response:#?}"
        );
        let registered = (response.households_registered, response.persons_registered);
        let replayed = (response.households_replayed, response.persons_replayed);
        let expected = if round == 0 {
            ((1, 1), (0, 0))
        } else {
            ((0, 0), (1, 1))
        };
        assert_eq!(
            (registered, replayed),
            expected,
            "round {round}: {response:#?}"
        );
    }
    let mut mara = mara_client(&app.endpoint()).await;
    let expected = Tally {
        households: 2,
        persons: 3,
        labour_capable: 3,
        poverty_alleviated: 2,
    };
    wait_for_tally(&mut mara, expected).await;
}

fn futures_iter<T: Send + 'static>(items: Vec<T>) -> impl tokio_stream::Stream<Item = T> + Send {
    tokio_stream::iter(items)
}
