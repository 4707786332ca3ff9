//! The real binary, killed with SIGKILL in the middle of an import, then started again: after the
//! same file is imported once more, the read model's counts equal the registered counts exactly.

mod common;

use std::time::{Duration, Instant};

use common::{connect, free_port, start};

use bottomline::reference::ReferenceData;
use proto::employment::v1::employment_query_service_client::EmploymentQueryServiceClient;
use proto::employment::v1::ZeroEmploymentHouseholdsRequest;
use proto::mara::v1::mara_query_service_client::MaraQueryServiceClient;
use proto::mara::v1::SummaryRequest;
use proto::registry::v1::registry_service_client::RegistryServiceClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_import_then_restart_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reference = ReferenceData::load(None, None, None).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let population =
        registry_import::generate(99, 400, &reference.catalog, &reference.key_counties, today);
    let csv = population.to_csv();
    let options = registry_import::ImportOptions {
        concurrency: 8,
        bulk: false,
        progress: false,
        source_name: "kill-test.csv".into(),
    };

    let port = free_port();
    let mut child = start(dir.path(), port);
    let channel = connect(port).await;
    let import = {
        let (channel, csv, options) = (channel.clone(), csv.clone(), options.clone());
        tokio::spawn(async move {
            registry_import::import_csv(
                RegistryServiceClient::new(channel),
                csv.as_slice(),
                Vec::new(),
                &options,
            )
            .await
        })
    };
    // Kill as soon as part of the population is in the read model.
    let mut mara = MaraQueryServiceClient::new(channel.clone());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let persons = mara
            .summary(SummaryRequest::default())
            .await
            .unwrap()
            .into_inner()
            .counts
            .unwrap()
            .persons;
        if persons > 200 {
            break;
        }
        assert!(Instant::now() < deadline, "import made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        import.await.unwrap().is_err(),
        "the import saw the server die"
    );

    let port = free_port();
    let mut child = start(dir.path(), port);
    let channel = connect(port).await;
    let summary = registry_import::import_csv(
        RegistryServiceClient::new(channel.clone()),
        csv.as_slice(),
        Vec::new(),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(summary.rejected, 0, "{summary}");
    assert!(
        summary.persons_replayed > 0,
        "the rows that landed before the kill replay: {summary}"
    );
    assert_eq!(
        summary.persons_registered + summary.persons_replayed,
        population.expected.persons as usize
    );

    let mut mara = MaraQueryServiceClient::new(channel);
    let deadline = Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let counts = mara
            .summary(SummaryRequest::default())
            .await
            .unwrap()
            .into_inner()
            .counts
            .unwrap();
        if counts.persons >= population.expected.persons || Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Let anything that would double-apply show up before the final look.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = mara
        .summary(SummaryRequest::default())
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts, again);
    assert_eq!(counts.households, population.expected.households);
    assert_eq!(counts.persons, population.expected.persons);
    assert_eq!(
        counts.labour_capable_persons,
        population.expected.labour_capable_persons
    );
    assert_eq!(
        counts.poverty_alleviated_households,
        population.expected.poverty_alleviated_households
    );
    // The employment service's reference view, fed by its registry intake across the kill, knows
    // every labour-capable person exactly once: with no spell recorded, each household with one
    // is a zero-employment household.
    let capable = |p: &registry_import::SyntheticPerson| {
        p.labour_capacity != registry_domain::LabourCapacity::None
    };
    let expected_households = population
        .households
        .iter()
        .filter(|h| h.members.iter().any(capable))
        .count();
    let mut views = EmploymentQueryServiceClient::new(connect(port).await);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (households, members) = loop {
        let (mut households, mut members, mut token) = (0usize, 0i64, String::new());
        loop {
            let page = views
                .zero_employment_households(ZeroEmploymentHouseholdsRequest {
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            households += page.rows.len();
            members += page
                .rows
                .iter()
                .map(|r| i64::from(r.labour_capable_members))
                .sum::<i64>();
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        if members >= population.expected.labour_capable_persons || Instant::now() > deadline {
            break (households, members);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(members, population.expected.labour_capable_persons);
    assert_eq!(households, expected_households);
    child.kill().unwrap();
    child.wait().unwrap();
}
