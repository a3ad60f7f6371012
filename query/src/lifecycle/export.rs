//! A learner's export (issue 14 §1): one zip, written front to back to any [`Write`] (the zip's
//! entries carry data descriptors, so the sink need not seek), with `manifest.json` last, when
//! every file's SHA-256 is known.
//!
//! Layout (docs/lifecycle.md):
//!
//! | path | what |
//! |---|---|
//! | `statements/000001.json`, … | JSON arrays of at most [`STATEMENTS_PER_FILE`] statements, in `stored` order, each as stored (`authority` kept) with `stored` spliced in, as a statement GET answers it |
//! | `documents/state/000001`, … and `documents/state/index.json` | each State document's bytes; the index gives its file, activityId, agent, registration, stateId, contentType, etag, updated |
//! | `documents/agent-profile/000001`, … and `documents/agent-profile/index.json` | the same for Agent Profile documents (agent, profileId, …) |
//! | `attachments/<sha2>` | each attachment the statements reference, once |
//! | `manifest.json` | format, source tenant, learner, identities, time range, counts, every other file's SHA-256 and size |
//!
//! Memory is bounded by two pages of statements ([`STATEMENT_PAGE`](super::STATEMENT_PAGE): the
//! one being written and the one read ahead), one
//! document or attachment, the set of attachment hashes met and the list of files; never by the
//! length of the history.

use std::collections::BTreeSet;
use std::io::Write;

use lrs_schema::format_timestamp;
use lrs_store::{DocumentKind, Micros, StoredStatement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::lifecycle::LifecycleError;
use crate::lifecycle::learner::{LearnerData, LearnerSources, LearnerStatements, rule_name};
use crate::render::{referenced_attachments, with_stored};

/// What `manifest.json`'s `format` says.
pub const EXPORT_FORMAT: &str = "lrs-learner-export";
/// Its `format_version`: changed whenever the layout changes.
pub const EXPORT_FORMAT_VERSION: u32 = 1;
/// Statements per `statements/NNNNNN.json` file.
pub const STATEMENTS_PER_FILE: usize = 1_000;
/// Attachments read per store call.
const ATTACHMENTS_PER_READ: usize = 8;

/// What to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportRequest {
    /// Statements stored at or after this instant (µs).
    pub since: Option<Micros>,
    /// Statements stored before this instant (µs).
    pub until: Option<Micros>,
    /// When the export was made (µs), written in the manifest.
    pub exported_at: Micros,
}

/// How many of each kind the export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportCounts {
    pub statements: u64,
    /// Statements a voiding statement targets (included: every stored version is).
    pub voided_statements: u64,
    pub voiding_statements: u64,
    pub state_documents: u64,
    pub agent_profile_documents: u64,
    pub attachments: u64,
    /// Attachments referenced by a statement whose data the LRS does not hold (a statement
    /// may reference data sent elsewhere, by `fileUrl`).
    pub attachments_not_held: u64,
    pub first_stored: Option<Micros>,
    pub last_stored: Option<Micros>,
}

/// One file of the zip, as the manifest lists it.
struct FileEntry {
    path: String,
    sha256: String,
    bytes: u64,
}

/// The zip being written, hashing each file's bytes as they go in.
struct Archive<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    files: Vec<FileEntry>,
    open: Option<(String, Sha256, u64)>,
}

impl<W: Write> Archive<W> {
    fn new(sink: W) -> Archive<W> {
        Archive {
            zip: ZipWriter::new_stream(sink),
            files: Vec::new(),
            open: None,
        }
    }

    /// Starts a file: JSON deflated (fast level: the export is bound by its reads and the
    /// network), other data stored as it is.
    fn start(&mut self, path: String, deflate: bool) -> Result<(), LifecycleError> {
        self.close();
        let options = if deflate {
            SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(1))
        } else {
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
        };
        self.zip.start_file(path.as_str(), options)?;
        self.open = Some((path, Sha256::new(), 0));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), LifecycleError> {
        if let Some((_, hash, size)) = &mut self.open {
            hash.update(bytes);
            *size += bytes.len() as u64;
        }
        self.zip.write_all(bytes)?;
        Ok(())
    }

    fn file(&mut self, path: String, deflate: bool, bytes: &[u8]) -> Result<(), LifecycleError> {
        self.start(path, deflate)?;
        self.write(bytes)
    }

    /// Records the open file's hash and size (the zip writer closes the entry itself).
    fn close(&mut self) {
        if let Some((path, hash, bytes)) = self.open.take() {
            self.files.push(FileEntry {
                path,
                sha256: hex::encode(hash.finalize()),
                bytes,
            });
        }
    }
}

/// Writes the export of `learner` to `sink`. Store reads are async: `block_on` runs them (call
/// this on a blocking thread, with a handle of the runtime the stores live on). Every byte goes
/// to `sink` as soon as it is compressed; an error of `sink` (the client went away) stops the
/// export. `progress` is told the counts so far after each page of statements.
pub fn write_export<W: Write>(
    runtime: &tokio::runtime::Handle,
    sources: &LearnerSources,
    learner: &LearnerData,
    request: &ExportRequest,
    sink: W,
    progress: &mut dyn FnMut(&ExportCounts),
) -> Result<ExportCounts, LifecycleError> {
    let mut archive = Archive::new(sink);
    let mut counts = ExportCounts::default();
    let mut attachments: BTreeSet<String> = BTreeSet::new();
    let run = Run {
        runtime,
        sources,
        learner,
        request,
    };
    write_statements(&run, &mut archive, &mut counts, &mut attachments, progress)?;
    write_documents(runtime, sources, learner, &mut archive, &mut counts)?;
    let held = write_attachments(runtime, sources, learner, &attachments, &mut archive)?;
    counts.attachments = held.len() as u64;
    counts.attachments_not_held = attachments.len() as u64 - counts.attachments;
    archive.close();
    let manifest = manifest(learner, request, &counts, &archive.files, &held);
    let manifest = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| LifecycleError::Output(format!("manifest: {e}")))?;
    archive.start("manifest.json".into(), true)?;
    archive.write(&manifest)?;
    archive.open = None;
    let mut sink = archive.zip.finish()?.into_inner();
    sink.flush()?;
    Ok(counts)
}

/// What one export reads from, and what it was asked.
struct Run<'a> {
    runtime: &'a tokio::runtime::Handle,
    sources: &'a LearnerSources,
    learner: &'a LearnerData,
    request: &'a ExportRequest,
}

fn write_statements<W: Write>(
    run: &Run<'_>,
    archive: &mut Archive<W>,
    counts: &mut ExportCounts,
    attachments: &mut BTreeSet<String>,
    progress: &mut dyn FnMut(&ExportCounts),
) -> Result<(), LifecycleError> {
    let Run {
        runtime,
        sources,
        learner,
        request,
    } = *run;
    let statements = learner.statements(sources.statements.clone(), request.since, request.until);
    let mut in_file = 0;
    let mut files = 0;
    // The next page is read while this one is compressed (one page ahead, no more).
    let mut next = runtime.spawn(read_page(statements));
    loop {
        let (statements, page) = runtime
            .block_on(next)
            .map_err(|e| LifecycleError::Output(format!("statement read task: {e}")))?;
        let Some(page) = page? else { break };
        next = runtime.spawn(read_page(statements));
        // Only a body naming attachments is parsed for them.
        let naming: Vec<StoredStatement> = page
            .iter()
            .filter(|s| names_attachments(&s.body))
            .cloned()
            .collect();
        for reference in referenced_attachments(&naming) {
            attachments.insert(reference.sha2.to_ascii_lowercase());
        }
        for statement in &page {
            if in_file == STATEMENTS_PER_FILE {
                archive.write(b"\n]\n")?;
                in_file = 0;
            }
            if in_file == 0 {
                files += 1;
                archive.start(format!("statements/{files:06}.json"), true)?;
                archive.write(b"[\n")?;
            } else {
                archive.write(b",\n")?;
            }
            archive.write(&with_stored(&statement.body, statement.stored))?;
            in_file += 1;
            count(counts, statement);
        }
        progress(counts);
    }
    if in_file > 0 {
        archive.write(b"\n]\n")?;
    }
    Ok(())
}

/// Whether a statement body holds the text `"attachments"` (a statement referencing
/// attachments, or one whose text merely says so: both are then parsed).
fn names_attachments(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"attachments\"";
    body.windows(KEY.len()).any(|w| w == KEY)
}

/// The next page of `statements`, and the reader back for the page after.
async fn read_page(
    mut statements: LearnerStatements,
) -> (
    LearnerStatements,
    Result<Option<Vec<StoredStatement>>, LifecycleError>,
) {
    let page = statements.next_page().await;
    (statements, page)
}

fn count(counts: &mut ExportCounts, statement: &StoredStatement) {
    counts.statements += 1;
    if statement.keys.voids.is_some() {
        counts.voiding_statements += 1;
    } else if statement.voided_by.is_some() {
        counts.voided_statements += 1;
    }
    counts.first_stored = Some(counts.first_stored.unwrap_or(statement.stored));
    counts.last_stored = Some(statement.stored);
}

fn write_documents<W: Write>(
    runtime: &tokio::runtime::Handle,
    sources: &LearnerSources,
    learner: &LearnerData,
    archive: &mut Archive<W>,
    counts: &mut ExportCounts,
) -> Result<(), LifecycleError> {
    let addresses = runtime.block_on(learner.documents(sources.documents.as_ref()))?;
    for (kind, dir) in [
        (DocumentKind::State, "documents/state"),
        (DocumentKind::AgentProfile, "documents/agent-profile"),
    ] {
        let mut index = Vec::new();
        for address in addresses.iter().filter(|a| a.scope.kind == kind) {
            let Some(document) =
                runtime.block_on(sources.documents.get_document(&address.scope, &address.id))?
            else {
                continue; // deleted since it was listed
            };
            let file = format!("{dir}/{:06}", index.len() + 1);
            archive.file(file.clone(), false, &document.body)?;
            let agent = address.scope.agent().unwrap_or_default();
            let mut entry = json!({
                "file": file,
                "agent": agent_json(agent),
                "agentIdentifier": agent,
                "contentType": document.content_type,
                "etag": document.etag,
                "updated": format_timestamp(document.updated),
            });
            if kind == DocumentKind::State {
                let activity = address.scope.scope.split('\n').next().unwrap_or_default();
                let (registration, state_id) =
                    address.id.split_once('\0').unwrap_or(("", &address.id));
                entry["activityId"] = json!(activity);
                entry["registration"] = if registration.is_empty() {
                    Value::Null
                } else {
                    json!(registration)
                };
                entry["stateId"] = json!(state_id);
                counts.state_documents += 1;
            } else {
                entry["profileId"] = json!(address.id);
                counts.agent_profile_documents += 1;
            }
            index.push(entry);
        }
        if !index.is_empty() {
            let bytes = serde_json::to_vec_pretty(&index)
                .map_err(|e| LifecycleError::Output(format!("document index: {e}")))?;
            archive.file(format!("{dir}/index.json"), true, &bytes)?;
        }
    }
    Ok(())
}

/// An agent's canonical identifier as xAPI Agent JSON.
fn agent_json(canonical: &str) -> Value {
    match lrs_roster::ActorRef::from_canonical(canonical) {
        Some(lrs_roster::ActorRef::Account { home_page, name }) => {
            json!({"objectType": "Agent", "account": {"homePage": home_page, "name": name}})
        }
        Some(lrs_roster::ActorRef::Mbox(mbox)) => json!({"objectType": "Agent", "mbox": mbox}),
        Some(lrs_roster::ActorRef::MboxSha1Sum(hex)) => {
            json!({"objectType": "Agent", "mbox_sha1sum": hex})
        }
        Some(lrs_roster::ActorRef::OpenId(iri)) => json!({"objectType": "Agent", "openid": iri}),
        None => Value::Null,
    }
}

/// Writes the attachments the LRS holds; returns (hash, content type) of each written.
fn write_attachments<W: Write>(
    runtime: &tokio::runtime::Handle,
    sources: &LearnerSources,
    learner: &LearnerData,
    hashes: &BTreeSet<String>,
    archive: &mut Archive<W>,
) -> Result<Vec<(String, String)>, LifecycleError> {
    let hashes: Vec<String> = hashes.iter().cloned().collect();
    let mut held = Vec::new();
    for chunk in hashes.chunks(ATTACHMENTS_PER_READ) {
        let bodies =
            runtime.block_on(sources.attachments.get_attachments(&learner.tenant, chunk))?;
        for (sha2, body) in chunk.iter().zip(bodies) {
            let Some(body) = body else { continue };
            archive.file(format!("attachments/{sha2}"), false, &body.body)?;
            held.push((sha2.clone(), body.content_type));
        }
    }
    Ok(held)
}

fn manifest(
    learner: &LearnerData,
    request: &ExportRequest,
    counts: &ExportCounts,
    files: &[FileEntry],
    attachments: &[(String, String)],
) -> Value {
    let time = |t: Option<Micros>| t.map(format_timestamp);
    json!({
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "source_tenant": learner.tenant,
        "user_sourced_id": learner.user_sourced_id,
        "exported_at": format_timestamp(request.exported_at),
        "identities": learner.identities.iter().map(|i| json!({
            "identifier": i.canonical,
            "agent": agent_json(&i.canonical),
            "rule": rule_name(i.rule),
        })).collect::<Vec<_>>(),
        "time_range": {
            "since": time(request.since),
            "until": time(request.until),
            "first_stored": time(counts.first_stored),
            "last_stored": time(counts.last_stored),
        },
        "counts": {
            "statements": counts.statements,
            "voided_statements": counts.voided_statements,
            "voiding_statements": counts.voiding_statements,
            "state_documents": counts.state_documents,
            "agent_profile_documents": counts.agent_profile_documents,
            "attachments": counts.attachments,
            "attachments_not_held": counts.attachments_not_held,
            "statement_files": files.iter().filter(|f| f.path.starts_with("statements/")).count(),
        },
        "attachments": attachments.iter().map(|(sha2, content_type)| json!({
            "file": format!("attachments/{sha2}"),
            "sha2": sha2,
            "contentType": content_type,
        })).collect::<Vec<_>>(),
        "files": files.iter().map(|f| json!({
            "path": f.path,
            "sha256": f.sha256,
            "bytes": f.bytes,
        })).collect::<Vec<_>>(),
    })
}
