//! Reading a learner's export bundle for an import into another board (issue 14 §2).
//!
//! The bundle is the zip [`super::write_export`] writes. [`verify_bundle`] checks it whole
//! before anything is imported: it is a zip, `manifest.json` is there and of this format, every
//! other file is listed and every listed file is there, each file's SHA-256 and size are the
//! manifest's, the counts are the manifest's, every statement is valid xAPI and names one of the
//! manifest's identities (as actor or object, or refers to a statement of the bundle: the
//! export's own selection, the xAPI `agent` filter), and every document belongs to one of them.
//! Any failure is a [`BundleError`] naming the rule and the file.
//!
//! [`StatementPreparer`] turns a bundle's statement into the one the receiving LRS stores, as a
//! POST would: the receiving LRS's `authority` (xAPI 1.0.3 Data §2.4.9: it SHOULD overwrite the
//! authority, keeping a submitted one "only where a strong trust relationship has been
//! established"), no `stored` (§2.4.8: the LRS MUST set it; the receiving one stamps its own),
//! the same `id`, and a context extension naming where it came from: the source tenant and the
//! source's `stored` and `authority`, so nothing the source said is lost. The extension's value
//! is a function of the bundle's statement alone, so a re-import makes the same body (an
//! equivalent statement: nothing new).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{Read, Seek};

use lrs_roster::{ActorRef, Calendar};
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys, Key16};
use lrs_schema::{
    FactConfig, Iri, Statement, StudyFact, StudyRow, XapiVersion, authority_terms, canonical_ifi,
    check_json_depth, finalize_statement, parse_timestamp,
};
use lrs_store::Micros;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zip::ZipArchive;

use crate::lifecycle::{EXPORT_FORMAT, EXPORT_FORMAT_VERSION};

/// The rule every refusal of a bundle cites.
pub const BUNDLE_RULE: &str = "LRS learner import: the body is the zip GET /api/v1/learners/{userSourcedId}/export answers, unchanged (docs/lifecycle.md §2)";

/// The largest JSON file of a bundle read into memory (a statement file holds 1,000 statements).
pub const MAX_JSON_FILE_BYTES: u64 = 128 * 1024 * 1024;
/// The largest document or attachment read into memory.
pub const MAX_DATA_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a bundle is refused (all 400 over HTTP, but `Io`).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the body is not a zip archive: {0}")]
    NotAZip(String),
    #[error("manifest.json: {0}")]
    Manifest(String),
    /// A file is not as the manifest says (hash, size, presence, content).
    #[error("{path}: {message}")]
    File { path: String, message: String },
    /// A count of the manifest is not what the bundle holds.
    #[error("manifest.json: counts.{what} is {listed}, the bundle holds {found}")]
    Count {
        what: &'static str,
        listed: u64,
        found: u64,
    },
    /// Reading the spooled body failed (a server fault, not the client's).
    #[error("reading the bundle: {0}")]
    Io(String),
}

/// [`BundleError`]'s kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleErrorKind {
    NotAZip,
    Manifest,
    File,
    Count,
    Io,
}

impl BundleError {
    pub fn kind(&self) -> BundleErrorKind {
        match self {
            BundleError::NotAZip(_) => BundleErrorKind::NotAZip,
            BundleError::Manifest(_) => BundleErrorKind::Manifest,
            BundleError::File { .. } => BundleErrorKind::File,
            BundleError::Count { .. } => BundleErrorKind::Count,
            BundleError::Io(_) => BundleErrorKind::Io,
        }
    }

    /// The bundle file the error is about (`manifest.json` for the manifest and the counts).
    pub fn file(&self) -> &str {
        match self {
            BundleError::File { path, .. } => path,
            BundleError::NotAZip(_) | BundleError::Io(_) => "",
            BundleError::Manifest(_) | BundleError::Count { .. } => "manifest.json",
        }
    }

    pub fn file_error(path: &str, message: impl Into<String>) -> BundleError {
        BundleError::File {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

impl From<std::io::Error> for BundleError {
    fn from(e: std::io::Error) -> BundleError {
        BundleError::Io(e.to_string())
    }
}

/// `manifest.json` as the import reads it (the fields it checks; others are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct BundleManifest {
    pub format: String,
    pub format_version: u32,
    pub source_tenant: String,
    pub user_sourced_id: String,
    pub exported_at: String,
    pub identities: Vec<ManifestIdentity>,
    pub counts: ManifestCounts,
    #[serde(default)]
    pub attachments: Vec<ManifestAttachment>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestIdentity {
    /// The canonical identifier (`account::<homePage>::<name>`, `mbox::mailto:…`).
    pub identifier: String,
    pub rule: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestCounts {
    pub statements: u64,
    pub voiding_statements: u64,
    pub state_documents: u64,
    pub agent_profile_documents: u64,
    pub attachments: u64,
    pub statement_files: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestAttachment {
    pub file: String,
    pub sha2: String,
    #[serde(rename = "contentType")]
    pub content_type: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// One State document of the bundle, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateEntry {
    pub file: String,
    pub activity_id: String,
    /// The agent's canonical identifier (one of the manifest's identities).
    pub agent: String,
    pub registration: Option<Uuid>,
    pub state_id: String,
    pub content_type: String,
    pub updated: Micros,
}

/// One Agent Profile document of the bundle, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEntry {
    pub file: String,
    pub agent: String,
    pub profile_id: String,
    pub content_type: String,
    pub updated: Micros,
}

/// A bundle that passed [`verify_bundle`]: what the import reads back from it.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub manifest: BundleManifest,
    /// The identities' canonical identifiers and agent keys.
    pub identities: Vec<(String, Key16)>,
    /// `statements/*.json`, in order.
    pub statement_files: Vec<String>,
    pub states: Vec<StateEntry>,
    pub profiles: Vec<ProfileEntry>,
    pub attachments: Vec<ManifestAttachment>,
    pub statements: u64,
}

/// What the receiving LRS makes of a bundle's statements (see the module documentation).
#[derive(Debug, Clone)]
pub struct StatementPreparer {
    /// The receiving credential's authority (xAPI Agent JSON) and its canonical identifier(s).
    pub authority: Value,
    pub authority_term: String,
    pub authority_related: Vec<String>,
    /// The context extension IRI that marks an imported statement.
    pub marker: String,
    pub source_tenant: String,
    /// How study-log facts are made (`None`: the study log is off).
    pub facts: Option<(FactConfig, Calendar)>,
}

/// A bundle's statement as the receiving LRS stores it.
#[derive(Debug, Clone)]
pub struct ImportedStatement {
    pub statement: EnvelopeStatement,
    /// The target when the object is a StatementRef.
    pub refers_to: Option<Uuid>,
    pub voiding: bool,
}

impl StatementPreparer {
    /// The statements of one `statements/*.json` file (`bytes`), prepared; `file` names it in
    /// errors.
    pub fn prepare_file(
        &self,
        file: &str,
        bytes: &[u8],
    ) -> Result<Vec<ImportedStatement>, BundleError> {
        let bad = |message: String| BundleError::file_error(file, message);
        check_json_depth(bytes, "$").map_err(|e| bad(e.to_string()))?;
        let values: Vec<Value> =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not a JSON array: {e}")))?;
        values
            .into_iter()
            .enumerate()
            .map(|(i, value)| self.prepare(value, &format!("$[{i}]")).map_err(bad))
            .collect()
    }

    /// One statement: validated as the version it carries, its `stored` and `authority` moved
    /// into the marker, the receiving authority set.
    pub fn prepare(&self, mut value: Value, path: &str) -> Result<ImportedStatement, String> {
        // The LRS that exported it set `version`; 1.0.x statements are validated as 1.0.3.
        let version = match value.get("version").and_then(Value::as_str) {
            Some(v) if v.starts_with("2.") => XapiVersion::V2_0_0,
            _ => XapiVersion::V1_0_3,
        };
        let statement = Statement::from_json(&value, version, path).map_err(|e| e.to_string())?;
        let id = statement
            .id()
            .ok_or_else(|| format!("{path}: a statement of an export carries its id"))?;
        let source_stored = value.get("stored").cloned().unwrap_or(Value::Null);
        let source_authority = value.get("authority").cloned().unwrap_or(Value::Null);
        // The tool of the study-log fact is the source's writer, not the import's credential.
        let tool = match &source_authority {
            Value::Null => self.authority_term.clone(),
            authority => canonical_ifi(authority, version, &format!("{path}.authority"))
                .unwrap_or_else(|_| self.authority_term.clone()),
        };
        finalize_statement(&mut value, id, &self.authority, version);
        self.mark(&mut value, source_stored.clone(), source_authority);
        let mut terms = statement.index_terms();
        terms
            .related_agents
            .extend(self.authority_related.iter().cloned());
        terms.authority = self.authority_term.clone();
        let timestamp = statement
            .body()
            .timestamp()
            .map(|t| t.micros())
            .or_else(|| source_stored.as_str().and_then(|s| parse_timestamp(s).ok()))
            .unwrap_or(0);
        let study = self.facts.as_ref().and_then(|(config, calendar)| {
            StudyFact::of_statement(&statement, timestamp, &tool, config).map(|(fact, _)| {
                StudyRow {
                    day: calendar.day_of(timestamp).days_since_epoch(),
                    fact,
                }
            })
        });
        let refers_to = terms.refers_to;
        let voiding = terms.voids.is_some();
        let body = serde_json::to_vec(&value).expect("a JSON value always serializes");
        Ok(ImportedStatement {
            statement: EnvelopeStatement {
                id,
                keys: IndexKeys::from_terms(&terms),
                body,
                study,
            },
            refers_to,
            voiding,
        })
    }

    /// Adds the marker extension (a marker already there, from an earlier transfer, is kept
    /// inside the new one as `previous`).
    fn mark(&self, value: &mut Value, stored: Value, authority: Value) {
        let Some(map) = value.as_object_mut() else {
            return;
        };
        let context = map
            .entry("context")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(context) = context.as_object_mut() else {
            return;
        };
        let extensions = context
            .entry("extensions")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(extensions) = extensions.as_object_mut() else {
            return;
        };
        let mut marker = json!({
            "sourceTenant": self.source_tenant,
            "stored": stored,
            "authority": authority,
        });
        if let Some(previous) = extensions.remove(&self.marker) {
            marker["previous"] = previous;
        }
        extensions.insert(self.marker.clone(), marker);
    }

    /// `body` without the marker extension (and without a context or extensions left empty by
    /// its removal): the statement as it would be had it reached this LRS directly.
    pub fn unmarked(&self, body: &[u8]) -> Option<Value> {
        let mut value: Value = serde_json::from_slice(body).ok()?;
        let context = value.get_mut("context")?.as_object_mut()?;
        let extensions = context.get_mut("extensions")?.as_object_mut()?;
        let previous = extensions.remove(&self.marker)?;
        if let Some(previous) = previous.get("previous") {
            extensions.insert(self.marker.clone(), previous.clone());
        }
        if extensions.is_empty() {
            context.remove("extensions");
        }
        if context.is_empty() {
            value.as_object_mut()?.remove("context");
        }
        Some(value)
    }
}

/// What [`verify_bundle`] calls with each statement file's name and statements.
pub type EachFile<'a> = dyn FnMut(&str, &[ImportedStatement]) -> Result<(), BundleError> + 'a;

/// Checks a bundle whole (see the module documentation). `prepare` turns each statement file
/// into statements (the receiving LRS's form; their validity is part of the check), and
/// `each_file` sees them (the import checks them against what is stored).
pub fn verify_bundle<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    preparer: &StatementPreparer,
    each_file: &mut EachFile<'_>,
) -> Result<VerifiedBundle, BundleError> {
    let manifest = read_manifest(archive)?;
    let identities = identities(&manifest)?;
    let keys: HashSet<Key16> = identities.iter().map(|(_, k)| *k).collect();
    let listed: BTreeMap<&str, &ManifestFile> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    if listed.len() != manifest.files.len() {
        return Err(BundleError::Manifest("a file is listed twice".into()));
    }
    let mut seen = BTreeSet::new();
    let mut statement_files = Vec::new();
    let mut checks = StatementChecks::default();
    let mut state_index = None;
    let mut profile_index = None;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| BundleError::NotAZip(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .map_err(|_| BundleError::NotAZip(format!("entry {index} has no UTF-8 name")))?;
        if name == "manifest.json" {
            continue;
        }
        let Some(file) = listed.get(name.as_str()) else {
            return Err(BundleError::file_error(
                &name,
                "is in the zip but not listed in manifest.json's files",
            ));
        };
        if !seen.insert(name.clone()) {
            return Err(BundleError::file_error(&name, "is in the zip twice"));
        }
        let keep = name.ends_with(".json");
        let bytes = read_checked(&mut entry, file, keep)?;
        if name.starts_with("statements/") {
            let statements = preparer.prepare_file(&name, &bytes)?;
            checks.check(&name, &statements, &keys)?;
            each_file(&name, &statements)?;
            statement_files.push(name);
        } else if name == "documents/state/index.json" {
            state_index = Some(bytes);
        } else if name == "documents/agent-profile/index.json" {
            profile_index = Some(bytes);
        }
    }
    if let Some(missing) = listed.keys().find(|path| !seen.contains(**path)) {
        return Err(BundleError::file_error(
            missing,
            "is listed in manifest.json's files but not in the zip",
        ));
    }
    checks.finish()?;
    let agents: HashSet<&str> = identities.iter().map(|(c, _)| c.as_str()).collect();
    let states = match state_index {
        Some(bytes) => state_entries(&bytes, &agents, &seen)?,
        None => Vec::new(),
    };
    let profiles = match profile_index {
        Some(bytes) => profile_entries(&bytes, &agents, &seen)?,
        None => Vec::new(),
    };
    for attachment in &manifest.attachments {
        if attachment.file != format!("attachments/{}", attachment.sha2)
            || !seen.contains(&attachment.file)
        {
            return Err(BundleError::file_error(
                &attachment.file,
                "a listed attachment must be the file attachments/<sha2>, in the zip",
            ));
        }
    }
    let counts = &manifest.counts;
    for (what, listed, found) in [
        ("statements", counts.statements, checks.statements),
        (
            "voiding_statements",
            counts.voiding_statements,
            checks.voiding,
        ),
        (
            "statement_files",
            counts.statement_files,
            statement_files.len() as u64,
        ),
        (
            "state_documents",
            counts.state_documents,
            states.len() as u64,
        ),
        (
            "agent_profile_documents",
            counts.agent_profile_documents,
            profiles.len() as u64,
        ),
        (
            "attachments",
            counts.attachments,
            manifest.attachments.len() as u64,
        ),
    ] {
        if listed != found {
            return Err(BundleError::Count {
                what,
                listed,
                found,
            });
        }
    }
    let attachment_files = seen
        .iter()
        .filter(|p| p.starts_with("attachments/"))
        .count();
    if attachment_files != manifest.attachments.len() {
        return Err(BundleError::Count {
            what: "attachments",
            listed: manifest.attachments.len() as u64,
            found: attachment_files as u64,
        });
    }
    Ok(VerifiedBundle {
        attachments: manifest.attachments.clone(),
        statements: checks.statements,
        manifest,
        identities,
        statement_files,
        states,
        profiles,
    })
}

/// `manifest.json`, parsed and of this format.
fn read_manifest<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
) -> Result<BundleManifest, BundleError> {
    let mut entry = match archive.by_name("manifest.json") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(BundleError::Manifest(
                "missing: the bundle has no manifest.json".into(),
            ));
        }
        Err(e) => return Err(BundleError::NotAZip(e.to_string())),
    };
    let mut bytes = Vec::new();
    (&mut entry)
        .take(MAX_JSON_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::Manifest(format!("unreadable: {e}")))?;
    if bytes.len() as u64 > MAX_JSON_FILE_BYTES {
        return Err(BundleError::Manifest("larger than 128 MiB".into()));
    }
    check_json_depth(&bytes, "$").map_err(|e| BundleError::Manifest(e.to_string()))?;
    let manifest: BundleManifest = serde_json::from_slice(&bytes)
        .map_err(|e| BundleError::Manifest(format!("not a learner export manifest: {e}")))?;
    if manifest.format != EXPORT_FORMAT || manifest.format_version != EXPORT_FORMAT_VERSION {
        return Err(BundleError::Manifest(format!(
            "format {:?} version {} is not {EXPORT_FORMAT:?} version {EXPORT_FORMAT_VERSION}",
            manifest.format, manifest.format_version
        )));
    }
    if manifest.source_tenant.is_empty() {
        return Err(BundleError::Manifest("source_tenant is empty".into()));
    }
    Ok(manifest)
}

/// The manifest's identities, each a canonical identifier the identity rules know.
fn identities(manifest: &BundleManifest) -> Result<Vec<(String, Key16)>, BundleError> {
    if manifest.identities.is_empty() {
        return Err(BundleError::Manifest(
            "identities is empty: the bundle names no identity of the learner".into(),
        ));
    }
    manifest
        .identities
        .iter()
        .map(|identity| {
            ActorRef::from_canonical(&identity.identifier)
                .map(|_| (identity.identifier.clone(), Key16::of(&identity.identifier)))
                .ok_or_else(|| {
                    BundleError::Manifest(format!(
                        "identity {:?} is not a canonical agent identifier",
                        identity.identifier
                    ))
                })
        })
        .collect()
}

/// Reads a file whole, hashing it; refuses it unless its size and SHA-256 are the manifest's.
/// Returns its bytes when `keep` (JSON files, bounded), else nothing.
fn read_checked(
    entry: &mut impl Read,
    file: &ManifestFile,
    keep: bool,
) -> Result<Vec<u8>, BundleError> {
    let (limit, what) = if keep {
        (MAX_JSON_FILE_BYTES, "128 MiB, the largest JSON file")
    } else {
        (
            MAX_DATA_FILE_BYTES,
            "256 MiB, the largest document or attachment",
        )
    };
    if file.bytes > limit {
        return Err(BundleError::file_error(
            &file.path,
            format!("larger than {what} an import reads"),
        ));
    }
    let mut hash = Sha256::new();
    let mut kept = Vec::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    // Never more than the manifest says (plus one byte to notice more): a zip bomb stops here.
    let mut limited = entry.take(file.bytes + 1);
    loop {
        let n = limited
            .read(&mut buffer)
            .map_err(|e| BundleError::file_error(&file.path, format!("unreadable: {e}")))?;
        if n == 0 {
            break;
        }
        hash.update(&buffer[..n]);
        size += n as u64;
        if keep {
            kept.extend_from_slice(&buffer[..n]);
        }
    }
    if size != file.bytes {
        return Err(BundleError::file_error(
            &file.path,
            format!(
                "holds {}{size} bytes, manifest.json says {}",
                if size > file.bytes { "more than " } else { "" },
                file.bytes
            ),
        ));
    }
    let sha256 = hex::encode(hash.finalize());
    if !sha256.eq_ignore_ascii_case(&file.sha256) {
        return Err(BundleError::file_error(
            &file.path,
            format!(
                "SHA-256 mismatch: the file's is {sha256}, manifest.json says {}",
                file.sha256
            ),
        ));
    }
    Ok(kept)
}

/// What is checked across statement files: ids once each, every statement the learner's.
#[derive(Default)]
struct StatementChecks {
    ids: HashSet<Uuid>,
    /// Statements naming no identity but referring to another: (file, id, target), checked
    /// once every id is known.
    referring: Vec<(String, Uuid, Uuid)>,
    statements: u64,
    voiding: u64,
}

impl StatementChecks {
    fn check(
        &mut self,
        file: &str,
        statements: &[ImportedStatement],
        keys: &HashSet<Key16>,
    ) -> Result<(), BundleError> {
        for imported in statements {
            let statement = &imported.statement;
            if !self.ids.insert(statement.id) {
                return Err(BundleError::file_error(
                    file,
                    format!(
                        "statement {} appears more than once in the bundle",
                        statement.id
                    ),
                ));
            }
            self.statements += 1;
            if imported.voiding {
                self.voiding += 1;
            }
            let theirs = statement
                .keys
                .direct_agents
                .iter()
                .any(|k| keys.contains(k));
            if !theirs {
                match imported.refers_to {
                    Some(target) => {
                        self.referring.push((file.to_owned(), statement.id, target));
                    }
                    None => return Err(foreign(file, statement.id)),
                }
            }
        }
        Ok(())
    }

    /// A statement that names none of the identities must refer to one of the bundle's.
    fn finish(&self) -> Result<(), BundleError> {
        match self
            .referring
            .iter()
            .find(|(_, _, target)| !self.ids.contains(target))
        {
            Some((file, id, _)) => Err(foreign(file, *id)),
            None => Ok(()),
        }
    }
}

fn foreign(file: &str, id: Uuid) -> BundleError {
    BundleError::file_error(
        file,
        format!(
            "statement {id} is not the learner's: neither its actor nor its object is one of manifest.json's identities, and it refers to no statement of the bundle"
        ),
    )
}

/// A document index's entries: the fields as the export writes them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    file: String,
    agent_identifier: String,
    content_type: String,
    updated: String,
    #[serde(default)]
    activity_id: Option<String>,
    #[serde(default)]
    registration: Option<String>,
    #[serde(default)]
    state_id: Option<String>,
    #[serde(default)]
    profile_id: Option<String>,
}

fn index_entries(
    path: &str,
    bytes: &[u8],
    agents: &HashSet<&str>,
    seen: &BTreeSet<String>,
) -> Result<Vec<(IndexEntry, Micros)>, BundleError> {
    let bad = |message: String| BundleError::file_error(path, message);
    check_json_depth(bytes, "$").map_err(|e| bad(e.to_string()))?;
    let entries: Vec<IndexEntry> =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not a document index: {e}")))?;
    let dir = path.trim_end_matches("index.json");
    entries
        .into_iter()
        .map(|entry| {
            if !entry.file.starts_with(dir) || !seen.contains(&entry.file) {
                return Err(bad(format!(
                    "document file {:?} is not a file of {dir} in the zip",
                    entry.file
                )));
            }
            if !agents.contains(entry.agent_identifier.as_str()) {
                return Err(bad(format!(
                    "document {:?} is not the learner's: agent {:?} is not one of manifest.json's identities",
                    entry.file, entry.agent_identifier
                )));
            }
            let updated = parse_timestamp(&entry.updated)
                .map_err(|e| bad(format!("document {:?}: updated: {e}", entry.file)))?;
            Ok((entry, updated))
        })
        .collect()
}

fn state_entries(
    bytes: &[u8],
    agents: &HashSet<&str>,
    seen: &BTreeSet<String>,
) -> Result<Vec<StateEntry>, BundleError> {
    let path = "documents/state/index.json";
    let bad = |message: String| BundleError::file_error(path, message);
    index_entries(path, bytes, agents, seen)?
        .into_iter()
        .map(|(entry, updated)| {
            let activity_id = entry
                .activity_id
                .filter(|a| Iri::parse(a).is_ok())
                .ok_or_else(|| bad(format!("{:?}: activityId is not an IRI", entry.file)))?;
            let state_id = entry
                .state_id
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad(format!("{:?}: no stateId", entry.file)))?;
            let registration =
                match entry.registration {
                    None => None,
                    Some(r) => Some(Uuid::parse_str(&r).map_err(|_| {
                        bad(format!("{:?}: registration is not a UUID", entry.file))
                    })?),
                };
            Ok(StateEntry {
                file: entry.file,
                activity_id,
                agent: entry.agent_identifier,
                registration,
                state_id,
                content_type: entry.content_type,
                updated,
            })
        })
        .collect()
}

fn profile_entries(
    bytes: &[u8],
    agents: &HashSet<&str>,
    seen: &BTreeSet<String>,
) -> Result<Vec<ProfileEntry>, BundleError> {
    let path = "documents/agent-profile/index.json";
    index_entries(path, bytes, agents, seen)?
        .into_iter()
        .map(|(entry, updated)| {
            let profile_id = entry.profile_id.filter(|p| !p.is_empty()).ok_or_else(|| {
                BundleError::file_error(path, format!("{:?}: no profileId", entry.file))
            })?;
            Ok(ProfileEntry {
                file: entry.file,
                agent: entry.agent_identifier,
                profile_id,
                content_type: entry.content_type,
                updated,
            })
        })
        .collect()
}

/// Reads one file of a verified bundle (a document or attachment, or a statement file again).
pub fn read_file<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    path: &str,
) -> Result<Vec<u8>, BundleError> {
    let entry = archive
        .by_name(path)
        .map_err(|e| BundleError::file_error(path, format!("unreadable: {e}")))?;
    let mut bytes = Vec::new();
    entry
        .take(MAX_DATA_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::file_error(path, format!("unreadable: {e}")))?;
    if bytes.len() as u64 > MAX_DATA_FILE_BYTES {
        return Err(BundleError::file_error(path, "larger than 256 MiB"));
    }
    Ok(bytes)
}

/// The authority terms of the receiving credential, for [`StatementPreparer`].
pub fn authority_of(authority: &Value) -> Result<(String, Vec<String>), String> {
    let term =
        canonical_ifi(authority, XapiVersion::V2_0_0, "$.authority").map_err(|e| e.to_string())?;
    let related = authority_terms(authority, XapiVersion::V2_0_0).map_err(|e| e.to_string())?;
    Ok((term, related))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &str = "https://lrs.example.jp/extensions/transferred-from";

    fn preparer() -> StatementPreparer {
        let authority = json!({"objectType": "Agent",
            "account": {"homePage": "https://lrs.example.jp", "name": "board-b-import"}});
        let (authority_term, authority_related) = authority_of(&authority).unwrap();
        StatementPreparer {
            authority,
            authority_term,
            authority_related,
            marker: MARKER.into(),
            source_tenant: "board-a".into(),
            facts: None,
        }
    }

    fn exported() -> Value {
        json!({
            "id": "00000000-0000-4000-8000-000000000001",
            "actor": {"account": {"homePage": "https://eportal.example.jp", "name": "s8"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "https://drill.example.jp/q/1"},
            "timestamp": "2026-10-14T02:00:01.000Z",
            "stored": "2026-10-14T02:00:05.123456Z",
            "authority": {"objectType": "Agent",
                "account": {"homePage": "https://lrs-a.example.jp", "name": "drill"}},
            "version": "2.0.0",
        })
    }

    #[test]
    fn an_imported_statement_keeps_its_id_and_carries_the_sources_stored_and_authority_in_the_marker()
     {
        let imported = preparer().prepare(exported(), "$[0]").unwrap();
        let body: Value = serde_json::from_slice(&imported.statement.body).unwrap();
        assert_eq!(imported.statement.id.to_string(), exported()["id"]);
        assert!(
            body.get("stored").is_none(),
            "the receiving LRS stamps its own"
        );
        assert_eq!(body["authority"], preparer().authority);
        let marker = &body["context"]["extensions"][MARKER];
        assert_eq!(marker["sourceTenant"], "board-a");
        assert_eq!(marker["stored"], exported()["stored"]);
        assert_eq!(marker["authority"], exported()["authority"]);
        // The same statement prepared again is the same body: a re-import is equivalent.
        let again = preparer().prepare(exported(), "$[0]").unwrap();
        assert_eq!(again.statement.body, imported.statement.body);
        // Without the marker it is the statement as sent (context added by the marker gone).
        let unmarked = preparer().unmarked(&imported.statement.body).unwrap();
        assert!(unmarked.get("context").is_none(), "{unmarked}");
        assert!(lrs_schema::statements_equivalent(&unmarked, &exported()));
    }

    #[test]
    fn a_marker_of_an_earlier_transfer_is_kept_inside_the_new_one() {
        let mut statement = exported();
        statement["context"] = json!({"extensions": {MARKER: {"sourceTenant": "board-0"}}});
        let imported = preparer().prepare(statement, "$[0]").unwrap();
        let body: Value = serde_json::from_slice(&imported.statement.body).unwrap();
        let marker = &body["context"]["extensions"][MARKER];
        assert_eq!(marker["sourceTenant"], "board-a");
        assert_eq!(marker["previous"]["sourceTenant"], "board-0");
    }

    #[test]
    fn a_statement_without_an_id_is_refused() {
        let mut statement = exported();
        statement.as_object_mut().unwrap().remove("id");
        assert!(
            preparer()
                .prepare(statement, "$[3]")
                .unwrap_err()
                .contains("$[3]")
        );
    }
}
