//! The follow-up queue: who is listed, in which order, and who leaves it.

use eventstore::Backend;
use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    Channel, EndReason, FollowUpQueueRequest, FollowUpQueueResponse, LocationClass,
};
use tonic::Request;

use crate::support::{assert_invalid, date, on_every_backend, Fixture, Log};

on_every_backend!(
    queue_lists_overdue_job_losses_oldest_first,
    bad_queue_requests_name_the_field
);

fn spell(log: &mut Log, spell: &str, person: &str, household: &str) {
    log.start(
        spell,
        person,
        household,
        "150422",
        LocationClass::InCountyOutOfTownship,
        Channel::Workshop,
        date(2024, 1, 1),
    );
}

async fn queue(f: &Fixture, request: FollowUpQueueRequest) -> FollowUpQueueResponse {
    f.query
        .follow_up_queue(Request::new(request))
        .await
        .unwrap()
        .into_inner()
}

fn on_june_30(days: Option<i32>) -> FollowUpQueueRequest {
    FollowUpQueueRequest {
        as_of: Some(date(2024, 6, 30)),
        follow_up_days: days,
        overdue_only: true,
        ..Default::default()
    }
}

fn people(response: &FollowUpQueueResponse) -> Vec<&str> {
    response.rows.iter().map(|r| r.person_id.as_str()).collect()
}

async fn queue_lists_overdue_job_losses_oldest_first(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    let mut log = Log::default();
    log.household("ha", "150422", true).monitored("ha");
    for p in ["pa", "pb", "pc", "pd", "pe", "pf"] {
        spell(&mut log, &format!("s-{p}"), p, &format!("h{}", &p[1..]));
    }
    log.end("s-pa", "pa", "ha", date(2024, 6, 1), EndReason::Dismissed)
        // A follow-up before the loss does not count for it.
        .follow_up("pb", "hb", date(2024, 5, 10))
        .end(
            "s-pb",
            "pb",
            "hb",
            date(2024, 5, 20),
            EndReason::ContractEnded,
        )
        // Five days ago: still inside a 7-day window.
        .end(
            "s-pc",
            "pc",
            "hc",
            date(2024, 6, 25),
            EndReason::BusinessClosed,
        )
        // Moving is not a job loss.
        .end("s-pd", "pd", "hd", date(2024, 5, 1), EndReason::Moved)
        .end("s-pe", "pe", "he", date(2024, 5, 1), EndReason::Dismissed)
        .end("s-pf", "pf", "hf", date(2024, 5, 1), EndReason::Health)
        .exit("pf", "hf");
    // pe works again.
    spell(&mut log, "s-pe-2", "pe", "he");
    f.apply(&mut log).await;

    let listed = queue(&f, on_june_30(None)).await;
    assert_eq!(listed.follow_up_days, 7);
    assert_eq!(people(&listed), ["pb", "pa"]);
    let pb = &listed.rows[0];
    assert_eq!(pb.end_date, Some(date(2024, 5, 20)));
    assert_eq!(pb.reason, EndReason::ContractEnded as i32);
    assert_eq!(pb.days_since_end, 41);
    assert_eq!(pb.last_follow_up, Some(date(2024, 5, 10)));
    assert!(!pb.monitored_household);
    let pa = &listed.rows[1];
    assert_eq!((pa.days_since_end, pa.monitored_household), (29, true));
    assert_eq!(
        (pa.household_id.as_str(), pa.county_code.as_str()),
        ("ha", "150422")
    );
    assert_eq!(pa.last_follow_up, None);
    assert_eq!(pa.follow_up_due, Some(date(2024, 6, 8)));
    assert!(pa.overdue && pb.overdue);

    // Without `overdue_only` every pending job loss is listed the moment it ends, pc (ended five
    // days ago, due in two) included and marked not overdue yet.
    let pending = queue(
        &f,
        FollowUpQueueRequest {
            overdue_only: false,
            ..on_june_30(None)
        },
    )
    .await;
    assert_eq!(people(&pending), ["pb", "pa", "pc"]);
    let pc = &pending.rows[2];
    assert_eq!(pc.follow_up_due, Some(date(2024, 7, 2)));
    assert!(!pc.overdue);

    // A shorter window lists pc too (5 days > 3); 0 days lists everyone ended before as_of.
    assert_eq!(
        people(&queue(&f, on_june_30(Some(3))).await),
        ["pb", "pa", "pc"]
    );
    assert_eq!(
        people(&queue(&f, on_june_30(Some(0))).await),
        ["pb", "pa", "pc"]
    );
    // Before pb's loss was overdue only... nobody: as of 2024-05-25, pb ended 5 days before.
    let early = FollowUpQueueRequest {
        as_of: Some(date(2024, 5, 25)),
        overdue_only: true,
        ..Default::default()
    };
    assert!(queue(&f, early).await.rows.is_empty());

    // Paging, one row at a time.
    let first = queue(
        &f,
        FollowUpQueueRequest {
            page_size: 1,
            ..on_june_30(None)
        },
    )
    .await;
    assert_eq!(people(&first), ["pb"]);
    let second = queue(
        &f,
        FollowUpQueueRequest {
            page_size: 1,
            page_token: first.next_page_token.clone(),
            ..on_june_30(None)
        },
    )
    .await;
    assert_eq!(people(&second), ["pa"]);
    assert_eq!(second.next_page_token, "");

    // Following pa up (late, but done) takes them off the queue.
    log.follow_up("pa", "ha", date(2024, 6, 28));
    f.apply(&mut log).await;
    assert_eq!(people(&queue(&f, on_june_30(None)).await), ["pb"]);
    // ...but not as of a date before that follow-up.
    let before = FollowUpQueueRequest {
        as_of: Some(date(2024, 6, 27)),
        overdue_only: true,
        ..Default::default()
    };
    assert_eq!(people(&queue(&f, before).await), ["pb", "pa"]);

    // Filters: another county has nobody.
    let elsewhere = FollowUpQueueRequest {
        county_code: "510723".into(),
        ..on_june_30(None)
    };
    assert!(queue(&f, elsewhere).await.rows.is_empty());
}

async fn bad_queue_requests_name_the_field(backend: Backend) {
    let Some(f) = Fixture::new(backend).await else {
        return;
    };
    for (request, field) in [
        (on_june_30(Some(366)), "follow_up_days"),
        (on_june_30(Some(-1)), "follow_up_days"),
        (
            FollowUpQueueRequest {
                as_of: Some(date(2024, 13, 1)),
                ..Default::default()
            },
            "as_of",
        ),
        (
            FollowUpQueueRequest {
                province_code: "510000".into(),
                county_code: "150422".into(),
                ..Default::default()
            },
            "county_code",
        ),
        (
            FollowUpQueueRequest {
                page_token: "00ff".into(),
                ..Default::default()
            },
            "page_token",
        ),
    ] {
        assert_invalid(
            f.query
                .follow_up_queue(Request::new(request))
                .await
                .unwrap_err(),
            field,
        );
    }
    // A token of another view is refused too.
    let mut log = Log::default();
    log.household("h1", "150422", true)
        .person("p1", "h1", "150422", true)
        .household("h2", "150422", true)
        .person("p2", "h2", "150422", true);
    f.apply(&mut log).await;
    let zero = f
        .query
        .zero_employment_households(Request::new(
            proto::employment::v1::ZeroEmploymentHouseholdsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!zero.next_page_token.is_empty());
    // A token used with other filters is refused (a smaller page is fine).
    let other_filters = proto::employment::v1::ZeroEmploymentHouseholdsRequest {
        page_token: zero.next_page_token.clone(),
        monitored_only: true,
        ..Default::default()
    };
    assert_invalid(
        f.query
            .zero_employment_households(Request::new(other_filters))
            .await
            .unwrap_err(),
        "page_token",
    );
    let same_filters = proto::employment::v1::ZeroEmploymentHouseholdsRequest {
        page_token: zero.next_page_token.clone(),
        page_size: 5,
        ..Default::default()
    };
    let rest = f
        .query
        .zero_employment_households(Request::new(same_filters))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.rows.len(), 1);
    let foreign = FollowUpQueueRequest {
        page_token: zero.next_page_token,
        ..Default::default()
    };
    assert_invalid(
        f.query
            .follow_up_queue(Request::new(foreign))
            .await
            .unwrap_err(),
        "page_token",
    );
}
