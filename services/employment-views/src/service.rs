//! `bottomline.employment.v1.EmploymentQueryService`: each view's unary RPC and its watch.

use proto::employment::v1::employment_query_service_server::EmploymentQueryService;
use proto::employment::v1::{
    EmployedScaleRequest, EmployedScaleResponse, FollowUpQueueRequest, FollowUpQueueResponse,
    HouseholdsLostWorkRequest, HouseholdsLostWorkResponse, PostOccupancyRequest,
    PostOccupancyResponse, RainAndDewCoverageRequest, RainAndDewCoverageResponse,
    SuspiciousPatternsRequest, SuspiciousPatternsResponse, TrainingCoverageRequest,
    TrainingCoverageResponse, ZeroEmploymentHouseholdsRequest, ZeroEmploymentHouseholdsResponse,
};
use tonic::{Request, Response, Status};

use crate::query::EmploymentQuery;
use crate::watch::{watch, WatchStream};

/// For each view: `unary, watch, StreamType, Request, Response, EmploymentQuery method`.
macro_rules! views {
    ($($unary:ident, $watch:ident, $stream:ident, $req:ty, $resp:ty, $of:ident;)*) => {
        #[tonic::async_trait]
        impl EmploymentQueryService for EmploymentQuery {
            $(
                async fn $unary(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    Ok(Response::new(self.$of(request.into_inner()).await?))
                }

                type $stream = WatchStream<$resp>;

                async fn $watch(
                    &self,
                    request: Request<$req>,
                ) -> Result<Response<Self::$stream>, Status> {
                    let request = request.into_inner();
                    let stream = watch(self.clone(), move |query| {
                        let request = request.clone();
                        async move { query.$of(request).await }
                    })
                    .await?;
                    Ok(Response::new(stream))
                }
            )*
        }
    };
}

views! {
    employed_scale, watch_employed_scale, WatchEmployedScaleStream,
        EmployedScaleRequest, EmployedScaleResponse, employed_scale_of;
    follow_up_queue, watch_follow_up_queue, WatchFollowUpQueueStream,
        FollowUpQueueRequest, FollowUpQueueResponse, follow_up_queue_of;
    training_coverage, watch_training_coverage, WatchTrainingCoverageStream,
        TrainingCoverageRequest, TrainingCoverageResponse, training_coverage_of;
    rain_and_dew_coverage, watch_rain_and_dew_coverage, WatchRainAndDewCoverageStream,
        RainAndDewCoverageRequest, RainAndDewCoverageResponse, rain_and_dew_coverage_of;
    zero_employment_households, watch_zero_employment_households,
        WatchZeroEmploymentHouseholdsStream,
        ZeroEmploymentHouseholdsRequest, ZeroEmploymentHouseholdsResponse, zero_employment_of;
    households_lost_work, watch_households_lost_work, WatchHouseholdsLostWorkStream,
        HouseholdsLostWorkRequest, HouseholdsLostWorkResponse, lost_work_of;
    post_occupancy, watch_post_occupancy, WatchPostOccupancyStream,
        PostOccupancyRequest, PostOccupancyResponse, post_occupancy_of;
    suspicious_patterns, watch_suspicious_patterns, WatchSuspiciousPatternsStream,
        SuspiciousPatternsRequest, SuspiciousPatternsResponse, suspicious_of;
}
