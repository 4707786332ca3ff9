//! Reference data: the division list and national key counties, built in (copies under
//! `deploy/reference-data/`) or read from files given on the command line.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use registry_domain::{DivisionCatalog, KeyCounties};

const DIVISIONS: &str = include_str!("../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../deploy/reference-data/key-counties-2021-partial.tsv");

/// Division catalog and key-county list.
#[derive(Clone)]
pub struct ReferenceData {
    /// Administrative divisions.
    pub catalog: Arc<DivisionCatalog>,
    /// National key counties for rural revitalisation.
    pub key_counties: Arc<KeyCounties>,
}

impl ReferenceData {
    /// Loads the files when given, the built-in copies otherwise.
    pub fn load(divisions: Option<&Path>, key_counties: Option<&Path>) -> anyhow::Result<Self> {
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
        Ok(Self {
            catalog: Arc::new(catalog),
            key_counties: Arc::new(key_counties),
        })
    }
}
