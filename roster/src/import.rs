//! Parsing a OneRoster 1.2 CSV import (Japan Profile) into typed rows.
//!
//! The input is the zip's bytes ([`parse_zip`]) or any set of named files ([`parse_files`]).
//! Files are streamed through the CSV reader, never held whole; their decompressed size is
//! bounded by [`ParseOptions::max_uncompressed_bytes`], so parsing any input uses bounded memory
//! and never panics (`fuzz_parse`).

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use hashbrown::HashTable;
use xxhash_rust::xxh3::xxh3_64;

use crate::csv_file::{Budget, Budgeted, CsvFile, Need};
use crate::error::{RosterError, RosterErrorKind};
use crate::manifest::{FileMode, MANIFEST, Manifest};
use crate::parsers::CsvRecord;
use crate::records::{AcademicSession, Class, Course, Enrollment, Org, Role, User};
use crate::values::{SourcedId, UtcTime};
use crate::vocabulary::Status;

/// What parsing keeps and how much it may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Keep users' names (given, family, middle, preferred, kana). Off by default: the LRS needs
    /// no names to aggregate (japan-context.md).
    pub keep_person_names: bool,
    /// The most decompressed bytes an import may hold, all files together (default 4 GiB: a
    /// board of 300 k users and a few million enrollments is well under 1 GiB).
    pub max_uncompressed_bytes: u64,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            keep_person_names: false,
            max_uncompressed_bytes: 4 << 30,
        }
    }
}

/// A row of a file: a record, or the id of one to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row<T> {
    Active(T),
    /// `status` = `tobedeleted`: only the id and `dateLastModified` are read.
    ToBeDeleted {
        sourced_id: SourcedId,
        date_last_modified: Option<UtcTime>,
    },
}

impl<T> Row<T> {
    /// The record's id.
    pub fn sourced_id(&self) -> &SourcedId
    where
        T: AsRef<SourcedId>,
    {
        match self {
            Row::Active(record) => record.as_ref(),
            Row::ToBeDeleted { sourced_id, .. } => sourced_id,
        }
    }
}

/// The row's `dateLastModified`.
pub(crate) fn row_modified<T: CsvRecord>(row: &Row<T>) -> Option<UtcTime> {
    match row {
        Row::Active(record) => record.date_last_modified(),
        Row::ToBeDeleted {
            date_last_modified, ..
        } => *date_last_modified,
    }
}

/// One file of an import: its mode and its rows with their line numbers.
#[derive(Clone, Debug)]
pub struct ImportFile<T> {
    pub(crate) mode: FileMode,
    pub(crate) rows: Vec<(u64, Row<T>)>,
}

impl<T> ImportFile<T> {
    pub fn mode(&self) -> FileMode {
        self.mode
    }

    /// The rows and the line each was on (the header is line 1).
    pub fn rows(&self) -> impl Iterator<Item = (u64, &Row<T>)> {
        self.rows.iter().map(|(line, row)| (*line, row))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A parsed import: each of the seven files the manifest lists as `bulk` or `delta`.
#[derive(Clone, Debug, Default)]
pub struct RosterImport {
    pub(crate) orgs: Option<ImportFile<Org>>,
    pub(crate) sessions: Option<ImportFile<AcademicSession>>,
    pub(crate) courses: Option<ImportFile<Course>>,
    pub(crate) classes: Option<ImportFile<Class>>,
    pub(crate) users: Option<ImportFile<User>>,
    pub(crate) enrollments: Option<ImportFile<Enrollment>>,
    pub(crate) roles: Option<ImportFile<Role>>,
}

impl RosterImport {
    pub fn orgs(&self) -> Option<&ImportFile<Org>> {
        self.orgs.as_ref()
    }
    pub fn academic_sessions(&self) -> Option<&ImportFile<AcademicSession>> {
        self.sessions.as_ref()
    }
    pub fn courses(&self) -> Option<&ImportFile<Course>> {
        self.courses.as_ref()
    }
    pub fn classes(&self) -> Option<&ImportFile<Class>> {
        self.classes.as_ref()
    }
    pub fn users(&self) -> Option<&ImportFile<User>> {
        self.users.as_ref()
    }
    pub fn enrollments(&self) -> Option<&ImportFile<Enrollment>> {
        self.enrollments.as_ref()
    }
    pub fn roles(&self) -> Option<&ImportFile<Role>> {
        self.roles.as_ref()
    }
}

/// Named files an import reads: the zip, or files already in memory.
pub trait RosterFiles {
    /// The file called `name` at the root, or `None` when there is none.
    fn open(&mut self, name: &str) -> Result<Option<Box<dyn Read + '_>>, RosterError>;
}

impl RosterFiles for BTreeMap<String, Vec<u8>> {
    fn open(&mut self, name: &str) -> Result<Option<Box<dyn Read + '_>>, RosterError> {
        Ok(self
            .get(name)
            .map(|bytes| Box::new(bytes.as_slice()) as Box<dyn Read + '_>))
    }
}

/// The files of a zip archive held in memory.
struct ZipFiles<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
}

impl RosterFiles for ZipFiles<'_> {
    fn open(&mut self, name: &str) -> Result<Option<Box<dyn Read + '_>>, RosterError> {
        match self.archive.by_name(name) {
            Ok(file) => Ok(Some(Box::new(file))),
            Err(zip::result::ZipError::FileNotFound) => Ok(None),
            Err(error) => Err(RosterError::new(
                RosterErrorKind::NotAZip,
                name,
                format!("the zip entry cannot be read: {error}"),
            )),
        }
    }
}

/// Parses an import from the bytes of a zip whose root holds `manifest.csv` and the CSV files.
pub fn parse_zip(bytes: &[u8], options: &ParseOptions) -> Result<RosterImport, RosterError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|error| {
        RosterError::new(
            RosterErrorKind::NotAZip,
            "zip",
            format!("the body is not a zip archive: {error}"),
        )
    })?;
    let nested = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|name| name.ends_with(&format!("/{MANIFEST}")))
        .map(|name| name.into_owned());
    let mut files = ZipFiles { archive };
    match parse_files(&mut files, options) {
        Err(error) if error.kind() == RosterErrorKind::MissingFile && error.file() == MANIFEST => {
            match nested {
                Some(nested) => Err(RosterError::new(
                    RosterErrorKind::MissingFile,
                    MANIFEST,
                    format!("the CSV files must be at the zip's root, not under {nested:?}"),
                )),
                None => Err(error),
            }
        }
        result => result,
    }
}

/// Parses an import from named files (`manifest.csv`, `users.csv`, …).
pub fn parse_files(
    files: &mut dyn RosterFiles,
    options: &ParseOptions,
) -> Result<RosterImport, RosterError> {
    let budget = Budget::new(options.max_uncompressed_bytes);
    let manifest = {
        let input = files.open(MANIFEST)?.ok_or_else(|| {
            RosterError::new(
                RosterErrorKind::MissingFile,
                MANIFEST,
                "the zip has no manifest.csv",
            )
        })?;
        Manifest::read(Budgeted::new(input, &budget))?
    };
    let mut reader = FileReader {
        files,
        manifest: &manifest,
        budget: &budget,
        options,
    };
    Ok(RosterImport {
        orgs: reader.read()?,
        sessions: reader.read()?,
        courses: reader.read()?,
        classes: reader.read()?,
        users: reader.read()?,
        enrollments: reader.read()?,
        roles: reader.read()?,
    })
}

struct FileReader<'a> {
    files: &'a mut dyn RosterFiles,
    manifest: &'a Manifest,
    budget: &'a Budget,
    options: &'a ParseOptions,
}

impl FileReader<'_> {
    fn read<T: CsvRecord>(&mut self) -> Result<Option<ImportFile<T>>, RosterError> {
        let kind = T::KIND;
        let Some((mode, manifest_line)) = self.manifest.mode(kind) else {
            return Ok(None);
        };
        let input = self.files.open(kind.file_name())?.ok_or_else(|| {
            RosterError::new(
                RosterErrorKind::MissingFile,
                kind.file_name(),
                format!(
                    "manifest.csv line {manifest_line} lists {} as {}, but the zip has no such file",
                    kind.file_name(),
                    if mode == FileMode::Bulk { "bulk" } else { "delta" }
                ),
            )
        })?;
        let csv = CsvFile::open(kind.file_name(), Budgeted::new(input, self.budget))?;
        read_rows(csv, mode, self.options).map(Some)
    }
}

fn read_rows<T: CsvRecord, R: Read>(
    mut csv: CsvFile<R>,
    mode: FileMode,
    options: &ParseOptions,
) -> Result<ImportFile<T>, RosterError> {
    // OneRoster 1.2 CSV: a delta file needs both; in a bulk file they may be blank.
    let need = match mode {
        FileMode::Bulk => Need::Optional,
        FileMode::Delta => Need::Required,
    };
    let id = csv.column("sourcedId", Need::Required)?;
    let status = csv.column("status", need)?;
    let modified = csv.column("dateLastModified", need)?;
    let columns = T::columns(&csv)?;
    let mut rows: Vec<(u64, Row<T>)> = Vec::new();
    let mut seen: HashTable<usize> = HashTable::new();
    while let Some(line) = csv.next_line()? {
        if mode == FileMode::Delta {
            line.required(status)?;
            line.required(modified)?;
        }
        let row = match line.value(status).map(Status::parse) {
            None | Some(Some(Status::Active)) => {
                Row::Active(T::parse(&line, id, modified, &columns, options)?)
            }
            Some(Some(Status::ToBeDeleted)) => Row::ToBeDeleted {
                sourced_id: line.sourced_id(id)?,
                date_last_modified: line.instant(modified)?,
            },
            Some(None) => {
                return Err(line.error(
                    RosterErrorKind::BadValue,
                    status,
                    format!(
                        "{:?} is not one of {}",
                        line.value(status).unwrap_or_default(),
                        Status::VALUES.join(", ")
                    ),
                ));
            }
        };
        let key = row.sourced_id().as_str();
        let hash = xxh3_64(key.as_bytes());
        if let Some(&earlier) = seen.find(hash, |&i| rows[i].1.sourced_id().as_str() == key) {
            return Err(line.error(
                RosterErrorKind::DuplicateSourcedId,
                id,
                format!("sourcedId {key:?} is already on line {}", rows[earlier].0),
            ));
        }
        seen.insert_unique(hash, rows.len(), |&i| {
            xxh3_64(rows[i].1.sourced_id().as_str().as_bytes())
        });
        rows.push((line.number(), row));
    }
    Ok(ImportFile { mode, rows })
}
