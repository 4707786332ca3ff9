//! Fixtures shared by the decide tests. People are synthetic.

use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use registry_domain::*;
use uuid::Uuid;

const DIVISIONS: &str = include_str!("../../../../deploy/reference-data/divisions-mca-202112.tsv");

/// A key county in Inner Mongolia (巴林左旗).
pub const COUNTY: &str = "150422";
pub const VILLAGE: &str = "150422100200";

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn today() -> NaiveDate {
    d(2024, 8, 1)
}

fn catalog() -> Arc<DivisionCatalog> {
    static CATALOG: OnceLock<Arc<DivisionCatalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Arc::new(DivisionCatalog::from_tsv(DIVISIONS).unwrap()))
        .clone()
}

pub fn given(events: &[RegistryEvent]) -> RegistryState {
    let mut state = RegistryState::new(catalog(), MonitoringRules::default());
    for event in events {
        state.apply(event);
    }
    state
}

pub use decision::testing::{then_invalid, then_ok, then_rule};

pub fn when(state: &RegistryState, cmd: RegistryCommand) -> Result<Decision, DomainError> {
    state.decide(&cmd, today())
}

pub fn household_id(n: u128) -> HouseholdId {
    HouseholdId(Uuid::from_u128(0x1000 + n))
}

pub fn case_id(n: u128) -> CaseId {
    CaseId(Uuid::from_u128(0x2000 + n))
}

pub fn household_registered(id: HouseholdId) -> RegistryEvent {
    RegistryEvent::HouseholdRegistered {
        household_id: id,
        village_code: VILLAGE.into(),
        county_code: COUNTY.into(),
        poverty_alleviated: true,
        relocated: false,
        settlement_area: None,
    }
}

/// A synthetic citizen ID born 1990-01-01 in the test county, check character computed here
/// from the ISO 7064 MOD 11-2 definition.
pub fn citizen_raw(sequence: u32) -> String {
    let first17 = format!("{COUNTY}19900101{sequence:03}");
    let sum: u64 = first17
        .bytes()
        .enumerate()
        .map(|(i, b)| u64::from(b - b'0') * ((1u64 << (17 - i)) % 11))
        .sum();
    let check = match (12 - sum % 11) % 11 {
        10 => 'X',
        v => char::from(b'0' + v as u8),
    };
    format!("{first17}{check}")
}

pub fn citizen(sequence: u32) -> CitizenId {
    CitizenId::parse(&citizen_raw(sequence), today()).unwrap()
}

pub const KEY: &[u8] = b"test-deployment-key";

pub fn person_registered(
    household: HouseholdId,
    sequence: u32,
    capacity: LabourCapacity,
) -> (PersonId, RegistryEvent) {
    let id = citizen(sequence);
    let id_hash = id.keyed_hash(KEY);
    let person_id = PersonId::from_id_hash(&id_hash);
    let event = RegistryEvent::PersonRegistered {
        person_id,
        household_id: household,
        id_hash,
        id_masked: id.masked(),
        name: format!("测试{sequence}"),
        sex: id.sex(),
        birth_date: id.birth_date(),
        relation: Relation::Head,
        labour_capacity: capacity,
        disabled: false,
        county_code: "150422".into(),
    };
    (person_id, event)
}

pub fn advanced(
    case: CaseId,
    household: HouseholdId,
    from: CaseStage,
    to: CaseStage,
    on: NaiveDate,
) -> RegistryEvent {
    RegistryEvent::MonitoringCaseAdvanced {
        case_id: case,
        household_id: household,
        from,
        to,
        on,
        days_since_lead: (on - d(2024, 1, 1)).num_days(),
        identification_clock_breached: false,
        note: String::new(),
    }
}

/// Household with one ordinary worker and a case opened on 2024-01-01, advanced up to `until`:
/// home verified 01-03, data compared 01-05, village review 01-06, township 01-11, county 01-12,
/// registered 01-14, first measure (and assisted) 01-20, risk eliminated 07-20.
pub fn case_history(case: CaseId, household: HouseholdId, until: CaseStage) -> Vec<RegistryEvent> {
    use CaseStage::*;
    let (_, person) = person_registered(household, 11, LabourCapacity::Ordinary);
    let mut events = vec![
        household_registered(household),
        person,
        RegistryEvent::MonitoringCaseOpened {
            case_id: case,
            household_id: household,
            case_type: CaseType::Marginal,
            risk_factors: vec![RiskFactor::JobLoss],
            lead_source: LeadSource::CadreVisit,
            lead_date: d(2024, 1, 1),
            county_code: COUNTY.into(),
        },
    ];
    let steps = [
        (HomeVerified, d(2024, 1, 3)),
        (DataCompared, d(2024, 1, 5)),
        (VillageReviewed, d(2024, 1, 6)),
        (TownshipReviewed, d(2024, 1, 11)),
        (CountyApproved, d(2024, 1, 12)),
        (Registered, d(2024, 1, 14)),
    ];
    let mut from = Lead;
    for (to, on) in steps {
        if to > until {
            return events;
        }
        events.push(advanced(case, household, from, to, on));
        from = to;
    }
    if until >= Assisted {
        events.push(RegistryEvent::AssistanceMeasureRecorded {
            case_id: case,
            household_id: household,
            kind: AssistanceKind::Employment,
            on: d(2024, 1, 20),
            description: "public-welfare post".into(),
        });
        events.push(advanced(
            case,
            household,
            Registered,
            Assisted,
            d(2024, 1, 20),
        ));
    }
    if until >= RiskEliminated {
        events.push(RegistryEvent::RiskEliminated {
            case_id: case,
            household_id: household,
            on: d(2024, 7, 20),
            months_monitored: 6,
            months_income_above_line: 6,
        });
    }
    events
}
