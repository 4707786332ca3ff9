//! Tables of the read model, in SQL that runs on both SQLite and PostgreSQL.
//!
//! Every row carries its county and province code so each query filters one table without joins.
//! Dates are ISO `YYYY-MM-DD` text, flags `BIGINT` 0/1, enums their protobuf numbers.

use eventstore::Backend;

/// DDL creating the tables and indexes when missing, and the counter's single row.
pub(crate) fn ddl(_backend: Backend) -> Vec<String> {
    [
        "CREATE TABLE IF NOT EXISTS mara_households (
            household_id TEXT PRIMARY KEY,
            village_code TEXT NOT NULL,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            poverty_alleviated BIGINT NOT NULL,
            relocated BIGINT NOT NULL,
            settlement_area TEXT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS mara_households_county ON mara_households (county_code)",
        "CREATE INDEX IF NOT EXISTS mara_households_province ON mara_households (province_code)",
        "CREATE TABLE IF NOT EXISTS mara_persons (
            person_id TEXT PRIMARY KEY,
            household_id TEXT NOT NULL,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            labour_capacity BIGINT NOT NULL,
            exited BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS mara_persons_county ON mara_persons (county_code)",
        "CREATE INDEX IF NOT EXISTS mara_persons_province ON mara_persons (province_code)",
        // days_to_register is -1 and registered_on NULL until the case is registered.
        "CREATE TABLE IF NOT EXISTS mara_cases (
            case_id TEXT PRIMARY KEY,
            household_id TEXT NOT NULL,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            case_type BIGINT NOT NULL,
            stage BIGINT NOT NULL,
            lead_date TEXT NOT NULL,
            registered_on TEXT,
            days_to_register BIGINT NOT NULL,
            clock_breached BIGINT NOT NULL,
            measures BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS mara_cases_order ON mara_cases (lead_date, case_id)",
        "CREATE INDEX IF NOT EXISTS mara_cases_county ON mara_cases (county_code)",
        "CREATE INDEX IF NOT EXISTS mara_cases_province ON mara_cases (province_code)",
        "CREATE TABLE IF NOT EXISTS mara_progress (
            id BIGINT PRIMARY KEY,
            events_applied BIGINT NOT NULL
        )",
        "INSERT INTO mara_progress (id, events_applied) VALUES (1, 0) ON CONFLICT DO NOTHING",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}
