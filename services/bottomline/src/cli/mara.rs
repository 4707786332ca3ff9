//! `bottomline mara …`: MARA read-model queries printed as tables.

use proto::mara::v1 as pb;
use proto::mara::v1::mara_query_service_client::MaraQueryServiceClient;
use proto::registry::v1::CaseStage;
use tonic::transport::Channel;

use super::out;

fn stage_name(stage: i32) -> String {
    registry_import::convert::stage_name(stage).to_lowercase()
}

/// Parses a stage name such as `registered` or `CASE_STAGE_REGISTERED`.
pub fn parse_stage(s: &str) -> Result<i32, String> {
    let upper = s.trim().to_uppercase().replace('-', "_");
    let name = if upper.starts_with("CASE_STAGE_") {
        upper
    } else {
        format!("CASE_STAGE_{upper}")
    };
    CaseStage::from_str_name(&name)
        .map(|s| s as i32)
        .ok_or_else(|| format!("unknown stage {s:?} (lead, home_verified, data_compared, village_reviewed, township_reviewed, county_approved, registered, assisted, risk_eliminated)"))
}

/// Formats the counts of a summary as aligned lines.
pub fn format_counts(c: &pb::Counts) -> String {
    let mut out = format!(
        "households                     {:>10}\n\
         poverty-alleviated households  {:>10}\n\
         persons (not exited)           {:>10}\n\
         exited persons                 {:>10}\n\
         labour-capable persons         {:>10}\n\
         monitoring cases               {:>10}\n",
        c.households,
        c.poverty_alleviated_households,
        c.persons,
        c.exited_persons,
        c.labour_capable_persons,
        c.monitoring_cases
    );
    for s in &c.cases_by_stage {
        out.push_str(&format!("  {:<28} {:>10}\n", stage_name(s.stage), s.cases));
    }
    out
}

/// Prints the summary of the country, a province or a county.
pub async fn summary(channel: Channel, province: String, county: String) -> anyhow::Result<()> {
    let r = MaraQueryServiceClient::new(channel)
        .summary(pb::SummaryRequest {
            province_code: province,
            county_code: county,
        })
        .await?
        .into_inner();
    out!(
        "{}",
        format_counts(&r.counts.unwrap_or_default()).trim_end()
    );
    out!("events applied                 {:>10}", r.checkpoint);
    Ok(())
}

/// Prints one row per county.
pub async fn counties(channel: Channel, province: String, key_only: bool) -> anyhow::Result<()> {
    let r = MaraQueryServiceClient::new(channel)
        .list_counties(pb::ListCountiesRequest {
            province_code: province,
            key_counties_only: key_only,
        })
        .await?
        .into_inner();
    // Columns as wide as their longest name (a Chinese character takes two).
    let width = |names: &mut dyn Iterator<Item = &String>, header: &str| {
        names
            .map(|n| unicode_width::UnicodeWidthStr::width(n.as_str()))
            .chain([header.len()])
            .max()
            .unwrap_or_default()
    };
    let name_width = width(&mut r.counties.iter().map(|c| &c.county_name), "name");
    let province_width = width(&mut r.counties.iter().map(|c| &c.province_name), "province");
    out!(
        "{:<8} {} {} {:>4} {:>10} {:>9} {:>7}",
        "county",
        super::pad("name", name_width),
        super::pad("province", province_width),
        "key",
        "households",
        "persons",
        "cases"
    );
    for c in r.counties {
        let n = c.counts.unwrap_or_default();
        out!(
            "{:<8} {} {} {:>4} {:>10} {:>9} {:>7}",
            c.county_code,
            super::pad(&c.county_name, name_width),
            super::pad(&c.province_name, province_width),
            if c.national_key_county { "yes" } else { "" },
            n.households,
            n.persons,
            n.monitoring_cases
        );
    }
    Ok(())
}

fn date(d: &Option<proto::common::v1::CivilDate>) -> String {
    d.as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

/// Prints cases page by page (all pages up to `limit` rows).
pub async fn cases(
    channel: Channel,
    request: pb::ListCasesRequest,
    overdue_as_of: Option<Option<proto::common::v1::CivilDate>>,
    limit: usize,
) -> anyhow::Result<()> {
    let mut client = MaraQueryServiceClient::new(channel);
    let mut token = String::new();
    let mut shown = 0;
    out!(
        "{:<36} {:<8} {:<18} {:<10} {:<10} {:>5} {:>8}",
        "case",
        "county",
        "stage",
        "lead",
        "registered",
        "days",
        "measures"
    );
    loop {
        let page = match &overdue_as_of {
            None => client
                .list_cases(pb::ListCasesRequest {
                    page_token: token.clone(),
                    ..request.clone()
                })
                .await?
                .into_inner(),
            Some(as_of) => client
                .list_overdue_cases(pb::ListOverdueCasesRequest {
                    as_of: *as_of,
                    province_code: request.province_code.clone(),
                    county_code: request.county_code.clone(),
                    page_size: request.page_size,
                    page_token: token.clone(),
                })
                .await?
                .into_inner(),
        };
        for c in &page.cases {
            if shown == limit {
                out!("… more (raise --limit)");
                return Ok(());
            }
            shown += 1;
            out!(
                "{:<36} {:<8} {:<18} {:<10} {:<10} {:>5} {:>8}",
                c.case_id,
                c.county_code,
                stage_name(c.stage),
                date(&c.lead_date),
                date(&c.registered_on),
                if c.days_to_register >= 0 {
                    c.days_to_register.to_string()
                } else {
                    "-".into()
                },
                c.assistance_measures
            );
        }
        if page.next_page_token.is_empty() {
            out!("{shown} case(s)");
            return Ok(());
        }
        token = page.next_page_token;
    }
}
