//! One contract suite for every event store backend: each test runs on SQLite and on PostgreSQL.

use std::collections::HashMap;

use eventstore::testing::TestDatabase;
use eventstore::{
    AppendError, Backend, ChainError, CommandMeta, EventStore, ExpectedVersion, GlobalCursor,
    NewEvent,
};

async fn store(backend: Backend) -> Option<(EventStore, TestDatabase)> {
    let db = TestDatabase::new(backend).await?;
    let store = EventStore::open(&db.url).await.expect("open store");
    Some((store, db))
}

fn meta(command_id: &str, fingerprint: &[u8]) -> CommandMeta {
    CommandMeta {
        command_id: command_id.into(),
        fingerprint: fingerprint.to_vec(),
        correlation_id: command_id.into(),
        actor: "contract-test".into(),
        ..CommandMeta::default()
    }
}

fn events(n: usize, tag: &str) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::now("test.v1.Happened", format!("{tag}-{i}").into_bytes()))
        .collect()
}

eventstore::on_every_backend!(
    appends_and_reads_a_stream,
    wrong_expected_version_writes_nothing,
    same_command_id_returns_first_outcome,
    reused_command_id_with_other_payload_is_refused,
    hash_chain_detects_tampering,
    global_order_resumes_from_cursor,
    concurrent_appenders_to_one_stream_never_share_a_version,
    late_commit_is_never_skipped,
    concurrent_appenders_reach_reader_once_in_stream_order,
    checkpoints_round_trip,
    settings_keep_their_first_value,
    a_group_commits_together_and_chains_within_itself,
    a_group_with_one_conflict_writes_nothing,
    a_group_spanning_several_statements_keeps_every_chain,
    processes_opening_one_new_database_at_once_all_start,
);

async fn appends_and_reads_a_stream(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    let out = store
        .append(
            "s-1",
            ExpectedVersion::NoStream,
            events(3, "a"),
            &meta("c1", b"f"),
        )
        .await
        .unwrap();
    assert!(!out.replayed);
    assert_eq!(
        out.events
            .iter()
            .map(|e| e.stream_version)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(out.events.windows(2).all(|w| w[0].position < w[1].position));
    let out2 = store
        .append(
            "s-1",
            ExpectedVersion::Exact(3),
            events(1, "b"),
            &meta("c2", b"g"),
        )
        .await;
    assert_eq!(out2.unwrap().events[0].stream_version, 4);
    let read = store.read_stream("s-1", 0).await.unwrap();
    assert_eq!(read.len(), 4);
    assert_eq!(read[0].payload, b"a-0");
    assert_eq!(read[3].payload, b"b-0");
    assert_eq!(read[0].command_id, "c1");
    assert_eq!(read[3].actor, "contract-test");
    assert_eq!(store.stream_version("s-1").await.unwrap(), 4);
    assert_eq!(store.stream_version("absent").await.unwrap(), 0);
}

async fn wrong_expected_version_writes_nothing(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(2, "a"),
            &meta("c1", b"f"),
        )
        .await
        .unwrap();
    let err = store
        .append(
            "s",
            ExpectedVersion::Exact(1),
            events(1, "b"),
            &meta("c2", b"f"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::WrongExpectedVersion {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(1, "b"),
            &meta("c3", b"f"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AppendError::WrongExpectedVersion {
            expected: 0,
            actual: 2,
            ..
        }
    ));
    assert_eq!(store.head().await.unwrap().0, 2);
    // The refused command id is free: it recorded nothing.
    store
        .append(
            "s",
            ExpectedVersion::Exact(2),
            events(1, "c"),
            &meta("c2", b"f"),
        )
        .await
        .unwrap();
}

async fn same_command_id_returns_first_outcome(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    let first = store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(2, "a"),
            &meta("cmd", b"fp"),
        )
        .await;
    let first = first.unwrap();
    // A retry carries new event ids (the client does not know them); the store answers with the
    // first outcome, and its expected version no longer matters.
    let again = store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(2, "a"),
            &meta("cmd", b"fp"),
        )
        .await;
    let again = again.unwrap();
    assert!(again.replayed);
    assert_eq!(again.events, first.events);
    assert_eq!(store.head().await.unwrap().0, 2);
}

async fn reused_command_id_with_other_payload_is_refused(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(1, "a"),
            &meta("cmd", b"one"),
        )
        .await
        .unwrap();
    let err = store
        .append(
            "t",
            ExpectedVersion::NoStream,
            events(1, "b"),
            &meta("cmd", b"two"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::CommandIdReused { ref command_id } if command_id == "cmd"));
    assert_eq!(store.stream_version("t").await.unwrap(), 0);
}

async fn hash_chain_detects_tampering(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(3, "a"),
            &meta("c1", b"f"),
        )
        .await
        .unwrap();
    store
        .append(
            "s",
            ExpectedVersion::Exact(3),
            events(2, "b"),
            &meta("c2", b"f"),
        )
        .await
        .unwrap();
    assert_eq!(store.verify_stream("s").await.unwrap(), 5);
    // The first link is SHA-256 over 32 zero bytes and the canonical fields, computed here
    // independently of the store's code.
    let first = &store.read_stream("s", 1).await.unwrap()[0];
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut h, [0u8; 32]);
    let id = first.event_id.to_string();
    let fields: [&[u8]; 11] = [
        id.as_bytes(),
        b"s",
        &1u64.to_be_bytes(),
        b"test.v1.Happened",
        &first.occurred_at_micros.to_be_bytes(),
        &first.recorded_at_micros.to_be_bytes(),
        b"c1",
        b"c1",
        b"",
        b"contract-test",
        b"a-0",
    ];
    for f in fields {
        sha2::Digest::update(&mut h, (f.len() as u32).to_be_bytes());
        sha2::Digest::update(&mut h, f);
    }
    assert_eq!(first.hash, sha2::Digest::finalize(h).to_vec());

    sqlx::query("UPDATE events SET payload = $1 WHERE stream_id = 's' AND stream_version = 4")
        .bind(b"forged".to_vec())
        .execute(store.pool())
        .await
        .unwrap();
    assert!(matches!(
        store.verify_stream("s").await,
        Err(ChainError::Mismatch { version: 4, .. })
    ));
    sqlx::query("DELETE FROM events WHERE stream_id = 's' AND stream_version = 2")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(matches!(
        store.verify_stream("s").await,
        Err(ChainError::Gap {
            expected: 2,
            found: 3,
            ..
        })
    ));
}

async fn global_order_resumes_from_cursor(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    for i in 0..10 {
        let stream = format!("s-{}", i % 3);
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                events(2, &i.to_string()),
                &meta(&format!("c{i}"), b"f"),
            )
            .await
            .unwrap();
    }
    let mut cursor = GlobalCursor::START;
    let mut seen = Vec::new();
    // An empty read only means "nothing safe yet" (other tests' transactions in the same
    // PostgreSQL cluster hold the horizon back for a moment), so read until all 20 arrived.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.len() < 20 && std::time::Instant::now() < deadline {
        let batch = store.read_committed(cursor, 3).await.unwrap();
        if let Some(last) = batch.last() {
            cursor = last.cursor();
        }
        seen.extend(batch);
    }
    assert!(store.read_committed(cursor, 3).await.unwrap().is_empty());
    assert_eq!(seen.len(), 20);
    assert!(seen.windows(2).all(|w| w[0].cursor() < w[1].cursor()));
    let payloads: Vec<_> = seen
        .iter()
        .map(|e| String::from_utf8(e.payload.clone()).unwrap())
        .collect();
    assert_eq!(payloads[0], "0-0");
    assert_eq!(payloads[19], "9-1");
}

async fn concurrent_appenders_to_one_stream_never_share_a_version(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            eventstore::testing::append_racing(&store, "hot", &i.to_string(), &format!("w{i}"))
                .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let read = store.read_stream("hot", 0).await.unwrap();
    assert_eq!(
        read.iter().map(|e| e.stream_version).collect::<Vec<_>>(),
        (1..=16).collect::<Vec<_>>()
    );
    assert_eq!(store.verify_stream("hot").await.unwrap(), 16);
}

/// A transaction that takes a global position early but commits late must not be overtaken by a
/// reader: the reader waits at it instead of moving past it.
async fn late_commit_is_never_skipped(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    store
        .append(
            "a",
            ExpectedVersion::NoStream,
            events(1, "a"),
            &meta("c1", b"f"),
        )
        .await
        .unwrap();
    if backend == Backend::Sqlite {
        // SQLite serialises writers: a late commit cannot exist, the order is trivially final.
        assert_eq!(
            store
                .read_committed(GlobalCursor::START, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        return;
    }
    // A slow appender: takes a position now, commits later.
    let slow = eventstore::testing::begin_slow_append(&store, "slow").await;
    // A second appender waits for it (the append lock), so it cannot commit ahead of it.
    let fast = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append(
                    "b",
                    ExpectedVersion::NoStream,
                    events(1, "b"),
                    &meta("c2", b"f"),
                )
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!fast.is_finished(), "an append ran beside an open one");
    let first = store.read_committed(GlobalCursor::START, 10).await.unwrap();
    let streams: Vec<_> = first.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["a"], "read past the open transaction");
    slow.commit().await.unwrap();
    fast.await.unwrap().unwrap();
    let rest = store.read_committed(first[0].cursor(), 10).await.unwrap();
    let streams: Vec<_> = rest.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["slow", "b"]);
    // Nothing else holds readers back: an open read-model transaction in the same database
    // (it has a transaction id, older than the next append's) does not.
    let mut other = store.pool().begin().await.unwrap();
    sqlx::query("CREATE TABLE read_model (n BIGINT)")
        .execute(&mut *other)
        .await
        .unwrap();
    store
        .append(
            "c",
            ExpectedVersion::NoStream,
            events(1, "c"),
            &meta("c3", b"f"),
        )
        .await
        .unwrap();
    let after = store.read_committed(rest[1].cursor(), 10).await.unwrap();
    assert_eq!(
        after.len(),
        1,
        "an unrelated open transaction held the reader back"
    );
    other.rollback().await.unwrap();
}

/// Many appenders whose commits interleave, and a reader following the global order the whole
/// time: it sees every event exactly once, each stream in version order.
async fn concurrent_appenders_reach_reader_once_in_stream_order(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 40;
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut cursor = GlobalCursor::START;
            let mut seen = Vec::new();
            while seen.len() < WRITERS * PER_WRITER {
                let batch = store.read_committed(cursor, 7).await.unwrap();
                if let Some(last) = batch.last() {
                    cursor = last.cursor();
                }
                seen.extend(batch);
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                // Two writers share each stream so appends to one stream also race.
                let stream = format!("s-{}", w % (WRITERS / 2));
                let id = format!("{w}-{i}");
                eventstore::testing::append_racing(&store, &stream, &id, &id).await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen = tokio::time::timeout(std::time::Duration::from_secs(60), reader)
        .await
        .expect("reader caught up")
        .unwrap();
    assert_eq!(seen.len(), WRITERS * PER_WRITER);
    let mut ids: Vec<_> = seen.iter().map(|e| e.event_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), WRITERS * PER_WRITER, "no event twice");
    let mut last: HashMap<&str, u64> = HashMap::new();
    for e in &seen {
        let prev = last.insert(&e.stream_id, e.stream_version).unwrap_or(0);
        assert_eq!(
            e.stream_version,
            prev + 1,
            "stream {} out of order",
            e.stream_id
        );
    }
}

async fn checkpoints_round_trip(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    assert_eq!(
        store.load_checkpoint("relay").await.unwrap(),
        GlobalCursor::START
    );
    let c = GlobalCursor {
        tx_id: 7,
        position: 42,
    };
    store.save_checkpoint("relay", c).await.unwrap();
    store
        .save_checkpoint(
            "relay",
            GlobalCursor {
                tx_id: 9,
                position: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.load_checkpoint("relay").await.unwrap(),
        GlobalCursor {
            tx_id: 9,
            position: 50
        }
    );
    assert_eq!(
        store.load_checkpoint("other").await.unwrap(),
        GlobalCursor::START
    );
}

async fn settings_keep_their_first_value(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    assert_eq!(
        store.setting_or_init("key-check", b"first").await.unwrap(),
        b"first"
    );
    assert_eq!(
        store.setting_or_init("key-check", b"second").await.unwrap(),
        b"first"
    );
    assert_eq!(store.setting_or_init("other", b"x").await.unwrap(), b"x");
}

fn request(
    stream: &str,
    expected: ExpectedVersion,
    tag: &str,
    id: &str,
) -> eventstore::AppendRequest {
    eventstore::AppendRequest {
        stream_id: stream.into(),
        expected,
        events: events(1, tag),
        meta: meta(id, id.as_bytes()),
    }
}

async fn a_group_commits_together_and_chains_within_itself(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    let first = store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(1, "a"),
            &meta("c0", b"c0"),
        )
        .await
        .unwrap();
    let group = [
        request("s", ExpectedVersion::Exact(1), "b", "c1"),
        request("t", ExpectedVersion::NoStream, "c", "c2"),
        // Counts the event the first request of the group adds.
        request("s", ExpectedVersion::Exact(2), "d", "c3"),
        // Recorded before: its first outcome comes back, nothing is written for it.
        request("s", ExpectedVersion::NoStream, "a", "c0"),
    ];
    let outcomes = store.append_all(&group).await.unwrap();
    assert_eq!(outcomes.len(), 4);
    assert_eq!(outcomes[0].events[0].stream_version, 2);
    assert_eq!(outcomes[2].events[0].stream_version, 3);
    assert!(outcomes[3].replayed);
    assert_eq!(outcomes[3].events, first.events);
    assert_eq!(store.head().await.unwrap().0, 4);
    assert_eq!(store.verify_stream("s").await.unwrap(), 3);
    assert_eq!(store.verify_stream("t").await.unwrap(), 1);
    let read = store.read_stream("s", 0).await.unwrap();
    assert_eq!(read[1], outcomes[0].events[0]);
    assert_eq!(read[2], outcomes[2].events[0]);
}

async fn a_group_with_one_conflict_writes_nothing(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    store
        .append(
            "s",
            ExpectedVersion::NoStream,
            events(1, "a"),
            &meta("c0", b"c0"),
        )
        .await
        .unwrap();
    let group = [
        request("t", ExpectedVersion::NoStream, "b", "c1"),
        request("s", ExpectedVersion::NoStream, "c", "c2"),
    ];
    let err = store.append_all(&group).await.unwrap_err();
    assert!(
        matches!(
            err,
            AppendError::WrongExpectedVersion {
                expected: 0,
                actual: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.head().await.unwrap().0, 1);
    assert_eq!(store.stream_version("t").await.unwrap(), 0);
    // Its command ids were not recorded either.
    store.append_all(&group[..1]).await.unwrap();
}

/// More commands and events than one multi-row statement holds (256 rows), over streams that
/// exist (each with its own head) and new ones, two commands per stream.
async fn a_group_spanning_several_statements_keeps_every_chain(backend: Backend) {
    let Some((store, _db)) = store(backend).await else {
        return;
    };
    for i in 0..3 {
        store
            .append(
                &format!("old-{i}"),
                ExpectedVersion::NoStream,
                events(i + 1, "x"),
                &meta(&format!("old-{i}"), b"old"),
            )
            .await
            .unwrap();
    }
    let streams: Vec<(String, u64)> = (0..3)
        .map(|i| (format!("old-{i}"), i as u64 + 1))
        .chain((0..600).map(|i| (format!("new-{i}"), 0)))
        .collect();
    let mut group = Vec::new();
    for round in 0..2u64 {
        for (stream, existing) in &streams {
            group.push(eventstore::AppendRequest {
                stream_id: stream.clone(),
                expected: ExpectedVersion::Exact(existing + round),
                events: events(1, &format!("{stream}-{round}")),
                meta: meta(&format!("{stream}-{round}"), b"f"),
            });
        }
    }
    let outcomes = store.append_all(&group).await.unwrap();
    assert_eq!(outcomes.len(), 2 * 603);
    for (request, outcome) in group.iter().zip(&outcomes) {
        let ExpectedVersion::Exact(v) = request.expected else {
            unreachable!()
        };
        assert_eq!(outcome.events[0].stream_id, request.stream_id);
        assert_eq!(outcome.events[0].stream_version, v + 1);
        assert!(outcome.events[0].position > 0);
    }
    assert_eq!(store.head().await.unwrap().0, 6 + 2 * 603);
    for (stream, existing) in streams.iter().step_by(97) {
        assert_eq!(store.verify_stream(stream).await.unwrap(), existing + 2);
        let read = store.read_stream(stream, existing + 1).await.unwrap();
        let written: Vec<_> = outcomes
            .iter()
            .flat_map(|o| &o.events)
            .filter(|e| &e.stream_id == stream)
            .cloned()
            .collect();
        assert_eq!(read, written);
    }
    // Read back in commit order, the group is one transaction in request order.
    let all = store
        .read_committed(eventstore::GlobalCursor::START, 10_000)
        .await
        .unwrap();
    let group_events: Vec<_> = all[6..].iter().map(|e| e.command_id.clone()).collect();
    let requested: Vec<_> = group.iter().map(|r| r.meta.command_id.clone()).collect();
    assert_eq!(group_events, requested);
}

/// Services started at once against one new database (`up --services …` in several processes)
/// each create the schema: all of them start, and the store works.
async fn processes_opening_one_new_database_at_once_all_start(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let opens = (0..8).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move { EventStore::open(&url).await })
    });
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.unwrap().expect("every concurrent open succeeds"));
    }
    let store = &stores[7];
    store
        .append(
            "s-1",
            ExpectedVersion::NoStream,
            events(1, "a"),
            &meta("c-1", b"f"),
        )
        .await
        .unwrap();
    assert_eq!(stores[0].head().await.unwrap().0, 1);
}
