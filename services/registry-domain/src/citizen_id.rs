//! The resident citizen ID number (公民身份号码, GB 11643-1999).
//!
//! Layout of the 18 characters: a 6-digit address code (the county code valid when the number was
//! issued), an 8-digit birth date `YYYYMMDD`, a 3-digit sequence whose last digit is odd for men,
//! and a check character computed over the first 17 digits.
//!
//! The number is sensitive personal information: [`CitizenId`] has no `Display`, its `Debug` shows
//! only the masked form, and what leaves this type is either [`CitizenId::masked`] or
//! [`CitizenId::keyed_hash`].

use std::fmt;

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::types::Sex;

/// Weights of the first 17 digits in the GB 11643 check-character sum.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by the weighted sum modulo 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Why a string is not a valid citizen ID number. Messages never repeat the number itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CitizenIdError {
    /// The trimmed input does not have exactly 18 characters.
    #[error("citizen ID must have 18 characters, found {found}")]
    Length {
        /// Number of characters found after trimming.
        found: usize,
    },
    /// One of the first 17 characters is not an ASCII digit.
    #[error("citizen ID character {position} must be a digit")]
    NonDigit {
        /// 1-based position of the offending character.
        position: usize,
    },
    /// Characters 7 to 14 are not an acceptable birth date.
    #[error("citizen ID birth date is invalid: {reason}")]
    BirthDate {
        /// What is wrong with the date.
        reason: String,
    },
    /// The 18th character does not match the GB 11643 check character.
    #[error("citizen ID check character should be '{expected}', found '{found}'")]
    CheckCharacter {
        /// Check character computed from the first 17 digits.
        expected: char,
        /// Character found in position 18 (upper-cased).
        found: char,
    },
}

/// A validated citizen ID number, normalised to 18 ASCII characters with an upper-case `X`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CitizenId {
    value: String,
    birth_date: NaiveDate,
}

impl CitizenId {
    /// Parses and validates a citizen ID number.
    ///
    /// Checks: exactly 18 characters after trimming; the first 17 are digits; the birth date is a
    /// real calendar date between 1900-01-01 and `today` (a China civil date); the check character
    /// matches. The address code is deliberately not checked against the division list: codes
    /// abolished since the number was issued remain valid on old numbers.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<CitizenId, CitizenIdError> {
        let chars: Vec<char> = raw.trim().chars().collect();
        if chars.len() != 18 {
            return Err(CitizenIdError::Length { found: chars.len() });
        }
        let mut digits = [0u32; 17];
        for (i, c) in chars[..17].iter().enumerate() {
            // `to_digit` accepts only ASCII digits, so full-width digits are refused here.
            digits[i] = c
                .to_digit(10)
                .ok_or(CitizenIdError::NonDigit { position: i + 1 })?;
        }
        let birth_date = birth_date_of(&digits, today)?;
        let expected = check_character(&digits);
        let found = chars[17].to_ascii_uppercase();
        if found != expected {
            return Err(CitizenIdError::CheckCharacter { expected, found });
        }
        let mut value: String = chars[..17].iter().collect();
        value.push(found);
        Ok(CitizenId { value, birth_date })
    }

    /// Birth date encoded in characters 7 to 14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Sex encoded by the parity of the 17th digit: odd is male, even is female.
    pub fn sex(&self) -> Sex {
        let digit = self.value.as_bytes()[16] - b'0';
        if digit % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The 6-digit address code: the county where the number was issued, at issue time.
    pub fn address_code(&self) -> &str {
        &self.value[..6]
    }

    /// Masked form safe to show and publish: the address code, eight `*`, and the last four
    /// characters, e.g. `110101********123X`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.value[..6], &self.value[14..])
    }

    /// Lower-case hex of HMAC-SHA-256 of the normalised number under `key` (the deployment's
    /// secret). Equal numbers give equal hashes under the same key, so the hash serves as the
    /// duplicate-detection index without storing the number.
    pub fn keyed_hash(&self, key: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
        mac.update(self.value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CitizenId").field(&self.masked()).finish()
    }
}

fn birth_date_of(digits: &[u32; 17], today: NaiveDate) -> Result<NaiveDate, CitizenIdError> {
    let number = |range: std::ops::Range<usize>| digits[range].iter().fold(0, |n, d| n * 10 + d);
    let (year, month, day) = (number(6..10), number(10..12), number(12..14));
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| {
        CitizenIdError::BirthDate {
            reason: format!("{year:04}-{month:02}-{day:02} is not a calendar date"),
        }
    })?;
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid constant date");
    if date < earliest {
        return Err(CitizenIdError::BirthDate {
            reason: format!("{date} is before {earliest}"),
        });
    }
    if date > today {
        return Err(CitizenIdError::BirthDate {
            reason: format!("{date} is after today ({today})"),
        });
    }
    Ok(date)
}

fn check_character(digits: &[u32; 17]) -> char {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

#[cfg(test)]
mod tests;
