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
use tonic_health::ServingStatus;

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
    // (service name, whether its writer holds the lease, as last reported)
    type Holds = Box<dyn Fn() -> bool + Send + Sync>;
    let mut services: Vec<(&'static str, Holds, bool)> = Vec::new();
    if let Some(r) = registry {
        let name = RegistryServiceServer::<RegistryGrpc>::NAME;
        services.push((name, Box::new(move || r.holds_lease()), true));
    }
    if let Some(e) = employment {
        let name = EmploymentServiceServer::<EmploymentGrpc>::NAME;
        services.push((name, Box::new(move || e.holds_lease()), true));
    }
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        for (service, holds, last) in &mut services {
            let holds = holds();
            if holds == *last {
                continue;
            }
            *last = holds;
            let status = if holds {
                tracing::info!(service, "writer lease back: serving");
                ServingStatus::Serving
            } else {
                tracing::warn!(
                    service,
                    "another process holds the writer lease: not serving"
                );
                ServingStatus::NotServing
            };
            health.set_service_status(*service, status).await;
        }
    }
}
