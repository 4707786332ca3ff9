//! The employment scenario of the demo, generated from a [`Population`]: employment spells with
//! seasonal churn, follow-ups after job losses, workshops and public-welfare posts, plus the
//! figures the employment read models must show. Pure and deterministic for a seed.

use chrono::{Datelike, Days, Months, NaiveDate};
use proto::employment::v1::{
    Channel, EndReason, EvidenceSource, FollowUpChannel, FollowUpOutcome, LocationClass,
    PostCategory, WorkshopClass2023, WorkshopType,
};
use rand::seq::{IndexedRandom as _, SliceRandom as _};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use registry_domain::DivisionCatalog;

use crate::generate::{Population, SyntheticPerson};

/// Share of labour-capable persons of working age given at least one spell.
const EMPLOYED_SHARE: f64 = 0.75;
/// Share of spells that end (when the end falls on or before `today`).
const ENDING_SHARE: f64 = 0.35;
/// Share of ended spells followed by a new spell.
const NEW_SPELL_SHARE: f64 = 0.45;
/// Share of job losses followed up within a few days.
const FOLLOW_UP_SHARE: f64 = 0.55;
/// Days the spells' start dates spread back from `today` (about 18 months).
const START_SPREAD_DAYS: u64 = LOOKBACK_DAYS;
/// The plan dates nothing earlier than this many days before its `today`: spells start and
/// workshops are registered up to this far back, posts start up to 300 days back.
pub const LOOKBACK_DAYS: u64 = 540;
/// Follow-up delay the follow-up queue uses by default (`FollowUpQueueRequest.follow_up_days`).
pub const FOLLOW_UP_DAYS: i64 = 7;

/// A follow-up visit after a job loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFollowUp {
    /// Date of the visit (a few days after the end, never after `today`).
    pub date: NaiveDate,
    /// How the worker was reached.
    pub channel: FollowUpChannel,
    /// What came of it.
    pub outcome: FollowUpOutcome,
}

/// One employment spell, with its end and follow-up when it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSpell {
    /// Stable key of the spell (`citizen ID` and index), the source of its ids.
    pub spell_ref: String,
    /// Valid GB 32100 code whose division part is the worker's county.
    pub employer_uscc: String,
    /// County-level division code of the workplace.
    pub place_of_work: String,
    /// Where the job is relative to home.
    pub location_class: LocationClass,
    /// How the job was found.
    pub channel: Channel,
    /// Start date, never after `today`.
    pub start: NaiveDate,
    /// Monthly income in fen.
    pub monthly_income_fen: i64,
    /// Source of the record.
    pub evidence: EvidenceSource,
    /// End date (not before `start`, not after `today`) and reason, when the spell ended.
    pub end: Option<(NaiveDate, EndReason)>,
    /// Follow-up after the end, for some job losses.
    pub follow_up: Option<PlannedFollowUp>,
}

impl PlannedSpell {
    /// Whether the spell counts for the month starting on `month` (views.proto's definition).
    pub fn covers_month(&self, month: NaiveDate) -> bool {
        self.start <= last_of_month(month) && self.end.is_none_or(|(end, _)| end >= month)
    }
}

/// The spells of one worker, in the order to play them (each starts after the previous ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPlan {
    /// Household of the worker.
    pub household_ref: String,
    /// Citizen ID of the worker (the key to the registry's person id).
    pub citizen_id: String,
    /// Home county.
    pub county_code: String,
    /// Spells, in start order.
    pub spells: Vec<PlannedSpell>,
}

/// A poverty-alleviation workshop: registration, 2023 classification, monthly worker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkshopPlan {
    /// Stable key (`WS0001` onwards).
    pub workshop_ref: String,
    /// Name.
    pub name: String,
    /// Kind of workshop.
    pub workshop_type: WorkshopType,
    /// County.
    pub county_code: String,
    /// Registration date.
    pub registered_on: NaiveDate,
    /// 2023 classification.
    pub class: WorkshopClass2023,
    /// Date of the classification.
    pub classified_on: NaiveDate,
    /// `(first day of month, poverty-alleviated workers)`, the last three months.
    pub reports: Vec<(NaiveDate, i32)>,
}

/// A public-welfare post, its holder and the subsidies paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPlan {
    /// Stable key (`PW0001` onwards).
    pub post_ref: String,
    /// County of the post (the holder's).
    pub county_code: String,
    /// Category.
    pub category: PostCategory,
    /// Funding source.
    pub funding_source: String,
    /// Monthly subsidy in fen, 800–1,500 yuan (inside every province's band).
    pub monthly_subsidy_fen: i64,
    /// Term in months.
    pub term_months: i32,
    /// First day of the term.
    pub starts_on: NaiveDate,
    /// Household of the holder.
    pub holder_household_ref: String,
    /// Citizen ID of the holder: poverty-alleviated household, 16–60 on `assigned_on`, no spell.
    pub holder_citizen_id: String,
    /// Assignment date.
    pub assigned_on: NaiveDate,
    /// Months paid (first days), from the assignment month to the month before `today`'s.
    pub paid_months: Vec<NaiveDate>,
}

/// Figures the employment read models must show once the plan is played.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedEmployment {
    /// First day of `today`'s month.
    pub month: NaiveDate,
    /// Employed scale of `month`: distinct persons with a spell covering it.
    pub employed: i64,
    /// Spells started.
    pub spells_started: i64,
    /// Spells ended.
    pub spells_ended: i64,
    /// Follow-ups recorded.
    pub follow_ups: i64,
    /// Follow-up queue length on `today` with [`FOLLOW_UP_DAYS`].
    pub follow_up_queue: i64,
    /// Workshops registered.
    pub workshops: i64,
    /// Posts created (each assigned).
    pub posts: i64,
    /// Subsidy payments.
    pub subsidy_payments: i64,
}

/// The employment scenario of one population.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmploymentPlan {
    /// Workers with at least one spell, in household order.
    pub workers: Vec<WorkerPlan>,
    /// Workshops.
    pub workshops: Vec<WorkshopPlan>,
    /// Public-welfare posts.
    pub posts: Vec<PostPlan>,
    /// What the read models must show.
    pub expected: ExpectedEmployment,
}

/// First day of the month of `date`.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

/// Last day of the month of `date`.
pub fn last_of_month(date: NaiveDate) -> NaiveDate {
    month_of(date) + Months::new(1) - Days::new(1)
}

/// Whole years of a person born on `birth` on `on`.
fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Distinct workers with a spell covering the month starting on `month`.
pub fn employed_in_month(workers: &[WorkerPlan], month: NaiveDate) -> i64 {
    workers
        .iter()
        .filter(|w| w.spells.iter().any(|s| s.covers_month(month)))
        .count() as i64
}

/// Workers in the follow-up queue on `as_of` (views.proto): latest job-loss end (not MOVED) more
/// than `days` before `as_of`, no follow-up since, and no open spell.
pub fn follow_up_queue_length(workers: &[WorkerPlan], as_of: NaiveDate, days: i64) -> i64 {
    workers
        .iter()
        .filter(|w| {
            let latest_loss = w
                .spells
                .iter()
                .filter_map(|s| s.end)
                .filter(|(end, reason)| *reason != EndReason::Moved && *end <= as_of)
                .map(|(end, _)| end)
                .max();
            let Some(loss) = latest_loss else {
                return false;
            };
            let followed = w
                .spells
                .iter()
                .filter_map(|s| s.follow_up.as_ref())
                .any(|f| f.date >= loss && f.date <= as_of);
            let open = w.spells.iter().any(|s| s.end.is_none());
            (as_of - loss).num_days() > days && !followed && !open
        })
        .count() as i64
}

/// A choice by integer weights.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut roll = rng.random_range(0..total);
    for (value, weight) in weighted {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    weighted[0].0
}

/// A valid unified social credit code of an enterprise registered in `county`: authority `9`
/// (market regulation), category `1` (enterprise), nine random organisation characters, then the
/// GB 32100 check character.
pub fn employer_uscc(rng: &mut ChaCha8Rng, county: &str) -> String {
    let charset: Vec<char> = employment_domain::uscc::CHARSET.chars().collect();
    let mut code = format!("91{county}");
    for _ in 0..9 {
        code.push(*charset.choose(rng).expect("not empty"));
    }
    let check = employment_domain::uscc::check_character(&code).expect("17 valid characters");
    code.push(check);
    code
}

/// Generates the employment scenario of `population` (its seed and `today`); `catalog` gives the
/// workplaces away from home. Same arguments, same plan.
pub fn plan_employment(population: &Population, catalog: &DivisionCatalog) -> EmploymentPlan {
    let today = population.today;
    let mut rng = ChaCha8Rng::seed_from_u64(population.seed ^ 0x454d_504c_4f59);
    let counties: Vec<&str> = catalog.counties().map(|(code, _)| code).collect();

    let mut workers = Vec::new();
    let mut candidates: Vec<(&str, &SyntheticPerson, &str)> = Vec::new();
    for household in &population.households {
        let county = &household.village_code[..6];
        for person in &household.members {
            let working_age = (16..=64).contains(&age_on(person.birth_date, today));
            if !person.labour_capacity.can_work() || !working_age {
                continue;
            }
            if !rng.random_bool(EMPLOYED_SHARE) {
                if household.poverty_alleviated {
                    candidates.push((&household.household_ref, person, county));
                }
                continue;
            }
            let spells = spells(&mut rng, person, county, &counties, today);
            if spells.is_empty() {
                continue;
            }
            workers.push(WorkerPlan {
                household_ref: household.household_ref.clone(),
                citizen_id: person.citizen_id.clone(),
                county_code: county.to_owned(),
                spells,
            });
        }
    }

    let households = population.households.len();
    let workshops: Vec<WorkshopPlan> = (0..(households / 400).max(1))
        .map(|i| {
            let county = &population.households[rng.random_range(0..households)].village_code[..6];
            workshop(&mut rng, i, county, today)
        })
        .collect();

    candidates.shuffle(&mut rng);
    let mut posts = Vec::new();
    for (household_ref, person, county) in candidates {
        if posts.len() >= (households / 100).max(1) {
            break;
        }
        if let Some(post) = post(&mut rng, posts.len(), household_ref, person, county, today) {
            posts.push(post);
        }
    }

    let all_spells = || workers.iter().flat_map(|w| &w.spells);
    let expected = ExpectedEmployment {
        month: month_of(today),
        employed: employed_in_month(&workers, month_of(today)),
        spells_started: all_spells().count() as i64,
        spells_ended: all_spells().filter(|s| s.end.is_some()).count() as i64,
        follow_ups: all_spells().filter(|s| s.follow_up.is_some()).count() as i64,
        follow_up_queue: follow_up_queue_length(&workers, today, FOLLOW_UP_DAYS),
        workshops: workshops.len() as i64,
        posts: posts.len() as i64,
        subsidy_payments: posts.iter().map(|p| p.paid_months.len() as i64).sum(),
    };
    EmploymentPlan {
        workers,
        workshops,
        posts,
        expected,
    }
}

/// A county for a workplace of `class` relative to `home`; `home` when none fits.
fn place_of_work(
    rng: &mut ChaCha8Rng,
    class: LocationClass,
    home: &str,
    counties: &[&str],
) -> String {
    let fits = |c: &&&str| match class {
        LocationClass::OutOfProvince => c[..2] != home[..2],
        LocationClass::InProvinceOutOfCity => c[..2] == home[..2] && c[..4] != home[..4],
        LocationClass::InCityOutOfCounty => c[..4] == home[..4] && **c != home,
        _ => false,
    };
    let fitting: Vec<&str> = counties.iter().filter(fits).copied().collect();
    fitting.choose(rng).unwrap_or(&home).to_string()
}

/// The chain of spells of one worker: each ended spell may be followed by a new one.
fn spells(
    rng: &mut ChaCha8Rng,
    person: &SyntheticPerson,
    county: &str,
    counties: &[&str],
    today: NaiveDate,
) -> Vec<PlannedSpell> {
    use LocationClass::*;
    let mut spells = Vec::new();
    let mut start = today - Days::new(rng.random_range(0..=START_SPREAD_DAYS));
    while spells.len() < 3 && (16..=64).contains(&age_on(person.birth_date, start)) {
        let class = pick(
            rng,
            &[
                (OutOfProvince, 35),
                (InProvinceOutOfCity, 20),
                (InCityOutOfCounty, 15),
                (InCountyOutOfTownship, 15),
                (InTownship, 15),
            ],
        );
        let (channel, income_yuan) = if class == OutOfProvince {
            let channel = pick(
                rng,
                &[
                    (Channel::OrganisedLabourExport, 65),
                    (Channel::Flexible, 25),
                    (Channel::Other, 10),
                ],
            );
            (channel, rng.random_range(400..=700) * 10)
        } else {
            let channel = pick(
                rng,
                &[
                    (Channel::Workshop, 30),
                    (Channel::Flexible, 25),
                    (Channel::SelfEmployed, 15),
                    (Channel::PublicWelfarePost, 10),
                    (Channel::OrganisedLabourExport, 10),
                    (Channel::WorkRelief, 5),
                    (Channel::Other, 5),
                ],
            );
            (channel, rng.random_range(250..=500) * 10)
        };
        let place = place_of_work(rng, class, county, counties);
        // No county of the list lies at that distance (a prefecture with one listed county):
        // the job is in the home county.
        let class = if place == county {
            match class {
                InTownship => InTownship,
                _ => InCountyOutOfTownship,
            }
        } else {
            class
        };
        let mut spell = PlannedSpell {
            spell_ref: format!("{}-{}", person.citizen_id, spells.len() + 1),
            employer_uscc: employer_uscc(rng, county),
            place_of_work: place,
            location_class: class,
            channel,
            start,
            monthly_income_fen: i64::from(income_yuan) * 100,
            evidence: pick(
                rng,
                &[
                    (EvidenceSource::SelfReport, 40),
                    (EvidenceSource::SocialInsuranceMatch, 30),
                    (EvidenceSource::EmployerReport, 30),
                ],
            ),
            end: None,
            follow_up: None,
        };
        let end = start + Days::new(rng.random_range(20..=330));
        if rng.random_bool(ENDING_SHARE) && end <= today {
            let reason = pick(
                rng,
                &[
                    (EndReason::ContractEnded, 40),
                    (EndReason::Dismissed, 25),
                    (EndReason::BusinessClosed, 20),
                    (EndReason::Moved, 15),
                ],
            );
            spell.end = Some((end, reason));
            let visit = end + Days::new(rng.random_range(1..=5));
            if reason != EndReason::Moved && rng.random_bool(FOLLOW_UP_SHARE) && visit <= today {
                spell.follow_up = Some(PlannedFollowUp {
                    date: visit,
                    channel: pick(
                        rng,
                        &[
                            (FollowUpChannel::HomeVisit, 50),
                            (FollowUpChannel::Phone, 40),
                            (FollowUpChannel::Online, 10),
                        ],
                    ),
                    outcome: pick(
                        rng,
                        &[
                            (FollowUpOutcome::JobReferral, 45),
                            (FollowUpOutcome::TrainingReferral, 25),
                            (FollowUpOutcome::PostReferral, 15),
                            (FollowUpOutcome::None, 15),
                        ],
                    ),
                });
            }
        }
        spells.push(spell);
        let next = end + Days::new(rng.random_range(7..=75));
        let ended = spells.last().is_some_and(|s| s.end.is_some());
        if !ended || !rng.random_bool(NEW_SPELL_SHARE) || next > today {
            break;
        }
        start = next;
    }
    spells
}

fn workshop(rng: &mut ChaCha8Rng, index: usize, county: &str, today: NaiveDate) -> WorkshopPlan {
    use WorkshopType::*;
    let registered_on = today - Days::new(rng.random_range(200..=LOOKBACK_DAYS));
    let reports = (0..3)
        .rev()
        .map(|k| (month_of(today) - Months::new(k), rng.random_range(5..=40)))
        .collect();
    WorkshopPlan {
        workshop_ref: format!("WS{:04}", index + 1),
        name: format!("{county}第{}就业帮扶车间", index + 1),
        workshop_type: pick(
            rng,
            &[
                (Factory, 35),
                (HomeBased, 25),
                (PlantingBreeding, 20),
                (Trade, 10),
                (CultureTourism, 10),
            ],
        ),
        county_code: county.to_owned(),
        registered_on,
        class: pick(
            rng,
            &[
                (WorkshopClass2023::Upgrade, 30),
                (WorkshopClass2023::Support, 40),
                (WorkshopClass2023::New, 20),
                (WorkshopClass2023::Adjust, 10),
            ],
        ),
        classified_on: registered_on + Days::new(rng.random_range(1..=30)),
        reports,
    }
}

/// A post for `person` when they are 16–60 on the assignment date.
fn post(
    rng: &mut ChaCha8Rng,
    index: usize,
    household_ref: &str,
    person: &SyntheticPerson,
    county: &str,
    today: NaiveDate,
) -> Option<PostPlan> {
    let starts_on = today - Days::new(rng.random_range(30..=300));
    let assigned_on = (starts_on + Days::new(rng.random_range(0..=10))).min(today);
    if !(16..=60).contains(&age_on(person.birth_date, assigned_on)) {
        return None;
    }
    let mut paid_months = Vec::new();
    let mut month = month_of(assigned_on);
    while month < month_of(today) {
        paid_months.push(month);
        month = month + Months::new(1);
    }
    Some(PostPlan {
        post_ref: format!("PW{:04}", index + 1),
        county_code: county.to_owned(),
        category: pick(
            rng,
            &[
                (PostCategory::Ordinary, 70),
                (PostCategory::Technical, 20),
                (PostCategory::Special, 10),
            ],
        ),
        funding_source: "衔接推进乡村振兴补助资金".to_owned(),
        monthly_subsidy_fen: i64::from(rng.random_range(80..=150)) * 1000,
        term_months: 12,
        starts_on,
        holder_household_ref: household_ref.to_owned(),
        holder_citizen_id: person.citizen_id.clone(),
        assigned_on,
        paid_months,
    })
}

#[cfg(test)]
mod tests;
