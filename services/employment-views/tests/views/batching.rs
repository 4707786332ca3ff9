//! Set-based writing keeps the meaning of one event at a time: the same log applied as one
//! batch and event by event leaves the same rows in every table.

use eventstore::Backend;
use proto::employment::v1 as pb;
use sqlx::{AnyPool, Row};

use crate::support::{date, on_every_backend, Fixture, Log};

on_every_backend!(
    one_batch_equals_one_event_at_a_time,
    a_run_longer_than_one_statement_is_written_whole
);

const TABLES: [&str; 10] = [
    "emp_households",
    "emp_persons",
    "emp_spells",
    "emp_job_losses",
    "emp_follow_ups",
    "emp_posts",
    "emp_post_holders",
    "emp_post_payments",
    "emp_training",
    "emp_rain_and_dew",
];

/// Facts and employment events, rows written again inside the run (a person re-registered, a
/// spell corrected after its end, the same follow-up twice, a household known after its
/// members, one seen first without a county), and a poison event in the middle.
fn log() -> Log {
    use pb::{Channel, EndReason, LocationClass, PostCategory, TrainingKind};
    let mut log = Log::default();
    log.person("p3", "h2", "150423", true)
        .household("h1", "150422", true)
        .person("p1", "h1", "150422", true)
        .person("p2", "h1", "150422", true)
        .household("h2", "150423", false)
        .person("p1", "h1", "150422", false)
        // A household first seen without a county (a capacity change of a member not yet
        // known), then through members that carry it; its own facts never come.
        .capacity("p5", "h3", true)
        .person("p4", "h3", "150424", true)
        .person("p6", "h3", "150425", false)
        .capacity("p6", "h3", true)
        .start(
            "s1",
            "p1",
            "h1",
            "150422",
            LocationClass::InTownship,
            Channel::Workshop,
            date(2024, 1, 1),
        )
        .end(
            "s1",
            "p1",
            "h1",
            date(2024, 6, 30),
            EndReason::ContractEnded,
        )
        .correct(
            "s1",
            "p1",
            LocationClass::OutOfProvince,
            Channel::Other,
            date(2024, 2, 1),
        )
        .start(
            "s2",
            "p2",
            "h1",
            "150422",
            LocationClass::InTownship,
            Channel::Flexible,
            date(2024, 3, 1),
        )
        .job_loss("p1", "h1", "s1", date(2024, 6, 30), true, false)
        .follow_up("p1", "h1", date(2024, 7, 2))
        .follow_up("p1", "h1", date(2024, 7, 2))
        .raw(
            "employment-p9",
            "bottomline.employment.v1.SpellEnded",
            vec![0xff, 0xff],
        )
        .post("P1", "150422", PostCategory::Ordinary)
        .assign("P1", "p2", date(2024, 4, 1))
        .pay("P1", "p2", date(2024, 4, 1), 50_000)
        .pay("P1", "p2", date(2024, 5, 1), 50_000)
        .unassign("P1", "p2", date(2024, 5, 31))
        .capacity("p2", "h1", false)
        .exit("p3", "h2")
        .monitored("h1")
        .train("e1", "p1", TrainingKind::Targeted, date(2024, 8, 1))
        .complete("e1", "p1", true)
        .rain_and_dew("r1", "p3", "h2", date(2024, 9, 1), 150_000)
        .household("h1", "150422", false);
    log
}

async fn one_batch_equals_one_event_at_a_time(backend: Backend) {
    let (Some(whole), Some(single)) = (Fixture::new(backend).await, Fixture::new(backend).await)
    else {
        return;
    };
    let parked =
        projector::testing::apply_both_ways(&whole.projector, &single.projector, log().take())
            .await;
    assert_eq!(parked, 1, "the undecodable event is parked");
    for table in TABLES {
        let (a, b) = (
            dump(whole.projector.pool(), table).await,
            dump(single.projector.pool(), table).await,
        );
        assert!(!a.is_empty(), "{table} has rows");
        assert_eq!(a, b, "{table}");
    }
    // Some values counted from the log by hand.
    let persons = dump(whole.projector.pool(), "emp_persons").await;
    assert_eq!(persons.len(), 6);
    // h3 took its county from its first member that carried one.
    let h3: Vec<String> =
        sqlx::query("SELECT county_code, known FROM emp_households WHERE household_id = 'h3'")
            .fetch_one(whole.projector.pool())
            .await
            .map(|r| vec![r.get::<String, _>(0), r.get::<i64, _>(1).to_string()])
            .unwrap();
    assert_eq!(h3, ["150424", "0"]);
    assert_eq!(
        dump(whole.projector.pool(), "emp_follow_ups").await.len(),
        1
    );
    assert_eq!(
        dump(whole.projector.pool(), "emp_post_payments")
            .await
            .len(),
        2
    );
}

/// 700 persons of 300 households in one run: each table's rows go in several statements of up
/// to 256 rows, the last one padded to a power of two.
async fn a_run_longer_than_one_statement_is_written_whole(backend: Backend) {
    let (Some(whole), Some(single)) = (Fixture::new(backend).await, Fixture::new(backend).await)
    else {
        return;
    };
    let mut log = Log::default();
    for i in 0..700 {
        let county = if i % 2 == 0 { "150422" } else { "150423" };
        log.person(
            &format!("p{i}"),
            &format!("h{}", i % 300),
            county,
            i % 3 != 0,
        );
    }
    for i in 0..300 {
        log.household(&format!("h{i}"), "150422", i % 5 == 0);
    }
    let parked =
        projector::testing::apply_both_ways(&whole.projector, &single.projector, log.take()).await;
    assert_eq!(parked, 0);
    for table in ["emp_persons", "emp_households"] {
        let (a, b) = (
            dump(whole.projector.pool(), table).await,
            dump(single.projector.pool(), table).await,
        );
        assert_eq!(a, b, "{table}");
    }
    assert_eq!(dump(whole.projector.pool(), "emp_persons").await.len(), 700);
    assert_eq!(
        dump(whole.projector.pool(), "emp_households").await.len(),
        300
    );
}

/// Every row of `table`, each column as text, in row order.
async fn dump(pool: &AnyPool, table: &str) -> Vec<Vec<String>> {
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(pool)
        .await
        .unwrap();
    let mut out: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| match r.try_get::<Option<i64>, _>(i) {
                    Ok(v) => format!("{v:?}"),
                    Err(_) => format!("{:?}", r.try_get::<Option<String>, _>(i).unwrap()),
                })
                .collect()
        })
        .collect();
    out.sort();
    out
}
