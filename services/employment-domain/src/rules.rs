//! Dated policy parameters of the employment context.
//!
//! Provinces set most of these figures and they change yearly, so each is a dated value with a
//! jurisdiction (where it has one) and a source; the service loads them as configuration into a
//! [`PolicyBook`]. Lookups pick the parameter with the latest `effective_from` not after the date
//! the rule is judged on. [`PolicyBook::national`] holds the national defaults and no subsidy
//! bands: a band is always provincial.

use chrono::NaiveDate;

/// The band a public-welfare post's monthly subsidy must fall in, for one province.
///
/// Typical band: at least the local rural minimum living allowance, at most 1.2 × the local
/// monthly minimum wage (see [`max_subsidy_from_min_wage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSubsidyBand {
    /// Province code, `PP0000`.
    pub province_code: String,
    /// First day the band applies.
    pub effective_from: NaiveDate,
    /// Lowest monthly subsidy, fen.
    pub min_fen: i64,
    /// Highest monthly subsidy, fen.
    pub max_fen: i64,
    /// Where the figures come from.
    pub source: String,
}

impl PostSubsidyBand {
    /// The typical band: from the rural minimum living allowance to 1.2 × the minimum wage.
    pub fn typical(
        province_code: &str,
        effective_from: NaiveDate,
        rural_minimum_living_fen: i64,
        minimum_wage_fen: i64,
        source: &str,
    ) -> Self {
        PostSubsidyBand {
            province_code: province_code.to_owned(),
            effective_from,
            min_fen: rural_minimum_living_fen,
            max_fen: max_subsidy_from_min_wage(minimum_wage_fen),
            source: source.to_owned(),
        }
    }

    /// Whether `fen` is inside the band, both ends included.
    pub fn contains(&self, fen: i64) -> bool {
        (self.min_fen..=self.max_fen).contains(&fen)
    }
}

/// 1.2 × a monthly minimum wage in fen, in integer arithmetic (rounded down to the fen).
pub fn max_subsidy_from_min_wage(min_wage_fen: i64) -> i64 {
    min_wage_fen * 6 / 5
}

/// Age limits for holding a public-welfare post, in whole years on the assignment date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostAgeRule {
    /// First day the rule applies.
    pub effective_from: NaiveDate,
    /// Youngest age (typically 16).
    pub min_age: u32,
    /// Oldest age without justification (typically 60).
    pub max_age: u32,
    /// Oldest age with a recorded justification (typically 65).
    pub override_max_age: u32,
    /// Where the figures come from.
    pub source: String,
}

/// The national bottom line: employed poverty-alleviated workers to keep above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployedScaleTarget {
    /// First day the target applies.
    pub effective_from: NaiveDate,
    /// Workers.
    pub employed: u64,
    /// Where the figure comes from.
    pub source: String,
}

/// Poverty-alleviated workers a workshop is expected to employ (typically 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkshopMinimum {
    /// First day the minimum applies.
    pub effective_from: NaiveDate,
    /// Workers.
    pub min_workers: u32,
    /// Where the figure comes from.
    pub source: String,
}

/// The Rain and Dew Plan subsidy per student per semester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RainAndDewRate {
    /// First day the rate applies (judged on the first day of term).
    pub effective_from: NaiveDate,
    /// Subsidy per semester, fen.
    pub per_semester_fen: i64,
    /// Where the figure comes from.
    pub source: String,
}

/// Every dated parameter the employment decisions use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyBook {
    /// Subsidy bands of public-welfare posts, per province.
    pub subsidy_bands: Vec<PostSubsidyBand>,
    /// Age limits of public-welfare posts.
    pub age_rules: Vec<PostAgeRule>,
    /// National employed-scale targets.
    pub employed_scale_targets: Vec<EmployedScaleTarget>,
    /// Workshop minimum workforce.
    pub workshop_minimums: Vec<WorkshopMinimum>,
    /// Rain and Dew subsidy rates.
    pub rain_and_dew_rates: Vec<RainAndDewRate>,
}

/// The element with the latest `effective_from` not after `on`; on a tie, the one listed last.
fn latest<T>(
    items: impl IntoIterator<Item = T>,
    effective_from: impl Fn(&T) -> NaiveDate,
    on: NaiveDate,
) -> Option<T> {
    items
        .into_iter()
        .filter(|item| effective_from(item) <= on)
        .max_by_key(|item| effective_from(item))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Source named for the national figures of the 2023 joint action.
pub const JOINT_ACTION_2023: &str =
    "MOHRSS/NDRC/MARA 2023 notice on the joint action to prevent return to poverty through employment";

impl PolicyBook {
    /// The national defaults: age limits 16–60 (65 with justification), the 30 million
    /// employed-scale target from 2023-09-01, a workshop minimum of 5 workers and the Rain and
    /// Dew rate of ¥1,500 per semester. No subsidy band: provinces configure those.
    pub fn national() -> Self {
        let from = date(2023, 9, 1);
        PolicyBook {
            subsidy_bands: Vec::new(),
            age_rules: vec![PostAgeRule {
                effective_from: from,
                min_age: 16,
                max_age: 60,
                override_max_age: 65,
                source: "typical provincial rules for rural public-welfare posts (check)".into(),
            }],
            employed_scale_targets: vec![EmployedScaleTarget {
                effective_from: from,
                employed: 30_000_000,
                source: JOINT_ACTION_2023.into(),
            }],
            workshop_minimums: vec![WorkshopMinimum {
                effective_from: from,
                min_workers: 5,
                source: "typical provincial workshop recognition rules (check)".into(),
            }],
            rain_and_dew_rates: vec![RainAndDewRate {
                effective_from: from,
                per_semester_fen: 150_000,
                source: "Rain and Dew Plan vocational education subsidy, ¥3,000 a year (check)"
                    .into(),
            }],
        }
    }

    /// The first day from which every parameter has a value: the latest of each kind's earliest
    /// `effective_from` (age rule, employed-scale target, workshop minimum, Rain and Dew rate) and
    /// of each configured province's earliest subsidy band. `None` when a kind has no value.
    pub fn complete_from(&self) -> Option<NaiveDate> {
        let earliest = |dates: &mut dyn Iterator<Item = NaiveDate>| dates.min();
        let mut firsts = vec![
            earliest(&mut self.age_rules.iter().map(|r| r.effective_from))?,
            earliest(&mut self.employed_scale_targets.iter().map(|r| r.effective_from))?,
            earliest(&mut self.workshop_minimums.iter().map(|r| r.effective_from))?,
            earliest(&mut self.rain_and_dew_rates.iter().map(|r| r.effective_from))?,
        ];
        let mut by_province: std::collections::BTreeMap<&str, NaiveDate> = Default::default();
        for band in &self.subsidy_bands {
            let first = by_province
                .entry(&band.province_code)
                .or_insert(band.effective_from);
            *first = (*first).min(band.effective_from);
        }
        firsts.extend(by_province.into_values());
        firsts.into_iter().max()
    }

    /// The subsidy band of `province_code` in force on `on`.
    pub fn band_for(&self, province_code: &str, on: NaiveDate) -> Option<&PostSubsidyBand> {
        latest(
            self.subsidy_bands
                .iter()
                .filter(|b| b.province_code == province_code),
            |b| b.effective_from,
            on,
        )
    }

    /// The post age rule in force on `on`.
    pub fn age_rule_on(&self, on: NaiveDate) -> Option<&PostAgeRule> {
        latest(&self.age_rules, |r| r.effective_from, on)
    }

    /// The employed-scale target in force on `on`.
    pub fn employed_scale_target_on(&self, on: NaiveDate) -> Option<&EmployedScaleTarget> {
        latest(&self.employed_scale_targets, |t| t.effective_from, on)
    }

    /// The workshop minimum in force on `on`.
    pub fn workshop_minimum_on(&self, on: NaiveDate) -> Option<&WorkshopMinimum> {
        latest(&self.workshop_minimums, |m| m.effective_from, on)
    }

    /// The Rain and Dew rate in force on `on`.
    pub fn rain_and_dew_rate_on(&self, on: NaiveDate) -> Option<&RainAndDewRate> {
        latest(&self.rain_and_dew_rates, |r| r.effective_from, on)
    }
}

/// Whole years of age on `on` for someone born on `birth_date` (the birthday counts from the day
/// itself; someone born on 29 February turns a year older on 1 March in common years).
pub fn age_on(birth_date: NaiveDate, on: NaiveDate) -> u32 {
    use chrono::Datelike;
    let mut years = on.year() - birth_date.year();
    if (on.month(), on.day()) < (birth_date.month(), birth_date.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn band(province: &str, from: NaiveDate, min: i64) -> PostSubsidyBand {
        PostSubsidyBand {
            province_code: province.into(),
            effective_from: from,
            min_fen: min,
            max_fen: 240_000,
            source: "test".into(),
        }
    }

    /// Bands for 150000 from 2023-01-01 (changed 2024-01-01) and for 450000 from 2024-06-01.
    fn two_provinces() -> PolicyBook {
        PolicyBook {
            subsidy_bands: vec![
                band("150000", d(2024, 1, 1), 60_000),
                band("150000", d(2023, 1, 1), 50_000),
                band("450000", d(2024, 6, 1), 70_000),
            ],
            ..PolicyBook::national()
        }
    }

    #[test]
    fn complete_from_is_the_first_day_every_parameter_and_province_has_a_value() {
        let national = PolicyBook::national();
        // The national defaults all start on 2023-09-01; no band configured.
        assert_eq!(national.complete_from(), Some(d(2023, 9, 1)));
        let book = two_provinces();
        // 150000 from 2023-01-01, 450000 only from 2024-06-01.
        assert_eq!(book.complete_from(), Some(d(2024, 6, 1)));
        let none = PolicyBook {
            age_rules: Vec::new(),
            ..PolicyBook::national()
        };
        assert_eq!(none.complete_from(), None);
    }

    #[test]
    fn band_for_picks_the_latest_effective_not_after_the_date() {
        let book = two_provinces();
        assert_eq!(book.band_for("150000", d(2022, 12, 31)), None);
        assert_eq!(
            book.band_for("150000", d(2023, 1, 1)).unwrap().min_fen,
            50_000
        );
        assert_eq!(
            book.band_for("150000", d(2023, 12, 31)).unwrap().min_fen,
            50_000
        );
        assert_eq!(
            book.band_for("150000", d(2024, 1, 1)).unwrap().min_fen,
            60_000
        );
        assert_eq!(book.band_for("450000", d(2024, 5, 31)), None);
        assert_eq!(
            book.band_for("450000", d(2024, 6, 1)).unwrap().min_fen,
            70_000
        );
    }

    #[test]
    fn typical_max_is_six_fifths_of_the_minimum_wage() {
        // Inner Mongolia tier 1, 2023-10: ¥1,980 a month.
        assert_eq!(max_subsidy_from_min_wage(198_000), 237_600);
        assert_eq!(max_subsidy_from_min_wage(1), 1);
        let band = PostSubsidyBand::typical("150000", d(2023, 10, 1), 60_000, 198_000, "test");
        assert!(band.contains(60_000) && band.contains(237_600));
        assert!(!band.contains(59_999) && !band.contains(237_601));
    }

    #[test]
    fn national_defaults() {
        let book = PolicyBook::national();
        let on = d(2024, 1, 1);
        let age = book.age_rule_on(on).unwrap();
        assert_eq!(
            (age.min_age, age.max_age, age.override_max_age),
            (16, 60, 65)
        );
        let target = book.employed_scale_target_on(on).unwrap();
        assert_eq!(target.employed, 30_000_000);
        assert_eq!(target.effective_from, d(2023, 9, 1));
        assert!(book.employed_scale_target_on(d(2023, 8, 31)).is_none());
        assert_eq!(book.workshop_minimum_on(on).unwrap().min_workers, 5);
        assert_eq!(
            book.rain_and_dew_rate_on(on).unwrap().per_semester_fen,
            150_000
        );
        assert!(book.band_for("150000", on).is_none());
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(d(1964, 8, 2), d(2024, 8, 1)), 59);
        assert_eq!(age_on(d(1964, 8, 1), d(2024, 8, 1)), 60);
        assert_eq!(age_on(d(2000, 2, 29), d(2017, 2, 28)), 16);
        assert_eq!(age_on(d(2000, 2, 29), d(2016, 2, 28)), 15);
        assert_eq!(age_on(d(2030, 1, 1), d(2024, 1, 1)), 0);
    }
}
