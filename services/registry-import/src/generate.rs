//! A synthetic population for demos and load tests: households in the national key counties, their
//! members with valid (but invented) citizen ID numbers, and monitoring-case plans that respect
//! the registry's rules. Deterministic for a seed; no real personal data is involved.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use registry_domain::rules::whole_months;
use registry_domain::{
    AssistanceKind, CaseStage, CaseType, DivisionCatalog, KeyCounties, LabourCapacity, LeadSource,
    Relation, RiskFactor, Sex,
};

use crate::convert;
use crate::format::{labour_capacity_token, relation_token, COLUMNS};

/// One synthetic person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticPerson {
    /// Valid 18-character citizen ID number (address code = the household's county).
    pub citizen_id: String,
    /// Chinese name.
    pub name: String,
    /// Sex, consistent with the parity of the ID's sequence.
    pub sex: Sex,
    /// Birth date, as encoded in the ID.
    pub birth_date: NaiveDate,
    /// Relation to the head.
    pub relation: Relation,
    /// Labour capacity, by age.
    pub labour_capacity: LabourCapacity,
    /// Disability.
    pub disabled: bool,
}

/// One synthetic household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticHousehold {
    /// File-local key, `HH000001` onwards.
    pub household_ref: String,
    /// 12 digits: county code, 3-digit township, 3-digit village.
    pub village_code: String,
    /// Lifted out of poverty.
    pub poverty_alleviated: bool,
    /// Relocated (then `settlement_area` is set).
    pub relocated: bool,
    /// Settlement area of a relocated household.
    pub settlement_area: Option<String>,
    /// Members, head first.
    pub members: Vec<SyntheticPerson>,
}

/// One step of a monitoring case after it is opened, in the order to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseStep {
    /// `AdvanceMonitoringCase` to the next identification stage (up to `Registered`).
    Advance {
        /// Stage reached.
        to: CaseStage,
        /// Date of the step.
        on: NaiveDate,
    },
    /// `RecordAssistanceMeasure`; the first one moves a registered case to `Assisted`.
    Measure {
        /// Kind of measure.
        kind: AssistanceKind,
        /// Date of the measure.
        on: NaiveDate,
        /// Short description.
        description: String,
    },
    /// `EliminateRisk`.
    Eliminate {
        /// Date of the decision.
        on: NaiveDate,
        /// Months the income has stood stably above the line (at least 6).
        months_income_above_line: i32,
    },
}

/// The monitoring case of one household, and how far it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePlan {
    /// Household it belongs to.
    pub household_ref: String,
    /// Case type.
    pub case_type: CaseType,
    /// One to three distinct risk factors.
    pub risk_factors: Vec<RiskFactor>,
    /// How the lead came in.
    pub lead_source: LeadSource,
    /// Lead date (never after `today`).
    pub lead_date: NaiveDate,
    /// Steps after opening, in order, dated in non-decreasing order and never after `today`.
    pub steps: Vec<CaseStep>,
    /// Stage the case is in after every step.
    pub final_stage: CaseStage,
}

/// What the read model must show once the population is imported and the cases are played,
/// computed from the generated data alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedCounts {
    /// Households.
    pub households: i64,
    /// Poverty-alleviated households.
    pub poverty_alleviated_households: i64,
    /// Persons (none exited).
    pub persons: i64,
    /// Persons whose capacity is skilled, ordinary or weak.
    pub labour_capable_persons: i64,
    /// Monitoring cases.
    pub monitoring_cases: i64,
    /// Cases by protobuf `CaseStage` number; stages without cases are absent.
    pub cases_by_stage: BTreeMap<i32, i64>,
}

/// A generated population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Population {
    /// Seed it was generated from.
    pub seed: u64,
    /// The `today` it was generated for: no date in it is later.
    pub today: NaiveDate,
    /// Households, in `household_ref` order.
    pub households: Vec<SyntheticHousehold>,
    /// Monitoring-case plans, in `household_ref` order.
    pub case_plans: Vec<CasePlan>,
    /// Counts the read model must reach.
    pub expected: ExpectedCounts,
}

impl Population {
    /// The population in the import format (header, one row per person, English tokens).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let bool_token = |b: bool| if b { "true" } else { "false" };
        // Writing to a Vec cannot fail, and every record has the header's width.
        writer.write_record(COLUMNS).expect("write to memory");
        for h in &self.households {
            for p in &h.members {
                writer
                    .write_record([
                        h.household_ref.as_str(),
                        &h.village_code,
                        bool_token(h.poverty_alleviated),
                        bool_token(h.relocated),
                        h.settlement_area.as_deref().unwrap_or(""),
                        &p.citizen_id,
                        &p.name,
                        relation_token(p.relation),
                        labour_capacity_token(p.labour_capacity),
                        bool_token(p.disabled),
                    ])
                    .expect("write to memory");
            }
        }
        writer.into_inner().expect("flush to memory")
    }

    /// The household a plan belongs to.
    pub fn household(&self, household_ref: &str) -> Option<&SyntheticHousehold> {
        self.households
            .iter()
            .find(|h| h.household_ref == household_ref)
    }
}

/// Generates `households` synthetic households spread uniformly over the key counties that are
/// counties in `catalog` (all counties of `catalog` when none is), with about 5% of them
/// (rounded, at least one from 10 households) carrying a monitoring-case plan. Same arguments,
/// same population.
///
/// # Panics
/// When `catalog` has no county at all.
pub fn generate(
    seed: u64,
    households: usize,
    catalog: &DivisionCatalog,
    key_counties: &KeyCounties,
    today: NaiveDate,
) -> Population {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut counties: Vec<(String, String)> = key_counties
        .iter()
        .filter(|k| catalog.is_county(&k.code))
        .map(|k| (k.code.clone(), k.name.clone()))
        .collect();
    if counties.is_empty() {
        counties = catalog
            .counties()
            .map(|(c, n)| (c.to_owned(), n.to_owned()))
            .collect();
    }
    assert!(!counties.is_empty(), "the division catalog has no county");

    let mut ids = IdAllocator::default();
    let mut generated = Vec::with_capacity(households);
    for i in 0..households {
        let (county, county_name) = counties.choose(&mut rng).expect("not empty");
        generated.push(household(&mut rng, &mut ids, i, county, county_name, today));
    }

    let case_count = (households + 10) / 20;
    let mut chosen = rand::seq::index::sample(&mut rng, households, case_count).into_vec();
    chosen.sort_unstable();
    let case_plans: Vec<CasePlan> = chosen
        .into_iter()
        .map(|i| case_plan(&mut rng, &generated[i], today))
        .collect();

    let expected = expected_counts(&generated, &case_plans);
    Population {
        seed,
        today,
        households: generated,
        case_plans,
        expected,
    }
}

/// Counts derived from households and plans.
fn expected_counts(households: &[SyntheticHousehold], plans: &[CasePlan]) -> ExpectedCounts {
    let persons = households.iter().flat_map(|h| &h.members);
    let mut cases_by_stage = BTreeMap::new();
    for plan in plans {
        *cases_by_stage
            .entry(convert::case_stage(plan.final_stage))
            .or_insert(0) += 1;
    }
    ExpectedCounts {
        households: households.len() as i64,
        poverty_alleviated_households: households.iter().filter(|h| h.poverty_alleviated).count()
            as i64,
        persons: persons.clone().count() as i64,
        labour_capable_persons: persons.filter(|p| p.labour_capacity.can_work()).count() as i64,
        monitoring_cases: plans.len() as i64,
        cases_by_stage,
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "田", "潘", "袁", "蒋", "蔡", "余", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任", "卢", "姚",
    "韦", "蒙", "覃", "龙", "石", "班", "吉", "阿",
];
const MALE_CHARS: &[&str] = &[
    "伟", "强", "军", "勇", "杰", "涛", "明", "超", "华", "平", "刚", "辉", "建", "国", "峰", "文",
    "林", "斌", "海", "波", "鹏", "宇", "浩", "志", "永", "德", "福", "贵", "成", "荣", "山", "松",
];
const FEMALE_CHARS: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "霞", "燕", "玲", "桂", "英", "兰", "梅", "秀", "珍", "红",
    "萍", "琴", "雪", "慧", "婷", "欣", "月", "花", "凤", "云", "春", "翠", "丹", "莉", "洁", "琳",
];

fn name(rng: &mut ChaCha8Rng, surname: &str, sex: Sex) -> String {
    let chars = match sex {
        Sex::Male => MALE_CHARS,
        Sex::Female => FEMALE_CHARS,
    };
    let mut name = surname.to_owned();
    let given = if rng.random_bool(0.7) { 2 } else { 1 };
    for _ in 0..given {
        name.push_str(chars.choose(rng).expect("not empty"));
    }
    name
}

/// Hands out unique, valid citizen ID numbers.
#[derive(Debug, Default)]
struct IdAllocator {
    used: HashSet<String>,
}

impl IdAllocator {
    /// A new ID for `county`, `birth` and `sex`: a random free sequence of the right parity
    /// (odd = male), then the GB 11643 check character.
    fn allocate(
        &mut self,
        rng: &mut ChaCha8Rng,
        county: &str,
        birth: NaiveDate,
        sex: Sex,
    ) -> String {
        let parity = u32::from(sex == Sex::Male);
        let prefix = format!("{county}{}", birth.format("%Y%m%d"));
        let start = rng.random_range(0..500u32);
        // 500 sequences of each parity per county, birth date and sex; a population would need
        // hundreds of same-sex people born on one day in one county to exhaust them.
        let sequence = (0..500u32)
            .map(|k| ((start + k) % 500) * 2 + parity)
            .map(|seq| format!("{prefix}{seq:03}"))
            .find(|body| !self.used.contains(body))
            .expect("free sequence for this county, birth date and sex");
        self.used.insert(sequence.clone());
        let check = check_character(&sequence);
        format!("{sequence}{check}")
    }
}

/// GB 11643 check character of the first 17 digits.
fn check_character(body: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// A birth date making the person `age` on `today` (birthday in the past year).
fn birth_date(rng: &mut ChaCha8Rng, age: u32, today: NaiveDate) -> NaiveDate {
    let anniversary = today
        .checked_sub_months(Months::new(age * 12))
        .unwrap_or(today);
    let back = rng.random_range(0..365);
    anniversary
        .checked_sub_days(Days::new(back))
        .unwrap_or(anniversary)
}

fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

/// Labour capacity and disability by age: children and the old mostly cannot work, adults mostly
/// can, a few people are disabled (and then at most weak).
fn capacity(rng: &mut ChaCha8Rng, age: u32) -> (LabourCapacity, bool) {
    use LabourCapacity::*;
    let disabled = rng.random_bool(0.04);
    let roll: f64 = rng.random();
    let capacity = match age {
        0..=15 => None,
        16..=17 => {
            if roll < 0.8 {
                None
            } else {
                Weak
            }
        }
        18..=59 => match roll {
            r if r < 0.15 => Skilled,
            r if r < 0.85 => Ordinary,
            r if r < 0.97 => Weak,
            _ => None,
        },
        60..=69 => match roll {
            r if r < 0.25 => Ordinary,
            r if r < 0.75 => Weak,
            _ => None,
        },
        _ => {
            if roll < 0.2 {
                Weak
            } else {
                None
            }
        }
    };
    let capacity = match (disabled, capacity) {
        (true, Skilled | Ordinary) => Weak,
        (_, c) => c,
    };
    (capacity, disabled)
}

/// Household size 1–7, mostly 3–5.
fn household_size(rng: &mut ChaCha8Rng) -> usize {
    const WEIGHTS: [(usize, u32); 7] = [(1, 5), (2, 12), (3, 22), (4, 28), (5, 20), (6, 9), (7, 4)];
    let total: u32 = WEIGHTS.iter().map(|w| w.1).sum();
    let mut roll = rng.random_range(0..total);
    for (size, weight) in WEIGHTS {
        if roll < weight {
            return size;
        }
        roll -= weight;
    }
    4
}

fn household(
    rng: &mut ChaCha8Rng,
    ids: &mut IdAllocator,
    index: usize,
    county: &str,
    county_name: &str,
    today: NaiveDate,
) -> SyntheticHousehold {
    let village_code = format!(
        "{county}{:03}{:03}",
        rng.random_range(1..=25),
        rng.random_range(1..=30)
    );
    let poverty_alleviated = rng.random_bool(0.95);
    let relocated = rng.random_bool(0.04);
    let settlement_area = relocated.then(|| {
        format!(
            "{county_name}易地扶贫搬迁第{}安置区",
            rng.random_range(1..=6)
        )
    });

    let size = household_size(rng);
    let surname = *SURNAMES.choose(rng).expect("not empty");
    let head_age: u32 = rng.random_range(25..=75);
    let head_sex = if rng.random_bool(0.8) {
        Sex::Male
    } else {
        Sex::Female
    };
    // (relation, age, sex, surname)
    let mut plan: Vec<(Relation, u32, Sex, String)> =
        vec![(Relation::Head, head_age, head_sex, surname.to_owned())];
    if size >= 2 && rng.random_bool(0.85) {
        let age = (head_age as i32 + rng.random_range(-5..=5)).clamp(20, 90) as u32;
        let sex = if head_sex == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        };
        let other = *SURNAMES.choose(rng).expect("not empty");
        plan.push((Relation::Spouse, age, sex, other.to_owned()));
    }
    let mut parents = 0;
    let mut children = 0;
    while plan.len() < size {
        let sex = if rng.random_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let roll: f64 = rng.random();
        let (relation, age, family) = if head_age <= 55 && parents < 2 && roll < 0.3 {
            parents += 1;
            let age = (head_age + rng.random_range(20..=32)).min(95);
            (Relation::Parent, age, sex == Sex::Male)
        } else if head_age >= 52 && children >= 1 && roll < 0.5 {
            (
                Relation::Grandchild,
                rng.random_range(0..=head_age - 45),
                true,
            )
        } else if roll > 0.97 {
            let age = (head_age as i32 + rng.random_range(-10..=10)).clamp(16, 90) as u32;
            (Relation::Sibling, age, true)
        } else {
            children += 1;
            let oldest = (head_age - 20).min(40);
            let youngest = head_age.saturating_sub(45);
            (Relation::Child, rng.random_range(youngest..=oldest), true)
        };
        let surname = if family {
            surname.to_owned()
        } else {
            (*SURNAMES.choose(rng).expect("not empty")).to_owned()
        };
        plan.push((relation, age, sex, surname));
    }

    let members = plan
        .into_iter()
        .map(|(relation, age, sex, surname)| {
            let birth = birth_date(rng, age, today);
            let (labour_capacity, disabled) = capacity(rng, age_on(birth, today));
            SyntheticPerson {
                citizen_id: ids.allocate(rng, county, birth, sex),
                name: name(rng, &surname, sex),
                sex,
                birth_date: birth,
                relation,
                labour_capacity,
                disabled,
            }
        })
        .collect();
    SyntheticHousehold {
        household_ref: format!("HH{:06}", index + 1),
        village_code,
        poverty_alleviated,
        relocated,
        settlement_area,
        members,
    }
}

/// Identification stages reached by `AdvanceMonitoringCase`, in order, with the gap in days
/// before each (the township review waits for the 5-day public notice).
fn identification_gaps(rng: &mut ChaCha8Rng) -> [(CaseStage, u64); 6] {
    let late = rng.random_bool(0.15);
    [
        (CaseStage::HomeVerified, rng.random_range(1..=3)),
        (CaseStage::DataCompared, rng.random_range(1..=3)),
        (CaseStage::VillageReviewed, rng.random_range(1..=2)),
        (CaseStage::TownshipReviewed, rng.random_range(5..=7)),
        (
            CaseStage::CountyApproved,
            rng.random_range(1..=2) + if late { rng.random_range(5..=15) } else { 0 },
        ),
        (CaseStage::Registered, rng.random_range(1..=2)),
    ]
}

fn case_plan(rng: &mut ChaCha8Rng, household: &SyntheticHousehold, today: NaiveDate) -> CasePlan {
    use CaseStage::*;
    let case_type = if household.poverty_alleviated && rng.random_bool(0.5) {
        CaseType::UnstableAlleviated
    } else if rng.random_bool(0.7) {
        CaseType::Marginal
    } else {
        CaseType::SuddenHardship
    };
    let pool: &[RiskFactor] = match case_type {
        CaseType::SuddenHardship => &[
            RiskFactor::Illness,
            RiskFactor::Accident,
            RiskFactor::Disaster,
            RiskFactor::Housing,
        ],
        _ => &[
            RiskFactor::JobLoss,
            RiskFactor::JobLoss,
            RiskFactor::Illness,
            RiskFactor::Schooling,
            RiskFactor::FailedBusiness,
            RiskFactor::LackOfLabour,
            RiskFactor::DrinkingWater,
        ],
    };
    let mut risk_factors = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let factor = *pool.choose(rng).expect("not empty");
        if !risk_factors.contains(&factor) {
            risk_factors.push(factor);
        }
    }
    let lead_source = *[
        LeadSource::SelfReport,
        LeadSource::CadreVisit,
        LeadSource::DepartmentAlert,
    ]
    .choose(rng)
    .expect("not empty");

    let someone_can_work = household
        .members
        .iter()
        .any(|p| p.labour_capacity.can_work());
    const TARGETS: [(CaseStage, u32); 9] = [
        (Lead, 8),
        (HomeVerified, 7),
        (DataCompared, 7),
        (VillageReviewed, 7),
        (TownshipReviewed, 5),
        (CountyApproved, 5),
        (Registered, 18),
        (Assisted, 30),
        (RiskEliminated, 13),
    ];
    let total: u32 = TARGETS.iter().map(|t| t.1).sum();
    let mut roll = rng.random_range(0..total);
    let mut target = Assisted;
    for (stage, weight) in TARGETS {
        if roll < weight {
            target = stage;
            break;
        }
        roll -= weight;
    }
    if target == RiskEliminated && !someone_can_work {
        target = Assisted;
    }

    let gaps = identification_gaps(rng);
    let reached: Vec<(CaseStage, u64)> = gaps.into_iter().filter(|(s, _)| *s <= target).collect();
    let identification_days: u64 = reached.iter().map(|g| g.1).sum();
    // Measure offsets after registration, and the registration date, by target.
    let (lead_date, measure_offsets, eliminate_on) = match target {
        Assisted | RiskEliminated => {
            let count = rng.random_range(1..=3);
            let mut offsets = Vec::new();
            let mut offset = 0;
            for _ in 0..count {
                offset += rng.random_range(1..=40);
                offsets.push(offset);
            }
            if target == RiskEliminated {
                // Registered 200–420 days ago: six whole months (≤ 184 days) plus up to 14 days
                // still ends before today, and every measure (≤ 120 days) comes before that.
                let registered_on = today - Days::new(rng.random_range(200..=420));
                let eliminate_on =
                    registered_on + Months::new(6) + Days::new(rng.random_range(0..=14));
                (
                    registered_on - Days::new(identification_days),
                    offsets,
                    Some(eliminate_on),
                )
            } else {
                let back = identification_days + offset + rng.random_range(0..=90);
                (today - Days::new(back), offsets, None)
            }
        }
        Registered => {
            let back = identification_days + rng.random_range(0..=120);
            (today - Days::new(back), Vec::new(), None)
        }
        _ => {
            let back = identification_days + rng.random_range(0..=3);
            (today - Days::new(back), Vec::new(), None)
        }
    };

    let mut steps = Vec::new();
    let mut on = lead_date;
    for (stage, gap) in reached {
        on = on + Days::new(gap);
        steps.push(CaseStep::Advance { to: stage, on });
    }
    let registered_on = on;
    const MEASURES: [(AssistanceKind, &str); 5] = [
        (AssistanceKind::Employment, "就业帮扶：推荐务工岗位"),
        (AssistanceKind::Employment, "公益性岗位安置"),
        (AssistanceKind::Industry, "产业帮扶：发放种养殖补贴"),
        (AssistanceKind::Health, "医疗救助与大病保险报销"),
        (AssistanceKind::Education, "教育资助：雨露计划"),
    ];
    for offset in measure_offsets {
        let (kind, description) = *MEASURES.choose(rng).expect("not empty");
        steps.push(CaseStep::Measure {
            kind,
            on: registered_on + Days::new(offset),
            description: description.to_owned(),
        });
    }
    if let Some(eliminate_on) = eliminate_on {
        debug_assert!(whole_months(registered_on, eliminate_on) >= 6);
        steps.push(CaseStep::Eliminate {
            on: eliminate_on,
            months_income_above_line: rng.random_range(6..=12),
        });
    }
    CasePlan {
        household_ref: household.household_ref.clone(),
        case_type,
        risk_factors,
        lead_source,
        lead_date,
        steps,
        final_stage: target,
    }
}

#[cfg(test)]
mod tests;
