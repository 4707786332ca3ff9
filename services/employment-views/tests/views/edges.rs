//! What the projection refuses or tolerates: poison events (parked before any write), unknown
//! types, redelivery.

use eventstore::Backend;
use proto::employment::v1 as pb;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{Channel, EmployedScaleRequest, LocationClass};
use tonic::Request;

use crate::support::{date, on_every_backend, Fixture, Log};

on_every_backend!(
    poison_is_parked_and_later_events_of_its_stream_wait,
    unknown_types_and_redelivery
);

async fn employed(f: &Fixture) -> i64 {
    f.query
        .employed_scale(Request::new(EmployedScaleRequest {
            month: Some(date(2024, 3, 1)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .employed
}

fn start(log: &mut Log, spell: &str, person: &str) {
    log.start(
        spell,
        person,
        "h",
        "150422",
        LocationClass::InTownship,
        Channel::Other,
        date(2024, 1, 1),
    );
}

async fn poison_is_parked_and_later_events_of_its_stream_wait(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    let bad_county = pb::SpellStarted {
        spell_id: "s0".into(),
        person_id: "p1".into(),
        household_id: "h".into(),
        county_code: "150400".into(),
        terms: None,
    };
    log.event("employment-p1", "SpellStarted", bad_county).raw(
        "employment-p2",
        "bottomline.employment.v1.SpellEnded",
        vec![0xff, 0xff],
    );
    start(&mut log, "s1", "p1");
    start(&mut log, "s3", "p3");
    let report = f
        .projector
        .apply_batch(&log.take(), &[])
        .await
        .expect("apply");
    assert_eq!((report.applied, report.parked.len()), (1, 3));
    let reasons: Vec<&str> = report.parked.iter().map(|p| p.reason.as_str()).collect();
    assert!(reasons[0].contains("county_code"), "{reasons:?}");
    assert!(reasons[1].contains("does not decode"), "{reasons:?}");
    assert!(reasons[2].contains("waiting behind"), "{reasons:?}");
    // Only p3 got in.
    assert_eq!(employed(&f).await, 1);
}

async fn unknown_types_and_redelivery(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    start(&mut log, "s1", "p1");
    log.raw(
        "employment-p1",
        "bottomline.employment.v1.SomethingNew",
        vec![1, 2, 3],
    )
    .event(
        "workshop-w1",
        "WorkshopRegistered",
        pb::WorkshopRegistered {
            workshop_id: "w1".into(),
            ..Default::default()
        },
    );
    let deliveries = log.take();
    let report = f.projector.apply_batch(&deliveries, &[]).await.unwrap();
    assert_eq!((report.applied, report.unknown), (1, 2));
    let again = f.projector.apply_batch(&deliveries, &[]).await.unwrap();
    assert_eq!((again.applied, again.duplicates), (0, 3));
    assert_eq!(employed(&f).await, 1);
}
