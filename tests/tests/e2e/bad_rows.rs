//! A file mixing good rows with every kind of bad row: each bad row is rejected on its own line
//! with its own reason, and exactly the good rows reach MARA.

use e2e_tests::{
    check_character, citizen_id, embedded_config, import, mara_client, start, wait_for_tally,
    RejectRow, Tally,
};
use proto::mara::v1::ListCountiesRequest;

const HEADER: &str = "household_ref,village_code,poverty_alleviated,relocated,settlement_area,citizen_id,name,relation,labour_capacity,disabled";

/// `reason` of the reject on `line`, failing when that line was not rejected exactly once.
fn reason(rejects: &[RejectRow], line: u64) -> &str {
    let found: Vec<&RejectRow> = rejects.iter().filter(|r| r.line == line).collect();
    assert_eq!(found.len(), 1, "line {line} rejected once: {rejects:#?}");
    &found[0].reason
}

fn assert_reason(rejects: &[RejectRow], line: u64, words: &[&str]) {
    let reason = reason(rejects, line);
    for word in words {
        assert!(
            reason.contains(word),
            "line {line}: {reason:?} should mention {word:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_row_is_rejected_with_its_reason_and_good_rows_land() {
    let a = citizen_id("110101", "19800101", 11);
    let b = citizen_id("110101", "19820202", 22);
    let c = citizen_id("110101", "20100505", 51);
    let d = citizen_id("110101", "19700707", 71);
    let e = citizen_id("110101", "19720808", 82);
    let f = citizen_id("110101", "19650909", 91);
    let h = citizen_id("110101", "20120612", 102);
    let i = citizen_id("110101", "19550101", 113);
    let j = citizen_id("110101", "19300303", 124);
    // A wrong check character: the right one is replaced by the next one in the cycle.
    let good = citizen_id("110101", "19900315", 31);
    let wrong = match good.chars().last().unwrap() {
        'X' => '0',
        '9' => 'X',
        digit => char::from(digit as u8 + 1),
    };
    let bad_check = format!("{}{wrong}", &good[..17]);
    // 30 February, with a correct check character so the date is the only fault.
    let bad_date = format!("11010119990230041{}", check_character("11010119990230041"));

    let household = |r: &str, village: &str, alleviated: bool, area: &str| {
        format!("{r},{village},{alleviated},{},{area}", !area.is_empty())
    };
    let g1 = household("G-1", "110101001001", false, "");
    let x1 = household("X-1", "999999001001", true, "");
    let g2 = household("G-2", "110101002003", true, "东城区第1安置区");
    let g3 = household("G-3", "110101003004", true, "");

    let mut csv: Vec<u8> = Vec::new();
    let mut line = |text: &str| {
        csv.extend_from_slice(text.as_bytes());
        csv.push(b'\n');
    };
    line(HEADER); // 1
    line(&format!("{g1},{a},王建国,head,ordinary,false")); // 2 good
    line(&format!("{g1},{b},李秀英,spouse,none,false")); // 3 good
    line(&format!("{g1},{bad_check},王小明,child,ordinary,false")); // 4 check character
    line(&format!("{g1},{bad_date},王小红,child,weak,false")); // 5 impossible birth date
    line(&format!("{x1},{d},钱五,head,ordinary,false")); // 6 unknown county
    line(&format!("{x1},{e},孙六,spouse,ordinary,false")); // 7 member of the refused household
    line(&format!("{g2},{f},周七,head,skilled,false")); // 8 good
    line(&format!("{g2},{a},吴八,child,ordinary,false")); // 9 duplicate of line 2 (another household)
    line(&format!(
        "{g2},{},郑九,child,ordinary",
        citizen_id("110101", "20000101", 131)
    )); // 10 missing column
    let mut non_utf8 = format!("{g2},{h},").into_bytes(); // 11 name with bytes 0xff 0xfe
    non_utf8.extend_from_slice(&[0xff, 0xfe]);
    non_utf8.extend_from_slice("名,child,none,true".as_bytes());
    csv.extend_from_slice(&non_utf8);
    csv.push(b'\n');
    let mut line = |text: &str| {
        csv.extend_from_slice(text.as_bytes());
        csv.push(b'\n');
    };
    line(&format!("{g1},{c},王浩,child,none,false")); // 12 good, after the bad rows
    line(&format!("{g3},{i},冯桂兰,head,weak,true")); // 13 good
    line(&format!("{g3},{j},冯老太,parent,none,false")); // 14 good

    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let endpoint = app.endpoint();
    let (summary, rejects) = import(&endpoint, &csv, "bad-rows.csv").await.unwrap();

    assert_eq!(
        rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        [4, 5, 6, 7, 9, 10, 11],
        "{rejects:#?}"
    );
    assert_reason(&rejects, 4, &["citizen_id", "check character"]);
    assert_reason(&rejects, 5, &["citizen_id", "birth date", "1999-02-30"]);
    assert_reason(&rejects, 6, &["village_code", "county", "999999"]);
    assert_reason(
        &rejects,
        7,
        &["household X-1", "rejected on line 6", "999999"],
    );
    assert_reason(&rejects, 9, &["citizen ID", "already appears on line 2"]);
    assert_reason(&rejects, 10, &["expected 10 columns, found 9"]);
    assert_reason(&rejects, 11, &["name", "UTF-8"]);
    let raw_of = |line: u64| rejects.iter().find(|r| r.line == line).unwrap().raw.clone();
    assert_eq!(
        raw_of(4),
        format!("{g1},{bad_check},王小明,child,ordinary,false")
    );
    assert!(raw_of(11).contains(&h), "{:?}", raw_of(11));
    for reject in &rejects {
        // A reason never repeats a citizen ID number (only the raw line does).
        for id in [&a, &bad_check, &bad_date, &d, &e, &h] {
            assert!(!reject.reason.contains(id.as_str()), "{reject:?}");
        }
    }

    assert!(summary.is_consistent(), "{summary:?}");
    assert_eq!(summary.rows, 13);
    assert_eq!(summary.rejected, 7);
    assert_eq!(
        summary.households_registered, 3,
        "G-1, G-2, G-3; X-1 refused"
    );
    assert_eq!(summary.persons_registered, 6);

    // Good rows: A (ordinary), B (none), F (skilled), C (none), I (weak), J (none).
    let mut mara = mara_client(&endpoint).await;
    let first = Tally {
        households: 3,
        persons: 6,
        labour_capable: 3,
        poverty_alleviated: 2,
    };
    wait_for_tally(&mut mara, first).await;
    let rows = mara
        .list_counties(ListCountiesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .counties;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].county_code, "110101");
    assert_eq!(rows[0].county_name, "东城区");
    assert!(
        !rows[0].national_key_county,
        "东城区 is not a national key county"
    );

    // A later file registering a citizen ID an earlier import already registered.
    let k = citizen_id("110101", "19880808", 141);
    let g4 = household("G-4", "110101001001", false, "");
    let second = format!(
        "{HEADER}\n{g4},{k},陈明,head,ordinary,false\n{g4},{f},周七,spouse,ordinary,false\n"
    );
    let (summary, rejects) = import(&endpoint, second.as_bytes(), "second.csv")
        .await
        .unwrap();
    assert_eq!(
        rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        [3],
        "{rejects:#?}"
    );
    assert_reason(&rejects, 3, &["person", "already exists"]);
    assert_eq!(
        (
            summary.households_registered,
            summary.persons_registered,
            summary.rejected
        ),
        (1, 1, 1)
    );
    wait_for_tally(
        &mut mara,
        Tally {
            households: 4,
            persons: 7,
            labour_capable: 4,
            poverty_alleviated: 2,
        },
    )
    .await;

    // Importing the first file again replays its good rows and rejects the same lines.
    let (again, rejects_again) = import(&endpoint, &csv, "bad-rows.csv").await.unwrap();
    assert_eq!(
        rejects_again.iter().map(|r| r.line).collect::<Vec<_>>(),
        [4, 5, 6, 7, 9, 10, 11]
    );
    assert_eq!(
        (again.households_replayed, again.persons_replayed),
        (3, 6),
        "{again:?}"
    );
    assert_eq!(
        (again.households_registered, again.persons_registered),
        (0, 0),
        "{again:?}"
    );
    let settled = wait_for_tally(
        &mut mara,
        Tally {
            households: 4,
            persons: 7,
            labour_capable: 4,
            poverty_alleviated: 2,
        },
    )
    .await;
    assert_eq!(settled.checkpoint, 4 + 7);
    app.stop().await;
}
