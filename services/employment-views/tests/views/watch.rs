//! Watches: the current result at once, a new one after a batch that changed it, nothing after a
//! batch that did not.

use std::time::Duration;

use eventstore::Backend;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    Channel, EmployedScaleRequest, LocationClass, ZeroEmploymentHouseholdsRequest,
};
use tokio::time::timeout;
use tokio_stream::StreamExt;
use tonic::Request;

use crate::support::{assert_invalid, date, on_every_backend, Fixture, Log};

on_every_backend!(
    watch_sends_only_changed_results,
    watch_refuses_bad_requests_up_front,
    watches_end_when_the_server_shuts_down
);

async fn watches_end_when_the_server_shuts_down(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let query = f.query.clone().with_shutdown(shutdown.clone());
    let mut stream = query
        .watch_employed_scale(Request::new(march()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.next().await.unwrap().unwrap().employed, 0);
    shutdown.cancel();
    let last = timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the watch ends at shutdown")
        .expect("a final status");
    assert_eq!(last.unwrap_err().code(), tonic::Code::Unavailable);
    assert!(stream.next().await.is_none());
}

fn march() -> EmployedScaleRequest {
    EmployedScaleRequest {
        month: Some(date(2024, 3, 1)),
        ..Default::default()
    }
}

async fn watch_sends_only_changed_results(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.start(
        "s1",
        "p1",
        "h1",
        "150422",
        LocationClass::InTownship,
        Channel::Workshop,
        date(2024, 1, 1),
    );
    f.apply(&mut log).await;
    let mut stream = f
        .query
        .watch_employed_scale(Request::new(march()))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.employed, 1);

    // A batch that does not change the view: no message.
    log.follow_up("p1", "h1", date(2024, 3, 3));
    f.apply(&mut log).await;
    assert!(
        timeout(Duration::from_millis(400), stream.next())
            .await
            .is_err(),
        "no message when nothing changed"
    );

    // A batch that does: the new full result.
    log.start(
        "s2",
        "p2",
        "h2",
        "150422",
        LocationClass::InTownship,
        Channel::Workshop,
        date(2024, 2, 1),
    );
    f.apply(&mut log).await;
    let second = timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a new result")
        .unwrap()
        .unwrap();
    assert_eq!(second.employed, 2);
    assert_eq!(second.rows.len(), 1);
    assert_eq!(second.rows[0].employed, 2);

    // Several batches in quick succession fold into at most one message each, ending in the
    // latest result.
    for (i, person) in ["p3", "p4"].into_iter().enumerate() {
        log.start(
            &format!("s-{person}"),
            person,
            "h3",
            "150422",
            LocationClass::InTownship,
            Channel::Workshop,
            date(2024, 2, 1 + i as i32),
        );
        f.apply(&mut log).await;
    }
    let mut latest = 0;
    while latest < 4 {
        latest = timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the latest result")
            .unwrap()
            .unwrap()
            .employed;
    }
    assert_eq!(latest, 4);

    // Other views watch the same notifications.
    let mut zero = f
        .query
        .watch_zero_employment_households(Request::new(ZeroEmploymentHouseholdsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(zero.next().await.unwrap().unwrap().rows.is_empty());
    log.person("p9", "h9", "150422", true);
    f.apply(&mut log).await;
    let rows = timeout(Duration::from_secs(5), zero.next())
        .await
        .expect("zero-employment household appears")
        .unwrap()
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].household_id, "h9");
}

async fn watch_refuses_bad_requests_up_front(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let bad = EmployedScaleRequest {
        month: Some(date(2024, 3, 15)),
        ..Default::default()
    };
    assert_invalid(
        f.query
            .watch_employed_scale(Request::new(bad))
            .await
            .unwrap_err(),
        "month",
    );
}
