//! Policy parameters of the dynamic monitoring and assistance mechanism.
//!
//! Source: MARA's 2021 guidance on improving the dynamic monitoring and assistance mechanism to
//! prevent return to poverty (《关于完善防止返贫动态监测和帮扶机制的指导意见》, 2021), which sets the
//! identification procedure (lead → home visit → data comparison → village review with public
//! notice → township review → county approval), a 15-day limit from lead to registration, and
//! the conditions for marking a risk eliminated. Provinces refine these figures and they change
//! over time, so the service loads them as dated configuration (value, jurisdiction,
//! effective-from, source); [`MonitoringRules::default`] holds the national figures.

use chrono::{Datelike, NaiveDate};

/// Thresholds applied when deciding monitoring-case commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitoringRules {
    /// Days allowed from the lead date to registration (national guidance: 15). Registering later
    /// is still allowed, but the breach is recorded on the event.
    pub identification_days: i64,
    /// Minimum days the village's public notice must stand before the township review
    /// (national guidance: 5; no sensitive fields are shown on the notice).
    pub min_public_notice_days: i64,
    /// Minimum whole months of monitoring, counted from registration, before the risk may be
    /// marked eliminated (national guidance: 6).
    pub min_monitoring_months: u32,
    /// Minimum months of household income stably above the line before the risk may be marked
    /// eliminated (national guidance: 6).
    pub min_income_stable_months: u32,
}

impl Default for MonitoringRules {
    /// The national figures of the 2021 MARA guidance: 15 days to identify, 5 days of public
    /// notice, 6 months of monitoring and 6 months of stable income before elimination.
    fn default() -> Self {
        MonitoringRules {
            identification_days: 15,
            min_public_notice_days: 5,
            min_monitoring_months: 6,
            min_income_stable_months: 6,
        }
    }
}

/// Whole calendar months from `from` to `to` (civil dates): the largest `n` such that `from` plus
/// `n` months is not after `to`, where adding months clamps to the end of a shorter month
/// (2024-01-31 plus one month is 2024-02-29). Zero when `to` is before `from`.
///
/// 2024-01-15 → 2024-07-15 is 6 months; 2024-01-15 → 2024-07-14 is 5.
pub fn whole_months(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let span = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let mut months = u32::try_from(span).unwrap_or(0);
    while months > 0 && add_months(from, months).is_none_or(|d| d > to) {
        months -= 1;
    }
    months
}

fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(chrono::Months::new(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn whole_months_counts_calendar_months() {
        assert_eq!(whole_months(d(2024, 1, 15), d(2024, 7, 15)), 6);
        assert_eq!(whole_months(d(2024, 1, 15), d(2024, 7, 14)), 5);
        assert_eq!(whole_months(d(2024, 1, 31), d(2024, 2, 29)), 1);
        assert_eq!(whole_months(d(2023, 11, 30), d(2024, 5, 30)), 6);
        assert_eq!(whole_months(d(2024, 3, 1), d(2024, 2, 1)), 0);
        assert_eq!(whole_months(d(2024, 3, 1), d(2024, 3, 1)), 0);
    }

    #[test]
    fn defaults_are_the_national_figures() {
        let rules = MonitoringRules::default();
        assert_eq!(rules.identification_days, 15);
        assert_eq!(rules.min_public_notice_days, 5);
        assert_eq!(rules.min_monitoring_months, 6);
        assert_eq!(rules.min_income_stable_months, 6);
    }
}
