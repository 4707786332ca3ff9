//! `bottomline employment …`: the employment read models (MOHRSS and MARA views) printed as
//! tables, once or — with `--watch` — again each time the server pushes a change.

use chrono::{Datelike, NaiveDate};
use clap::{Args, Subcommand};
use futures::StreamExt as _;
use proto::common::v1::CivilDate;
use proto::employment::v1 as pb;
use proto::employment::v1::employment_query_service_client::EmploymentQueryServiceClient;

use super::out;

/// `bottomline employment <view>`.
#[derive(Args)]
pub struct EmploymentArgs {
    #[command(subcommand)]
    view: View,
    #[command(flatten)]
    endpoint: super::EndpointArg,
    /// Keep the connection open and print the view again on every change.
    #[arg(long, global = true)]
    watch: bool,
}

/// Province or county filter.
#[derive(Args)]
struct Area {
    /// Province code, e.g. 150000.
    #[arg(long, default_value = "", hide_default_value = true)]
    province: String,
    /// County code, e.g. 150422.
    #[arg(long, default_value = "", hide_default_value = true)]
    county: String,
}

#[derive(Subcommand)]
enum View {
    /// Employed scale of a month (distinct persons with a spell in the month) vs target and the
    /// same month a year earlier, with the county × location class × channel breakdown.
    Scale {
        /// Month, YYYY-MM (default: the current month in China).
        #[arg(long, value_parser = parse_month)]
        month: Option<NaiveDate>,
        #[command(flatten)]
        area: Area,
    },
    /// People whose job ended and who have had no follow-up since, oldest first; a row is
    /// overdue once more than N days passed.
    FollowUps {
        /// N, days (default: the server's setting).
        #[arg(long, value_parser = clap::value_parser!(i32).range(0..=365))]
        days: Option<i32>,
        /// Only people with no follow-up within N days (overdue).
        #[arg(long)]
        overdue_only: bool,
        /// Date to judge on, YYYY-MM-DD (default: today in China).
        #[arg(long, value_parser = super::parse_date)]
        as_of: Option<NaiveDate>,
        #[command(flatten)]
        area: Area,
    },
    /// Households that lost work (job-loss risk events), newest first.
    LostWork {
        /// Only monitored households.
        #[arg(long)]
        monitored_only: bool,
        #[command(flatten)]
        area: Area,
    },
    /// Households with labour-capable members and nobody employed.
    ZeroEmployment {
        /// Only monitored households.
        #[arg(long)]
        monitored_only: bool,
        #[command(flatten)]
        area: Area,
    },
    /// Public-welfare posts: occupancy and subsidy paid by county and category.
    Posts {
        #[command(flatten)]
        area: Area,
    },
    /// Suspicious patterns (post holders working out of province).
    Suspicious {
        #[command(flatten)]
        area: Area,
    },
    /// Vocational training by county and kind: enrolled, completed, certified.
    Training {
        #[command(flatten)]
        area: Area,
    },
    /// Rain and Dew Plan students and subsidy by county and term.
    RainAndDew {
        #[command(flatten)]
        area: Area,
    },
}

/// A `YYYY-MM` month as its first day, within the years the services take
/// ([`writer::fields::CIVIL_YEARS`], as [`super::parse_date`]).
fn parse_month(s: &str) -> Result<NaiveDate, String> {
    let text = s.trim();
    if !super::shaped_like(text, "YYYY-MM") {
        return Err(format!("{s:?} is not a month like 2026-11 (YYYY-MM)"));
    }
    let first = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a month: there is no such month"))?;
    let years = writer::fields::CIVIL_YEARS;
    if !years.contains(&first.year()) {
        return Err(format!(
            "{s:?} is outside the months the services take ({}-01 to {}-12)",
            years.start(),
            years.end()
        ));
    }
    Ok(first)
}

fn civil(d: NaiveDate) -> Option<CivilDate> {
    Some(CivilDate {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

fn date(d: &Option<CivilDate>) -> String {
    d.as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

fn enum_name(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_lowercase())
        .unwrap_or_default()
}

/// Runs one view: prints it once, or on every change with `--watch`.
pub async fn run(args: EmploymentArgs) -> anyhow::Result<()> {
    let channel = super::connect(&args.endpoint.endpoint).await?;
    let mut client = EmploymentQueryServiceClient::new(channel);
    macro_rules! view {
        ($once:ident, $watch:ident, $request:expr, $print:ident) => {{
            let request = $request;
            if args.watch {
                let mut stream = client.$watch(request).await?.into_inner();
                while let Some(update) = stream.next().await {
                    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
                    out!(
                        "--- {} (China time)",
                        chrono::Utc::now()
                            .with_timezone(&china)
                            .format("%Y-%m-%d %H:%M:%S")
                    );
                    $print(&update?);
                }
            } else {
                $print(&client.$once(request).await?.into_inner());
            }
        }};
    }
    match args.view {
        View::Scale { month, area } => view!(
            employed_scale,
            watch_employed_scale,
            pb::EmployedScaleRequest {
                month: month.and_then(civil).or_else(|| {
                    civil(
                        registry::service::today_in_china()
                            .with_day(1)
                            .expect("day 1 exists"),
                    )
                }),
                province_code: area.province,
                county_code: area.county,
                page_size: 1000,
                ..Default::default()
            },
            print_scale
        ),
        View::FollowUps {
            days,
            overdue_only,
            as_of,
            area,
        } => view!(
            follow_up_queue,
            watch_follow_up_queue,
            pb::FollowUpQueueRequest {
                as_of: as_of.and_then(civil),
                follow_up_days: days,
                overdue_only,
                province_code: area.province,
                county_code: area.county,
                page_size: 1000,
                ..Default::default()
            },
            print_queue
        ),
        View::LostWork {
            monitored_only,
            area,
        } => view!(
            households_lost_work,
            watch_households_lost_work,
            pb::HouseholdsLostWorkRequest {
                province_code: area.province,
                county_code: area.county,
                monitored_only,
                page_size: 1000,
                ..Default::default()
            },
            print_lost_work
        ),
        View::ZeroEmployment {
            monitored_only,
            area,
        } => view!(
            zero_employment_households,
            watch_zero_employment_households,
            pb::ZeroEmploymentHouseholdsRequest {
                province_code: area.province,
                county_code: area.county,
                monitored_only,
                page_size: 1000,
                ..Default::default()
            },
            print_zero
        ),
        View::Posts { area } => view!(
            post_occupancy,
            watch_post_occupancy,
            pb::PostOccupancyRequest {
                province_code: area.province,
                county_code: area.county,
                page_size: 1000,
                ..Default::default()
            },
            print_posts
        ),
        View::Suspicious { area } => view!(
            suspicious_patterns,
            watch_suspicious_patterns,
            pb::SuspiciousPatternsRequest {
                province_code: area.province,
                county_code: area.county,
                page_size: 1000,
                ..Default::default()
            },
            print_suspicious
        ),
        View::Training { area } => view!(
            training_coverage,
            watch_training_coverage,
            pb::TrainingCoverageRequest {
                province_code: area.province,
                county_code: area.county,
                page_size: 1000,
                ..Default::default()
            },
            print_training
        ),
        View::RainAndDew { area } => view!(
            rain_and_dew_coverage,
            watch_rain_and_dew_coverage,
            pb::RainAndDewCoverageRequest {
                province_code: area.province,
                county_code: area.county,
                page_size: 1000,
                ..Default::default()
            },
            print_rain_and_dew
        ),
    }
    Ok(())
}

fn more(token: &str) {
    if !token.is_empty() {
        out!("(first 1000 rows shown; narrow the area for the rest)");
    }
}

fn print_scale(r: &pb::EmployedScaleResponse) {
    out!("month                  {}", date(&r.month));
    out!("employed               {:>12}", r.employed);
    out!("same month a year ago  {:>12}", r.previous_year_employed);
    if let Some(t) = &r.target {
        out!(
            "national target        {:>12}  (from {}; {})",
            t.employed,
            date(&t.effective_from),
            t.source
        );
    }
    out!(
        "{:<8} {:<28} {:<26} {:>9}",
        "county",
        "location",
        "channel",
        "employed"
    );
    for row in &r.rows {
        let class = pb::LocationClass::try_from(row.location_class).ok();
        let channel = pb::Channel::try_from(row.channel).ok();
        out!(
            "{:<8} {:<28} {:<26} {:>9}",
            row.county_code,
            enum_name(class.map(|c| c.as_str_name()), "LOCATION_CLASS_"),
            enum_name(channel.map(|c| c.as_str_name()), "CHANNEL_"),
            row.employed
        );
    }
    more(&r.next_page_token);
}

fn print_queue(r: &pb::FollowUpQueueResponse) {
    out!(
        "as of {}: people who lost work and had no follow-up since ({} shown, {} overdue: more than {} days)",
        date(&r.as_of),
        r.rows.len(),
        r.rows.iter().filter(|row| row.overdue).count(),
        r.follow_up_days
    );
    out!(
        "{:<36} {:<8} {:<10} {:<16} {:>5} {:<9} {:<14} {}",
        "person",
        "county",
        "ended",
        "reason",
        "days",
        "monitored",
        "last follow-up",
        "due"
    );
    for row in &r.rows {
        let reason = pb::EndReason::try_from(row.reason).ok();
        out!(
            "{:<36} {:<8} {:<10} {:<16} {:>5} {:<9} {:<14} {}{}",
            row.person_id,
            row.county_code,
            date(&row.end_date),
            enum_name(reason.map(|r| r.as_str_name()), "END_REASON_"),
            row.days_since_end,
            if row.monitored_household { "yes" } else { "" },
            date(&row.last_follow_up),
            date(&row.follow_up_due),
            if row.overdue { " overdue" } else { "" }
        );
    }
    more(&r.next_page_token);
}

fn print_lost_work(r: &pb::HouseholdsLostWorkResponse) {
    out!(
        "{:<36} {:<36} {:<8} {:<10} {:<9} {:<8}",
        "household",
        "person",
        "county",
        "on",
        "monitored",
        "nobody employed"
    );
    for row in &r.rows {
        out!(
            "{:<36} {:<36} {:<8} {:<10} {:<9} {:<8}",
            row.household_id,
            row.person_id,
            row.county_code,
            date(&row.on),
            if row.monitored_household { "yes" } else { "" },
            if row.household_without_employment {
                "yes"
            } else {
                ""
            }
        );
    }
    more(&r.next_page_token);
}

fn print_zero(r: &pb::ZeroEmploymentHouseholdsResponse) {
    out!(
        "{:<36} {:<8} {:>7} {:<9} {:<10}",
        "household",
        "county",
        "capable",
        "monitored",
        "since"
    );
    for row in &r.rows {
        out!(
            "{:<36} {:<8} {:>7} {:<9} {:<10}",
            row.household_id,
            row.county_code,
            row.labour_capable_members,
            if row.monitored { "yes" } else { "" },
            date(&row.since)
        );
    }
    more(&r.next_page_token);
}

fn print_posts(r: &pb::PostOccupancyResponse) {
    out!(
        "{:<8} {:<10} {:>6} {:>9} {:>7} {:>8} {:>18}",
        "county",
        "category",
        "posts",
        "occupied",
        "vacant",
        "holders",
        "subsidy paid (¥)"
    );
    for row in &r.rows {
        let category = pb::PostCategory::try_from(row.category).ok();
        out!(
            "{:<8} {:<10} {:>6} {:>9} {:>7} {:>8} {:>18}",
            row.county_code,
            enum_name(category.map(|c| c.as_str_name()), "POST_CATEGORY_"),
            row.posts,
            row.occupied,
            row.vacant,
            row.holders,
            yuan(row.subsidy_paid_fen)
        );
    }
    more(&r.next_page_token);
}

fn print_suspicious(r: &pb::SuspiciousPatternsResponse) {
    out!(
        "{:<36} {:<36} {:<8} {:<10} {}",
        "person",
        "post",
        "county",
        "since",
        "rule"
    );
    for row in &r.rows {
        out!(
            "{:<36} {:<36} {:<8} {:<10} {}",
            row.person_id,
            row.post_id,
            row.county_code,
            date(&row.since),
            row.rule_name
        );
    }
    more(&r.next_page_token);
}

fn print_training(r: &pb::TrainingCoverageResponse) {
    out!(
        "{:<8} {:<14} {:>9} {:>10} {:>10}",
        "county",
        "kind",
        "enrolled",
        "completed",
        "certified"
    );
    for row in &r.rows {
        let kind = pb::TrainingKind::try_from(row.kind).ok();
        out!(
            "{:<8} {:<14} {:>9} {:>10} {:>10}",
            row.county_code,
            enum_name(kind.map(|k| k.as_str_name()), "TRAINING_KIND_"),
            row.enrolled,
            row.completed,
            row.certified
        );
    }
    more(&r.next_page_token);
}

fn print_rain_and_dew(r: &pb::RainAndDewCoverageResponse) {
    out!(
        "{:<8} {:<10} {:>9} {:>14}",
        "county",
        "term",
        "students",
        "subsidy (¥)"
    );
    for row in &r.rows {
        out!(
            "{:<8} {:<10} {:>9} {:>14}",
            row.county_code,
            date(&row.term_starts_on),
            row.students,
            yuan(row.subsidy_total_fen)
        );
    }
    more(&r.next_page_token);
}

#[cfg(test)]
mod tests {
    use super::parse_month;

    #[test]
    fn months_are_written_yyyy_mm_within_the_services_years() {
        assert_eq!(
            parse_month("2026-11"),
            Ok(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        );
        assert_eq!(
            parse_month("2024-1").unwrap_err(),
            "\"2024-1\" is not a month like 2026-11 (YYYY-MM)"
        );
        assert_eq!(
            parse_month("2026-13").unwrap_err(),
            "\"2026-13\" is not a month: there is no such month"
        );
        assert_eq!(
            parse_month("0000-01").unwrap_err(),
            "\"0000-01\" is outside the months the services take (1900-01 to 2100-12)"
        );
        assert!(parse_month("2101-01").is_err() && parse_month("1900-01").is_ok());
    }
}
