//! Writes a synthetic population as an import CSV, e.g. to measure `bottomline import`:
//!
//! ```sh
//! cargo run --release -p registry-import --example write_population -- 10000 42 /tmp/pop.csv
//! ```
//!
//! Arguments: households (default 10,000), seed (default 20231001), output file (default
//! standard output). Uses the built-in division and key-county lists and today's date.

use std::io::Write;

use registry_domain::{DivisionCatalog, KeyCounties};

const DIVISIONS: &str = include_str!("../../../deploy/reference-data/divisions-mca-202112.tsv");
const KEY_COUNTIES: &str =
    include_str!("../../../deploy/reference-data/key-counties-2021-partial.tsv");

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let households = args.first().map_or(Ok(10_000), |a| a.parse())?;
    let seed = args.get(1).map_or(Ok(20_231_001), |a| a.parse())?;
    let catalog = DivisionCatalog::from_tsv(DIVISIONS).map_err(anyhow::Error::msg)?;
    let key = KeyCounties::from_tsv(KEY_COUNTIES).map_err(anyhow::Error::msg)?;
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let today = chrono::Utc::now().with_timezone(&cst).date_naive();
    let population = registry_import::generate(seed, households, &catalog, &key, today);
    let csv = population.to_csv();
    match args.get(2) {
        Some(path) => std::fs::write(path, &csv)?,
        None => std::io::stdout().write_all(&csv)?,
    }
    eprintln!(
        "{} households, {} persons",
        population.expected.households, population.expected.persons
    );
    Ok(())
}
