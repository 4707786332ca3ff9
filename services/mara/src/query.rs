//! `bottomline.mara.v1.MaraQueryService` over the read model.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use proto::mara::v1::mara_query_service_server::{MaraQueryService, MaraQueryServiceServer};
use proto::mara::v1::{
    CountyRow, ListCasesRequest, ListCasesResponse, ListCountiesRequest, ListCountiesResponse,
    ListOverdueCasesRequest, SummaryRequest, SummaryResponse,
};
use registry_domain::{DivisionCatalog, KeyCounties, MonitoringRules};
use sqlx::AnyPool;
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::convert;
use crate::read::{self, CaseQuery, Overdue, Tally};
use crate::validate::{self, PageToken, Scope};
use projector::query::QueryError;

/// The MARA query service: totals, county tables and monitoring-case lists read from the
/// [`crate::MaraProjection`] tables.
///
/// County and province names come from the division list and the key-county flag from the
/// national key-county list, both given at construction, so a newer list needs no replay.
#[derive(Debug, Clone)]
pub struct MaraQuery {
    pool: AnyPool,
    catalog: Arc<DivisionCatalog>,
    key_counties: Arc<KeyCounties>,
    rules: MonitoringRules,
}

impl MaraQuery {
    /// A service reading the read model in `pool`; `rules.identification_days` is the limit
    /// from lead to registration used by `ListOverdueCases`.
    pub fn new(
        pool: AnyPool,
        catalog: Arc<DivisionCatalog>,
        key_counties: Arc<KeyCounties>,
        rules: MonitoringRules,
    ) -> MaraQuery {
        MaraQuery {
            pool,
            catalog,
            key_counties,
            rules,
        }
    }

    /// This service wrapped as a tonic server, ready to add to a router.
    pub fn into_server(self) -> MaraQueryServiceServer<MaraQuery> {
        MaraQueryServiceServer::new(self)
    }

    #[instrument(skip_all, fields(province = %request.province_code, county = %request.county_code))]
    async fn summary_of(&self, request: SummaryRequest) -> Result<SummaryResponse, QueryError> {
        let scope = self.scope(&request.province_code, &request.county_code)?;
        let mut tx = projector::query::snapshot(&self.pool).await?;
        let by_county = read::tally_by_county(&mut tx, &scope).await?;
        let checkpoint = read::events_applied(&mut tx).await?;
        tx.commit().await?;
        let mut total = Tally::default();
        for tally in by_county.values() {
            total.add(tally);
        }
        Ok(SummaryResponse {
            counts: Some(convert::counts(&total)?),
            checkpoint,
        })
    }

    #[instrument(skip_all, fields(province = %request.province_code, key_only = request.key_counties_only))]
    async fn counties_of(
        &self,
        request: ListCountiesRequest,
    ) -> Result<ListCountiesResponse, QueryError> {
        let scope = match validate::province_code(&request.province_code)? {
            Some(province) => Scope::Province(province),
            None => Scope::Country,
        };
        let mut tx = projector::query::snapshot(&self.pool).await?;
        let by_county = read::tally_by_county(&mut tx, &scope).await?;
        tx.commit().await?;
        let mut counties = Vec::with_capacity(by_county.len());
        for (code, tally) in by_county {
            let key = self.key_counties.contains(&code);
            if request.key_counties_only && !key {
                continue;
            }
            let province_code = validate::province_of(&code);
            counties.push(CountyRow {
                county_name: self.catalog.name(&code).unwrap_or_default().to_string(),
                province_name: self
                    .catalog
                    .name(&province_code)
                    .unwrap_or_default()
                    .to_string(),
                province_code,
                national_key_county: key,
                counts: Some(convert::counts(&tally)?),
                county_code: code,
            });
        }
        Ok(ListCountiesResponse { counties })
    }

    #[instrument(skip_all, fields(stage = request.stage, province = %request.province_code, county = %request.county_code))]
    async fn cases_of(&self, request: ListCasesRequest) -> Result<ListCasesResponse, QueryError> {
        let query = CaseQuery {
            stage: validate::stage(request.stage)?,
            scope: self.scope(&request.province_code, &request.county_code)?,
            overdue: None,
            after: PageToken::parse(&request.page_token)?,
            limit: validate::page_size(request.page_size)?,
        };
        self.page(query).await
    }

    #[instrument(skip_all, fields(province = %request.province_code, county = %request.county_code))]
    async fn overdue_of(
        &self,
        request: ListOverdueCasesRequest,
    ) -> Result<ListCasesResponse, QueryError> {
        let as_of = validate::as_of(request.as_of.as_ref(), validate::today_in_china())?;
        let query = CaseQuery {
            stage: None,
            scope: self.scope(&request.province_code, &request.county_code)?,
            overdue: Some(self.overdue_on(as_of)),
            after: PageToken::parse(&request.page_token)?,
            limit: validate::page_size(request.page_size)?,
        };
        self.page(query).await
    }

    /// The identification clock on `as_of`: a lead older than the limit is overdue.
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

    fn overdue_on(&self, as_of: NaiveDate) -> Overdue {
        let limit_days = self.rules.identification_days;
        let lead_before = u64::try_from(limit_days)
            .ok()
            .and_then(|days| as_of.checked_sub_days(Days::new(days)))
            .unwrap_or(NaiveDate::MIN);
        Overdue {
            lead_before,
            limit_days,
        }
    }

    /// One page: reads one row more than asked to learn whether another page follows.
    async fn page(&self, mut query: CaseQuery) -> Result<ListCasesResponse, QueryError> {
        let page_size = usize::try_from(query.limit).unwrap_or(usize::MAX);
        query.limit += 1;
        let mut tx = projector::query::snapshot(&self.pool).await?;
        let mut rows = read::cases(&mut tx, &query).await?;
        tx.commit().await?;
        let next_page_token = if rows.len() > page_size {
            rows.truncate(page_size);
            rows.last()
                .map(|last| {
                    PageToken {
                        lead_date: last.lead_date.clone(),
                        case_id: last.case_id.clone(),
                    }
                    .encode()
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        let cases = rows
            .into_iter()
            .map(convert::case_row)
            .collect::<Result<_, _>>()?;
        Ok(ListCasesResponse {
            cases,
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl MaraQueryService for MaraQuery {
    async fn summary(
        &self,
        request: Request<SummaryRequest>,
    ) -> Result<Response<SummaryResponse>, Status> {
        Ok(Response::new(self.summary_of(request.into_inner()).await?))
    }

    async fn list_counties(
        &self,
        request: Request<ListCountiesRequest>,
    ) -> Result<Response<ListCountiesResponse>, Status> {
        Ok(Response::new(self.counties_of(request.into_inner()).await?))
    }

    async fn list_cases(
        &self,
        request: Request<ListCasesRequest>,
    ) -> Result<Response<ListCasesResponse>, Status> {
        Ok(Response::new(self.cases_of(request.into_inner()).await?))
    }

    async fn list_overdue_cases(
        &self,
        request: Request<ListOverdueCasesRequest>,
    ) -> Result<Response<ListCasesResponse>, Status> {
        Ok(Response::new(self.overdue_of(request.into_inner()).await?))
    }
}
