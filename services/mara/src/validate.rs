//! Request fields checked at the edge and turned into typed filters.
//!
//! Division codes are checked for shape only, not against the division list: the read model may
//! hold codes abolished since (a registry older than the list), and they must stay queryable.

use chrono::{FixedOffset, NaiveDate, Utc};
use proto::common::v1::CivilDate;

use crate::convert::date_of;
use projector::query::QueryError;

/// Largest page a list call returns.
pub(crate) const MAX_PAGE_SIZE: i64 = 1000;
/// Page size when the request leaves it at 0.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 100;

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

/// Where the previous page ended, in the `(lead_date, case_id)` order of case lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageToken {
    /// ISO `YYYY-MM-DD`, as stored.
    pub(crate) lead_date: String,
    pub(crate) case_id: String,
}

impl PageToken {
    /// The token's text: `YYYY-MM-DD:<case id>`. Clients treat it as opaque.
    pub(crate) fn encode(&self) -> String {
        format!("{}:{}", self.lead_date, self.case_id)
    }

    /// Reads a token made by [`PageToken::encode`]; empty means the first page.
    pub(crate) fn parse(token: &str) -> Result<Option<PageToken>, QueryError> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || QueryError::invalid("page_token", "not a token returned by this service");
        let (date, case_id) = token.split_once(':').ok_or_else(bad)?;
        let valid_date = NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok() && date.len() == 10;
        if !valid_date || case_id.is_empty() || case_id.len() > 100 {
            return Err(bad());
        }
        Ok(Some(PageToken {
            lead_date: date.to_string(),
            case_id: case_id.to_string(),
        }))
    }
}

/// Whether `code` has the shape of a county-level division code: 6 digits, not ending in `00`
/// (which would be a province or a prefecture).
pub(crate) fn is_county_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && !code.ends_with("00")
}

/// The province code (`xx0000`) of a division code.
pub(crate) fn province_of(code: &str) -> String {
    format!("{}0000", &code[..2.min(code.len())])
}

/// `province_code`: empty, or 6 digits ending in `0000`.
pub(crate) fn province_code(value: &str) -> Result<Option<String>, QueryError> {
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

/// `county_code`: empty, or a county-level code (6 digits, not ending in `00`).
pub(crate) fn county_code(value: &str) -> Result<Option<String>, QueryError> {
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

/// `stage`: `UNSPECIFIED` (0) means any stage; a number that is not a stage of this build's
/// protobuf is refused (a typo would otherwise look like "no cases").
pub(crate) fn stage(value: i32) -> Result<Option<i64>, QueryError> {
    match value {
        0 => Ok(None),
        n if proto::registry::v1::CaseStage::try_from(n).is_ok() => Ok(Some(n.into())),
        n => Err(QueryError::invalid(
            "stage",
            format!("{n} is not a case stage"),
        )),
    }
}

/// `as_of`: a valid civil date, or `today` when unset.
pub(crate) fn as_of(value: Option<&CivilDate>, today: NaiveDate) -> Result<NaiveDate, QueryError> {
    match value {
        None => Ok(today),
        Some(date) => date_of(date).ok_or_else(|| {
            QueryError::invalid(
                "as_of",
                "must be a valid date between 1900-01-01 and 2100-12-31",
            )
        }),
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

    #[test]
    fn codes() {
        assert_eq!(province_code("150000").unwrap(), Some("150000".into()));
        assert!(province_code("150400").is_err());
        assert!(province_code("15000").is_err());
        assert!(province_code("000000").is_err());
        assert!(county_code("150422").is_ok());
        assert!(county_code("150400").is_err());
        assert!(county_code("15042a").is_err());
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
    }

    #[test]
    fn page_tokens_round_trip() {
        let token = PageToken {
            lead_date: "2024-03-01".into(),
            case_id: "case:1".into(),
        };
        assert_eq!(PageToken::parse(&token.encode()).unwrap(), Some(token));
        assert_eq!(PageToken::parse("").unwrap(), None);
        for bad in ["x", "2024-13-01:c", "2024-03-01:", "2024-3-1:c", "12"] {
            assert!(PageToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0).unwrap(), 100);
        assert_eq!(page_size(5000).unwrap(), 1000);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(-1).is_err());
    }
}
