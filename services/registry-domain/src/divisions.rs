//! Reference lists of administrative divisions: the Ministry of Civil Affairs code list and the
//! national key counties for rural revitalisation.
//!
//! Both are read from tab-separated files with a header line (see `shared/data/README.md`), so an
//! operator can ship a newer list without a code change. Level is derived from the 6-digit code:
//! `xx0000` is a province, `xxxx00` a prefecture, anything else county level (districts,
//! county-level cities, banners, and counties directly under a municipality such as `1101xx`).

use std::collections::BTreeMap;

/// A malformed division or key-county file. Line numbers are 1-based and count the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// The first line is not the expected header.
    #[error("line 1: expected header {expected:?}, found {found:?}")]
    Header {
        /// The header the format requires.
        expected: &'static str,
        /// The first line as found.
        found: String,
    },
    /// A data line is malformed.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A code appears twice.
    #[error("line {line}: duplicate code {code}")]
    Duplicate {
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The repeated code.
        code: String,
    },
}

/// Splits a TSV text into numbered rows of exactly `width` fields after checking the header.
/// Tolerates CRLF line endings and blank lines; every field must be non-empty.
fn rows<'a>(
    text: &'a str,
    header: &'static str,
    width: usize,
) -> Result<Vec<(usize, Vec<&'a str>)>, DivisionError> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or_default();
    if first.trim_start_matches('\u{feff}') != header {
        return Err(DivisionError::Header {
            expected: header,
            found: first.to_owned(),
        });
    }
    let mut out = Vec::new();
    for (index, raw) in lines.enumerate() {
        let line = index + 2;
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').map(str::trim).collect();
        if fields.len() != width {
            return Err(DivisionError::Line {
                line,
                reason: format!(
                    "expected {width} tab-separated fields, found {}",
                    fields.len()
                ),
            });
        }
        if let Some(i) = fields.iter().position(|f| f.is_empty()) {
            return Err(DivisionError::Line {
                line,
                reason: format!("field {} is empty", i + 1),
            });
        }
        if !is_code(fields[0]) {
            return Err(DivisionError::Line {
                line,
                reason: format!("code {:?} is not 6 digits", fields[0]),
            });
        }
        out.push((line, fields));
    }
    Ok(out)
}

fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

fn is_county_level(code: &str) -> bool {
    is_code(code) && !code.ends_with("00")
}

/// The administrative division list (province, prefecture and county level), keyed by code.
#[derive(Debug, Clone, Default)]
pub struct DivisionCatalog {
    names: BTreeMap<String, String>,
}

impl DivisionCatalog {
    /// Header line of the division file.
    pub const HEADER: &'static str = "code\tname";

    /// Reads the `code<TAB>name` format of `divisions-mca-202112.tsv`.
    pub fn from_tsv(text: &str) -> Result<DivisionCatalog, DivisionError> {
        let mut names = BTreeMap::new();
        for (line, fields) in rows(text, Self::HEADER, 2)? {
            let code = fields[0].to_owned();
            if names.contains_key(&code) {
                return Err(DivisionError::Duplicate { line, code });
            }
            names.insert(code, fields[1].to_owned());
        }
        Ok(DivisionCatalog { names })
    }

    /// Whether `code` is a county-level division present in the list.
    pub fn is_county(&self, code: &str) -> bool {
        is_county_level(code) && self.names.contains_key(code)
    }

    /// Name of any division in the list.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    /// Province code of a division code: its first two digits followed by `0000`. Does not check
    /// that the code is in the list.
    pub fn province_code(&self, county_code: &str) -> String {
        let prefix: String = county_code.chars().take(2).collect();
        format!("{prefix:0<2}0000")
    }

    /// County-level divisions as `(code, name)`, in code order.
    pub fn counties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names
            .iter()
            .filter(|(code, _)| is_county_level(code))
            .map(|(code, name)| (code.as_str(), name.as_str()))
    }

    /// Number of divisions of all levels.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One national key county for rural revitalisation (国家乡村振兴重点帮扶县).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCounty {
    /// 6-digit county code.
    pub code: String,
    /// County name.
    pub name: String,
    /// Province name.
    pub province: String,
    /// Which list designated it, e.g. `national-2021-08-27`.
    pub list: String,
}

/// The key-county list, keyed by county code.
#[derive(Debug, Clone, Default)]
pub struct KeyCounties {
    counties: BTreeMap<String, KeyCounty>,
}

impl KeyCounties {
    /// Header line of the key-county file.
    pub const HEADER: &'static str = "code\tname\tprovince\tlist";

    /// Reads the `code<TAB>name<TAB>province<TAB>list` format of `key-counties-2021-partial.tsv`.
    pub fn from_tsv(text: &str) -> Result<KeyCounties, DivisionError> {
        let mut counties = BTreeMap::new();
        for (line, fields) in rows(text, Self::HEADER, 4)? {
            let code = fields[0].to_owned();
            if !is_county_level(&code) {
                return Err(DivisionError::Line {
                    line,
                    reason: format!("code {code} is not county level"),
                });
            }
            if counties.contains_key(&code) {
                return Err(DivisionError::Duplicate { line, code });
            }
            let county = KeyCounty {
                code: code.clone(),
                name: fields[1].to_owned(),
                province: fields[2].to_owned(),
                list: fields[3].to_owned(),
            };
            counties.insert(code, county);
        }
        Ok(KeyCounties { counties })
    }

    /// Whether `code` is a key county.
    pub fn contains(&self, code: &str) -> bool {
        self.counties.contains_key(code)
    }

    /// Number of key counties.
    pub fn len(&self) -> usize {
        self.counties.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.counties.is_empty()
    }

    /// Key counties in code order.
    pub fn iter(&self) -> impl Iterator<Item = &KeyCounty> {
        self.counties.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIVISIONS: &str = include_str!("../../../deploy/reference-data/divisions-mca-202112.tsv");
    const KEY_COUNTIES: &str =
        include_str!("../../../deploy/reference-data/key-counties-2021-partial.tsv");

    #[test]
    fn reads_the_real_division_list() {
        let catalog = DivisionCatalog::from_tsv(DIVISIONS).unwrap();
        assert_eq!(catalog.len(), 3208);
        assert!(!catalog.is_county("110000"), "a province");
        assert_eq!(catalog.name("110000"), Some("北京市"));
        assert!(catalog.is_county("110105"), "朝阳区 directly under 北京市");
        assert!(catalog.is_county("150422"));
        assert_eq!(catalog.name("150422"), Some("巴林左旗"));
        assert!(!catalog.is_county("150400"), "赤峰市 is a prefecture");
        assert!(
            catalog.is_county("419001"),
            "济源市, county-level city under the province"
        );
        assert!(!catalog.is_county("520221"), "水城县 was abolished in 2020");
        assert!(catalog.is_county("520204"));
        assert_eq!(catalog.province_code("150422"), "150000");
        assert!(catalog.counties().all(|(code, _)| !code.ends_with("00")));
        assert!(catalog
            .counties()
            .any(|(code, name)| code == "500101" && name == "万州区"));
    }

    #[test]
    fn reads_the_real_key_county_list() {
        let key = KeyCounties::from_tsv(KEY_COUNTIES).unwrap();
        let catalog = DivisionCatalog::from_tsv(DIVISIONS).unwrap();
        assert_eq!(key.len(), 90);
        assert!(key.contains("150422"));
        assert!(!key.contains("110105"));
        assert!(
            key.iter().all(|k| catalog.is_county(&k.code)),
            "every key county is a county"
        );
        let first = key.iter().next().unwrap();
        assert_eq!(first.province, "内蒙古自治区");
        assert_eq!(first.list, "national-2021-08-27");
    }

    #[test]
    fn errors_carry_the_line_number() {
        assert_eq!(
            DivisionCatalog::from_tsv("code\tname\n110000\t北京市\n11010\t东城区\n").unwrap_err(),
            DivisionError::Line {
                line: 3,
                reason: "code \"11010\" is not 6 digits".into()
            }
        );
        assert_eq!(
            DivisionCatalog::from_tsv("code\tname\r\n110000\t北京市\r\n110000\t北京\r\n")
                .unwrap_err(),
            DivisionError::Duplicate {
                line: 3,
                code: "110000".into()
            }
        );
        assert!(matches!(
            DivisionCatalog::from_tsv("code,name\n").unwrap_err(),
            DivisionError::Header { .. }
        ));
        assert_eq!(
            KeyCounties::from_tsv("code\tname\tprovince\tlist\n150422\t巴林左旗\n").unwrap_err(),
            DivisionError::Line {
                line: 2,
                reason: "expected 4 tab-separated fields, found 2".into()
            }
        );
    }
}
