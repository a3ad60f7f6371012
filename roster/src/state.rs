//! [`RosterState`]: a tenant's roster as of its latest version, compact in memory.
//!
//! Orgs, sessions, courses and classes (thousands) are kept whole. Users, enrollments and roles
//! (hundreds of thousands to millions) are kept as the few fields attribution, identity and
//! access read, with interned ids; their full records live in the store only.

use std::collections::HashMap;

use crate::day::Day;
use crate::interner::Interner;
use crate::records::{
    AcademicSession, Class, Course, Enrollment, Org, PersistedRecord, RecordKind, Removal, Role,
    RosterRecord, User, fingerprint,
};
use crate::summary::RosterVersion;
use crate::table::{Slot, Table};
use crate::values::{Grade, MboxSha1};
use crate::vocabulary::{ClassType, EnrollmentRole, RoleName};

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Valid for the [`RosterState`] that gave it and every state it becomes by `apply`;
        /// persist `sourcedId`s instead.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub(crate) u32);
    };
}

key_type!(
    /// A user of the roster.
    UserKey
);
key_type!(
    /// A class of the roster.
    ClassKey
);
key_type!(
    /// An org (school or board) of the roster.
    OrgKey
);

#[derive(Clone)]
pub(crate) struct OrgEntry {
    pub(crate) record: Org,
    pub(crate) parent: Option<u32>,
}

#[derive(Clone)]
pub(crate) struct ClassEntry {
    pub(crate) record: Class,
    pub(crate) school: u32,
    pub(crate) terms: Box<[u32]>,
}

impl ClassEntry {
    pub(crate) fn homeroom(&self) -> bool {
        self.record.class_type == ClassType::Homeroom
    }
}

#[derive(Clone)]
pub(crate) struct UserEntry {
    pub(crate) enabled: bool,
    /// Index into [`RosterState::masters`].
    pub(crate) master: Option<u32>,
    /// The first of the user's grades: the fallback when no homeroom class gives one.
    pub(crate) grade: Option<Grade>,
    pub(crate) mbox: Option<MboxSha1>,
}

/// The enrollment roles attribution and access distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enrolled {
    Student,
    Teacher,
    Other,
}

#[derive(Clone)]
pub(crate) struct EnrollmentEntry {
    pub(crate) user: u32,
    pub(crate) class: u32,
    /// The first day ([`Day::MIN`]: no `beginDate`).
    pub(crate) begin: Day,
    /// The day after `endDate` ([`Day::MAX`]: no `endDate`).
    pub(crate) end: Day,
    pub(crate) role: Enrolled,
    pub(crate) primary: bool,
}

/// The roles access distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Granted {
    DistrictAdministrator,
    SchoolAdministrator,
    Other,
}

#[derive(Clone)]
pub(crate) struct RoleEntry {
    pub(crate) user: u32,
    pub(crate) org: u32,
    pub(crate) begin: Day,
    pub(crate) end: Day,
    pub(crate) role: Granted,
}

/// A tenant's roster: the latest knowledge of every record ever imported, removed ones with
/// their removal day, and the versions that made it.
///
/// `Clone` (a copy costs about what [`RosterState::heap_bytes`] says) lets a caller apply an
/// import to a copy while readers keep the current state, then swap.
#[derive(Clone, Default)]
pub struct RosterState {
    pub(crate) versions: Vec<RosterVersion>,
    pub(crate) orgs: Table<OrgEntry>,
    pub(crate) sessions: Table<AcademicSession>,
    pub(crate) courses: Table<Course>,
    pub(crate) classes: Table<ClassEntry>,
    pub(crate) users: Table<UserEntry>,
    pub(crate) enrollments: Table<EnrollmentEntry>,
    pub(crate) roles: Table<RoleEntry>,
    pub(crate) enrollments_by_user: Vec<Vec<u32>>,
    pub(crate) enrollments_by_class: Vec<Vec<u32>>,
    pub(crate) roles_by_user: Vec<Vec<u32>>,
    /// `userMasterIdentifier`s, and the users carrying each.
    pub(crate) masters: Interner,
    pub(crate) users_by_master: Vec<Vec<u32>>,
    pub(crate) users_by_mbox: HashMap<MboxSha1, Vec<u32>>,
    /// Learners imported from another board (issue 14 §2): the day each joined this one. Their
    /// enrollments running on that day count from it (see `enrollment_days`), so history from
    /// before the transfer is not attributed to this board's classes.
    pub(crate) transfers: HashMap<u32, Day>,
}

impl RosterState {
    pub fn new() -> RosterState {
        RosterState::default()
    }

    /// The state a store's persisted versions and records describe (records in any order).
    pub fn rebuild(
        versions: Vec<RosterVersion>,
        records: impl IntoIterator<Item = PersistedRecord>,
    ) -> RosterState {
        let mut by_kind: [Vec<PersistedRecord>; 7] = Default::default();
        for record in records {
            by_kind[record.record.kind().index()].push(record);
        }
        let mut state = RosterState {
            versions,
            ..RosterState::default()
        };
        for persisted in by_kind.into_iter().flatten() {
            state.upsert(&persisted.record);
            if let Some(removal) = persisted.removal {
                let record = &persisted.record;
                state.remove(record.kind(), record.sourced_id().as_str(), removal);
            }
        }
        state
    }

    /// Records that `user_sourced_id` joined this board by a transfer on `day` (an import of
    /// their history, issue 14 §2): an enrollment of theirs that began before `day` and runs
    /// on it counts from `day`. Enrollments that ended before it (an earlier stay) are left
    /// as they are. Returns whether the roster knows the user.
    pub fn set_transfer(&mut self, user_sourced_id: &str, day: Day) -> bool {
        match self.users.key(user_sourced_id) {
            Some(user) => {
                self.transfers.insert(user, day);
                true
            }
            None => false,
        }
    }

    /// The day `user` joined this board by a transfer, if they did.
    pub fn transfer_day(&self, user: UserKey) -> Option<Day> {
        self.transfers.get(&user.0).copied()
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[RosterVersion] {
        &self.versions
    }

    /// The latest version's number (0 before the first import).
    pub fn version(&self) -> u32 {
        self.versions.last().map_or(0, |v| v.number)
    }

    /// How many records of a kind are held and not removed.
    pub fn count(&self, kind: RecordKind) -> usize {
        match kind {
            RecordKind::Org => self.orgs.alive_count(),
            RecordKind::AcademicSession => self.sessions.alive_count(),
            RecordKind::Course => self.courses.alive_count(),
            RecordKind::Class => self.classes.alive_count(),
            RecordKind::User => self.users.alive_count(),
            RecordKind::Enrollment => self.enrollments.alive_count(),
            RecordKind::Role => self.roles.alive_count(),
        }
    }

    /// Approximate heap bytes of the state (the scale example reports it).
    pub fn heap_bytes(&self) -> usize {
        let lists = |lists: &Vec<Vec<u32>>| {
            lists.capacity() * size_of::<Vec<u32>>()
                + lists.iter().map(|l| l.capacity() * 4).sum::<usize>()
        };
        self.orgs.heap_bytes()
            + self.sessions.heap_bytes()
            + self.courses.heap_bytes()
            + self.classes.heap_bytes()
            + self.users.heap_bytes()
            + self.enrollments.heap_bytes()
            + self.roles.heap_bytes()
            + lists(&self.enrollments_by_user)
            + lists(&self.enrollments_by_class)
            + lists(&self.roles_by_user)
            + lists(&self.users_by_master)
            + self.masters.heap_bytes()
            + self.users_by_mbox.capacity() * (size_of::<MboxSha1>() + size_of::<Vec<u32>>())
    }

    pub fn user_key(&self, sourced_id: &str) -> Option<UserKey> {
        self.users.key(sourced_id).map(UserKey)
    }

    pub fn class_key(&self, sourced_id: &str) -> Option<ClassKey> {
        self.classes.key(sourced_id).map(ClassKey)
    }

    pub fn org_key(&self, sourced_id: &str) -> Option<OrgKey> {
        self.orgs.key(sourced_id).map(OrgKey)
    }

    pub fn user_sourced_id(&self, user: UserKey) -> &str {
        self.users.id(user.0)
    }

    pub fn class_sourced_id(&self, class: ClassKey) -> &str {
        self.classes.id(class.0)
    }

    pub fn org_sourced_id(&self, org: OrgKey) -> &str {
        self.orgs.id(org.0)
    }

    /// A class's record (title, type, school, grades, terms), removed ones included.
    pub fn class(&self, class: ClassKey) -> Option<&Class> {
        self.classes.slot(class.0).map(|slot| &slot.entry.record)
    }

    /// An org's record (name, type, code, parent), removed ones included.
    pub fn org(&self, org: OrgKey) -> Option<&Org> {
        self.orgs.slot(org.0).map(|slot| &slot.entry.record)
    }

    pub fn academic_session(&self, sourced_id: &str) -> Option<&AcademicSession> {
        self.sessions.slot_by_id(sourced_id).map(|slot| &slot.entry)
    }

    pub fn course(&self, sourced_id: &str) -> Option<&Course> {
        self.courses.slot_by_id(sourced_id).map(|slot| &slot.entry)
    }

    /// The day the user was removed from the roster, if a later import removed them.
    pub fn user_removed_on(&self, user: UserKey) -> Option<Day> {
        self.users.slot(user.0)?.removed()
    }

    /// The day the class was removed, if it was.
    pub fn class_removed_on(&self, class: ClassKey) -> Option<Day> {
        self.classes.slot(class.0)?.removed()
    }

    /// Writes a record into the state (clearing any removal): applying and rebuilding share it.
    pub(crate) fn upsert(&mut self, record: &RosterRecord) {
        let print = fingerprint(record);
        match record {
            RosterRecord::Org(org) => {
                let key = self.orgs.intern(org.sourced_id.as_str());
                let parent = org.parent.as_ref().map(|p| self.orgs.intern(p.as_str()));
                let entry = OrgEntry {
                    record: org.clone(),
                    parent,
                };
                self.orgs
                    .put(key, slot(entry, org.date_last_modified, print));
            }
            RosterRecord::AcademicSession(session) => {
                let key = self.sessions.intern(session.sourced_id.as_str());
                let entry = session.clone();
                self.sessions
                    .put(key, slot(entry, session.date_last_modified, print));
            }
            RosterRecord::Course(course) => {
                let key = self.courses.intern(course.sourced_id.as_str());
                let entry = course.clone();
                self.courses
                    .put(key, slot(entry, course.date_last_modified, print));
            }
            RosterRecord::Class(class) => self.upsert_class(class, print),
            RosterRecord::User(user) => self.upsert_user(user, print),
            RosterRecord::Enrollment(enrollment) => self.upsert_enrollment(enrollment, print),
            RosterRecord::Role(role) => self.upsert_role(role, print),
        }
    }

    pub(crate) fn remove(&mut self, kind: RecordKind, sourced_id: &str, removal: Removal) {
        fn remove_from<E>(table: &mut Table<E>, sourced_id: &str, removal: Removal) {
            if let Some(key) = table.key(sourced_id) {
                table.remove(key, removal);
            }
        }
        match kind {
            RecordKind::Org => remove_from(&mut self.orgs, sourced_id, removal),
            RecordKind::AcademicSession => remove_from(&mut self.sessions, sourced_id, removal),
            RecordKind::Course => remove_from(&mut self.courses, sourced_id, removal),
            RecordKind::Class => remove_from(&mut self.classes, sourced_id, removal),
            RecordKind::User => remove_from(&mut self.users, sourced_id, removal),
            RecordKind::Enrollment => remove_from(&mut self.enrollments, sourced_id, removal),
            RecordKind::Role => remove_from(&mut self.roles, sourced_id, removal),
        }
    }

    fn upsert_class(&mut self, class: &Class, print: u64) {
        let key = self.classes.intern(class.sourced_id.as_str());
        let school = self.orgs.intern(class.school.as_str());
        self.courses.intern(class.course.as_str());
        let terms = class
            .terms
            .iter()
            .map(|term| self.sessions.intern(term.as_str()))
            .collect();
        let entry = ClassEntry {
            record: class.clone(),
            school,
            terms,
        };
        self.classes
            .put(key, slot(entry, class.date_last_modified, print));
    }

    fn upsert_user(&mut self, user: &User, print: u64) {
        let key = self.users.intern(user.sourced_id.as_str());
        if let Some(org) = &user.primary_org {
            self.orgs.intern(org.as_str());
        }
        let master = user
            .user_master_identifier
            .as_ref()
            .map(|id| self.masters.intern(id.as_str()).0);
        let entry = UserEntry {
            enabled: user.enabled_user,
            master,
            grade: user.grades.first().copied(),
            mbox: user.mbox_sha1,
        };
        let old = self
            .users
            .put(key, slot(entry, user.date_last_modified, print));
        if let Some(old) = old {
            if let Some(master) = old.entry.master {
                list(&mut self.users_by_master, master).retain(|&u| u != key);
            }
            if let Some(mbox) = old.entry.mbox
                && let Some(users) = self.users_by_mbox.get_mut(&mbox)
            {
                users.retain(|&u| u != key);
                if users.is_empty() {
                    self.users_by_mbox.remove(&mbox);
                }
            }
        }
        if let Some(master) = master {
            list(&mut self.users_by_master, master).push(key);
        }
        if let Some(mbox) = user.mbox_sha1 {
            self.users_by_mbox.entry(mbox).or_default().push(key);
        }
    }

    fn upsert_enrollment(&mut self, enrollment: &Enrollment, print: u64) {
        let key = self.enrollments.intern(enrollment.sourced_id.as_str());
        let user = self.users.intern(enrollment.user.as_str());
        let class = self.classes.intern(enrollment.class.as_str());
        self.orgs.intern(enrollment.school.as_str());
        let entry = EnrollmentEntry {
            user,
            class,
            begin: enrollment.begin_date.unwrap_or(Day::MIN),
            end: enrollment.end_date.map_or(Day::MAX, Day::next),
            role: match enrollment.role {
                EnrollmentRole::Student => Enrolled::Student,
                EnrollmentRole::Teacher => Enrolled::Teacher,
                _ => Enrolled::Other,
            },
            primary: enrollment.primary,
        };
        let old = self
            .enrollments
            .put(key, slot(entry, enrollment.date_last_modified, print));
        let (old_user, old_class) = match old {
            Some(old) => (Some(old.entry.user), Some(old.entry.class)),
            None => (None, None),
        };
        if old_user != Some(user) {
            if let Some(old_user) = old_user {
                list(&mut self.enrollments_by_user, old_user).retain(|&e| e != key);
            }
            list(&mut self.enrollments_by_user, user).push(key);
        }
        if old_class != Some(class) {
            if let Some(old_class) = old_class {
                list(&mut self.enrollments_by_class, old_class).retain(|&e| e != key);
            }
            list(&mut self.enrollments_by_class, class).push(key);
        }
    }

    fn upsert_role(&mut self, role: &Role, print: u64) {
        let key = self.roles.intern(role.sourced_id.as_str());
        let user = self.users.intern(role.user.as_str());
        let org = self.orgs.intern(role.org.as_str());
        let entry = RoleEntry {
            user,
            org,
            begin: role.begin_date.unwrap_or(Day::MIN),
            end: role.end_date.map_or(Day::MAX, Day::next),
            role: match role.role {
                RoleName::DistrictAdministrator => Granted::DistrictAdministrator,
                RoleName::Principal | RoleName::SiteAdministrator => Granted::SchoolAdministrator,
                _ => Granted::Other,
            },
        };
        let old = self
            .roles
            .put(key, slot(entry, role.date_last_modified, print));
        let old_user = old.map(|old| old.entry.user);
        if old_user != Some(user) {
            if let Some(old_user) = old_user {
                list(&mut self.roles_by_user, old_user).retain(|&r| r != key);
            }
            list(&mut self.roles_by_user, user).push(key);
        }
    }

    /// The enrollments (removed ones included) of a user.
    pub(crate) fn user_enrollments(&self, user: u32) -> &[u32] {
        self.enrollments_by_user
            .get(user as usize)
            .map_or(&[], Vec::as_slice)
    }

    pub(crate) fn class_enrollments(&self, class: u32) -> &[u32] {
        self.enrollments_by_class
            .get(class as usize)
            .map_or(&[], Vec::as_slice)
    }

    pub(crate) fn user_roles(&self, user: u32) -> &[u32] {
        self.roles_by_user
            .get(user as usize)
            .map_or(&[], Vec::as_slice)
    }
}

fn slot<E>(entry: E, modified: Option<crate::values::UtcTime>, fingerprint: u64) -> Slot<E> {
    Slot {
        entry,
        removed_on: Day::MAX,
        modified: modified.map_or(i64::MIN, |m| m.micros()),
        fingerprint,
    }
}

/// The list at `index`, growing the lists as needed.
fn list(lists: &mut Vec<Vec<u32>>, index: u32) -> &mut Vec<u32> {
    let index = index as usize;
    if lists.len() <= index {
        lists.resize_with(index + 1, Vec::new);
    }
    &mut lists[index]
}
