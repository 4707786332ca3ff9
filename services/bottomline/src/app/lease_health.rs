//! The health of the command services follows their writer lease: while another process holds a
//! store's lease (this process's database session had ended, and the other took the lease
//! meanwhile), the service answers every command UNAVAILABLE, so `grpc.health.v1` reports it
//! NOT_SERVING, and a load balancer or readiness probe sends its calls elsewhere. It reports
//! SERVING again once the writer took the lease back, which an idle writer tries every second by
//! itself. The report lags the lease by up to about 1.5 s (the writer's idle check, then this
//! poll).

use std::sync::Arc;
use std::time::Duration;

use employment::{Employment, EmploymentGrpc};
use proto::employment::v1::employment_service_server::EmploymentServiceServer;
use proto::registry::v1::registry_service_server::RegistryServiceServer;
use registry::{Registry, RegistryGrpc};
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic_health::server::HealthReporter;

/// How often the leases are looked at.
const EVERY: Duration = Duration::from_millis(500);

/// Reports each running command service's health from its writer lease every
/// [`EVERY`] until `stop`, changing it only when the lease changes hands.
pub(super) async fn follow(
    health: HealthReporter,
    registry: Option<Arc<Registry>>,
    employment: Option<Arc<Employment>>,
    stop: CancellationToken,
) {
    let (mut registry_held, mut employment_held) = (true, true);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        if let Some(r) = &registry {
            report::<RegistryServiceServer<RegistryGrpc>>(
                &health,
                r.holds_lease(),
                &mut registry_held,
            )
            .await;
        }
        if let Some(e) = &employment {
            report::<EmploymentServiceServer<EmploymentGrpc>>(
                &health,
                e.holds_lease(),
                &mut employment_held,
            )
            .await;
        }
    }
}

/// Reports service `S` as serving when its writer `holds` the lease, when that changed since
/// `last`.
async fn report<S: NamedService>(health: &HealthReporter, holds: bool, last: &mut bool) {
    if holds == *last {
        return;
    }
    *last = holds;
    if holds {
        tracing::info!(service = S::NAME, "writer lease back: serving");
        health.set_serving::<S>().await;
    } else {
        tracing::warn!(
            service = S::NAME,
            "another process holds the writer lease: not serving"
        );
        health.set_not_serving::<S>().await;
    }
}
