//! Embedded stack up → CSV import of a synthetic population → MARA queries agree with the counts
//! computed from the generated data.

use e2e_tests::{
    embedded_config, households_by_county, import, mara_client, persons_by_county, population,
    reference, start, wait_for_tally, Tally,
};
use proto::mara::v1::ListCountiesRequest;

/// A seed whose 300 households include the key county 150422 (巴林左旗).
const SEED: u64 = 20261101;
const KEY_COUNTY: &str = "150422";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_then_query_matches_generated_counts() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(embedded_config(dir.path())).await;
    let endpoint = app.endpoint();
    let population = population(SEED, 300);
    let by_county = households_by_county(&population);
    assert!(
        by_county.contains_key(KEY_COUNTY),
        "pick a seed that covers {KEY_COUNTY}"
    );

    let (summary, rejects) = import(&endpoint, &population.to_csv(), "population.csv")
        .await
        .unwrap();
    assert_eq!(rejects, [], "a generated population is valid");
    assert_eq!(summary.rows as i64, population.expected.persons);
    assert_eq!(
        summary.households_registered as i64,
        population.expected.households
    );
    assert_eq!(
        summary.persons_registered as i64,
        population.expected.persons
    );
    assert_eq!(
        (summary.households_replayed, summary.persons_replayed),
        (0, 0)
    );

    let mut mara = mara_client(&endpoint).await;
    let expected = Tally::from(&population.expected);
    let converged = wait_for_tally(&mut mara, expected).await;
    assert_eq!(
        converged.checkpoint,
        expected.households + expected.persons,
        "one event per household and per person"
    );

    let rows = mara
        .list_counties(ListCountiesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .counties;
    let persons = persons_by_county(&population);
    let listed: Vec<&str> = rows.iter().map(|r| r.county_code.as_str()).collect();
    let expected_codes: Vec<&str> = by_county.keys().map(String::as_str).collect();
    assert_eq!(
        listed, expected_codes,
        "one row per county with households, in code order"
    );
    for row in &rows {
        let counts = row.counts.clone().unwrap_or_default();
        assert_eq!(
            counts.households, by_county[&row.county_code],
            "households of {}",
            row.county_code
        );
        assert_eq!(
            counts.persons, persons[&row.county_code],
            "persons of {}",
            row.county_code
        );
        assert_eq!(
            row.national_key_county,
            reference().key_counties.contains(&row.county_code),
            "key-county flag of {}",
            row.county_code
        );
        assert!(
            !row.county_name.is_empty() && !row.province_name.is_empty(),
            "{row:?}"
        );
        assert_eq!(row.province_code, format!("{}0000", &row.county_code[..2]));
    }
    let key = rows.iter().find(|r| r.county_code == KEY_COUNTY).unwrap();
    assert!(key.national_key_county, "{key:?}");
    assert_eq!(key.county_name, "巴林左旗");
    assert_eq!(key.province_name, "内蒙古自治区");

    // The key-county filter and the province filter narrow the same rows.
    let key_only = mara
        .list_counties(ListCountiesRequest {
            key_counties_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .counties;
    assert_eq!(
        key_only.len(),
        rows.iter().filter(|r| r.national_key_county).count()
    );
    let inner_mongolia = mara
        .list_counties(ListCountiesRequest {
            province_code: "150000".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .counties;
    assert!(inner_mongolia.iter().all(|r| r.province_code == "150000"));
    assert_eq!(
        inner_mongolia
            .iter()
            .map(|r| r.counts.clone().unwrap_or_default().households)
            .sum::<i64>(),
        by_county
            .iter()
            .filter(|(c, _)| c.starts_with("15"))
            .map(|(_, n)| n)
            .sum::<i64>()
    );

    let metrics = app.projector().unwrap().metrics().snapshot();
    assert_eq!(
        metrics.applied as i64,
        expected.households + expected.persons,
        "{metrics:?}"
    );
    assert_eq!(
        (metrics.duplicates, metrics.parked, metrics.unknown),
        (0, 0, 0),
        "{metrics:?}"
    );
    app.stop().await;
}
