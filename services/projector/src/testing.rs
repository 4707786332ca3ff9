//! Helpers for projections' tests.

use crate::{Delivery, Projection, Projector};

/// Applies `deliveries` to `whole` as one batch and to `single` one delivery per batch (for a
/// projection that writes runs set-based: both must end alike). Asserts that both applied and
/// parked as many events, and returns how many were parked. Panics on a store error.
pub async fn apply_both_ways<P: Projection>(
    whole: &Projector<P>,
    single: &Projector<P>,
    deliveries: Vec<Delivery>,
) -> usize {
    let report = whole
        .apply_batch(&deliveries, &[])
        .await
        .expect("apply as one batch");
    let (mut applied, mut parked) = (0, 0);
    for d in deliveries {
        let r = single
            .apply_batch(&[d], &[])
            .await
            .expect("apply one event");
        applied += r.applied;
        parked += r.parked.len();
    }
    assert_eq!((report.applied, report.parked.len()), (applied, parked));
    parked
}
