//! Deciding public-welfare posts: creation inside the provincial subsidy band, assignment
//! (eligibility, age, one post per person, one holder per post), end of assignment and monthly
//! subsidy payments.
//!
//! Assignments live in the holder's `employment-<person>` stream, so "one post per person" and the
//! exit reaction are guarded by one stream; creation and payments live in `post-<uuid>`, so "one
//! payment per post and month" is guarded by the post's stream. "One holder per post" is checked
//! against the state; the service serialises assignments of one post.

use chrono::NaiveDate;

use super::{
    division_code, first_of_month, last_of_month, month_of, not_after_today, not_before, text, yuan,
};
use crate::commands::EmploymentCommand;
use crate::error::DomainError;
use crate::events::EmploymentEvent;
use crate::reference::province_of;
use crate::rules::age_on;
use crate::state::{Decision, EmploymentState, Post};
use crate::types::PostId;

/// Maximum characters of a funding source or an override reason.
const TEXT_MAX_CHARS: usize = 100;
/// Longest term of a post, months.
const MAX_TERM_MONTHS: u32 = 60;

impl EmploymentState {
    pub(super) fn decide_post(
        &self,
        cmd: &EmploymentCommand,
        today: NaiveDate,
    ) -> Result<Decision, DomainError> {
        match cmd {
            EmploymentCommand::CreatePost {
                post_id,
                county_code,
                category,
                funding_source,
                monthly_subsidy_fen,
                term_months,
                starts_on,
            } => {
                division_code("county_code", county_code)?;
                let funding_source = text("funding_source", funding_source, TEXT_MAX_CHARS)?;
                if *monthly_subsidy_fen <= 0 {
                    return Err(DomainError::invalid(
                        "monthly_subsidy_fen",
                        format!("must be a positive amount of fen, found {monthly_subsidy_fen}"),
                    ));
                }
                if !(1..=MAX_TERM_MONTHS).contains(term_months) {
                    return Err(DomainError::invalid(
                        "term_months",
                        format!("must be 1 to {MAX_TERM_MONTHS}, found {term_months}"),
                    ));
                }
                let stream_id = post_id.stream_id();
                if self.posts.contains_key(post_id) || self.stream_version(&stream_id) > 0 {
                    return Err(DomainError::already_exists("post", post_id));
                }
                let province = province_of(county_code);
                let band = self.policy.band_for(&province, *starts_on).ok_or_else(|| {
                    DomainError::rule(
                        "no_subsidy_band",
                        format!(
                            "no subsidy band configured for province {province} on {starts_on}"
                        ),
                    )
                })?;
                if !band.contains(*monthly_subsidy_fen) {
                    return Err(DomainError::rule(
                        "subsidy_band",
                        format!(
                            "monthly subsidy ¥{} ({monthly_subsidy_fen} fen) is outside the band \
                             ¥{} to ¥{} ({} to {} fen) of province {province} in force on {starts_on}",
                            yuan(*monthly_subsidy_fen),
                            yuan(band.min_fen),
                            yuan(band.max_fen),
                            band.min_fen,
                            band.max_fen,
                        ),
                    ));
                }
                let event = EmploymentEvent::PostCreated {
                    post_id: *post_id,
                    county_code: county_code.clone(),
                    category: *category,
                    funding_source: funding_source.to_owned(),
                    monthly_subsidy_fen: *monthly_subsidy_fen,
                    term_months: *term_months,
                    starts_on: *starts_on,
                    band_min_fen: band.min_fen,
                    band_max_fen: band.max_fen,
                    band_source: band.source.clone(),
                };
                Ok(self.decision(stream_id, vec![event]))
            }
            EmploymentCommand::AssignPost {
                post_id,
                person_id,
                on,
                age_override_reason,
            } => {
                let post = self.post_or_not_found(*post_id)?;
                let person = self.active_person(*person_id)?;
                not_before("the start of the post's term", "on", *on, post.starts_on)?;
                not_after_today("on", *on, today)?;
                let term_end = term_end(post);
                if *on > term_end {
                    return Err(DomainError::rule(
                        "post_term",
                        format!("post {post_id}'s term ended on {term_end}"),
                    ));
                }
                let monitored = self
                    .reference
                    .household(&person.household_id)
                    .and_then(|h| h.monitored_from)
                    .is_some_and(|from| from <= *on);
                if !person.poverty_alleviated && !monitored {
                    return Err(DomainError::rule(
                        "post_eligibility",
                        format!(
                            "person {person_id} is neither from a poverty-alleviated household \
                             nor from a monitored household on {on}"
                        ),
                    ));
                }
                let age = age_on(person.birth_date, *on);
                let override_reason = age_override_reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty());
                let rule = self.policy.age_rule_on(*on).ok_or_else(|| {
                    DomainError::rule("post_age", format!("no post age rule in force on {on}"))
                })?;
                let within_normal = (rule.min_age..=rule.max_age).contains(&age);
                let within_override =
                    age > rule.max_age && age <= rule.override_max_age && override_reason.is_some();
                if !within_normal && !within_override {
                    return Err(DomainError::rule(
                        "post_age",
                        format!(
                            "person {person_id} is {age} on {on}; posts take ages {} to {}, or up \
                             to {} with a recorded reason",
                            rule.min_age, rule.max_age, rule.override_max_age
                        ),
                    ));
                }
                if let Some(reason) = override_reason {
                    if within_override {
                        text("age_override_reason", reason, TEXT_MAX_CHARS)?;
                    }
                }
                if let Some(held) = self.active_post(person_id) {
                    return Err(DomainError::rule(
                        "one_post",
                        format!("person {person_id} already holds post {held}"),
                    ));
                }
                if let Some(current) = post.current() {
                    return Err(DomainError::rule(
                        "post_occupied",
                        format!(
                            "post {post_id} is held by {} since {}",
                            current.person_id, current.from
                        ),
                    ));
                }
                // One holder at a time, also in the past: a new holder starts after the last one
                // left.
                if let Some(previous_end) = post.assignments.iter().filter_map(|a| a.to).max() {
                    if *on <= previous_end {
                        return Err(DomainError::rule(
                            "post_handover",
                            format!(
                                "post {post_id}'s previous holder left on {previous_end}; a new \
                                 holder starts after that day"
                            ),
                        ));
                    }
                }
                let event = EmploymentEvent::PostAssigned {
                    post_id: *post_id,
                    person_id: *person_id,
                    household_id: person.household_id,
                    on: *on,
                    age,
                    age_override_reason: override_reason
                        .filter(|_| within_override)
                        .map(str::to_owned),
                };
                Ok(self.decision(person_id.stream_id(), vec![event]))
            }
            EmploymentCommand::EndPostAssignment {
                post_id,
                on,
                reason,
            } => {
                let post = self.post_or_not_found(*post_id)?;
                let current = post.current().ok_or_else(|| {
                    DomainError::rule("post_not_occupied", format!("post {post_id} has no holder"))
                })?;
                not_before("the assignment", "on", *on, current.from)?;
                not_after_today("on", *on, today)?;
                let event = EmploymentEvent::PostAssignmentEnded {
                    post_id: *post_id,
                    person_id: current.person_id,
                    on: *on,
                    reason: *reason,
                };
                Ok(self.decision(current.person_id.stream_id(), vec![event]))
            }
            EmploymentCommand::RecordPostSubsidyPaid {
                post_id,
                month,
                amount_fen,
            } => {
                first_of_month("month", *month)?;
                if *month > month_of(today) {
                    return Err(DomainError::invalid(
                        "month",
                        format!("{month} is after the current month"),
                    ));
                }
                if *amount_fen <= 0 {
                    return Err(DomainError::invalid(
                        "amount_fen",
                        format!("must be positive, found {amount_fen}"),
                    ));
                }
                let post = self.post_or_not_found(*post_id)?;
                let last = last_of_month(*month);
                let holder = post
                    .assignments
                    .iter()
                    .rev()
                    .find(|a| a.overlaps(*month, last))
                    .ok_or_else(|| {
                        DomainError::rule(
                            "subsidy_not_assigned",
                            format!(
                                "post {post_id} had no holder in {}",
                                &month.to_string()[..7]
                            ),
                        )
                    })?;
                let term_end = term_end(post);
                if *month > term_end {
                    return Err(DomainError::rule(
                        "post_term",
                        format!("post {post_id}'s term ended on {term_end}"),
                    ));
                }
                // Every payment stops with an exit (DOMAIN: exits are soft, payments stop).
                if let Some(exited_on) = self
                    .reference
                    .person(&holder.person_id)
                    .and_then(|p| p.exited_on)
                {
                    if *month > exited_on {
                        return Err(DomainError::rule(
                            "holder_exited",
                            format!(
                                "the holder {} left the registry on {exited_on}, before {}",
                                holder.person_id,
                                &month.to_string()[..7]
                            ),
                        ));
                    }
                }
                if post.paid_months.contains(month) {
                    return Err(DomainError::rule(
                        "subsidy_paid",
                        format!(
                            "post {post_id} was already paid for {}",
                            &month.to_string()[..7]
                        ),
                    ));
                }
                if *amount_fen > post.monthly_subsidy_fen {
                    return Err(DomainError::rule(
                        "subsidy_amount",
                        format!(
                            "¥{} ({amount_fen} fen) exceeds the post's monthly subsidy ¥{} ({} fen)",
                            yuan(*amount_fen),
                            yuan(post.monthly_subsidy_fen),
                            post.monthly_subsidy_fen
                        ),
                    ));
                }
                let event = EmploymentEvent::PostSubsidyPaid {
                    post_id: *post_id,
                    person_id: holder.person_id,
                    month: *month,
                    amount_fen: *amount_fen,
                };
                Ok(self.decision(post_id.stream_id(), vec![event]))
            }
            _ => unreachable!("decide_post is only called with post commands"),
        }
    }

    fn post_or_not_found(&self, post_id: PostId) -> Result<&Post, DomainError> {
        self.posts
            .get(&post_id)
            .ok_or_else(|| DomainError::not_found("post", post_id))
    }
}

/// Last day of a post's term: the day before `starts_on` plus `term_months`.
fn term_end(post: &Post) -> NaiveDate {
    post.starts_on
        .checked_add_months(chrono::Months::new(post.term_months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}
