//! Fixtures shared by the decide tests. People and employers are synthetic.

use std::sync::Arc;

use chrono::NaiveDate;
use employment_domain::*;
use uuid::Uuid;

/// A key county in Inner Mongolia (巴林左旗).
pub const COUNTY: &str = "150422";
pub const PLACE: &str = "440303";

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn today() -> NaiveDate {
    d(2024, 8, 1)
}

pub fn policy() -> PolicyBook {
    PolicyBook {
        subsidy_bands: vec![PostSubsidyBand::typical(
            "150000",
            d(2023, 10, 1),
            60_000,
            198_000,
            "test band",
        )],
        ..PolicyBook::national()
    }
}

/// A state that learnt `facts` and applied `events`. A household named by a `PersonKnown` fact
/// but by no `HouseholdKnown` fact is taken as a poverty-alleviated household of [`COUNTY`] (the
/// common case here); tests about other households state them with [`household_known`].
pub fn given(facts: &[RegistryFact], events: &[EmploymentEvent]) -> EmploymentState {
    let mut state = EmploymentState::new(Arc::new(policy()));
    for fact in facts {
        if let RegistryFact::PersonKnown { household: h, .. } = fact {
            let stated = facts.iter().any(
                |f| matches!(f, RegistryFact::HouseholdKnown { household, .. } if household == h),
            );
            if !stated && state.reference().household(h).is_none() {
                state.observe(&household_known(*h, true));
            }
        }
        state.observe(fact);
    }
    for event in events {
        state.apply(event);
    }
    state
}

/// Applies the decision's events, as the service would after a successful append.
pub fn and(mut state: EmploymentState, decision: &Decision) -> EmploymentState {
    for event in &decision.events {
        state.apply(event);
    }
    state
}

pub use decision::testing::{then_invalid, then_ok, then_rule};

pub fn when(state: &EmploymentState, cmd: EmploymentCommand) -> Result<Decision, DomainError> {
    state.decide(&cmd, today())
}

pub fn person(n: u128) -> PersonId {
    PersonId(Uuid::from_u128(0x1000 + n))
}
pub fn household(n: u128) -> HouseholdId {
    HouseholdId(Uuid::from_u128(0x2000 + n))
}
pub fn spell(n: u128) -> SpellId {
    SpellId(Uuid::from_u128(0x3000 + n))
}
pub fn post(n: u128) -> PostId {
    PostId(Uuid::from_u128(0x4000 + n))
}
pub fn workshop(n: u128) -> WorkshopId {
    WorkshopId(Uuid::from_u128(0x5000 + n))
}
pub fn enrolment(n: u128) -> EnrolmentId {
    EnrolmentId(Uuid::from_u128(0x6000 + n))
}

/// A synthetic employer code with the check character computed here, independently.
pub fn employer(n: u32) -> Uscc {
    let alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    let first17 = format!("91150422{n:09}");
    let mut weight = 1u32;
    let mut sum = 0u32;
    for c in first17.chars() {
        sum += alphabet.find(c).unwrap() as u32 * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    let check = alphabet.chars().nth(check as usize).unwrap();
    Uscc::parse(&format!("{first17}{check}")).unwrap()
}

pub fn household_known(h: HouseholdId, alleviated: bool) -> RegistryFact {
    RegistryFact::HouseholdKnown {
        household: h,
        county_code: COUNTY.into(),
        poverty_alleviated: alleviated,
    }
}

/// A labour-capable person of household `h`.
pub fn known(p: PersonId, h: HouseholdId, birth: NaiveDate) -> RegistryFact {
    RegistryFact::PersonKnown {
        person: p,
        household: h,
        birth_date: birth,
        county_code: COUNTY.into(),
        labour_capable: true,
    }
}

/// Person `n` of household `h`, born 1990-01-01, poverty-alleviated.
pub fn worker(n: u128, h: u128) -> RegistryFact {
    known(person(n), household(h), d(1990, 1, 1))
}

/// The facts every test spell starts with (employer `employer_n`).
pub fn terms(employer_n: u32) -> SpellTerms {
    SpellTerms {
        employer_uscc: employer(employer_n),
        place_of_work: PLACE.into(),
        location_class: LocationClass::OutOfProvince,
        channel: Channel::OrganisedLabourExport,
        start_date: d(2024, 3, 1),
        monthly_income_fen: 450_000,
        evidence: EvidenceSource::EmployerReport,
    }
}

pub fn start(s: u128, p: PersonId, employer_n: u32) -> EmploymentCommand {
    EmploymentCommand::StartSpell {
        spell_id: spell(s),
        person_id: p,
        terms: terms(employer_n),
    }
}

pub fn started(s: u128, p: PersonId, h: HouseholdId, employer_n: u32) -> EmploymentEvent {
    EmploymentEvent::SpellStarted {
        spell_id: spell(s),
        person_id: p,
        household_id: h,
        county_code: COUNTY.into(),
        terms: terms(employer_n),
    }
}

pub fn post_created(n: u128, subsidy: i64) -> EmploymentEvent {
    EmploymentEvent::PostCreated {
        post_id: post(n),
        county_code: COUNTY.into(),
        category: PostCategory::Ordinary,
        funding_source: "bridging funds".into(),
        monthly_subsidy_fen: subsidy,
        term_months: 12,
        starts_on: d(2024, 1, 1),
        band_min_fen: 60_000,
        band_max_fen: 237_600,
        band_source: "test band".into(),
    }
}

pub fn assigned(n: u128, p: PersonId, h: HouseholdId, on: NaiveDate) -> EmploymentEvent {
    EmploymentEvent::PostAssigned {
        post_id: post(n),
        person_id: p,
        household_id: h,
        on,
        age: 34,
        age_override_reason: None,
    }
}
