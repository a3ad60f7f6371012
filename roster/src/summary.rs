//! What an import did: its version and the counts per file (the JSON the API answers).

use serde::{Deserialize, Serialize};

use crate::manifest::FileMode;
use crate::records::RecordKind;
use crate::values::UtcTime;

/// One dated version of a tenant's roster: every import makes one, even if it changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterVersion {
    /// 1 for the first import, then one more per import.
    pub number: u32,
    pub imported_at: UtcTime,
    pub summary: ImportSummary,
}

/// The counts of each file the import held (files the manifest says are absent are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub orgs: Option<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub academic_sessions: Option<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub courses: Option<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub classes: Option<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub users: Option<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enrollments: Option<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<FileSummary>,
}

impl ImportSummary {
    pub fn file(&self, kind: RecordKind) -> Option<&FileSummary> {
        self.slot(kind).as_ref()
    }

    pub(crate) fn set(&mut self, kind: RecordKind, summary: FileSummary) {
        *self.slot_mut(kind) = Some(summary);
    }

    fn slot(&self, kind: RecordKind) -> &Option<FileSummary> {
        match kind {
            RecordKind::Org => &self.orgs,
            RecordKind::AcademicSession => &self.academic_sessions,
            RecordKind::Course => &self.courses,
            RecordKind::Class => &self.classes,
            RecordKind::User => &self.users,
            RecordKind::Enrollment => &self.enrollments,
            RecordKind::Role => &self.roles,
        }
    }

    fn slot_mut(&mut self, kind: RecordKind) -> &mut Option<FileSummary> {
        match kind {
            RecordKind::Org => &mut self.orgs,
            RecordKind::AcademicSession => &mut self.academic_sessions,
            RecordKind::Course => &mut self.courses,
            RecordKind::Class => &mut self.classes,
            RecordKind::User => &mut self.users,
            RecordKind::Enrollment => &mut self.enrollments,
            RecordKind::Role => &mut self.roles,
        }
    }
}

/// What one file did to the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    pub mode: FileMode,
    /// Data rows in the file.
    pub rows: u64,
    /// Records new to the roster, or back after a removal.
    pub added: u64,
    /// Records that were there and changed.
    pub updated: u64,
    /// Rows identical to what the roster held.
    pub unchanged: u64,
    /// Records removed: `tobedeleted` rows, and (bulk) records the file left out.
    pub removed: u64,
    /// Rows with no effect: a delta row older than the record held, or a `tobedeleted` row for
    /// a record the roster does not hold (or already removed).
    pub ignored: u64,
}

impl FileSummary {
    pub(crate) fn new(mode: FileMode, rows: usize) -> FileSummary {
        FileSummary {
            mode,
            rows: rows as u64,
            added: 0,
            updated: 0,
            unchanged: 0,
            removed: 0,
            ignored: 0,
        }
    }
}
