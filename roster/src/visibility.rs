//! Access by roster role (issue 11 §7, decision 12): what a principal bound to a roster user may
//! see on a given day. The one place this is decided, so the aggregates API, the dashboard and
//! exports cannot disagree.
//!
//! | the user's roster roles that day | may see |
//! |---|---|
//! | `districtAdministrator` (roles.csv, any org) | the whole tenant |
//! | `principal` / `siteAdministrator` at an org | that org and the schools under it, their classes and those classes' learners |
//! | `teacher` enrollment in a class | that class and its learners |
//! | anyone (a `student` included) | themself |
//!
//! Roles and enrollments count on the days their dates (inclusive) and removals allow; learners
//! are those with a `student` enrollment in the class that day. A user removed from the roster
//! (on or before the day) or not `enabledUser` sees nothing. Other roles (guardian, aide,
//! counselor…) grant nothing beyond the user themself.

use std::collections::{BTreeSet, HashMap};

use crate::day::{Day, DayRange};
use crate::state::{Enrolled, Granted, RosterState, UserKey};
use crate::values::SourcedId;

/// Something a query filters or a listing shows, by roster `sourcedId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    School(&'a str),
    Class(&'a str),
    Learner(&'a str),
}

/// What a principal may see. A query filter naming something not allowed is refused (403); a
/// listing leaves out what is not allowed; a query without such a filter is restricted to
/// [`Visibility::classes`] / [`Visibility::schools`] / [`Visibility::learners`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    scope: Scope,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Scope {
    Tenant,
    Limited {
        schools: BTreeSet<SourcedId>,
        classes: BTreeSet<SourcedId>,
        learners: BTreeSet<SourcedId>,
    },
}

impl Visibility {
    /// Everything in the tenant: a credential not bound to a roster user, or a district
    /// administrator.
    pub fn whole_tenant() -> Visibility {
        Visibility {
            scope: Scope::Tenant,
        }
    }

    /// Nothing at all.
    pub fn nothing() -> Visibility {
        Visibility {
            scope: Scope::Limited {
                schools: BTreeSet::new(),
                classes: BTreeSet::new(),
                learners: BTreeSet::new(),
            },
        }
    }

    pub fn is_whole_tenant(&self) -> bool {
        self.scope == Scope::Tenant
    }

    pub fn allows(&self, subject: Subject<'_>) -> bool {
        match &self.scope {
            Scope::Tenant => true,
            Scope::Limited {
                schools,
                classes,
                learners,
            } => match subject {
                Subject::School(id) => schools.contains(id),
                Subject::Class(id) => classes.contains(id),
                Subject::Learner(id) => learners.contains(id),
            },
        }
    }

    pub fn allows_school(&self, sourced_id: &str) -> bool {
        self.allows(Subject::School(sourced_id))
    }

    pub fn allows_class(&self, sourced_id: &str) -> bool {
        self.allows(Subject::Class(sourced_id))
    }

    /// Whether a learner (a roster user's `sourcedId`) is visible. Actors the roster does not
    /// know are visible to the whole-tenant scope only.
    pub fn allows_learner(&self, sourced_id: &str) -> bool {
        self.allows(Subject::Learner(sourced_id))
    }

    /// The schools visible in full (`None`: all of them).
    pub fn schools(&self) -> Option<&BTreeSet<SourcedId>> {
        match &self.scope {
            Scope::Tenant => None,
            Scope::Limited { schools, .. } => Some(schools),
        }
    }

    /// The classes visible (`None`: all of them): the schools' classes and the user's own.
    pub fn classes(&self) -> Option<&BTreeSet<SourcedId>> {
        match &self.scope {
            Scope::Tenant => None,
            Scope::Limited { classes, .. } => Some(classes),
        }
    }

    /// The learners visible (`None`: all of them), the user included.
    pub fn learners(&self) -> Option<&BTreeSet<SourcedId>> {
        match &self.scope {
            Scope::Tenant => None,
            Scope::Limited { learners, .. } => Some(learners),
        }
    }

    /// Keeps the items whose subject is allowed.
    pub fn retain<T>(&self, items: &mut Vec<T>, subject: impl Fn(&T) -> Subject<'_>) {
        if !self.is_whole_tenant() {
            items.retain(|item| self.allows(subject(item)));
        }
    }
}

impl RosterState {
    /// What `user` may see on `day`, from their roles and enrollments that day.
    pub fn visibility(&self, user: UserKey, day: Day) -> Visibility {
        let Some(slot) = self.users.slot(user.0) else {
            return Visibility::nothing();
        };
        if slot.removed_on <= day || !slot.entry.enabled {
            return Visibility::nothing();
        }
        let mut administered = Vec::new();
        for &key in self.user_roles(user.0) {
            let Some(role) = self.roles.slot(key) else {
                continue;
            };
            let end = role.entry.end.min(role.removed_on);
            if !DayRange::new(role.entry.begin, end).contains(day) {
                continue;
            }
            match role.entry.role {
                Granted::DistrictAdministrator => return Visibility::whole_tenant(),
                Granted::SchoolAdministrator => administered.push(role.entry.org),
                Granted::Other => {}
            }
        }
        let schools = self.orgs_under(administered);
        let mut classes: BTreeSet<u32> = self
            .classes
            .iter()
            .filter(|(_, class)| class.removed_on > day && schools.contains(&class.entry.school))
            .map(|(key, _)| key)
            .collect();
        for &key in self.user_enrollments(user.0) {
            if let Some(enrollment) = self.enrollments.slot(key)
                && enrollment.entry.role == Enrolled::Teacher
                && self.enrollment_days(enrollment).contains(day)
            {
                classes.insert(enrollment.entry.class);
            }
        }
        let mut learners = BTreeSet::from([user.0]);
        for &class in &classes {
            for &key in self.class_enrollments(class) {
                if let Some(enrollment) = self.enrollments.slot(key)
                    && enrollment.entry.role == Enrolled::Student
                    && self.enrollment_days(enrollment).contains(day)
                {
                    learners.insert(enrollment.entry.user);
                }
            }
        }
        let ids = |keys: &BTreeSet<u32>, table: &dyn Fn(u32) -> SourcedId| {
            keys.iter().map(|&k| table(k)).collect()
        };
        Visibility {
            scope: Scope::Limited {
                schools: ids(&schools, &|k| SourcedId::known(self.orgs.id(k))),
                classes: ids(&classes, &|k| SourcedId::known(self.classes.id(k))),
                learners: ids(&learners, &|k| SourcedId::known(self.users.id(k))),
            },
        }
    }

    /// The orgs given and every org under them (by `parentSourcedId`).
    fn orgs_under(&self, roots: Vec<u32>) -> BTreeSet<u32> {
        if roots.is_empty() {
            return BTreeSet::new();
        }
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (key, org) in self.orgs.iter() {
            if let Some(parent) = org.entry.parent {
                children.entry(parent).or_default().push(key);
            }
        }
        let mut found = BTreeSet::new();
        let mut pending = roots;
        while let Some(org) = pending.pop() {
            if found.insert(org) {
                pending.extend(children.get(&org).into_iter().flatten().copied());
            }
        }
        found
    }
}
