//! Typed roster records: what the LRS keeps of each OneRoster file.
//!
//! The serde form of these records (JSON with camelCase keys) is what a store persists; it is
//! golden-tested (`tests/persistence.rs`), and [`crate::RosterState::rebuild`] reads it back.
//! Person names are present only when [`crate::ParseOptions::keep_person_names`] asked for them.

use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::values::{Grade, MboxSha1, SourcedId, UtcTime};
use crate::vocabulary::{ClassType, EnrollmentRole, OrgType, RoleName, RoleType, SessionType};

/// The seven files the LRS reads, in the order an import applies them (referenced before
/// referencing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordKind {
    Org,
    AcademicSession,
    Course,
    Class,
    User,
    Enrollment,
    Role,
}

impl RecordKind {
    pub const ALL: [RecordKind; 7] = [
        RecordKind::Org,
        RecordKind::AcademicSession,
        RecordKind::Course,
        RecordKind::Class,
        RecordKind::User,
        RecordKind::Enrollment,
        RecordKind::Role,
    ];

    /// The name in `manifest.csv` (`file.<name>`) and in the import summary.
    pub fn file_stem(self) -> &'static str {
        match self {
            RecordKind::Org => "orgs",
            RecordKind::AcademicSession => "academicSessions",
            RecordKind::Course => "courses",
            RecordKind::Class => "classes",
            RecordKind::User => "users",
            RecordKind::Enrollment => "enrollments",
            RecordKind::Role => "roles",
        }
    }

    /// The file's name in the zip.
    pub fn file_name(self) -> &'static str {
        match self {
            RecordKind::Org => "orgs.csv",
            RecordKind::AcademicSession => "academicSessions.csv",
            RecordKind::Course => "courses.csv",
            RecordKind::Class => "classes.csv",
            RecordKind::User => "users.csv",
            RecordKind::Enrollment => "enrollments.csv",
            RecordKind::Role => "roles.csv",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// `orgs.csv`: the board of education (`district`) and its schools.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub name: String,
    #[serde(rename = "type")]
    pub org_type: OrgType,
    /// 教育委員会コード for a board, 学校コード for a school.
    pub identifier: Option<String>,
    pub parent: Option<SourcedId>,
}

/// `academicSessions.csv`: school years (年度), terms, semesters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcademicSession {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub title: String,
    #[serde(rename = "type")]
    pub session_type: SessionType,
    pub start_date: Day,
    /// The session's last day (see [`crate::RosterState::attribute`] for how dates bound).
    pub end_date: Day,
    pub parent: Option<SourcedId>,
    pub school_year: i32,
}

/// `courses.csv`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Course {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub title: String,
    pub school_year: Option<SourcedId>,
    pub course_code: Option<String>,
    pub grades: Vec<Grade>,
    pub org: SourcedId,
}

/// `classes.csv`: 学級 (homeroom) and 授業 (scheduled) classes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Class {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub title: String,
    pub grades: Vec<Grade>,
    pub course: SourcedId,
    pub class_code: Option<String>,
    pub class_type: ClassType,
    pub school: SourcedId,
    pub terms: Vec<SourcedId>,
}

/// `users.csv`, without the personal data the LRS does not need (no username, password, phone,
/// and names only on request).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub enabled_user: bool,
    /// The person's key across transfers (a UUID v4 in the Japan Profile).
    pub user_master_identifier: Option<SourcedId>,
    pub grades: Vec<Grade>,
    pub primary_org: Option<SourcedId>,
    /// SHA-1 of the `email`'s `mailto:` IRI; the address itself is not kept.
    pub mbox_sha1: Option<MboxSha1>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub names: Option<Box<PersonNames>>,
}

/// A user's names, kept only when [`crate::ParseOptions::keep_person_names`] is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonNames {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub preferred_given_name: Option<String>,
    pub preferred_middle_name: Option<String>,
    pub preferred_family_name: Option<String>,
    /// `metadata.jp.kanaGivenName` (読み仮名).
    pub kana_given_name: Option<String>,
    pub kana_family_name: Option<String>,
    pub kana_middle_name: Option<String>,
}

/// `enrollments.csv`: a user in a class, in a role, between two dates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub class: SourcedId,
    pub school: SourcedId,
    pub user: SourcedId,
    pub role: EnrollmentRole,
    pub primary: bool,
    /// The first day of the enrollment.
    pub begin_date: Option<Day>,
    /// The last day of the enrollment (inclusive, see [`crate::RosterState::attribute`]).
    pub end_date: Option<Day>,
}

/// `roles.csv`: a user's role at an org (what access follows).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub sourced_id: SourcedId,
    pub date_last_modified: Option<UtcTime>,
    pub user: SourcedId,
    pub role_type: RoleType,
    pub role: RoleName,
    pub org: SourcedId,
    pub begin_date: Option<Day>,
    pub end_date: Option<Day>,
}

/// Any one record, tagged with its kind: the unit a store persists, keyed by
/// `(kind, sourcedId)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RosterRecord {
    Org(Org),
    AcademicSession(AcademicSession),
    Course(Course),
    Class(Class),
    User(User),
    Enrollment(Enrollment),
    Role(Role),
}

impl RosterRecord {
    pub fn kind(&self) -> RecordKind {
        match self {
            RosterRecord::Org(_) => RecordKind::Org,
            RosterRecord::AcademicSession(_) => RecordKind::AcademicSession,
            RosterRecord::Course(_) => RecordKind::Course,
            RosterRecord::Class(_) => RecordKind::Class,
            RosterRecord::User(_) => RecordKind::User,
            RosterRecord::Enrollment(_) => RecordKind::Enrollment,
            RosterRecord::Role(_) => RecordKind::Role,
        }
    }

    pub fn sourced_id(&self) -> &SourcedId {
        match self {
            RosterRecord::Org(r) => &r.sourced_id,
            RosterRecord::AcademicSession(r) => &r.sourced_id,
            RosterRecord::Course(r) => &r.sourced_id,
            RosterRecord::Class(r) => &r.sourced_id,
            RosterRecord::User(r) => &r.sourced_id,
            RosterRecord::Enrollment(r) => &r.sourced_id,
            RosterRecord::Role(r) => &r.sourced_id,
        }
    }
}

/// A record as a store holds it: the latest version of the record, and its removal if a later
/// import removed it. Removed records are kept: attribution of the days before the removal
/// needs them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistedRecord {
    pub record: RosterRecord,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub removal: Option<Removal>,
}

/// When a record stopped counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Removal {
    /// The first day the record no longer counts: the local day of a `tobedeleted` row's
    /// `dateLastModified`, or the day of the bulk import that left the record out.
    pub on: Day,
    /// The `tobedeleted` row's `dateLastModified` (none for a bulk removal): a later delta row
    /// older than this does not bring the record back.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date_last_modified: Option<UtcTime>,
}

/// One kind of record, generically: what parsing, planning and applying share.
pub(crate) trait Record: Hash + Sized + AsRef<SourcedId> {
    const KIND: RecordKind;
    fn date_last_modified(&self) -> Option<UtcTime>;
    /// Every reference to another record, with its column name: `(column, kind, id)`.
    fn for_each_reference(&self, visit: &mut dyn FnMut(&'static str, RecordKind, &SourcedId));
    fn into_record(self) -> RosterRecord;

    /// A 64-bit digest of every field: equal digests mean an unchanged record.
    fn fingerprint(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

macro_rules! record {
    ($type:ident, $kind:ident, |$r:ident, $visit:ident| $refs:block) => {
        impl AsRef<SourcedId> for $type {
            fn as_ref(&self) -> &SourcedId {
                &self.sourced_id
            }
        }

        impl Record for $type {
            const KIND: RecordKind = RecordKind::$kind;

            fn date_last_modified(&self) -> Option<UtcTime> {
                self.date_last_modified
            }

            fn for_each_reference(
                &self,
                $visit: &mut dyn FnMut(&'static str, RecordKind, &SourcedId),
            ) {
                let $r = self;
                $refs
            }

            fn into_record(self) -> RosterRecord {
                RosterRecord::$kind(self)
            }
        }
    };
}

record!(Org, Org, |r, visit| {
    if let Some(parent) = &r.parent {
        visit("parentSourcedId", RecordKind::Org, parent);
    }
});
record!(AcademicSession, AcademicSession, |r, visit| {
    if let Some(parent) = &r.parent {
        visit("parentSourcedId", RecordKind::AcademicSession, parent);
    }
});
record!(Course, Course, |r, visit| {
    if let Some(year) = &r.school_year {
        visit("schoolYearSourcedId", RecordKind::AcademicSession, year);
    }
    visit("orgSourcedId", RecordKind::Org, &r.org);
});
record!(Class, Class, |r, visit| {
    visit("courseSourcedId", RecordKind::Course, &r.course);
    visit("schoolSourcedId", RecordKind::Org, &r.school);
    for term in &r.terms {
        visit("termSourcedIds", RecordKind::AcademicSession, term);
    }
});
record!(User, User, |r, visit| {
    if let Some(org) = &r.primary_org {
        visit("primaryOrgSourcedId", RecordKind::Org, org);
    }
});
record!(Enrollment, Enrollment, |r, visit| {
    visit("classSourcedId", RecordKind::Class, &r.class);
    visit("schoolSourcedId", RecordKind::Org, &r.school);
    visit("userSourcedId", RecordKind::User, &r.user);
});
record!(Role, Role, |r, visit| {
    visit("userSourcedId", RecordKind::User, &r.user);
    visit("orgSourcedId", RecordKind::Org, &r.org);
});

/// The fingerprint of any record (the same as the typed one).
pub(crate) fn fingerprint(record: &RosterRecord) -> u64 {
    match record {
        RosterRecord::Org(r) => r.fingerprint(),
        RosterRecord::AcademicSession(r) => r.fingerprint(),
        RosterRecord::Course(r) => r.fingerprint(),
        RosterRecord::Class(r) => r.fingerprint(),
        RosterRecord::User(r) => r.fingerprint(),
        RosterRecord::Enrollment(r) => r.fingerprint(),
        RosterRecord::Role(r) => r.fingerprint(),
    }
}
