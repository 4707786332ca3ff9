//! The views of `bottomline.employment.v1.EmploymentQueryService`: each request is validated at
//! the edge, then read inside one snapshot.

use std::sync::Arc;

use employment_domain::PolicyBook;
use proto::employment::v1 as pb;
use proto::employment::v1::{
    Channel, EmployedScaleRequest, EmployedScaleResponse, FollowUpQueueRequest,
    FollowUpQueueResponse, HouseholdsLostWorkRequest, HouseholdsLostWorkResponse, LocationClass,
    PostCategory, PostOccupancyRequest, PostOccupancyResponse, RainAndDewCoverageRequest,
    RainAndDewCoverageResponse, SuspicionRule, SuspiciousPatternsRequest,
    SuspiciousPatternsResponse, TrainingCoverageRequest, TrainingCoverageResponse,
    ZeroEmploymentHouseholdsRequest, ZeroEmploymentHouseholdsResponse,
};
use registry_domain::DivisionCatalog;
use sqlx::AnyPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use crate::convert::{civil_of, int32};
use crate::page::{self, num, PageToken};
use crate::read::coverage::{self, CoverageFilter};
use crate::read::follow_up::{self, QueueQuery};
use crate::read::households::{self, LostQuery, ZeroQuery};
use crate::read::posts::{self, OccupancyFilter, SuspicionQuery};
use crate::read::scale::{self, ScaleFilter};
use crate::validate::{self, Scope};
use projector::query::snapshot;
use projector::query::QueryError;

/// Follow-up window used when neither the request nor the configuration sets one, days.
pub const DEFAULT_FOLLOW_UP_DAYS: u32 = 7;

/// The employment query service over the [`crate::EmploymentViewsProjection`] tables.
///
/// Division codes in requests are checked against the division list given at construction; the
/// employed-scale target comes from the [`PolicyBook`] (dated parameters, so a new target needs
/// no replay). Cheap to clone: every clone shares the pool and the change notifications.
#[derive(Debug, Clone)]
pub struct EmploymentQuery {
    pub(crate) pool: AnyPool,
    catalog: Arc<DivisionCatalog>,
    policy: Arc<PolicyBook>,
    follow_up_days_default: u32,
    pub(crate) changes: watch::Receiver<u64>,
    pub(crate) shutdown: CancellationToken,
}

impl EmploymentQuery {
    /// A service reading the read model in `pool`.
    ///
    /// - `catalog`: the division list that request codes must be in;
    /// - `policy`: dated policy parameters (the national employed-scale target);
    /// - `follow_up_days_default`: the follow-up window N when a request leaves it unset (0
    ///   means [`DEFAULT_FOLLOW_UP_DAYS`]; capped at 365);
    /// - `changes`: [`projector::Projector::subscribe`] of the projector feeding `pool`; the
    ///   `Watch...` RPCs re-run their query when it changes.
    pub fn new(
        pool: AnyPool,
        catalog: Arc<DivisionCatalog>,
        policy: Arc<PolicyBook>,
        follow_up_days_default: u32,
        changes: watch::Receiver<u64>,
    ) -> EmploymentQuery {
        let follow_up_days_default = match follow_up_days_default {
            0 => DEFAULT_FOLLOW_UP_DAYS,
            n => n.min(validate::MAX_FOLLOW_UP_DAYS.unsigned_abs()),
        };
        EmploymentQuery {
            pool,
            catalog,
            policy,
            follow_up_days_default,
            changes,
            shutdown: CancellationToken::new(),
        }
    }

    /// Ends every open `Watch...` stream (with UNAVAILABLE) when `shutdown` is cancelled, so a
    /// server stopping gracefully does not wait for watchers that never hang up.
    pub fn with_shutdown(mut self, shutdown: CancellationToken) -> EmploymentQuery {
        self.shutdown = shutdown;
        self
    }

    /// This service wrapped as a tonic server, ready to add to a router.
    pub fn into_server(
        self,
    ) -> pb::employment_query_service_server::EmploymentQueryServiceServer<EmploymentQuery> {
        pb::employment_query_service_server::EmploymentQueryServiceServer::new(self)
    }

    /// The validated scope, refusing division codes that are not in the division list.
    fn scope(&self, province: &str, county: &str) -> Result<Scope, QueryError> {
        let scope = validate::scope(province, county)?;
        match &scope {
            Scope::Province(p) if self.catalog.name(p).is_none() => Err(QueryError::invalid(
                "province_code",
                format!("{p} is not a province in the division list"),
            )),
            Scope::County(c) if !self.catalog.is_county(c) => Err(QueryError::invalid(
                "county_code",
                format!("{c} is not a county in the division list"),
            )),
            _ => Ok(scope),
        }
    }

    /// View 1: employed scale of a month, the same month a year before, the target and the
    /// breakdown by county × location class × channel.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn employed_scale_of(
        &self,
        r: EmployedScaleRequest,
    ) -> Result<EmployedScaleResponse, QueryError> {
        const VIEW: &str = "scale";
        let view = page::scoped(VIEW, &r);
        let month = validate::month("month", r.month.as_ref())?;
        let filter = ScaleFilter {
            scope: self.scope(&r.province_code, &r.county_code)?,
            location_class: validate::enum_filter("location_class", r.location_class, |n| {
                LocationClass::try_from(n).is_ok()
            })?,
            channel: validate::enum_filter("channel", r.channel, |n| Channel::try_from(n).is_ok())?,
        };
        let after = PageToken::parse(&r.page_token, &view, 3)?;
        let limit = validate::page_size(r.page_size)?;
        let year_before = month
            .checked_sub_months(chrono::Months::new(12))
            .ok_or_else(|| QueryError::invalid("month", "has no previous year"))?;
        let mut tx = snapshot(&self.pool).await?;
        let employed = scale::employed(&mut tx, &filter, month).await?;
        let previous_year_employed = scale::employed(&mut tx, &filter, year_before).await?;
        let rows = scale::breakdown(&mut tx, &filter, month).await?;
        tx.commit().await?;
        let key = |row: &pb::EmployedScaleRow| {
            vec![
                row.county_code.clone(),
                num(row.location_class.into()),
                num(row.channel.into()),
            ]
        };
        let (rows, next_page_token) = page::page_in_memory(rows, key, &view, after, limit);
        let target = self
            .policy
            .employed_scale_target_on(month)
            .map(|t| pb::EmployedScaleTarget {
                employed: i64::try_from(t.employed).unwrap_or(i64::MAX),
                effective_from: Some(civil_of(t.effective_from)),
                source: t.source.clone(),
            });
        Ok(EmployedScaleResponse {
            month: Some(civil_of(month)),
            employed,
            previous_year_employed,
            target,
            rows,
            next_page_token,
        })
    }

    /// View 2: the follow-up queue.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn follow_up_queue_of(
        &self,
        r: FollowUpQueueRequest,
    ) -> Result<FollowUpQueueResponse, QueryError> {
        const VIEW: &str = "queue";
        let view = page::scoped(VIEW, &r);
        let as_of = validate::as_of(r.as_of.as_ref(), validate::today_in_china())?;
        let days = validate::follow_up_days(r.follow_up_days, self.follow_up_days_default)?;
        let limit = validate::page_size(r.page_size)?;
        let query = QueueQuery {
            as_of,
            days,
            overdue_only: r.overdue_only,
            scope: self.scope(&r.province_code, &r.county_code)?,
            after: PageToken::parse(&r.page_token, &view, 2)?,
            limit: limit + 1,
        };
        let mut tx = snapshot(&self.pool).await?;
        let mut rows = follow_up::queue(&mut tx, &query).await?;
        tx.commit().await?;
        let (rows, next_page_token) = page::cut(&mut rows, page_len(limit), |row| {
            let end = row.end_date.map(|d| date_key(&d)).unwrap_or_default();
            PageToken::encode(&view, &[end, row.person_id.clone()])
        });
        Ok(FollowUpQueueResponse {
            as_of: Some(civil_of(as_of)),
            follow_up_days: int32(days, "follow_up_days")?,
            rows,
            next_page_token,
        })
    }

    /// View 3a: training coverage.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn training_coverage_of(
        &self,
        r: TrainingCoverageRequest,
    ) -> Result<TrainingCoverageResponse, QueryError> {
        const VIEW: &str = "training";
        let view = page::scoped(VIEW, &r);
        let filter = self.coverage_filter(&r.province_code, &r.county_code, &r.from, &r.to)?;
        let after = PageToken::parse(&r.page_token, &view, 2)?;
        let limit = validate::page_size(r.page_size)?;
        let mut tx = snapshot(&self.pool).await?;
        let rows = coverage::training(&mut tx, &filter).await?;
        tx.commit().await?;
        let key =
            |row: &pb::TrainingCoverageRow| vec![row.county_code.clone(), num(row.kind.into())];
        let (rows, next_page_token) = page::page_in_memory(rows, key, &view, after, limit);
        Ok(TrainingCoverageResponse {
            rows,
            next_page_token,
        })
    }

    /// View 3b: Rain and Dew coverage.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn rain_and_dew_coverage_of(
        &self,
        r: RainAndDewCoverageRequest,
    ) -> Result<RainAndDewCoverageResponse, QueryError> {
        const VIEW: &str = "rain";
        let view = page::scoped(VIEW, &r);
        let filter = self.coverage_filter(&r.province_code, &r.county_code, &r.from, &r.to)?;
        let after = PageToken::parse(&r.page_token, &view, 2)?;
        let limit = validate::page_size(r.page_size)?;
        let mut tx = snapshot(&self.pool).await?;
        let rows = coverage::rain_and_dew(&mut tx, &filter).await?;
        tx.commit().await?;
        let key = |row: &pb::RainAndDewCoverageRow| {
            let term = row.term_starts_on.map(|d| date_key(&d)).unwrap_or_default();
            vec![row.county_code.clone(), term]
        };
        let (rows, next_page_token) = page::page_in_memory(rows, key, &view, after, limit);
        Ok(RainAndDewCoverageResponse {
            rows,
            next_page_token,
        })
    }

    fn coverage_filter(
        &self,
        province: &str,
        county: &str,
        from: &Option<proto::common::v1::CivilDate>,
        to: &Option<proto::common::v1::CivilDate>,
    ) -> Result<CoverageFilter, QueryError> {
        let (from, to) = validate::range("from", from.as_ref(), "to", to.as_ref(), false)?;
        Ok(CoverageFilter {
            scope: self.scope(province, county)?,
            from,
            to,
        })
    }

    /// View 4: zero-employment households.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn zero_employment_of(
        &self,
        r: ZeroEmploymentHouseholdsRequest,
    ) -> Result<ZeroEmploymentHouseholdsResponse, QueryError> {
        const VIEW: &str = "zero";
        let view = page::scoped(VIEW, &r);
        let limit = validate::page_size(r.page_size)?;
        let query = ZeroQuery {
            scope: self.scope(&r.province_code, &r.county_code)?,
            monitored_only: r.monitored_only,
            after: PageToken::parse(&r.page_token, &view, 2)?,
            limit: limit + 1,
        };
        let mut tx = snapshot(&self.pool).await?;
        let mut rows = households::zero_employment(&mut tx, &query).await?;
        tx.commit().await?;
        let (rows, next_page_token) = page::cut(&mut rows, page_len(limit), |row| {
            PageToken::encode(&view, &[row.county_code.clone(), row.household_id.clone()])
        });
        Ok(ZeroEmploymentHouseholdsResponse {
            rows,
            next_page_token,
        })
    }

    /// View 5: households that lost work, newest first.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn lost_work_of(
        &self,
        r: HouseholdsLostWorkRequest,
    ) -> Result<HouseholdsLostWorkResponse, QueryError> {
        const VIEW: &str = "lost";
        let view = page::scoped(VIEW, &r);
        let (from, to) = validate::range("from", r.from.as_ref(), "to", r.to.as_ref(), false)?;
        let limit = validate::page_size(r.page_size)?;
        let query = LostQuery {
            scope: self.scope(&r.province_code, &r.county_code)?,
            from,
            to,
            monitored_only: r.monitored_only,
            after: PageToken::parse(&r.page_token, &view, 3)?,
            limit: limit + 1,
        };
        let mut tx = snapshot(&self.pool).await?;
        let mut rows = households::lost_work(&mut tx, &query).await?;
        tx.commit().await?;
        let (rows, next_page_token) = page::cut(&mut rows, page_len(limit), |row| {
            let on = row.on.map(|d| date_key(&d)).unwrap_or_default();
            PageToken::encode(&view, &[on, row.person_id.clone(), row.spell_id.clone()])
        });
        Ok(HouseholdsLostWorkResponse {
            rows,
            next_page_token,
        })
    }

    /// View 6: post occupancy and subsidy.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn post_occupancy_of(
        &self,
        r: PostOccupancyRequest,
    ) -> Result<PostOccupancyResponse, QueryError> {
        const VIEW: &str = "posts";
        let view = page::scoped(VIEW, &r);
        let (from_month, to_month) = validate::range(
            "from_month",
            r.from_month.as_ref(),
            "to_month",
            r.to_month.as_ref(),
            true,
        )?;
        let filter = OccupancyFilter {
            scope: self.scope(&r.province_code, &r.county_code)?,
            category: validate::enum_filter("category", r.category, |n| {
                PostCategory::try_from(n).is_ok()
            })?,
            from_month,
            to_month,
        };
        let after = PageToken::parse(&r.page_token, &view, 2)?;
        let limit = validate::page_size(r.page_size)?;
        let mut tx = snapshot(&self.pool).await?;
        let rows = posts::occupancy(&mut tx, &filter).await?;
        tx.commit().await?;
        let key =
            |row: &pb::PostOccupancyRow| vec![row.county_code.clone(), num(row.category.into())];
        let (rows, next_page_token) = page::page_in_memory(rows, key, &view, after, limit);
        Ok(PostOccupancyResponse {
            rows,
            next_page_token,
        })
    }

    /// View 7: suspicious patterns, one query per rule asked for.
    #[instrument(skip_all, fields(province = %r.province_code, county = %r.county_code))]
    pub(crate) async fn suspicious_of(
        &self,
        r: SuspiciousPatternsRequest,
    ) -> Result<SuspiciousPatternsResponse, QueryError> {
        const VIEW: &str = "suspicious";
        let view = page::scoped(VIEW, &r);
        let rule = validate::enum_filter("rule", r.rule, |n| SuspicionRule::try_from(n).is_ok())?;
        let limit = validate::page_size(r.page_size)?;
        let query = SuspicionQuery {
            scope: self.scope(&r.province_code, &r.county_code)?,
            after: PageToken::parse(&r.page_token, &view, 3)?,
            limit: limit + 1,
        };
        let out_of_province = SuspicionRule::PostHolderWorkingOutOfProvince as i64;
        let mut rows = Vec::new();
        // Each further rule adds its query here (and its rows to the key order below).
        if rule.is_none() || rule == Some(out_of_province) {
            let mut tx = snapshot(&self.pool).await?;
            rows = posts::holders_out_of_province(&mut tx, &query).await?;
            tx.commit().await?;
        }
        let (rows, next_page_token) = page::cut(&mut rows, page_len(limit), |row| {
            PageToken::encode(
                &view,
                &[
                    row.person_id.clone(),
                    row.post_id.clone(),
                    row.spell_id.clone(),
                ],
            )
        });
        Ok(SuspiciousPatternsResponse {
            rows,
            next_page_token,
        })
    }
}

/// A validated page size as a length.
fn page_len(limit: i64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// A date as the ISO text it is stored as (the key part of page tokens).
fn date_key(date: &proto::common::v1::CivilDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}
