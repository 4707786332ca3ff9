//! Request fields checked at the edge and turned into typed filters. Division codes are checked
//! for shape here and against the division list by [`crate::EmploymentQuery`].

use chrono::{Datelike, FixedOffset, NaiveDate, Utc};
use proto::common::v1::CivilDate;

use crate::convert::date_of;
use projector::query::QueryError;

/// Largest page a list call returns.
pub(crate) const MAX_PAGE_SIZE: i64 = 1000;
/// Page size when the request leaves it at 0.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 100;
/// Largest follow-up window, days.
pub(crate) const MAX_FOLLOW_UP_DAYS: i32 = 365;

/// Which part of the country a query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Everything.
    Country,
    /// One province (`xx0000`).
    Province(String),
    /// One county.
    County(String),
}

/// Whether `code` has the shape of a county-level division code: 6 digits, not ending in `00`.
pub(crate) fn is_county_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && !code.ends_with("00")
}

/// The province code (`xx0000`) of a division code.
pub(crate) fn province_of(code: &str) -> String {
    format!("{}0000", &code[..2.min(code.len())])
}

fn province_code(value: &str) -> Result<Option<String>, QueryError> {
    if value.is_empty() {
        return Ok(None);
    }
    let digits = value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit());
    if !digits || !value.ends_with("0000") || value == "000000" {
        return Err(QueryError::invalid(
            "province_code",
            "must be 6 digits ending in 0000",
        ));
    }
    Ok(Some(value.to_string()))
}

fn county_code(value: &str) -> Result<Option<String>, QueryError> {
    if value.is_empty() {
        return Ok(None);
    }
    if !is_county_code(value) {
        return Err(QueryError::invalid(
            "county_code",
            "must be a county-level code: 6 digits, not ending in 00",
        ));
    }
    Ok(Some(value.to_string()))
}

/// The scope of `province_code` and `county_code` together; when both are given the county must
/// lie in the province.
pub(crate) fn scope(province: &str, county: &str) -> Result<Scope, QueryError> {
    match (province_code(province)?, county_code(county)?) {
        (None, None) => Ok(Scope::Country),
        (Some(p), None) => Ok(Scope::Province(p)),
        (None, Some(c)) => Ok(Scope::County(c)),
        (Some(p), Some(c)) if province_of(&c) == p => Ok(Scope::County(c)),
        (Some(p), Some(c)) => Err(QueryError::invalid(
            "county_code",
            format!("county {c} is not in province {p}"),
        )),
    }
}

/// `page_size`: 0 means the default, larger than the maximum is capped, negative is refused.
pub(crate) fn page_size(value: i32) -> Result<i64, QueryError> {
    match i64::from(value) {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(QueryError::invalid("page_size", "must not be negative")),
        n => Ok(n.min(MAX_PAGE_SIZE)),
    }
}

/// A required date field.
pub(crate) fn date(
    field: &'static str,
    value: Option<&CivilDate>,
) -> Result<NaiveDate, QueryError> {
    let value = value.ok_or_else(|| QueryError::invalid(field, "is required"))?;
    date_of(value).ok_or_else(|| {
        QueryError::invalid(
            field,
            "must be a valid date between 1900-01-01 and 2100-12-31",
        )
    })
}

/// A month field: a valid date on the first day of its month.
pub(crate) fn month(
    field: &'static str,
    value: Option<&CivilDate>,
) -> Result<NaiveDate, QueryError> {
    let first = date(field, value)?;
    if first.day() != 1 {
        return Err(QueryError::invalid(
            field,
            "must be the first day of a month",
        ));
    }
    Ok(first)
}

/// An optional `[from, to]` date range; `to` before `from` is refused (naming `to_field`).
pub(crate) fn range(
    from_field: &'static str,
    from: Option<&CivilDate>,
    to_field: &'static str,
    to: Option<&CivilDate>,
    as_month: bool,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), QueryError> {
    let read = |field, value: Option<&CivilDate>| match (value, as_month) {
        (None, _) => Ok(None),
        (Some(d), true) => month(field, Some(d)).map(Some),
        (Some(d), false) => date(field, Some(d)).map(Some),
    };
    let (from, to) = (read(from_field, from)?, read(to_field, to)?);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(QueryError::invalid(
                to_field,
                "must not be before the start of the range",
            ));
        }
    }
    Ok((from, to))
}

/// `as_of`: a valid civil date, or `today` when unset.
pub(crate) fn as_of(value: Option<&CivilDate>, today: NaiveDate) -> Result<NaiveDate, QueryError> {
    match value {
        None => Ok(today),
        Some(d) => date("as_of", Some(d)),
    }
}

/// `follow_up_days`: `default` when unset, else 0..=365.
pub(crate) fn follow_up_days(value: Option<i32>, default: u32) -> Result<i64, QueryError> {
    match value {
        None => Ok(i64::from(default)),
        Some(n) if (0..=MAX_FOLLOW_UP_DAYS).contains(&n) => Ok(n.into()),
        Some(_) => Err(QueryError::invalid(
            "follow_up_days",
            format!("must be between 0 and {MAX_FOLLOW_UP_DAYS}"),
        )),
    }
}

/// An enum filter: 0 (`UNSPECIFIED`) means all; a number this build does not know is refused
/// (a typo would otherwise look like "nothing").
pub(crate) fn enum_filter(
    field: &'static str,
    value: i32,
    known: fn(i32) -> bool,
) -> Result<Option<i64>, QueryError> {
    match value {
        0 => Ok(None),
        n if known(n) => Ok(Some(n.into())),
        n => Err(QueryError::invalid(
            field,
            format!("{n} is not a known value"),
        )),
    }
}

/// Today's civil date in China Standard Time (UTC+8), the time zone of business dates.
pub(crate) fn today_in_china() -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&cst).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(year: i32, month: i32, day: i32) -> CivilDate {
        CivilDate { year, month, day }
    }

    #[test]
    fn scopes_and_sizes() {
        assert_eq!(scope("", "").unwrap(), Scope::Country);
        assert_eq!(
            scope("150000", "150422").unwrap(),
            Scope::County("150422".into())
        );
        assert!(matches!(
            scope("510000", "150422"),
            Err(QueryError::Invalid {
                field: "county_code",
                ..
            })
        ));
        assert!(matches!(
            scope("150400", ""),
            Err(QueryError::Invalid {
                field: "province_code",
                ..
            })
        ));
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn months_ranges_and_windows() {
        assert!(month("month", Some(&civil(2024, 3, 1))).is_ok());
        assert!(month("month", Some(&civil(2024, 3, 2))).is_err());
        assert!(month("month", None).is_err());
        let (f, t) = (civil(2024, 3, 1), civil(2024, 2, 1));
        assert!(matches!(
            range("from", Some(&f), "to", Some(&t), false),
            Err(QueryError::Invalid { field: "to", .. })
        ));
        assert_eq!(follow_up_days(None, 7).unwrap(), 7);
        assert_eq!(follow_up_days(Some(0), 7).unwrap(), 0);
        assert!(follow_up_days(Some(366), 7).is_err());
        assert!(follow_up_days(Some(-1), 7).is_err());
    }
}
