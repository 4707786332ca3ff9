//! Deciding monitoring-case commands: opening, the identification steps up to registration,
//! assistance measures, elimination of the risk and return to assisted.

use chrono::NaiveDate;

use super::{not_after_today, not_found_household, on_between};
use crate::error::DomainError;
use crate::events::RegistryEvent;
use crate::rules::whole_months;
use crate::state::{Decision, MonitoringCase, RegistryState};
use crate::types::{
    AssistanceKind, CaseId, CaseStage, CaseType, HouseholdId, LeadSource, RiskFactor,
};

/// Note on the automatic Registered → Assisted transition caused by the first measure.
pub(crate) const FIRST_MEASURE_NOTE: &str = "first assistance measure recorded";

impl RegistryState {
    #[allow(clippy::too_many_arguments)] // mirrors the command's fields one to one
    pub(super) fn open_case(
        &self,
        case_id: CaseId,
        household_id: HouseholdId,
        case_type: CaseType,
        risk_factors: &[RiskFactor],
        lead_source: LeadSource,
        lead_date: NaiveDate,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        if risk_factors.is_empty() {
            return Err(DomainError::invalid(
                "risk_factors",
                "at least one risk factor is required",
            ));
        }
        if let Some((i, factor)) = risk_factors
            .iter()
            .enumerate()
            .find(|(i, f)| risk_factors[..*i].contains(f))
        {
            return Err(DomainError::invalid(
                "risk_factors",
                format!("{factor:?} is listed twice (again at index {i})"),
            ));
        }
        not_after_today("lead_date", lead_date, today)?;
        let household = self
            .households
            .get(&household_id)
            .ok_or_else(|| not_found_household(household_id))?;
        let stream_id = case_id.stream_id();
        if self.cases.contains_key(&case_id) || self.stream_version(&stream_id) > 0 {
            return Err(DomainError::AlreadyExists {
                what: "case",
                existing_id: case_id.to_string(),
            });
        }
        if let Some(open) = self.open_case_of(household_id) {
            return Err(DomainError::rule(
                "case_open",
                format!("household {household_id} already has open case {open}"),
            ));
        }
        let event = RegistryEvent::MonitoringCaseOpened {
            case_id,
            household_id,
            case_type,
            risk_factors: risk_factors.to_vec(),
            lead_source,
            lead_date,
            county_code: household.county_code.clone(),
        };
        Ok(self.decision(stream_id, vec![event]))
    }

    fn find_case(&self, case_id: CaseId) -> Result<&MonitoringCase, DomainError> {
        self.cases
            .get(&case_id)
            .ok_or_else(|| DomainError::NotFound {
                what: "case",
                id: case_id.to_string(),
            })
    }

    pub(super) fn advance_case(
        &self,
        case_id: CaseId,
        to: CaseStage,
        on: NaiveDate,
        note: &str,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let case = self.find_case(case_id)?;
        let from = case.stage;
        if to == CaseStage::Assisted || to == CaseStage::RiskEliminated {
            let how = if to == CaseStage::Assisted {
                "recording an assistance measure"
            } else {
                "eliminating the risk"
            };
            return Err(DomainError::rule(
                "stage_order",
                format!("stage {to:?} is reached only by {how}"),
            ));
        }
        if from >= CaseStage::Registered || from.next() != Some(to) {
            let next = match from.next() {
                Some(next) if from < CaseStage::Registered => format!("{next:?}"),
                _ => "none by this command".to_owned(),
            };
            return Err(DomainError::rule(
                "stage_order",
                format!("case is at {from:?}; next stage is {next}, not {to:?}"),
            ));
        }
        on_between("on", on, case.last_transition_on, today)?;
        if to == CaseStage::TownshipReviewed {
            let noticed_on = case.village_reviewed_on.unwrap_or(case.last_transition_on);
            let days = (on - noticed_on).num_days();
            let min = self.rules.min_public_notice_days;
            if days < min {
                return Err(DomainError::rule(
                    "public_notice_days",
                    format!(
                        "public notice put up on {noticed_on} has stood {days} days; \
                         at least {min} are required"
                    ),
                ));
            }
        }
        let days_since_lead = (on - case.lead_date).num_days();
        let breached =
            to == CaseStage::Registered && days_since_lead > self.rules.identification_days;
        let event = RegistryEvent::MonitoringCaseAdvanced {
            case_id,
            household_id: case.household_id,
            from,
            to,
            on,
            days_since_lead,
            identification_clock_breached: breached,
            note: note.to_owned(),
        };
        Ok(self.decision(case_id.stream_id(), vec![event]))
    }

    pub(super) fn record_measure(
        &self,
        case_id: CaseId,
        kind: AssistanceKind,
        on: NaiveDate,
        description: &str,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let case = self.find_case(case_id)?;
        if !matches!(case.stage, CaseStage::Registered | CaseStage::Assisted) {
            return Err(DomainError::rule(
                "stage_order",
                format!(
                    "measures are recorded on registered or assisted cases; case is at {:?}",
                    case.stage
                ),
            ));
        }
        let registered_on = case.registered_on.unwrap_or(case.last_transition_on);
        on_between("on", on, registered_on, today)?;
        let mut events = vec![RegistryEvent::AssistanceMeasureRecorded {
            case_id,
            household_id: case.household_id,
            kind,
            on,
            description: description.to_owned(),
        }];
        if case.stage == CaseStage::Registered {
            events.push(RegistryEvent::MonitoringCaseAdvanced {
                case_id,
                household_id: case.household_id,
                from: CaseStage::Registered,
                to: CaseStage::Assisted,
                on,
                days_since_lead: (on - case.lead_date).num_days(),
                identification_clock_breached: false,
                note: FIRST_MEASURE_NOTE.to_owned(),
            });
        }
        Ok(self.decision(case_id.stream_id(), events))
    }

    pub(super) fn eliminate_risk(
        &self,
        case_id: CaseId,
        on: NaiveDate,
        months_income_above_line: u32,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let case = self.find_case(case_id)?;
        if case.stage != CaseStage::Assisted {
            return Err(DomainError::rule(
                "stage_order",
                format!(
                    "only an assisted case can be eliminated; case is at {:?}",
                    case.stage
                ),
            ));
        }
        on_between("on", on, case.last_transition_on, today)?;
        if case.measures == 0 {
            return Err(DomainError::rule(
                "assistance_required",
                "at least one assistance measure is required",
            ));
        }
        let registered_on = case.registered_on.unwrap_or(case.lead_date);
        let months_monitored = whole_months(registered_on, on);
        let min_months = self.rules.min_monitoring_months;
        if months_monitored < min_months {
            return Err(DomainError::rule(
                "min_monitoring_months",
                format!(
                    "monitored {months_monitored} whole months since registration on \
                     {registered_on}; at least {min_months} are required"
                ),
            ));
        }
        let min_income = self.rules.min_income_stable_months;
        if months_income_above_line < min_income {
            return Err(DomainError::rule(
                "income_stable_months",
                format!(
                    "income stably above the line for {months_income_above_line} months; \
                     at least {min_income} are required"
                ),
            ));
        }
        if !self.someone_can_work(case.household_id) {
            return Err(DomainError::rule(
                "nobody_can_work",
                format!(
                    "no remaining member of household {} can work",
                    case.household_id
                ),
            ));
        }
        let event = RegistryEvent::RiskEliminated {
            case_id,
            household_id: case.household_id,
            on,
            months_monitored,
            months_income_above_line,
        };
        Ok(self.decision(case_id.stream_id(), vec![event]))
    }

    /// A case of the household that is not risk-eliminated, if any.
    fn open_case_of(&self, household_id: HouseholdId) -> Option<CaseId> {
        let household = self.households.get(&household_id)?;
        household.cases.iter().copied().find(|id| {
            self.cases
                .get(id)
                .is_some_and(|c| c.stage != CaseStage::RiskEliminated)
        })
    }

    fn someone_can_work(&self, household_id: HouseholdId) -> bool {
        self.households.get(&household_id).is_some_and(|h| {
            h.members
                .iter()
                .filter_map(|id| self.persons.get(id))
                .any(|p| p.exited_on.is_none() && p.labour_capacity.can_work())
        })
    }

    pub(super) fn return_to_assisted(
        &self,
        case_id: CaseId,
        on: NaiveDate,
        reason: &str,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        let case = self.find_case(case_id)?;
        if case.stage != CaseStage::RiskEliminated {
            return Err(DomainError::rule(
                "stage_order",
                format!(
                    "only an eliminated case can return; case is at {:?}",
                    case.stage
                ),
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(DomainError::invalid("reason", "must not be empty"));
        }
        on_between("on", on, case.last_transition_on, today)?;
        if let Some(open) = self.open_case_of(case.household_id) {
            return Err(DomainError::rule(
                "case_open",
                format!(
                    "household {} already has open case {open}",
                    case.household_id
                ),
            ));
        }
        let event = RegistryEvent::RiskReturned {
            case_id,
            household_id: case.household_id,
            on,
            reason: reason.to_owned(),
        };
        Ok(self.decision(case_id.stream_id(), vec![event]))
    }
}
