//! The gRPC face of the employment context: `bottomline.employment.v1.EmploymentService`.

use std::sync::Arc;

use decision::DomainError;
use employment_domain::EmploymentCommand;
use proto::employment::v1 as pb;
use proto::employment::v1::employment_service_server::{
    EmploymentService, EmploymentServiceServer,
};
use registry_domain::DivisionCatalog;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};
use writer::grpc::{self, domain_status, to_status, today_in_china, CommandRequest};
use writer::ExecuteError;

use crate::convert;
use crate::handler::Employment;

/// The gRPC service over a shared [`Employment`] command side.
#[derive(Clone)]
pub struct EmploymentGrpc {
    employment: Arc<Employment>,
    catalog: Arc<DivisionCatalog>,
}

impl EmploymentGrpc {
    /// Serves `employment`; division codes in commands must be counties of `catalog`.
    pub fn new(employment: Arc<Employment>, catalog: Arc<DivisionCatalog>) -> Self {
        Self {
            employment,
            catalog,
        }
    }

    /// Wraps it in the generated tonic server with message size limits.
    pub fn into_server(self) -> EmploymentServiceServer<Self> {
        EmploymentServiceServer::new(self)
            .max_decoding_message_size(64 * 1024)
            .max_encoding_message_size(64 * 1024)
    }

    /// Converts, executes and acknowledges one command request. Employment requests hold no
    /// citizen ID, so the fingerprint is a plain SHA-256 of the request without its id.
    async fn run<R: CommandRequest>(
        &self,
        request: Request<R>,
        build: impl FnOnce(&R) -> Result<EmploymentCommand, DomainError>,
    ) -> Result<Response<pb::CommandAck>, Status> {
        self.run_naming(request, build, |field| field).await
    }

    /// [`Self::run`], renaming the fields of refusals decided by the domain to the request's
    /// field paths with `path` (the domain names `start_date`, the request `terms.start_date`).
    async fn run_naming<R: CommandRequest>(
        &self,
        request: Request<R>,
        build: impl FnOnce(&R) -> Result<EmploymentCommand, DomainError>,
        path: fn(&'static str) -> &'static str,
    ) -> Result<Response<pb::CommandAck>, Status> {
        let body = request.get_ref();
        let command_id = grpc::command_id(body.command_id()).map_err(domain_status)?;
        let command = build(body).map_err(domain_status)?;
        convert::known_divisions(&command, &self.catalog).map_err(domain_status)?;
        let fingerprint = Sha256::digest(body.bytes_without_id()).to_vec();
        let meta = grpc::command_meta(&request, command_id, fingerprint);
        let outcome = self
            .employment
            .execute(command, meta, today_in_china())
            .await
            .map_err(|e| match e {
                ExecuteError::Domain(DomainError::Invalid { field, reason }) => {
                    domain_status(DomainError::Invalid {
                        field: path(field),
                        reason,
                    })
                }
                e => to_status(e),
            })?;
        let (stream_id, stream_version, global_position) = grpc::last_event(&outcome);
        Ok(Response::new(pb::CommandAck {
            stream_id: stream_id.to_owned(),
            stream_version,
            global_position,
            replayed: outcome.replayed,
            event_types: outcome
                .events
                .iter()
                .map(|e| e.event_type.clone())
                .collect(),
        }))
    }
}

macro_rules! rpcs {
    ($($method:ident($request:ident) => $convert:ident;)*) => {
        #[tonic::async_trait]
        impl EmploymentService for EmploymentGrpc {
            #[tracing::instrument(skip_all, fields(rpc = "start_spell"))]
            async fn start_spell(
                &self,
                request: Request<pb::StartSpellRequest>,
            ) -> Result<Response<pb::CommandAck>, Status> {
                self.run_naming(request, convert::start_spell, in_terms).await
            }

            $(
            #[tracing::instrument(skip_all, fields(rpc = stringify!($method)))]
            async fn $method(
                &self,
                request: Request<pb::$request>,
            ) -> Result<Response<pb::CommandAck>, Status> {
                self.run(request, convert::$convert).await
            }
            )*
        }
    };
}

/// The request path of a spell-terms field the domain checks, for StartSpell.
fn in_terms(field: &'static str) -> &'static str {
    match field {
        "place_of_work" => "terms.place_of_work",
        "start_date" => "terms.start_date",
        "monthly_income_fen" => "terms.monthly_income_fen",
        "employer_uscc" => "terms.employer_uscc",
        other => other,
    }
}

rpcs! {
    end_spell(EndSpellRequest) => end_spell;
    correct_spell(CorrectSpellRequest) => correct_spell;
    record_follow_up(RecordFollowUpRequest) => record_follow_up;
    register_workshop(RegisterWorkshopRequest) => register_workshop;
    classify_workshop(ClassifyWorkshopRequest) => classify_workshop;
    report_workshop_workers(ReportWorkshopWorkersRequest) => report_workshop_workers;
    create_post(CreatePostRequest) => create_post;
    assign_post(AssignPostRequest) => assign_post;
    end_post_assignment(EndPostAssignmentRequest) => end_post_assignment;
    record_post_subsidy_paid(RecordPostSubsidyPaidRequest) => record_post_subsidy_paid;
    enrol_training(EnrolTrainingRequest) => enrol_training;
    complete_training(CompleteTrainingRequest) => complete_training;
    enrol_rain_and_dew(EnrolRainAndDewRequest) => enrol_rain_and_dew;
}
