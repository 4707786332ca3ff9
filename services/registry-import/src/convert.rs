//! Domain enums and dates → protobuf values, in one place (the proto crate stays free of
//! conversions, and the domain crate free of prost).

use chrono::{Datelike, NaiveDate};
use proto::common::v1::CivilDate;
use proto::registry::v1 as pb;
use registry_domain::{
    AssistanceKind, CaseStage, CaseType, LabourCapacity, LeadSource, Relation, RiskFactor,
};

/// A domain civil date as protobuf.
pub fn civil_date(date: NaiveDate) -> CivilDate {
    CivilDate {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    }
}

/// The protobuf number of a domain value.
pub fn relation(value: Relation) -> i32 {
    (match value {
        Relation::Head => pb::Relation::Head,
        Relation::Spouse => pb::Relation::Spouse,
        Relation::Child => pb::Relation::Child,
        Relation::Parent => pb::Relation::Parent,
        Relation::Grandchild => pb::Relation::Grandchild,
        Relation::Sibling => pb::Relation::Sibling,
        Relation::Other => pb::Relation::Other,
    }) as i32
}

/// The protobuf number of a domain value.
pub fn labour_capacity(value: LabourCapacity) -> i32 {
    (match value {
        LabourCapacity::Skilled => pb::LabourCapacity::Skilled,
        LabourCapacity::Ordinary => pb::LabourCapacity::Ordinary,
        LabourCapacity::Weak => pb::LabourCapacity::Weak,
        LabourCapacity::None => pb::LabourCapacity::None,
    }) as i32
}

/// The protobuf number of a domain value.
pub fn case_type(value: CaseType) -> i32 {
    (match value {
        CaseType::UnstableAlleviated => pb::CaseType::UnstableAlleviated,
        CaseType::Marginal => pb::CaseType::Marginal,
        CaseType::SuddenHardship => pb::CaseType::SuddenHardship,
    }) as i32
}

/// The protobuf number of a domain value.
pub fn risk_factor(value: RiskFactor) -> i32 {
    (match value {
        RiskFactor::Illness => pb::RiskFactor::Illness,
        RiskFactor::Schooling => pb::RiskFactor::Schooling,
        RiskFactor::Disaster => pb::RiskFactor::Disaster,
        RiskFactor::Accident => pb::RiskFactor::Accident,
        RiskFactor::JobLoss => pb::RiskFactor::JobLoss,
        RiskFactor::FailedBusiness => pb::RiskFactor::FailedBusiness,
        RiskFactor::LackOfLabour => pb::RiskFactor::LackOfLabour,
        RiskFactor::Housing => pb::RiskFactor::Housing,
        RiskFactor::DrinkingWater => pb::RiskFactor::DrinkingWater,
    }) as i32
}

/// The protobuf number of a domain value.
pub fn lead_source(value: LeadSource) -> i32 {
    (match value {
        LeadSource::SelfReport => pb::LeadSource::SelfReport,
        LeadSource::CadreVisit => pb::LeadSource::CadreVisit,
        LeadSource::DepartmentAlert => pb::LeadSource::DepartmentAlert,
    }) as i32
}

/// The protobuf `CaseStage` number, also the key of [`crate::ExpectedCounts::cases_by_stage`].
/// The protobuf number of a domain value.
pub fn case_stage(value: CaseStage) -> i32 {
    (match value {
        CaseStage::Lead => pb::CaseStage::Lead,
        CaseStage::HomeVerified => pb::CaseStage::HomeVerified,
        CaseStage::DataCompared => pb::CaseStage::DataCompared,
        CaseStage::VillageReviewed => pb::CaseStage::VillageReviewed,
        CaseStage::TownshipReviewed => pb::CaseStage::TownshipReviewed,
        CaseStage::CountyApproved => pb::CaseStage::CountyApproved,
        CaseStage::Registered => pb::CaseStage::Registered,
        CaseStage::Assisted => pb::CaseStage::Assisted,
        CaseStage::RiskEliminated => pb::CaseStage::RiskEliminated,
    }) as i32
}

/// The protobuf number of a domain value.
pub fn assistance_kind(value: AssistanceKind) -> i32 {
    (match value {
        AssistanceKind::Employment => pb::AssistanceKind::Employment,
        AssistanceKind::Industry => pb::AssistanceKind::Industry,
        AssistanceKind::Health => pb::AssistanceKind::Health,
        AssistanceKind::Education => pb::AssistanceKind::Education,
        AssistanceKind::Housing => pb::AssistanceKind::Housing,
        AssistanceKind::SocialSecurity => pb::AssistanceKind::SocialSecurity,
        AssistanceKind::Other => pb::AssistanceKind::Other,
    }) as i32
}

/// Protobuf stage name without its prefix, e.g. `REGISTERED`, for reports.
pub fn stage_name(stage: i32) -> String {
    pb::CaseStage::try_from(stage)
        .map(|s| s.as_str_name().trim_start_matches("CASE_STAGE_").to_owned())
        .unwrap_or_else(|_| format!("stage {stage}"))
}
