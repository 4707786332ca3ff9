//! Dates between proto [`CivilDate`]s, stored ISO text and chrono, and stored numbers back to
//! proto fields.

use chrono::{Datelike, NaiveDate};
use proto::common::v1::CivilDate;

use projector::query::QueryError;

/// The date a [`CivilDate`] names, when it is a real date in 1900..=2100.
pub(crate) fn date_of(date: &CivilDate) -> Option<NaiveDate> {
    if !(1900..=2100).contains(&date.year) {
        return None;
    }
    let month = u32::try_from(date.month).ok()?;
    let day = u32::try_from(date.day).ok()?;
    NaiveDate::from_ymd_opt(date.year, month, day)
}

/// The [`CivilDate`] of a date.
pub(crate) fn civil_of(date: NaiveDate) -> CivilDate {
    // Month and day are at most 12 and 31, so the casts cannot truncate.
    CivilDate {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    }
}

/// A stored ISO date.
pub(crate) fn stored(text: &str) -> Result<NaiveDate, QueryError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| QueryError::Corrupt(format!("stored date {text:?}")))
}

/// A stored ISO date as a [`CivilDate`].
pub(crate) fn stored_civil(text: &str) -> Result<CivilDate, QueryError> {
    stored(text).map(civil_of)
}

/// An `INT32` proto field (an enum number or a count) from a stored `BIGINT`.
pub(crate) fn int32(value: i64, what: &str) -> Result<i32, QueryError> {
    i32::try_from(value).map_err(|_| QueryError::Corrupt(format!("{what} {value} out of range")))
}

/// The last day of the month starting on `first`.
pub(crate) fn last_day_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_months() {
        let d = CivilDate {
            year: 2024,
            month: 2,
            day: 29,
        };
        assert_eq!(date_of(&d).map(civil_of), Some(d));
        assert_eq!(date_of(&CivilDate::default()), None);
        let feb = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        assert_eq!(last_day_of_month(feb).to_string(), "2024-02-29");
        let dec = NaiveDate::from_ymd_opt(2023, 12, 1).unwrap();
        assert_eq!(last_day_of_month(dec).to_string(), "2023-12-31");
    }
}
