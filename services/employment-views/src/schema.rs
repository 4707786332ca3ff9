//! Tables of the read model, in SQL that runs on both SQLite and PostgreSQL.
//!
//! Rows are upserted partially, in whatever order streams arrive: a column a later event fills is
//! `''` (text) or 0 until then, and `known`/`started` flags say whether the defining event came.
//! Dates are ISO `YYYY-MM-DD` text, flags `BIGINT` 0/1, enums their protobuf numbers.

use eventstore::Backend;

/// DDL creating the tables and indexes when missing.
pub(crate) fn ddl(_backend: Backend) -> Vec<String> {
    [
        // One row per spell. `started` = SpellStarted seen; end_date NULL while open.
        "CREATE TABLE IF NOT EXISTS emp_spells (
            spell_id TEXT PRIMARY KEY,
            person_id TEXT NOT NULL,
            household_id TEXT NOT NULL,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            location_class BIGINT NOT NULL,
            channel BIGINT NOT NULL,
            start_date TEXT NOT NULL,
            end_date TEXT,
            end_reason BIGINT NOT NULL,
            started BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS emp_spells_month ON emp_spells (start_date, end_date)",
        "CREATE INDEX IF NOT EXISTS emp_spells_county ON emp_spells (county_code, start_date)",
        "CREATE INDEX IF NOT EXISTS emp_spells_province ON emp_spells (province_code, start_date)",
        "CREATE INDEX IF NOT EXISTS emp_spells_person ON emp_spells (person_id, end_date)",
        "CREATE INDEX IF NOT EXISTS emp_spells_household ON emp_spells (household_id, end_date)",
        "CREATE INDEX IF NOT EXISTS emp_spells_ended ON emp_spells (end_date, person_id)",
        // Registry facts about persons; `known` = RegistryPersonKnown seen; exit_date '' unless known.
        "CREATE TABLE IF NOT EXISTS emp_persons (
            person_id TEXT PRIMARY KEY,
            household_id TEXT NOT NULL,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            birth_date TEXT NOT NULL,
            labour_capable BIGINT NOT NULL,
            exited BIGINT NOT NULL,
            exit_date TEXT NOT NULL,
            known BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS emp_persons_household ON emp_persons (household_id)",
        // Registry facts about households; `known` = RegistryHouseholdKnown seen. Until then the
        // county is the one of the first member learnt about.
        "CREATE TABLE IF NOT EXISTS emp_households (
            household_id TEXT PRIMARY KEY,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            poverty_alleviated BIGINT NOT NULL,
            monitored BIGINT NOT NULL,
            known BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS emp_households_county ON emp_households (county_code, household_id)",
        "CREATE TABLE IF NOT EXISTS emp_follow_ups (
            person_id TEXT NOT NULL,
            follow_date TEXT NOT NULL,
            PRIMARY KEY (person_id, follow_date)
        )",
        "CREATE TABLE IF NOT EXISTS emp_job_losses (
            person_id TEXT NOT NULL,
            spell_id TEXT NOT NULL,
            household_id TEXT NOT NULL,
            on_date TEXT NOT NULL,
            monitored BIGINT NOT NULL,
            without_employment BIGINT NOT NULL,
            PRIMARY KEY (person_id, spell_id)
        )",
        "CREATE INDEX IF NOT EXISTS emp_job_losses_date ON emp_job_losses (on_date)",
        "CREATE TABLE IF NOT EXISTS emp_posts (
            post_id TEXT PRIMARY KEY,
            county_code TEXT NOT NULL,
            province_code TEXT NOT NULL,
            category BIGINT NOT NULL,
            monthly_subsidy_fen BIGINT NOT NULL,
            starts_on TEXT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS emp_posts_county ON emp_posts (county_code, category)",
        // One row per (post, person); `active` = assigned and not ended since.
        "CREATE TABLE IF NOT EXISTS emp_post_holders (
            post_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            assigned_on TEXT NOT NULL,
            ended_on TEXT,
            active BIGINT NOT NULL,
            PRIMARY KEY (post_id, person_id)
        )",
        "CREATE INDEX IF NOT EXISTS emp_post_holders_person ON emp_post_holders (person_id, active)",
        // One row per payment event: two payments for one month are two rows.
        "CREATE TABLE IF NOT EXISTS emp_post_payments (
            event_id TEXT PRIMARY KEY,
            post_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            month TEXT NOT NULL,
            amount_fen BIGINT NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS emp_post_payments_post ON emp_post_payments (post_id, month)",
        // `enrolled` = TrainingEnrolled seen (a completion may be learnt first).
        "CREATE TABLE IF NOT EXISTS emp_training (
            enrolment_id TEXT PRIMARY KEY,
            person_id TEXT NOT NULL,
            kind BIGINT NOT NULL,
            starts_on TEXT NOT NULL,
            enrolled BIGINT NOT NULL,
            completed BIGINT NOT NULL,
            certified BIGINT NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS emp_rain_and_dew (
            enrolment_id TEXT PRIMARY KEY,
            person_id TEXT NOT NULL,
            household_id TEXT NOT NULL,
            term_starts_on TEXT NOT NULL,
            subsidy_fen BIGINT NOT NULL
        )",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}
