//! Reference data: the division list, national key counties and provincial minimum wages, built in
//! (copies under `deploy/reference-data/`) or read from files given on the command line; and the
//! employment policy book derived from them.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use employment_domain::{PolicyBook, PostSubsidyBand};
use registry_domain::{DivisionCatalog, KeyCounties};

const DIVISIONS: &str = include_str!("../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../deploy/reference-data/key-counties-2021-partial.tsv");
const MINIMUM_WAGES: &str =
    include_str!("../../../deploy/reference-data/minimum-wages-2023-10.tsv");

/// Division catalog and key-county list.
#[derive(Clone)]
pub struct ReferenceData {
    /// Administrative divisions.
    pub catalog: Arc<DivisionCatalog>,
    /// National key counties for rural revitalisation.
    pub key_counties: Arc<KeyCounties>,
    /// Employment policy parameters: national defaults plus a subsidy band per province.
    pub policy: Arc<PolicyBook>,
}

impl ReferenceData {
    /// Loads the files when given, the built-in copies otherwise.
    pub fn load(
        divisions: Option<&Path>,
        key_counties: Option<&Path>,
        minimum_wages: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let read = |p: Option<&Path>, builtin: &'static str| -> anyhow::Result<String> {
            match p {
                Some(p) => {
                    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
                }
                None => Ok(builtin.to_string()),
            }
        };
        let name = |p: Option<&Path>| p.map_or("built-in".to_string(), |p| p.display().to_string());
        let catalog = DivisionCatalog::from_tsv(&read(divisions, DIVISIONS)?)
            .with_context(|| format!("division list {}", name(divisions)))?;
        if !catalog.counties().any(|_| true) {
            anyhow::bail!(
                "division list {} has no county-level division",
                name(divisions)
            );
        }
        let key_list = KeyCounties::from_tsv(&read(key_counties, KEY_COUNTIES)?)
            .with_context(|| format!("key-county list {}", name(key_counties)))?;
        if let Some(unknown) = key_list.iter().find(|k| !catalog.is_county(&k.code)) {
            anyhow::bail!(
                "key-county list {}: {} ({}) is not a county in the division list",
                name(key_counties),
                unknown.code,
                unknown.name
            );
        }
        let key_counties = key_list;
        let bands = subsidy_bands(&read(minimum_wages, MINIMUM_WAGES)?)
            .with_context(|| format!("minimum wage table {}", name(minimum_wages)))?;
        let policy = PolicyBook {
            subsidy_bands: bands,
            ..PolicyBook::national()
        };
        Ok(Self {
            catalog: Arc::new(catalog),
            key_counties: Arc::new(key_counties),
            policy: Arc::new(policy),
        })
    }
}

/// Public-welfare post subsidy bands from the provincial minimum wage table (TSV with header
/// `province_code province tier1 tier2 tier3 tier4 effective_from unit`, yuan per month).
///
/// The ceiling is 1.2 × the province's lowest tier (rural key counties are in the lowest tiers;
/// see [`PostSubsidyBand::typical`]). The floor should be the local rural minimum living
/// allowance, which the shipped reference data does not contain: it is 0 fen here, so only the
/// ceiling is enforced until a band file with floors is configured.
pub fn subsidy_bands(tsv: &str) -> anyhow::Result<Vec<PostSubsidyBand>> {
    let mut bands = Vec::new();
    for (index, line) in tsv.lines().enumerate().skip(1) {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            anyhow::bail!(
                "line {number}: expected 7 tab-separated columns, found {}",
                cols.len()
            );
        }
        let lowest_yuan = cols[2..6]
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                c.trim()
                    .parse::<i64>()
                    .with_context(|| format!("line {number}: minimum wage {c:?} is not whole yuan"))
            })
            .collect::<anyhow::Result<Vec<i64>>>()?
            .into_iter()
            .min()
            .with_context(|| format!("line {number}: no minimum wage tier"))?;
        let from = NaiveDate::parse_from_str(cols[6].trim(), "%Y-%m-%d").with_context(|| {
            format!("line {number}: effective_from {:?} is not a date", cols[6])
        })?;
        bands.push(PostSubsidyBand::typical(
            cols[0].trim(),
            from,
            0,
            lowest_yuan * 100,
            &format!(
                "1.2 x the lowest {} minimum wage tier ({lowest_yuan} yuan, {from}); floor not configured",
                cols[1].trim()
            ),
        ));
    }
    Ok(bands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_can_be_dated_from_2025_03_24_with_the_built_in_data() {
        // What `demo --help` says: every built-in band starts 2023-10-01 (the national defaults
        // 2023-09-01), and the demo's records go back 540 days.
        let reference = ReferenceData::load(None, None, None).unwrap();
        let from = reference.policy.complete_from().unwrap();
        assert_eq!(from, NaiveDate::from_ymd_opt(2023, 10, 1).unwrap());
        let lookback = chrono::Days::new(registry_import::employment_plan::LOOKBACK_DAYS);
        assert_eq!(
            from + lookback,
            NaiveDate::from_ymd_opt(2025, 3, 24).unwrap()
        );
    }

    #[test]
    fn bands_cap_at_six_fifths_of_the_lowest_tier() {
        let bands = subsidy_bands(MINIMUM_WAGES).unwrap();
        let inner_mongolia = bands.iter().find(|b| b.province_code == "150000").unwrap();
        // Inner Mongolia 2023-10: tiers 1980 / 1910 / 1850 yuan; 1.2 x 1850 = 2220 yuan.
        assert_eq!(inner_mongolia.max_fen, 222_000);
        assert_eq!(inner_mongolia.min_fen, 0);
        assert!(bands.len() >= 31);
    }

    #[test]
    fn a_bad_wage_names_the_line() {
        let e = subsidy_bands("h\n150000\tX\tabc\t\t\t\t2023-10-01\tyuan/month\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
    }
}
