//! The gRPC face of the registry: `bottomline.registry.v1.RegistryService`.

use std::sync::Arc;

use chrono::NaiveDate;
use eventstore::AppendOutcome;
use prost::Message;
use proto::registry::v1 as pb;
use proto::registry::v1::registry_service_server::RegistryService;
use registry_domain::{DomainError, RegistryCommand};
use tonic::{Request, Response, Status};

use crate::convert;
use crate::handler::Registry;
use writer::grpc::{self, domain_status, to_status, CommandRequest};

/// The gRPC service over a shared [`Registry`].
#[derive(Clone)]
pub struct RegistryGrpc {
    registry: Arc<Registry>,
}

impl RegistryGrpc {
    /// Serves `registry`.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { registry }
    }

    /// Wraps it in the generated tonic server with message size limits: 64 KiB per request
    /// message (a `BulkRegister` stream's messages included), 64 MiB per response (a
    /// `BulkRegisterResponse` lists every rejected item; the other responses are small).
    pub fn into_server(self) -> pb::registry_service_server::RegistryServiceServer<Self> {
        pb::registry_service_server::RegistryServiceServer::new(self)
            .max_decoding_message_size(MAX_REQUEST_MESSAGE)
            .max_encoding_message_size(MAX_RESPONSE_MESSAGE)
    }
}

/// Largest request message the service decodes (every RPC, each message of a stream).
pub const MAX_REQUEST_MESSAGE: usize = 64 * 1024;
/// Largest response message the service encodes (a `BulkRegisterResponse` with many rejections).
pub const MAX_RESPONSE_MESSAGE: usize = 64 * 1024 * 1024;

/// Today's civil date in China Standard Time (UTC+8).
pub use writer::grpc::today_in_china;

impl RegistryGrpc {
    async fn run<R: CommandRequest>(
        &self,
        request: &Request<R>,
        build: impl FnOnce(&R, uuid::Uuid, NaiveDate) -> Result<RegistryCommand, DomainError>,
    ) -> Result<AppendOutcome, Status> {
        let body = request.get_ref();
        let command_id = grpc::command_id(body.command_id()).map_err(domain_status)?;
        let today = today_in_china();
        let command = build(body, command_id, today).map_err(domain_status)?;
        let fingerprint = self.registry.key().fingerprint(&body.bytes_without_id());
        let meta = grpc::command_meta(request, command_id, fingerprint);
        self.registry
            .execute(command, meta, today)
            .await
            .map_err(to_status)
    }
}

fn ack(outcome: &AppendOutcome) -> pb::CommandAck {
    let (stream_id, stream_version, global_position) = grpc::last_event(outcome);
    pb::CommandAck {
        stream_id: stream_id.to_owned(),
        stream_version,
        global_position,
        replayed: outcome.replayed,
    }
}

fn stream_suffix(outcome: &AppendOutcome) -> String {
    let stream = &outcome.events[0].stream_id;
    stream
        .split_once('-')
        .map(|(_, id)| id.to_string())
        .unwrap_or_default()
}

#[tonic::async_trait]
impl RegistryService for RegistryGrpc {
    #[tracing::instrument(skip_all, fields(rpc = "RegisterHousehold"))]
    async fn register_household(
        &self,
        request: Request<pb::RegisterHouseholdRequest>,
    ) -> Result<Response<pb::RegisterHouseholdResponse>, Status> {
        let outcome = self
            .run(&request, |r, id, _| convert::register_household(r, id))
            .await?;
        Ok(Response::new(pb::RegisterHouseholdResponse {
            household_id: stream_suffix(&outcome),
            ack: Some(ack(&outcome)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RegisterPerson"))]
    async fn register_person(
        &self,
        request: Request<pb::RegisterPersonRequest>,
    ) -> Result<Response<pb::RegisterPersonResponse>, Status> {
        let key = self.registry.key().clone();
        let outcome = self
            .run(&request, |r, _, today| {
                convert::register_person(r, &key, today)
            })
            .await?;
        let registered = pb::PersonRegistered::decode(outcome.events[0].payload.as_slice())
            .map_err(|e| Status::internal(format!("stored event does not decode: {e}")))?;
        Ok(Response::new(pb::RegisterPersonResponse {
            person_id: registered.person_id,
            id_masked: registered.id_masked,
            ack: Some(ack(&outcome)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ChangeLabourCapacity"))]
    async fn change_labour_capacity(
        &self,
        request: Request<pb::ChangeLabourCapacityRequest>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let outcome = self
            .run(&request, |r, _, _| convert::change_labour_capacity(r))
            .await?;
        Ok(Response::new(ack(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RecordExit"))]
    async fn record_exit(
        &self,
        request: Request<pb::RecordExitRequest>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let outcome = self
            .run(&request, |r, _, _| convert::record_exit(r))
            .await?;
        Ok(Response::new(ack(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "OpenMonitoringCase"))]
    async fn open_monitoring_case(
        &self,
        request: Request<pb::OpenMonitoringCaseRequest>,
    ) -> Result<Response<pb::OpenMonitoringCaseResponse>, Status> {
        let outcome = self
            .run(&request, |r, id, _| convert::open_case(r, id))
            .await?;
        Ok(Response::new(pb::OpenMonitoringCaseResponse {
            case_id: stream_suffix(&outcome),
            ack: Some(ack(&outcome)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "AdvanceMonitoringCase"))]
    async fn advance_monitoring_case(
        &self,
        request: Request<pb::AdvanceMonitoringCaseRequest>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let outcome = self
            .run(&request, |r, _, _| convert::advance_case(r))
            .await?;
        Ok(Response::new(ack(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RecordAssistanceMeasure"))]
    async fn record_assistance_measure(
        &self,
        request: Request<pb::RecordAssistanceMeasureRequest>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let outcome = self
            .run(&request, |r, _, _| convert::record_measure(r))
            .await?;
        Ok(Response::new(ack(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "EliminateRisk"))]
    async fn eliminate_risk(
        &self,
        request: Request<pb::EliminateRiskRequest>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let outcome = self
            .run(&request, |r, _, _| convert::eliminate_risk(r))
            .await?;
        Ok(Response::new(ack(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ReturnToAssisted"))]
    async fn return_to_assisted(
        &self,
        request: Request<pb::ReturnToAssistedRequest>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let outcome = self
            .run(&request, |r, _, _| convert::return_to_assisted(r))
            .await?;
        Ok(Response::new(ack(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "BulkRegister"))]
    async fn bulk_register(
        &self,
        request: Request<tonic::Streaming<pb::BulkRegisterRequest>>,
    ) -> Result<Response<pb::BulkRegisterResponse>, Status> {
        crate::bulk::bulk_register(self.registry.clone(), request).await
    }
}
