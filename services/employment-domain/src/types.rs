//! Enumerations of the employment context and its id newtypes.
//!
//! The enums will mirror the employment protobuf types without the `*_UNSPECIFIED` value: an
//! unspecified value is malformed input and is refused when converting from protobuf.
//!
//! Streams: a person's whole employment record (spells, follow-ups, post assignments, training,
//! Rain and Dew enrolments) lives in `employment-<person uuid>`; a public-welfare post's creation
//! and subsidy payments in `post-<uuid>`; a workshop in `workshop-<uuid>`. Spells, enrolments and
//! households have ids but no stream of their own here.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// Where the job is, relative to the worker's home (转移就业 by distance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationClass {
    /// Outside the home province (省外).
    OutOfProvince,
    /// In the province, outside the home prefecture (省内市外).
    InProvinceOutOfCity,
    /// In the prefecture, outside the home county (市内县外).
    InCityOutOfCounty,
    /// In the county, outside the home township (县内乡外).
    InCountyOutOfTownship,
    /// In the home township (乡内).
    InTownship,
}

/// How the job was found or provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Organised (often seasonal) labour export (有组织劳务输出).
    OrganisedLabourExport,
    /// An employment-assistance workshop (就业帮扶车间).
    Workshop,
    /// A work-as-relief project (以工代赈).
    WorkRelief,
    /// A rural public-welfare post (乡村公益性岗位).
    PublicWelfarePost,
    /// Self-employment.
    SelfEmployed,
    /// Flexible employment.
    Flexible,
    /// Anything else.
    Other,
}

/// Where the knowledge of a spell comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvidenceSource {
    /// The worker said so.
    SelfReport,
    /// Matched against social-insurance contributions.
    SocialInsuranceMatch,
    /// The employer reported it.
    EmployerReport,
    /// Seen on a payroll (e.g. a work-as-relief wage run).
    Payroll,
}

/// Why a spell (or a post assignment) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// The contract ran out and was not renewed.
    ContractEnded,
    /// The worker was dismissed.
    Dismissed,
    /// The employer closed down.
    BusinessClosed,
    /// The worker could no longer work for health reasons.
    Health,
    /// The worker moved away and is expected to start a new spell elsewhere.
    Moved,
    /// Anything else.
    Other,
    /// The person left the registry (death, emigration, error); ended by the exit reaction.
    PersonExited,
}

impl EndReason {
    /// Whether ending a spell for this reason is a job loss, the central risk signal.
    ///
    /// `Moved` is not (the worker changes place, a new spell is expected) and `PersonExited` is
    /// not (the registry already handles the exit and every payment stops); all other reasons are,
    /// `Other` included, so an unclassified ending errs on the side of a follow-up.
    pub fn is_job_loss(self) -> bool {
        !matches!(self, EndReason::Moved | EndReason::PersonExited)
    }
}

/// How a follow-up was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpChannel {
    /// Visit at home.
    HomeVisit,
    /// Telephone.
    Phone,
    /// Online (messaging, app).
    Online,
    /// Anything else.
    Other,
}

/// What a follow-up led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpOutcome {
    /// Referred to a job.
    JobReferral,
    /// Referred to training.
    TrainingReferral,
    /// Referred to a public-welfare post.
    PostReferral,
    /// Nothing.
    None,
}

/// Category of a public-welfare post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostCategory {
    /// Ordinary posts (cleaning, road maintenance, forest ranger...).
    Ordinary,
    /// Technical posts.
    Technical,
    /// Special posts.
    Special,
}

/// Type of employment-assistance workshop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkshopType {
    /// Factory-type.
    Factory,
    /// Home-based work.
    HomeBased,
    /// Planting and breeding.
    PlantingBreeding,
    /// Trade and logistics.
    Trade,
    /// Culture and tourism.
    CultureTourism,
}

/// The 2023 classification of workshops (提升 / 扶持 / 新建 / 调整).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkshopClass2023 {
    /// To be upgraded.
    Upgrade,
    /// To be supported.
    Support,
    /// Newly built.
    New,
    /// To be adjusted (restructured or closed).
    Adjust,
}

/// Kind of vocational training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrainingKind {
    /// Order-based (订单式), for an employer's order.
    OrderBased,
    /// Targeted (定向式).
    Targeted,
    /// Job-specific (定岗式).
    JobSpecific,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

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

macro_rules! stream_id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        id_type!($(#[$doc])* $name);

        impl $name {
            #[doc = concat!("Event stream of this aggregate: `", $prefix, "-<uuid>`.")]
            pub fn stream_id(&self) -> String {
                format!(concat!($prefix, "-{}"), self.0)
            }
        }
    };
}

stream_id_type!(
    /// A registry person (the same uuid as the registry's person id); their employment record is
    /// the stream `employment-<uuid>`.
    PersonId,
    "employment"
);
stream_id_type!(
    /// A public-welfare post; its stream is `post-<uuid>`.
    PostId,
    "post"
);
stream_id_type!(
    /// An employment-assistance workshop; its stream is `workshop-<uuid>`.
    WorkshopId,
    "workshop"
);
id_type!(
    /// A registry household (the same uuid as the registry's household id).
    HouseholdId
);
id_type!(
    /// An employment spell, chosen by the caller; lives in its person's stream.
    SpellId
);
id_type!(
    /// A training or Rain and Dew enrolment, chosen by the caller; lives in its person's stream.
    EnrolmentId
);

/// The recorded facts of an employment spell, as started and as corrected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpellTerms {
    /// Employer.
    pub employer_uscc: crate::uscc::Uscc,
    /// 6-digit division code of the place of work.
    pub place_of_work: String,
    /// Distance class of the job from home.
    pub location_class: LocationClass,
    /// How the job came about.
    pub channel: Channel,
    /// First day of work (China civil date).
    pub start_date: chrono::NaiveDate,
    /// Monthly income, fen.
    pub monthly_income_fen: i64,
    /// Where the knowledge comes from.
    pub evidence: EvidenceSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_and_display() {
        let uuid = Uuid::from_u128(1);
        assert_eq!(PersonId(uuid).stream_id(), format!("employment-{uuid}"));
        assert_eq!(PostId(uuid).stream_id(), format!("post-{uuid}"));
        assert_eq!(WorkshopId(uuid).stream_id(), format!("workshop-{uuid}"));
        assert_eq!(SpellId(uuid).to_string(), uuid.to_string());
        assert_eq!(
            uuid.to_string().parse::<EnrolmentId>().unwrap(),
            EnrolmentId(uuid)
        );
    }

    #[test]
    fn job_loss_excludes_moves_and_exits() {
        assert!(EndReason::Dismissed.is_job_loss());
        assert!(EndReason::Other.is_job_loss());
        assert!(!EndReason::Moved.is_job_loss());
        assert!(!EndReason::PersonExited.is_job_loss());
    }
}
