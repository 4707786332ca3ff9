//! Enumerations of the registry context and the id newtypes of its three kinds of stream.
//!
//! The enums mirror `bottomline/registry/v1/types.proto` without the `*_UNSPECIFIED` value: an
//! unspecified value is malformed input and is refused when converting from protobuf.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::DomainError;

/// Sex as encoded in the citizen ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Odd 17th digit.
    Male,
    /// Even 17th digit.
    Female,
}

/// Relation of a person to the head of the household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The head of household (户主).
    Head,
    /// Spouse of the head.
    Spouse,
    /// Child of the head.
    Child,
    /// Parent of the head.
    Parent,
    /// Grandchild of the head.
    Grandchild,
    /// Sibling of the head.
    Sibling,
    /// Any other relation.
    Other,
}

/// Labour capacity as assessed by the village (技能劳动力 / 普通劳动力 / 弱或半劳动力 / 无劳动力).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabourCapacity {
    /// Skilled labour.
    Skilled,
    /// Ordinary labour.
    Ordinary,
    /// Weak or half labour.
    Weak,
    /// No labour capacity.
    None,
}

impl LabourCapacity {
    /// Whether the person can work at all (anything but [`LabourCapacity::None`]). A household
    /// where nobody can work is never marked risk-eliminated.
    pub fn can_work(self) -> bool {
        self != LabourCapacity::None
    }
}

/// Why a person left the registry. Exits are soft: the person's records stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The person died.
    Death,
    /// The person moved away (household registration transferred out).
    Emigration,
    /// The person was registered in error.
    Error,
}

/// Type of monitoring case (监测对象类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseType {
    /// Poverty-alleviated household whose situation is unstable (脱贫不稳定户).
    UnstableAlleviated,
    /// Marginal household at risk of falling into poverty (边缘易致贫户).
    Marginal,
    /// Household hit by sudden severe hardship (突发严重困难户).
    SuddenHardship,
}

/// Risk factor behind a monitoring case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskFactor {
    /// Illness.
    Illness,
    /// Schooling costs.
    Schooling,
    /// Natural disaster.
    Disaster,
    /// Accident.
    Accident,
    /// Unstable employment or job loss.
    JobLoss,
    /// Failed business.
    FailedBusiness,
    /// Lack of labour.
    LackOfLabour,
    /// Housing safety.
    Housing,
    /// Drinking-water safety.
    DrinkingWater,
}

/// How a possible case came to attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadSource {
    /// The household reported itself (农户自主申报).
    SelfReport,
    /// A cadre found it on a visit (基层干部排查).
    CadreVisit,
    /// Another department's data raised an alert (部门筛查预警).
    DepartmentAlert,
}

/// Stage of a monitoring case, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseStage {
    /// A lead was received; the identification clock starts.
    Lead,
    /// The household was visited at home.
    HomeVerified,
    /// Its data was compared with other departments' data.
    DataCompared,
    /// The village reviewed it and put up a public notice.
    VillageReviewed,
    /// The township reviewed it, after the public notice period.
    TownshipReviewed,
    /// The county approved it.
    CountyApproved,
    /// The household is registered as a monitoring object.
    Registered,
    /// At least one assistance measure was recorded.
    Assisted,
    /// The risk was eliminated (monitoring continues; the case can return to assisted).
    RiskEliminated,
}

impl CaseStage {
    /// The stage after this one in lifecycle order, `None` after [`CaseStage::RiskEliminated`].
    pub fn next(self) -> Option<CaseStage> {
        use CaseStage::*;
        match self {
            Lead => Some(HomeVerified),
            HomeVerified => Some(DataCompared),
            DataCompared => Some(VillageReviewed),
            VillageReviewed => Some(TownshipReviewed),
            TownshipReviewed => Some(CountyApproved),
            CountyApproved => Some(Registered),
            Registered => Some(Assisted),
            Assisted => Some(RiskEliminated),
            RiskEliminated => None,
        }
    }
}

/// Kind of assistance measure given to a monitored household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssistanceKind {
    /// Employment assistance.
    Employment,
    /// Industry (production) support.
    Industry,
    /// Health assistance.
    Health,
    /// Education assistance.
    Education,
    /// Housing assistance.
    Housing,
    /// Social security (minimum living allowance, relief).
    SocialSecurity,
    /// Anything else.
    Other,
}

macro_rules! stream_id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            #[doc = concat!("Event stream of this aggregate: `", $prefix, "-<uuid>`.")]
            pub fn stream_id(&self) -> String {
                format!(concat!($prefix, "-{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name)
            }
        }
    };
}

stream_id_type!(
    /// Identifies a household; its stream is `household-<uuid>`.
    HouseholdId,
    "household"
);
stream_id_type!(
    /// Identifies a person; its stream is `person-<uuid>`. Derived from the citizen ID's keyed
    /// hash, see [`PersonId::from_id_hash`].
    PersonId,
    "person"
);
stream_id_type!(
    /// Identifies a monitoring case; its stream is `case-<uuid>`.
    CaseId,
    "case"
);

/// UUID v5 namespace for person ids. Frozen: changing it would re-key every person stream.
const PERSON_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a9e_4b7d_4e0a_9c3f_5d8b_1e2a_7c40);

impl PersonId {
    /// The person id for a citizen ID keyed hash: UUID v5 of `id_hash` in a fixed namespace, so
    /// the same citizen (under the same deployment key) always maps to the same person stream,
    /// and two concurrent registrations of one citizen collide on that stream.
    pub fn from_id_hash(id_hash: &str) -> PersonId {
        PersonId(Uuid::new_v5(&PERSON_NAMESPACE, id_hash.as_bytes()))
    }
}

/// Maximum characters of a person's name.
pub const NAME_MAX_CHARS: usize = 50;

/// A person's name as the registry keeps it: trimmed, 1 to [`NAME_MAX_CHARS`] characters
/// (Unicode scalar values, so 50 Chinese characters), no control characters.
///
/// Errors: [`DomainError::Invalid`] on field `name`, saying which condition failed. Clients that
/// check rows before sending them (the CSV importer) use it so that they refuse what the registry
/// would.
pub fn person_name(name: &str) -> Result<&str, DomainError> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > NAME_MAX_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("must have 1 to {NAME_MAX_CHARS} characters, found {length}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_and_display() {
        let uuid = Uuid::from_u128(1);
        assert_eq!(HouseholdId(uuid).stream_id(), format!("household-{uuid}"));
        assert_eq!(PersonId(uuid).stream_id(), format!("person-{uuid}"));
        assert_eq!(CaseId(uuid).stream_id(), format!("case-{uuid}"));
        assert_eq!(CaseId(uuid).to_string(), uuid.to_string());
        assert_eq!(uuid.to_string().parse::<CaseId>().unwrap(), CaseId(uuid));
    }

    #[test]
    fn person_id_from_hash_is_stable_v5() {
        let a = PersonId::from_id_hash("abc");
        assert_eq!(a, PersonId::from_id_hash("abc"));
        assert_ne!(a, PersonId::from_id_hash("abd"));
        assert_eq!(a.0.get_version_num(), 5);
    }

    #[test]
    fn stages_are_ordered_and_chained() {
        assert!(CaseStage::Lead < CaseStage::Registered);
        assert!(CaseStage::Assisted < CaseStage::RiskEliminated);
        let mut stage = CaseStage::Lead;
        let mut count = 1;
        while let Some(next) = stage.next() {
            assert!(next > stage);
            stage = next;
            count += 1;
        }
        assert_eq!(count, 9);
    }

    #[test]
    fn only_none_cannot_work() {
        assert!(LabourCapacity::Weak.can_work());
        assert!(!LabourCapacity::None.can_work());
    }
}
