//! The unified social credit code (统一社会信用代码, GB 32100-2015) that identifies an employer.
//!
//! 18 characters: registration authority (1), organisation category (1), administrative division
//! code (6 digits), organisation code (9), check character (1). Every character comes from a
//! 31-character set that leaves out I, O, Z, S and V so that codes survive handwriting; the check
//! character is computed from the first 17 with weights `3^i mod 31`.

use std::fmt;

/// The 31 characters allowed in a code; a character's value is its index here.
pub const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1..=17 (`3^(i-1) mod 31`).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a string is not a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not 18 characters after trimming.
    #[error("must have 18 characters, found {found}")]
    Length {
        /// Characters found.
        found: usize,
    },
    /// A character outside [`CHARSET`]; `position` counts from 1.
    #[error("character {character:?} at position {position} is not allowed")]
    Charset {
        /// 1-based position.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// Positions 3..=8 must be the digits of an administrative division code.
    #[error("division code {found} (positions 3-8) must be 6 digits")]
    DivisionCode {
        /// The six characters found.
        found: String,
    },
    /// The 18th character does not match the first 17.
    #[error("check character should be {expected}, found {found}")]
    CheckCharacter {
        /// Check character computed from the first 17.
        expected: char,
        /// Check character given.
        found: char,
    },
}

/// A validated unified social credit code, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

fn value_of(c: char) -> Option<u32> {
    CHARSET.find(c).map(|i| i as u32)
}

/// The check character for the first 17 characters, `None` if one is outside [`CHARSET`] or there
/// are not exactly 17.
pub fn check_character(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, weight) in first17.chars().zip(WEIGHTS) {
        sum += value_of(c)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    CHARSET.chars().nth(check as usize)
}

impl Uscc {
    /// Parses a code: surrounding whitespace is trimmed and letters are upper-cased, then length,
    /// character set, division-code digits and check character are verified in that order.
    pub fn parse(raw: &str) -> Result<Uscc, UsccError> {
        let code = raw.trim().to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length { found: chars.len() });
        }
        if let Some((i, &c)) = chars
            .iter()
            .enumerate()
            .find(|(_, c)| value_of(**c).is_none())
        {
            return Err(UsccError::Charset {
                position: i + 1,
                character: c,
            });
        }
        let division: String = chars[2..8].iter().collect();
        if !division.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UsccError::DivisionCode { found: division });
        }
        let first17: String = chars[..17].iter().collect();
        let expected = check_character(&first17).unwrap_or('?');
        if expected != chars[17] {
            return Err(UsccError::CheckCharacter {
                expected,
                found: chars[17],
            });
        }
        Ok(Uscc(code))
    }

    /// The code, 18 upper-case characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Registration authority code (position 1), e.g. `9` for market regulation.
    pub fn registration_authority(&self) -> char {
        self.0.as_bytes()[0] as char
    }

    /// Organisation category code (position 2), e.g. `1` for an enterprise.
    pub fn organisation_category(&self) -> char {
        self.0.as_bytes()[1] as char
    }

    /// Administrative division code of the registering authority (positions 3-8).
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }

    /// Organisation code (positions 9-17).
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Uscc {
    type Err = UsccError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

#[cfg(test)]
mod tests;
