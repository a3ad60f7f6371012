//! Who to read for a scoped question (issue 11 §6): the learners of a class, a school or a grade
//! over a range of days, and the reverse of identity (which actors are one user).
//!
//! The aggregates read the facts of these learners only, then attribute each fact to the day it
//! happened on ([`RosterState::attribute`]): a learner who was in the class for part of the range
//! is read, and only their days in the class count for it.

use std::collections::BTreeSet;

use crate::day::DayRange;
use crate::identity::ActorRef;
use crate::state::{ClassKey, Enrolled, OrgKey, RosterState, UserKey};
use crate::values::Grade;

/// A part of the roster, for choosing whose facts to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Members {
    Class(ClassKey),
    /// A school, or any org: the classes of it and of the orgs under it.
    School(OrgKey),
    Grade(Grade),
}

impl RosterState {
    /// The users with a `student` enrollment that counts on some day of `range` in a class of
    /// `members`, sorted. A grade's members are the students whose attribution names that grade
    /// on some day of the range (the homeroom class's grade, else the user's own).
    pub fn students(&self, members: Members, range: DayRange) -> Vec<UserKey> {
        let classes: BTreeSet<u32> = match members {
            Members::Class(class) => BTreeSet::from([class.0]),
            Members::School(org) => {
                let orgs = self.orgs_and_below(org.0);
                self.classes
                    .iter()
                    .filter(|(_, class)| orgs.contains(&class.entry.school))
                    .map(|(key, _)| key)
                    .collect()
            }
            Members::Grade(grade) => {
                return self
                    .users
                    .iter()
                    .map(|(key, _)| UserKey(key))
                    .filter(|&user| {
                        self.timeline(user).segments().iter().any(|segment| {
                            segment.attribution.grade() == Some(grade)
                                && !segment.days.intersect(&range).is_empty()
                        })
                    })
                    .collect();
            }
        };
        let mut users = BTreeSet::new();
        for class in classes {
            for &key in self.class_enrollments(class) {
                if let Some(enrollment) = self.enrollments.slot(key)
                    && enrollment.entry.role == Enrolled::Student
                    && !self
                        .enrollment_days(enrollment)
                        .intersect(&range)
                        .is_empty()
                {
                    users.insert(enrollment.entry.user);
                }
            }
        }
        users.into_iter().map(UserKey).collect()
    }

    /// `org` and every org under it (by `parentSourcedId`).
    fn orgs_and_below(&self, org: u32) -> BTreeSet<u32> {
        let mut found = BTreeSet::from([org]);
        loop {
            let before = found.len();
            for (key, entry) in self.orgs.iter() {
                if entry.entry.parent.is_some_and(|p| found.contains(&p)) {
                    found.insert(key);
                }
            }
            if found.len() == before {
                return found;
            }
        }
    }

    /// Every user the roster has held (removed ones included).
    pub fn users(&self) -> impl Iterator<Item = UserKey> + '_ {
        self.users.iter().map(|(key, _)| UserKey(key))
    }
}

impl<'a> ActorRef<'a> {
    /// Reads an actor's canonical identifier as statements' index terms write it
    /// (`account::<homePage>::<name>`, `mbox::mailto:…`, `mbox_sha1sum::<hex>`, `openid::<uri>`).
    pub fn from_canonical(canonical: &'a str) -> Option<ActorRef<'a>> {
        let (kind, rest) = canonical.split_once("::")?;
        match kind {
            "account" => {
                let (home_page, name) = rest.split_once("::")?;
                Some(ActorRef::Account { home_page, name })
            }
            "mbox" => Some(ActorRef::Mbox(rest)),
            "mbox_sha1sum" => Some(ActorRef::MboxSha1Sum(rest)),
            "openid" => Some(ActorRef::OpenId(rest)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_actor_identifiers_read_back() {
        assert_eq!(
            ActorRef::from_canonical("account::https://eportal.example.jp::u-1::x"),
            Some(ActorRef::Account {
                home_page: "https://eportal.example.jp",
                name: "u-1::x"
            })
        );
        assert_eq!(
            ActorRef::from_canonical("mbox::mailto:a@example.jp"),
            Some(ActorRef::Mbox("mailto:a@example.jp"))
        );
        assert_eq!(ActorRef::from_canonical("nonsense"), None);
    }
}
