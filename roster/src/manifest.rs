//! `manifest.csv`: `propertyName,value` rows; `file.<name>` says whether a file is `bulk`,
//! `delta` or `absent`.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::csv_file::{CsvFile, Need};
use crate::error::{RosterError, RosterErrorKind};
use crate::records::RecordKind;

pub(crate) const MANIFEST: &str = "manifest.csv";

/// How an import treats a file (OneRoster 1.2 CSV, the manifest's `file.<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    /// The file is the whole set: its records replace that kind's, and the ones it leaves out
    /// are removed as of the import's day.
    Bulk,
    /// The file lists changes: `active` rows are added or updated, `tobedeleted` rows removed,
    /// each only if its `dateLastModified` is not older than what the roster holds.
    Delta,
}

/// The mode of each of the seven files, with the manifest line that set it.
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    modes: [Option<(FileMode, u64)>; 7],
}

impl Manifest {
    pub(crate) fn mode(&self, kind: RecordKind) -> Option<(FileMode, u64)> {
        self.modes[kind.index()]
    }

    pub(crate) fn read<R: Read>(input: R) -> Result<Manifest, RosterError> {
        let mut csv = CsvFile::open(MANIFEST, input)?;
        let property = csv.column("propertyName", Need::Required)?;
        let value = csv.column("value", Need::Required)?;
        let mut manifest = Manifest::default();
        while let Some(line) = csv.next_line()? {
            let Some(name) = line.value(property).and_then(|p| p.strip_prefix("file.")) else {
                continue;
            };
            let Some(kind) = RecordKind::ALL.into_iter().find(|k| k.file_stem() == name) else {
                continue;
            };
            let mode = match line.value(value) {
                Some(v) if v.eq_ignore_ascii_case("bulk") => Some(FileMode::Bulk),
                Some(v) if v.eq_ignore_ascii_case("delta") => Some(FileMode::Delta),
                Some(v) if v.eq_ignore_ascii_case("absent") => None,
                Some(v) => {
                    return Err(line.error(
                        RosterErrorKind::BadValue,
                        value,
                        format!("file.{name} is {v:?}, not bulk, delta or absent"),
                    ));
                }
                None => {
                    return Err(line.error(
                        RosterErrorKind::MissingValue,
                        value,
                        format!("file.{name} needs bulk, delta or absent"),
                    ));
                }
            };
            manifest.modes[kind.index()] = mode.map(|mode| (mode, line.number()));
        }
        Ok(manifest)
    }
}
