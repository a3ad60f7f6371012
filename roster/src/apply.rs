//! Applying a persisted plan to the in-memory state, and reporting which learners' days it
//! re-attributes.
//!
//! Only the learners the plan can affect are examined: the users it writes or removes, the
//! users of the enrollments it writes or removes (before and after), and the users enrolled in
//! the classes it writes or removes, or in classes whose terms it writes or removes. Their
//! timelines before and after are compared ([`Timeline::changed_days`]); a learner the roster
//! did not know before starts from [`Timeline::unknown`]. The cost is proportional to the plan
//! and the learners it touches, not to the roster.

use std::collections::BTreeSet;

use crate::day::DayRange;
use crate::error::{RosterError, RosterErrorKind};
use crate::plan::{ImportPlan, RecordChange};
use crate::records::{RecordKind, RosterRecord};
use crate::state::{RosterState, UserKey};
use crate::timeline::Timeline;

/// A learner whose attribution changed, and the days on which it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reattributed {
    pub user: UserKey,
    /// Sorted, disjoint, non-adjacent day ranges ([`Day::MIN`](crate::Day::MIN) and
    /// [`Day::MAX`](crate::Day::MAX) mean unbounded).
    pub days: Vec<DayRange>,
}

impl RosterState {
    /// Applies a plan made on this state (and already persisted), adds its version, and returns
    /// the learners whose attribution changed with the days that changed, sorted by user key.
    pub fn apply(&mut self, plan: &ImportPlan) -> Result<Vec<Reattributed>, RosterError> {
        if plan.base != self.version() {
            return Err(RosterError::new(
                RosterErrorKind::StalePlan,
                "roster",
                format!(
                    "the plan was made on version {}, the roster is at version {}",
                    plan.base,
                    self.version()
                ),
            ));
        }
        let (known, new) = self.affected_users(plan);
        let before: Vec<(UserKey, Timeline)> = known
            .into_iter()
            .map(|user| (user, self.timeline(user)))
            .collect();
        for change in plan.changes() {
            match change {
                RecordChange::Upsert { record } => self.upsert(record),
                RecordChange::Remove {
                    kind,
                    sourced_id,
                    removal,
                } => self.remove(*kind, sourced_id.as_str(), *removal),
            }
        }
        self.versions.push(plan.version().clone());
        let mut changed = Vec::new();
        for (user, old) in before {
            let days = old.changed_days(&self.timeline(user));
            if !days.is_empty() {
                changed.push(Reattributed { user, days });
            }
        }
        for id in new {
            if let Some(user) = self.user_key(id) {
                let days = Timeline::unknown().changed_days(&self.timeline(user));
                if !days.is_empty() {
                    changed.push(Reattributed { user, days });
                }
            }
        }
        changed.sort_by_key(|r| r.user);
        changed.dedup_by_key(|r| r.user);
        Ok(changed)
    }

    /// The users the plan can re-attribute: those the state holds, and the ids of those it does
    /// not hold yet.
    fn affected_users<'p>(&self, plan: &'p ImportPlan) -> (BTreeSet<UserKey>, BTreeSet<&'p str>) {
        let mut known = BTreeSet::new();
        let mut new = BTreeSet::new();
        let mut note = |id: &'p str, known: &mut BTreeSet<UserKey>| match self.user_key(id) {
            Some(user) => {
                known.insert(user);
            }
            None => {
                new.insert(id);
            }
        };
        let mut classes = BTreeSet::new();
        let mut sessions = BTreeSet::new();
        for change in plan.changes() {
            let id = change.sourced_id().as_str();
            match change.kind() {
                RecordKind::User => note(id, &mut known),
                RecordKind::Enrollment => {
                    if let Some(held) = self.enrollments.slot_by_id(id) {
                        known.insert(UserKey(held.entry.user));
                    }
                    if let RecordChange::Upsert {
                        record: RosterRecord::Enrollment(enrollment),
                    } = change
                    {
                        note(enrollment.user.as_str(), &mut known);
                    }
                }
                RecordKind::Class => {
                    classes.extend(self.classes.key(id));
                }
                RecordKind::AcademicSession => {
                    sessions.extend(self.sessions.key(id));
                }
                RecordKind::Org | RecordKind::Course | RecordKind::Role => {}
            }
        }
        if !sessions.is_empty() {
            for (class, slot) in self.classes.iter() {
                if slot.entry.terms.iter().any(|term| sessions.contains(term)) {
                    classes.insert(class);
                }
            }
        }
        for class in classes {
            for &enrollment in self.class_enrollments(class) {
                if let Some(slot) = self.enrollments.slot(enrollment) {
                    known.insert(UserKey(slot.entry.user));
                }
            }
        }
        (known, new)
    }
}
