//! Conversions between proto messages and the read model's values.

use chrono::{Datelike, NaiveDate};
use proto::common::v1::CivilDate;
use proto::mara::v1::{CaseRow, Counts, StageCount};

use crate::read::{CaseRecord, Tally};
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

/// A stored ISO date back as a [`CivilDate`].
fn stored_date(text: &str) -> Result<CivilDate, QueryError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(civil_of)
        .map_err(|_| QueryError::Corrupt(format!("stored date {text:?}")))
}

/// An `INT32` proto field from a stored `BIGINT`.
fn int32(value: i64, what: &str) -> Result<i32, QueryError> {
    i32::try_from(value).map_err(|_| QueryError::Corrupt(format!("{what} {value} out of range")))
}

/// The proto [`Counts`] of a tally.
pub(crate) fn counts(tally: &Tally) -> Result<Counts, QueryError> {
    let cases_by_stage = tally
        .by_stage
        .iter()
        .map(|(stage, cases)| {
            Ok(StageCount {
                stage: int32(*stage, "stage")?,
                cases: *cases,
            })
        })
        .collect::<Result<_, QueryError>>()?;
    Ok(Counts {
        households: tally.households,
        poverty_alleviated_households: tally.poverty_alleviated,
        persons: tally.persons,
        exited_persons: tally.exited,
        labour_capable_persons: tally.labour_capable,
        monitoring_cases: tally.cases,
        cases_by_stage,
    })
}

/// The proto [`CaseRow`] of a stored case.
pub(crate) fn case_row(case: CaseRecord) -> Result<CaseRow, QueryError> {
    Ok(CaseRow {
        lead_date: Some(stored_date(&case.lead_date)?),
        registered_on: case.registered_on.as_deref().map(stored_date).transpose()?,
        case_type: int32(case.case_type, "case_type")?,
        stage: int32(case.stage, "stage")?,
        days_to_register: int32(case.days_to_register, "days_to_register")?,
        assistance_measures: int32(case.measures, "measures")?,
        case_id: case.case_id,
        household_id: case.household_id,
        county_code: case.county_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let d = CivilDate {
            year: 2024,
            month: 2,
            day: 29,
        };
        assert_eq!(date_of(&d).map(civil_of), Some(d));
        assert_eq!(
            date_of(&CivilDate {
                year: 2023,
                month: 2,
                day: 29
            }),
            None
        );
        assert_eq!(
            date_of(&CivilDate {
                year: 1899,
                month: 12,
                day: 31
            }),
            None
        );
        assert_eq!(
            date_of(&CivilDate {
                year: 2024,
                month: -1,
                day: 1
            }),
            None
        );
        assert_eq!(date_of(&CivilDate::default()), None);
    }
}
