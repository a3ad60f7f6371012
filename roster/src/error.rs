//! The one error type of a roster import: what went wrong and where (file, line, column).

use serde::Serialize;

/// What kind of problem a [`RosterError`] reports. Every kind is a client error (the API maps
/// them to 400, [`RosterErrorKind::TooLarge`] to 413) except [`RosterErrorKind::StalePlan`],
/// which says the caller applied plans out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterErrorKind {
    /// The body is not a zip archive, or uses a compression method other than stored/deflate.
    NotAZip,
    /// The decompressed files exceed [`crate::ParseOptions::max_uncompressed_bytes`].
    TooLarge,
    /// `manifest.csv` is absent, or a file it lists as `bulk`/`delta` is not in the zip.
    MissingFile,
    /// The file is not UTF-8, or not CSV (an unterminated quote, a row longer than the header).
    InvalidCsv,
    /// The header lacks a column the file needs.
    MissingColumn,
    /// A required value is empty.
    MissingValue,
    /// A date that is not `YYYY-MM-DD`, or a `dateLastModified` that is not ISO 8601.
    BadDate,
    /// A value outside its vocabulary (status, org type, class type, role…) or its syntax.
    BadValue,
    /// A `sourcedId` that appears twice in one file.
    DuplicateSourcedId,
    /// A reference to an org, session, course, class or user that the roster would not hold.
    UnknownReference,
    /// [`crate::RosterState::apply`] got a plan made on another version of the roster.
    StalePlan,
}

impl RosterErrorKind {
    /// The snake_case name used in JSON error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            RosterErrorKind::NotAZip => "not_a_zip",
            RosterErrorKind::TooLarge => "too_large",
            RosterErrorKind::MissingFile => "missing_file",
            RosterErrorKind::InvalidCsv => "invalid_csv",
            RosterErrorKind::MissingColumn => "missing_column",
            RosterErrorKind::MissingValue => "missing_value",
            RosterErrorKind::BadDate => "bad_date",
            RosterErrorKind::BadValue => "bad_value",
            RosterErrorKind::DuplicateSourcedId => "duplicate_sourced_id",
            RosterErrorKind::UnknownReference => "unknown_reference",
            RosterErrorKind::StalePlan => "stale_plan",
        }
    }
}

/// A roster import that cannot land, naming the file and, where there is one, the line (1-based,
/// the header is line 1) and the column by its header name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct RosterError {
    kind: RosterErrorKind,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    message: String,
}

impl RosterError {
    pub(crate) fn new(kind: RosterErrorKind, file: &str, message: impl Into<String>) -> Self {
        RosterError {
            kind,
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(mut self, line: u64, column: Option<&str>) -> Self {
        self.line = Some(line);
        self.column = column.map(str::to_owned);
        self
    }

    pub fn kind(&self) -> RosterErrorKind {
        self.kind
    }

    /// The file inside the zip (`users.csv`), or `zip` for the archive itself.
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The column's header name (`classSourcedId`).
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    fn describe(&self) -> String {
        let mut place = self.file.clone();
        if let Some(line) = self.line {
            place.push_str(&format!(" line {line}"));
        }
        if let Some(column) = &self.column {
            place.push_str(&format!(" column {column}"));
        }
        format!("{place}: {}", self.message)
    }
}
