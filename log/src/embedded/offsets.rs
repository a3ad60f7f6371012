//! Committed consumer-group positions, one small file per group and partition:
//! `<dir>/<partition>/offsets/<group>` holding the next offset to process in decimal.
//!
//! Written atomically: temp file, fsync, rename over the old one, fsync the directory.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::segment::sync_dir;
use crate::{LogError, LogErrorKind, Offset};

const TEMP_SUFFIX: &str = ".tmp";

pub(crate) fn offsets_dir(partition_dir: &Path) -> PathBuf {
    partition_dir.join("offsets")
}

/// Group names become file names: keep them to a safe alphabet.
pub(crate) fn validate_group(group: &str) -> Result<(), LogError> {
    let valid = !group.is_empty()
        && group.len() <= 200
        && !group.starts_with('.')
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(LogError::new(
            LogErrorKind::Config,
            format!(
                "consumer group {group:?} must be 1-200 characters of [A-Za-z0-9._-], not starting with '.'"
            ),
        ))
    }
}

/// Reads every group's committed offset of one partition.
pub(crate) fn load(partition_dir: &Path) -> Result<HashMap<String, Offset>, LogError> {
    let dir = offsets_dir(partition_dir);
    let entries = fs::read_dir(&dir)
        .map_err(|err| LogError::io(&format!("listing {}", dir.display()), err))?;
    let mut offsets = HashMap::new();
    for entry in entries {
        let entry = entry.map_err(|err| LogError::io("listing committed offsets", err))?;
        let Ok(group) = entry.file_name().into_string() else {
            continue;
        };
        if group.ends_with(TEMP_SUFFIX) || validate_group(&group).is_err() {
            continue;
        }
        let text = fs::read_to_string(entry.path())
            .map_err(|err| LogError::io("reading a committed offset", err))?;
        let offset = text.trim().parse().map_err(|_| {
            LogError::new(
                LogErrorKind::Corrupt,
                format!("{}: not an offset: {text:?}", entry.path().display()),
            )
        })?;
        offsets.insert(group, offset);
    }
    Ok(offsets)
}

/// Durably replaces the committed offset of `group`.
pub(crate) fn store(partition_dir: &Path, group: &str, offset: Offset) -> io::Result<()> {
    let dir = offsets_dir(partition_dir);
    let temp = dir.join(format!("{group}{TEMP_SUFFIX}"));
    let mut file = fs::File::create(&temp)?;
    writeln!(file, "{offset}")?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, dir.join(group))?;
    sync_dir(&dir)
}
