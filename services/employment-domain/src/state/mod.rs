//! The employment write model: everything `decide` needs, rebuilt by applying every event in
//! order, the reference view fed from registry facts, and each stream's current version for
//! optimistic concurrency.
//!
//! [`EmploymentState::apply`] is total: it never panics, whatever the event sequence (an event
//! naming an unknown spell, post, workshop or enrolment is still counted in its stream's version
//! but changes nothing it cannot find). Deciding lives in `decide.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use decision::StreamVersions;

use chrono::NaiveDate;

use crate::events::EmploymentEvent;
use crate::reference::{ReferenceView, RegistryFact};
use crate::rules::PolicyBook;
use crate::types::{
    EnrolmentId, HouseholdId, PersonId, PostCategory, PostId, SpellId, SpellTerms,
    WorkshopClass2023, WorkshopId, WorkshopType,
};

mod decide;

pub use decide::Decision;

/// An employment spell, with its corrections applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spell {
    /// The worker.
    pub person_id: PersonId,
    /// The worker's household.
    pub household_id: HouseholdId,
    /// The recorded facts (after corrections).
    pub terms: SpellTerms,
    /// Last day of work, once ended.
    pub end_date: Option<NaiveDate>,
}

impl Spell {
    /// Whether the spell is open (the worker is employed in it).
    pub fn is_open(&self) -> bool {
        self.end_date.is_none()
    }
}

/// One holder's time on a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The holder.
    pub person_id: PersonId,
    /// First day.
    pub from: NaiveDate,
    /// Last day, once ended.
    pub to: Option<NaiveDate>,
}

impl Assignment {
    /// Whether the assignment covers any day from `first` to `last`.
    pub fn overlaps(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.from <= last && self.to.is_none_or(|to| to >= first)
    }
}

/// A public-welfare post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// 6-digit county.
    pub county_code: String,
    /// Category.
    pub category: PostCategory,
    /// Monthly subsidy, fen.
    pub monthly_subsidy_fen: i64,
    /// Term, months.
    pub term_months: u32,
    /// First day of the term.
    pub starts_on: NaiveDate,
    /// Holders in assignment order.
    pub assignments: Vec<Assignment>,
    /// Months (first days) a subsidy was paid for.
    pub paid_months: Vec<NaiveDate>,
}

impl Post {
    /// The current holder's assignment, if the post is occupied.
    pub fn current(&self) -> Option<&Assignment> {
        self.assignments.last().filter(|a| a.to.is_none())
    }
}

/// An employment-assistance workshop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workshop {
    /// 6-digit county.
    pub county_code: String,
    /// Type.
    pub workshop_type: WorkshopType,
    /// 2023 classification, once given.
    pub class: Option<WorkshopClass2023>,
    /// Date of registration.
    pub registered_on: NaiveDate,
    /// Workers reported per month (first day).
    pub workers: BTreeMap<NaiveDate, u32>,
}

/// A training or Rain and Dew enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The trainee or student.
    pub person_id: PersonId,
    /// First day of training or of term.
    pub starts_on: NaiveDate,
    /// Set for Rain and Dew enrolments; training otherwise.
    pub rain_and_dew: bool,
    /// Completion date of a training.
    pub completed_on: Option<NaiveDate>,
}

/// The whole write model of the employment context, in memory.
#[derive(Debug, Clone)]
pub struct EmploymentState {
    policy: Arc<PolicyBook>,
    reference: ReferenceView,
    spells: HashMap<SpellId, Spell>,
    spells_by_person: HashMap<PersonId, Vec<SpellId>>,
    active_post: HashMap<PersonId, PostId>,
    posts: HashMap<PostId, Post>,
    workshops: HashMap<WorkshopId, Workshop>,
    enrolments: HashMap<EnrolmentId, Enrolment>,
    last_follow_up: HashMap<PersonId, NaiveDate>,
    versions: StreamVersions,
}

impl EmploymentState {
    /// An empty model deciding with the parameters of `policy`.
    pub fn new(policy: Arc<PolicyBook>) -> Self {
        EmploymentState {
            policy,
            reference: ReferenceView::new(),
            spells: HashMap::new(),
            spells_by_person: HashMap::new(),
            active_post: HashMap::new(),
            posts: HashMap::new(),
            workshops: HashMap::new(),
            enrolments: HashMap::new(),
            last_follow_up: HashMap::new(),
            versions: StreamVersions::new(),
        }
    }

    /// The policy parameters in force for this state.
    pub fn policy(&self) -> &PolicyBook {
        &self.policy
    }

    /// The reference view of registry persons and households.
    pub fn reference(&self) -> &ReferenceView {
        &self.reference
    }

    /// Current version of a stream: the number of events applied to it, 0 if it does not exist.
    pub fn stream_version(&self, stream_id: &str) -> u64 {
        self.versions.get(stream_id)
    }

    /// A spell.
    pub fn spell(&self, id: &SpellId) -> Option<&Spell> {
        self.spells.get(id)
    }

    /// The person's open spells, in the order they were started.
    pub fn open_spells(&self, person: &PersonId) -> Vec<SpellId> {
        self.spells_by_person
            .get(person)
            .into_iter()
            .flatten()
            .filter(|id| self.spells.get(id).is_some_and(Spell::is_open))
            .copied()
            .collect()
    }

    /// Whether the person has an open spell.
    pub fn is_employed(&self, person: &PersonId) -> bool {
        !self.open_spells(person).is_empty()
    }

    /// The post the person currently holds.
    pub fn active_post(&self, person: &PersonId) -> Option<PostId> {
        self.active_post.get(person).copied()
    }

    /// A post.
    pub fn post(&self, id: &PostId) -> Option<&Post> {
        self.posts.get(id)
    }

    /// A workshop.
    pub fn workshop(&self, id: &WorkshopId) -> Option<&Workshop> {
        self.workshops.get(id)
    }

    /// An enrolment.
    pub fn enrolment(&self, id: &EnrolmentId) -> Option<&Enrolment> {
        self.enrolments.get(id)
    }

    /// Date of the person's latest follow-up.
    pub fn last_follow_up(&self, person: &PersonId) -> Option<NaiveDate> {
        self.last_follow_up.get(person).copied()
    }

    /// Folds a registry fact into the reference view without recording it (tests and tools; the
    /// service records facts as [`EmploymentEvent::RegistryFactRecorded`] events). Bumps no
    /// stream version.
    pub fn observe(&mut self, fact: &RegistryFact) {
        self.reference.observe(fact);
    }

    /// Folds one event into the model and bumps its stream's version by one. Events must be
    /// applied in the order they were stored.
    pub fn apply(&mut self, event: &EmploymentEvent) {
        use EmploymentEvent::*;
        self.versions.bump(&event.stream_id());
        match event {
            SpellStarted {
                spell_id,
                person_id,
                household_id,
                terms,
                ..
            } => {
                let spell = Spell {
                    person_id: *person_id,
                    household_id: *household_id,
                    terms: terms.clone(),
                    end_date: None,
                };
                if self.spells.insert(*spell_id, spell).is_none() {
                    self.spells_by_person
                        .entry(*person_id)
                        .or_default()
                        .push(*spell_id);
                }
            }
            SpellEnded {
                spell_id, end_date, ..
            } => {
                if let Some(spell) = self.spells.get_mut(spell_id) {
                    spell.end_date = Some(*end_date);
                }
            }
            SpellCorrected {
                spell_id, terms, ..
            } => {
                if let Some(spell) = self.spells.get_mut(spell_id) {
                    spell.terms = terms.clone();
                }
            }
            JobLossRiskRaised { .. } => {}
            FollowUpRecorded {
                person_id, date, ..
            } => {
                let last = self.last_follow_up.entry(*person_id).or_insert(*date);
                *last = (*last).max(*date);
            }
            PostCreated {
                post_id,
                county_code,
                category,
                monthly_subsidy_fen,
                term_months,
                starts_on,
                ..
            } => {
                self.posts.entry(*post_id).or_insert_with(|| Post {
                    county_code: county_code.clone(),
                    category: *category,
                    monthly_subsidy_fen: *monthly_subsidy_fen,
                    term_months: *term_months,
                    starts_on: *starts_on,
                    assignments: Vec::new(),
                    paid_months: Vec::new(),
                });
            }
            PostAssigned {
                post_id,
                person_id,
                on,
                ..
            } => {
                self.active_post.insert(*person_id, *post_id);
                if let Some(post) = self.posts.get_mut(post_id) {
                    post.assignments.push(Assignment {
                        person_id: *person_id,
                        from: *on,
                        to: None,
                    });
                }
            }
            PostAssignmentEnded {
                post_id,
                person_id,
                on,
                ..
            } => {
                if self.active_post.get(person_id) == Some(post_id) {
                    self.active_post.remove(person_id);
                }
                if let Some(post) = self.posts.get_mut(post_id) {
                    if let Some(a) = post
                        .assignments
                        .iter_mut()
                        .rev()
                        .find(|a| a.person_id == *person_id && a.to.is_none())
                    {
                        a.to = Some(*on);
                    }
                }
            }
            PostSubsidyPaid { post_id, month, .. } => {
                if let Some(post) = self.posts.get_mut(post_id) {
                    post.paid_months.push(*month);
                }
            }
            WorkshopRegistered {
                workshop_id,
                workshop_type,
                county_code,
                registered_on,
                ..
            } => {
                self.workshops
                    .entry(*workshop_id)
                    .or_insert_with(|| Workshop {
                        county_code: county_code.clone(),
                        workshop_type: *workshop_type,
                        class: None,
                        registered_on: *registered_on,
                        workers: BTreeMap::new(),
                    });
            }
            WorkshopClassified {
                workshop_id, class, ..
            } => {
                if let Some(w) = self.workshops.get_mut(workshop_id) {
                    w.class = Some(*class);
                }
            }
            WorkshopWorkersReported {
                workshop_id,
                month,
                workers,
                ..
            } => {
                if let Some(w) = self.workshops.get_mut(workshop_id) {
                    w.workers.insert(*month, *workers);
                }
            }
            TrainingEnrolled {
                enrolment_id,
                person_id,
                starts_on,
                ..
            } => {
                self.enrolments.entry(*enrolment_id).or_insert(Enrolment {
                    person_id: *person_id,
                    starts_on: *starts_on,
                    rain_and_dew: false,
                    completed_on: None,
                });
            }
            TrainingCompleted {
                enrolment_id, on, ..
            } => {
                if let Some(e) = self.enrolments.get_mut(enrolment_id) {
                    e.completed_on = Some(*on);
                }
            }
            RainAndDewEnrolled {
                enrolment_id,
                person_id,
                term_starts_on,
                ..
            } => {
                self.enrolments.entry(*enrolment_id).or_insert(Enrolment {
                    person_id: *person_id,
                    starts_on: *term_starts_on,
                    rain_and_dew: true,
                    completed_on: None,
                });
            }
            RegistryFactRecorded { fact, .. } => self.reference.observe(fact),
        }
    }
}
