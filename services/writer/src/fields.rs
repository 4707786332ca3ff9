//! Protobuf request fields → domain values, every refusal naming the field: UUIDs, civil dates,
//! enums (with the [`proto_enum!`](crate::proto_enum) macro) and text.

use chrono::{Datelike, NaiveDate};
use decision::DomainError;
use proto::common::v1::CivilDate;
use uuid::Uuid;

/// Defines, in the invoking module, the trait `ProtoEnum` (domain enum ↔ protobuf number) with its
/// implementations for domain enums whose variants have the same names as their protobuf twins
/// (plus `Unspecified = 0` on the protobuf side), and the helpers `enum_field` (required value)
/// and `optional_enum_field` (`UNSPECIFIED` = absent) that name the field on refusal:
/// `proto_enum! { pb; Sex => Sex { Male, Female } }` where `pb` is the generated module. (A macro
/// because the domain enums and the trait must share a crate.)
#[macro_export]
macro_rules! proto_enum {
    ($pb:ident; $($domain:ident => $pbenum:ident { $($v:ident),* $(,)? })*) => {
        /// Conversions between a domain enum and its protobuf twin.
        pub(crate) trait ProtoEnum: Sized + Copy {
            /// The protobuf number.
            fn to_proto(self) -> i32;
            /// The domain value, or `None` for `UNSPECIFIED` and unknown numbers.
            fn from_proto(value: i32) -> Option<Self>;
        }

        /// A required enum value (not `UNSPECIFIED`).
        #[allow(dead_code)]
        pub(crate) fn enum_field<T: ProtoEnum>(
            field: &'static str,
            value: i32,
        ) -> Result<T, decision::DomainError> {
            $crate::fields::enum_value(field, value, T::from_proto)
        }

        /// An optional enum value: `UNSPECIFIED` means absent; unknown numbers are refused.
        #[allow(dead_code)]
        pub(crate) fn optional_enum_field<T: ProtoEnum>(
            field: &'static str,
            value: i32,
        ) -> Result<Option<T>, decision::DomainError> {
            if value == 0 {
                return Ok(None);
            }
            $crate::fields::enum_value(field, value, T::from_proto).map(Some)
        }

        $(
        impl ProtoEnum for $domain {
            fn to_proto(self) -> i32 {
                match self { $($domain::$v => $pb::$pbenum::$v as i32),* }
            }
            fn from_proto(value: i32) -> Option<Self> {
                match $pb::$pbenum::try_from(value).ok()? {
                    $($pb::$pbenum::$v => Some($domain::$v),)*
                    $pb::$pbenum::Unspecified => None,
                }
            }
        }
        )*
    };
}

/// A date as a protobuf `CivilDate` (always `Some`, for message fields).
pub fn civil(date: NaiveDate) -> Option<CivilDate> {
    Some(CivilDate {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    })
}

/// The date a `CivilDate` names, `None` when it is not a calendar date.
pub fn date_of(d: &CivilDate) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

/// A required UUID.
pub fn uuid_field(field: &'static str, raw: &str) -> Result<Uuid, DomainError> {
    if raw.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    match Uuid::parse_str(raw) {
        Ok(id) if id.is_nil() => Err(DomainError::invalid(field, "must not be the nil UUID")),
        Ok(id) => Ok(id),
        Err(_) => Err(DomainError::invalid(
            field,
            format!("{} is not a UUID", shown(raw)),
        )),
    }
}

/// A bad value as echoed in an error: quoted, and cut to 40 characters so that an error for a
/// huge input stays small (error details travel in gRPC headers).
pub fn shown(raw: &str) -> String {
    const MAX: usize = 40;
    if raw.chars().count() <= MAX {
        format!("{raw:?}")
    } else {
        let head: String = raw.chars().take(MAX).collect();
        format!("{head:?}… ({} characters)", raw.chars().count())
    }
}

/// A required enum value: `from` (a `ProtoEnum::from_proto` made by [`proto_enum!`]) refuses
/// `UNSPECIFIED` and unknown numbers.
///
/// [`proto_enum!`]: crate::proto_enum
pub fn enum_value<T>(
    field: &'static str,
    value: i32,
    from: impl Fn(i32) -> Option<T>,
) -> Result<T, DomainError> {
    from(value).ok_or_else(|| {
        let reason = if value == 0 {
            "is required (got 0, UNSPECIFIED)".to_string()
        } else {
            format!("has no value numbered {value} (unknown enum value)")
        };
        DomainError::invalid(field, reason)
    })
}

/// The years a `CivilDate` may have (`bottomline.common.v1.CivilDate`): 1900 to 2100.
pub const CIVIL_YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

/// A required civil date between 1900-01-01 and 2100-12-31 ([`CIVIL_YEARS`]).
pub fn date_field(field: &'static str, d: &Option<CivilDate>) -> Result<NaiveDate, DomainError> {
    let d = d
        .as_ref()
        .ok_or_else(|| DomainError::invalid(field, "is required"))?;
    let date = date_of(d).ok_or_else(|| {
        DomainError::invalid(
            field,
            format!(
                "{:04}-{:02}-{:02} is not a calendar date",
                d.year, d.month, d.day
            ),
        )
    })?;
    if !CIVIL_YEARS.contains(&d.year) {
        return Err(DomainError::invalid(
            field,
            format!("{date} is outside 1900-01-01..=2100-12-31"),
        ));
    }
    Ok(date)
}

/// An optional civil date: absent means `None`; present must be valid as for [`date_field`].
pub fn optional_date_field(
    field: &'static str,
    d: &Option<CivilDate>,
) -> Result<Option<NaiveDate>, DomainError> {
    match d {
        None => Ok(None),
        Some(_) => date_field(field, d).map(Some),
    }
}

/// Longest free-text field (notes, descriptions, reasons), in characters.
pub const MAX_TEXT: usize = 500;

/// Free text (notes, reasons): at most [`MAX_TEXT`] characters, line breaks allowed; trimmed.
pub fn text_field(field: &'static str, s: &str) -> Result<String, DomainError> {
    checked_text(field, s, true)
}

/// A one-line value such as a place name: no line breaks either; trimmed.
pub fn line_field(field: &'static str, s: &str) -> Result<String, DomainError> {
    checked_text(field, s, false)
}

fn checked_text(field: &'static str, s: &str, multi_line: bool) -> Result<String, DomainError> {
    if s.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !(multi_line && c == '\n'))
    {
        let what = if multi_line {
            "control characters"
        } else {
            "line breaks or control characters"
        };
        return Err(DomainError::invalid(field, format!("contains {what}")));
    }
    Ok(s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(value: i32) -> String {
        match enum_value("relation", value, |v| (v == 1).then_some(())) {
            Err(DomainError::Invalid { field, reason }) => {
                assert_eq!(field, "relation");
                reason
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_enum_left_unspecified_is_required_and_an_unknown_number_is_named() {
        assert_eq!(reason(0), "is required (got 0, UNSPECIFIED)");
        assert_eq!(reason(99), "has no value numbered 99 (unknown enum value)");
        assert!(enum_value("relation", 1, |v| (v == 1).then_some(())).is_ok());
    }
}
