//! A learner's import from another board (issue 14 §2): `POST
//! /api/v1/learners/import?userSourcedId=…` with the zip another LRS's export wrote
//! (`lrs_query::lifecycle::import`).
//!
//! The body is spooled to a temporary file under the data directory (never held whole in
//! memory; a file a crash leaves is deleted when the process starts again), then, on a
//! blocking thread:
//!
//! 1. **Verify** the bundle whole ([`verify_bundle`]): hashes, counts, the manifest's file
//!    list, every statement valid and the learner's, every document the learner's. Each
//!    statement file's ids are looked up in the store: an id already stored with the same
//!    content (the same statement, marked or not) is "already present", one stored with other
//!    content refuses the bundle. The identities are matched against the receiving roster: one
//!    that is another user's here refuses it. A refused bundle changes nothing.
//! 2. **Map the identities**: the accounts the receiving roster does not resolve become aliases
//!    of the receiving user, and the day they joined (the transfer day) is recorded, in one
//!    roster version ([`RosterImporter::import_transfer`]); nothing when both are held.
//! 3. **Documents and attachments**: written when absent (a document the receiving board holds
//!    already is kept).
//! 4. **Statements**, file by file, through the write path of a POST ([`WriteSequencer`]: log →
//!    ingest → store; durable once acknowledged), skipping those already present.
//!
//! A failure in steps 2–4 (the store or log going away) leaves part of the bundle imported;
//! sending the same bundle again completes it (every step is idempotent).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use lrs_auth::Principal;
use lrs_progress::Writer;
use lrs_query::aggregates::load_view;
use lrs_query::aggregates::service::TransferRecord;
use lrs_query::lifecycle::LearnerSources;
use lrs_query::lifecycle::import::{
    BUNDLE_RULE, BundleError, BundleErrorKind, ImportedStatement, StatementPreparer,
    VerifiedBundle, authority_of, read_file, verify_bundle,
};
use lrs_roster::{ActorRef, Alias, Calendar, Day, IdentityRule, SourcedId};
use lrs_schema::statements_equivalent;
use lrs_store::{
    AttachmentBody, Document, DocumentKind, DocumentScope, Precondition, StoreErrorKind, now_micros,
};
use serde::Serialize;
use serde_json::Value;
use sha1::{Digest as _, Sha1};
use uuid::Uuid;
use zip::ZipArchive;

use crate::error::{ApiError, ApiErrorKind};
use crate::prepare::StudyFacts;
use crate::roster_import::RosterImporter;
use crate::sequencer::{PreparedStatement, WriteSequencer};

/// Imports one process runs at once (each holds a blocking thread and a spooled file); later
/// ones wait for a turn.
pub const MAX_CONCURRENT_IMPORTS: usize = 2;
/// Statement bytes per log record an import appends (a file of 1,000 statements is split
/// beyond).
const RECORD_BYTES: usize = 8 * 1024 * 1024;
/// How long an import waits in all for the write path to take its statements (503s: ingest
/// lagging, the store unavailable) before it gives up.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// The import's settings (`[learner_import]`).
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The largest bundle accepted (413 beyond).
    pub max_body_bytes: u64,
    /// Where bodies are spooled (under the data directory).
    pub spool_dir: PathBuf,
    /// The context extension IRI marking an imported statement.
    pub marker: String,
}

/// What an import answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub source_tenant: String,
    pub source_user_sourced_id: String,
    pub user_sourced_id: String,
    /// The day the learner joined this board: enrollments running on it count from it.
    pub transfer_day: String,
    pub statements: Counted,
    pub state_documents: Counted,
    pub agent_profile_documents: Counted,
    pub attachments: Counted,
    pub identities: Vec<MappedIdentity>,
    /// The roster version the import made (aliases, transfer day); none when it needed none.
    pub roster_version: Option<u32>,
}

/// How many of a kind were new, and how many were already here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counted {
    pub new: u64,
    pub already_present: u64,
}

/// One identity of the bundle and how the receiving board maps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedIdentity {
    pub identifier: String,
    /// `sourcedId`, `userMasterIdentifier`, `alias` or `mbox`: the rule resolving it to the
    /// learner here; `none` when nothing does (an mbox the receiving roster does not give the
    /// learner as `email`).
    pub mapped_by: &'static str,
    /// Whether the import added the alias.
    pub alias_added: bool,
}

/// Deletes every file in the spool directory: bundles an import was reading when the process
/// stopped (each a learner's whole history, which a later purge of that learner would not
/// find). Run once when the process starts, before any import; how many there were.
fn clear_spool(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut deleted = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Learner imports, for every tenant.
pub struct LearnerImports {
    sources: LearnerSources,
    rosters: Arc<RosterImporter>,
    facts: StudyFacts,
    calendar: Calendar,
    config: ImportConfig,
    turns: Arc<tokio::sync::Semaphore>,
}

/// One import's request.
pub struct ImportRequest<'a> {
    pub principal: &'a Principal,
    pub writer: Writer,
    pub user_sourced_id: String,
    /// The transfer day asked for (`transferDate`); the import's local day when none.
    pub transfer_day: Option<Day>,
}

impl LearnerImports {
    pub fn new(
        sources: LearnerSources,
        rosters: Arc<RosterImporter>,
        facts: StudyFacts,
        calendar: Calendar,
        config: ImportConfig,
    ) -> LearnerImports {
        match clear_spool(&config.spool_dir) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(files = n, "deleted bundles an interrupted import left"),
            Err(e) => tracing::error!(error = %e, dir = %config.spool_dir.display(),
                "could not clear the import spool"),
        }
        LearnerImports {
            sources,
            rosters,
            facts,
            calendar,
            config,
            turns: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_IMPORTS)),
        }
    }

    pub fn config(&self) -> &ImportConfig {
        &self.config
    }

    /// Writes the request body to a temporary file under the spool directory (deleted when
    /// dropped): at most `max_body_bytes` (413), each chunk within `stall` (408).
    pub async fn spool<S, E>(
        &self,
        mut payload: S,
        announced: Option<u64>,
        stall: Duration,
    ) -> Result<tempfile::NamedTempFile, ApiError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let limit = self.config.max_body_bytes;
        if announced.is_some_and(|n| n > limit) {
            return Err(too_large(limit));
        }
        let dir = self.config.spool_dir.clone();
        let file = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            tempfile::NamedTempFile::new_in(&dir)
        })
        .await
        .map_err(|e| ApiError::internal("import spool task", &e))?
        .map_err(|e| ApiError::internal("import spool file", &e))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let writer = tokio::task::spawn_blocking(move || {
            let mut out = std::io::BufWriter::new(file);
            while let Some(chunk) = rx.blocking_recv() {
                out.write_all(&chunk)?;
            }
            out.into_inner().map_err(|e| e.into_error())
        });
        let mut received = 0u64;
        loop {
            let next = tokio::time::timeout(stall, payload.next())
                .await
                .map_err(|_| {
                    ApiError::new(
                        ApiErrorKind::RequestTimeout,
                        format!(
                            "the bundle stopped arriving for {} s (server.body_read_timeout_seconds)",
                            stall.as_secs()
                        ),
                    )
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(
                    "HTTP: the request body could not be read",
                    "$",
                    e.to_string(),
                )
            })?;
            received += chunk.len() as u64;
            if received > limit {
                return Err(too_large(limit));
            }
            if tx.send(chunk).await.is_err() {
                break; // the writer failed: its error is below
            }
        }
        drop(tx);
        // Not synced: a spooled bundle that a crash loses is sent again.
        writer
            .await
            .map_err(|e| ApiError::internal("import spool task", &e))?
            .map_err(|e| ApiError::internal("import spool write", &e))
    }

    /// Imports the spooled bundle `file` for `request` (see the module documentation).
    pub async fn import(
        self: &Arc<Self>,
        sequencer: Arc<WriteSequencer>,
        request: ImportRequest<'_>,
        file: tempfile::NamedTempFile,
        before_write: impl Fn() -> Result<(), ApiError>,
    ) -> Result<ImportSummary, ApiError> {
        let tenant = request.principal.tenant.clone();
        let view = load_view(
            self.sources.study.as_ref(),
            self.sources.rosters.as_ref(),
            &self.sources.identity,
            &tenant,
        )
        .await?;
        let user = view
            .roster
            .user_key(&request.user_sourced_id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "the roster of this board has no user {:?} (userSourcedId): import the roster first",
                    request.user_sourced_id
                ))
            })?;
        let (authority_term, authority_related) = authority_of(&request.principal.authority)
            .map_err(|e| ApiError::bad_request(BUNDLE_RULE, "$.authority", e))?;
        let _turn = self.turns.clone().acquire_owned().await.ok();
        let started = Instant::now();
        // Step 1, on a blocking thread: the bundle whole, and its statements against the store.
        let this = self.clone();
        let runtime = tokio::runtime::Handle::current();
        let tenant_for_check = tenant.clone();
        let marker = self.config.marker.clone();
        let facts = self.facts.clone();
        let authority = request.principal.authority.clone();
        let (archive, verified, present, preparer) = tokio::task::spawn_blocking(move || {
            let reopened = file.reopen().map_err(|e| BundleError::Io(e.to_string()))?;
            let mut archive =
                ZipArchive::new(reopened).map_err(|e| BundleError::NotAZip(e.to_string()))?;
            let source = peek_source(&mut archive)?;
            let preparer = StatementPreparer {
                authority,
                authority_term,
                authority_related,
                marker,
                source_tenant: source,
                facts: facts
                    .enabled
                    .then(|| (facts.config.clone(), facts.calendar)),
            };
            let mut present = HashSet::new();
            let verified = verify_bundle(&mut archive, &preparer, &mut |file, statements| {
                present.extend(runtime.block_on(this.already_present(
                    &tenant_for_check,
                    &preparer,
                    file,
                    statements,
                ))?);
                Ok(())
            })?;
            Ok::<_, BundleError>((archive, verified, present, preparer))
        })
        .await
        .map_err(|e| ApiError::internal("import task", &e))?
        .map_err(bundle_error)?;
        tracing::info!(
            tenant,
            source = %verified.manifest.source_tenant,
            statements = verified.statements,
            already_present = present.len(),
            seconds = started.elapsed().as_secs_f64(),
            "learner import: bundle verified"
        );
        // Identities, still before anything is written.
        let (identities, aliases) =
            map_identities(&view, user, &request.user_sourced_id, &verified)?;
        before_write()?;
        // Step 2: the roster version (aliases and the transfer day).
        let transfer_day = match (request.transfer_day, view.roster.transfer_day(user)) {
            (Some(asked), _) => asked,
            (None, Some(held)) => held,
            (None, None) => self.calendar.day_of(now_micros()),
        };
        let transfer = (request.transfer_day.is_some() || view.roster.transfer_day(user).is_none())
            .then(|| {
                (
                    request.user_sourced_id.clone(),
                    TransferRecord {
                        day: transfer_day.to_string(),
                        source_tenant: verified.manifest.source_tenant.clone(),
                    },
                )
            })
            .filter(|_| view.roster.transfer_day(user) != Some(transfer_day));
        let roster_version = self
            .rosters
            .import_transfer(&tenant, aliases, transfer, &before_write)
            .await?;
        let mut summary = ImportSummary {
            source_tenant: verified.manifest.source_tenant.clone(),
            source_user_sourced_id: verified.manifest.user_sourced_id.clone(),
            user_sourced_id: request.user_sourced_id.clone(),
            transfer_day: transfer_day.to_string(),
            identities,
            roster_version,
            ..ImportSummary::default()
        };
        // Steps 3 and 4, on a blocking thread.
        let this = self.clone();
        let runtime = tokio::runtime::Handle::current();
        let writer = request.writer;
        let written = tokio::task::spawn_blocking(move || {
            let mut archive = archive;
            let mut summary = WrittenCounts::default();
            this.write_documents(&runtime, &tenant, &mut archive, &verified, &mut summary)?;
            this.write_attachments(&runtime, &tenant, &mut archive, &verified, &mut summary)?;
            summary.statements = this.write_statements(
                &runtime,
                &sequencer,
                writer,
                &tenant,
                &mut archive,
                &verified,
                &preparer,
                &present,
            )?;
            Ok::<_, ApiError>(summary)
        })
        .await
        .map_err(|e| ApiError::internal("import task", &e))??;
        let counts = written.statements;
        summary.statements = counts;
        summary.state_documents = written.state_documents;
        summary.agent_profile_documents = written.agent_profile_documents;
        summary.attachments = written.attachments;
        tracing::info!(
            tenant = %request.principal.tenant,
            source = %summary.source_tenant,
            new = counts.new,
            already_present = counts.already_present,
            seconds = started.elapsed().as_secs_f64(),
            "learner import complete"
        );
        Ok(summary)
    }

    /// The ids of `statements` already stored in `tenant` as the same statement (marked by an
    /// earlier import, or sent here directly); an id stored with other content refuses the
    /// bundle.
    async fn already_present(
        &self,
        tenant: &str,
        preparer: &StatementPreparer,
        file: &str,
        statements: &[ImportedStatement],
    ) -> Result<Vec<Uuid>, BundleError> {
        let ids: Vec<Uuid> = statements.iter().map(|s| s.statement.id).collect();
        let existing = self
            .sources
            .statements
            .existing_bodies(tenant, &ids)
            .await
            .map_err(|e| BundleError::Io(format!("store: {e}")))?;
        let mut present = Vec::new();
        for imported in statements {
            let Some(stored) = existing.get(&imported.statement.id) else {
                continue;
            };
            let same = serde_json::from_slice::<Value>(stored)
                .ok()
                .zip(serde_json::from_slice::<Value>(&imported.statement.body).ok())
                .is_some_and(|(stored, body)| {
                    statements_equivalent(&stored, &body)
                        || preparer
                            .unmarked(&imported.statement.body)
                            .is_some_and(|unmarked| statements_equivalent(&stored, &unmarked))
                });
            if !same {
                return Err(BundleError::file_error(
                    file,
                    format!(
                        "statement {} is already stored in this board with other content (xAPI Communication §2.1.2: a statement id is one statement)",
                        imported.statement.id
                    ),
                ));
            }
            present.push(imported.statement.id);
        }
        Ok(present)
    }

    fn write_documents(
        &self,
        runtime: &tokio::runtime::Handle,
        tenant: &str,
        archive: &mut ZipArchive<std::fs::File>,
        verified: &VerifiedBundle,
        summary: &mut WrittenCounts,
    ) -> Result<(), ApiError> {
        let states = verified.states.iter().map(|s| {
            let registration = s.registration.map(|r| r.hyphenated().to_string());
            (
                DocumentKind::State,
                format!("{}\n{}", s.activity_id, s.agent),
                format!("{}\0{}", registration.unwrap_or_default(), s.state_id),
                &s.file,
                &s.content_type,
                s.updated,
            )
        });
        let profiles = verified.profiles.iter().map(|p| {
            (
                DocumentKind::AgentProfile,
                p.agent.clone(),
                p.profile_id.clone(),
                &p.file,
                &p.content_type,
                p.updated,
            )
        });
        for (kind, scope, id, file, content_type, updated) in states.chain(profiles) {
            let body = read_file(archive, file).map_err(written_error)?;
            let document = Document {
                content_type: content_type.clone(),
                etag: hex::encode(Sha1::digest(&body)),
                body: Bytes::from(body),
                updated,
            };
            let scope = DocumentScope {
                tenant: tenant.to_owned(),
                kind,
                scope,
            };
            let counted = if kind == DocumentKind::State {
                &mut summary.state_documents
            } else {
                &mut summary.agent_profile_documents
            };
            match runtime.block_on(self.sources.documents.put_document(
                &scope,
                &id,
                document,
                Precondition::IfAbsent,
            )) {
                Ok(()) => counted.new += 1,
                Err(e) if e.kind() == StoreErrorKind::PreconditionFailed => {
                    counted.already_present += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn write_attachments(
        &self,
        runtime: &tokio::runtime::Handle,
        tenant: &str,
        archive: &mut ZipArchive<std::fs::File>,
        verified: &VerifiedBundle,
        summary: &mut WrittenCounts,
    ) -> Result<(), ApiError> {
        for attachment in &verified.attachments {
            let sha2 = attachment.sha2.to_ascii_lowercase();
            let held = runtime
                .block_on(
                    self.sources
                        .attachments
                        .get_attachments(tenant, std::slice::from_ref(&sha2)),
                )?
                .into_iter()
                .next()
                .flatten()
                .is_some();
            if held {
                summary.attachments.already_present += 1;
                continue;
            }
            let body = read_file(archive, &attachment.file).map_err(written_error)?;
            runtime.block_on(self.sources.attachments.put_attachments(
                tenant,
                &[AttachmentBody {
                    sha2,
                    content_type: attachment.content_type.clone(),
                    body: Bytes::from(body),
                }],
            ))?;
            summary.attachments.new += 1;
        }
        Ok(())
    }

    /// Step 4: every statement file again, its statements not found stored in step 1
    /// (`present`) submitted as POSTs are (one log record per [`RECORD_BYTES`]), waiting out
    /// 503s for up to [`MAX_WAIT`].
    #[allow(clippy::too_many_arguments)]
    fn write_statements(
        &self,
        runtime: &tokio::runtime::Handle,
        sequencer: &WriteSequencer,
        writer: Writer,
        tenant: &str,
        archive: &mut ZipArchive<std::fs::File>,
        verified: &VerifiedBundle,
        preparer: &StatementPreparer,
        present: &HashSet<Uuid>,
    ) -> Result<Counted, ApiError> {
        let mut counts = Counted::default();
        let mut waited = Duration::ZERO;
        let mut reported = 0;
        for file in &verified.statement_files {
            let bytes = read_file(archive, file).map_err(written_error)?;
            let statements = preparer.prepare_file(file, &bytes).map_err(written_error)?;
            let before = statements.len();
            // Those found stored by step 1 are skipped; one stored since is found by the
            // sequencer's own check of client-chosen ids (equivalent: no-op; else 409).
            let fresh: Vec<PreparedStatement> = statements
                .into_iter()
                .filter(|s| !present.contains(&s.statement.id))
                .map(|s| PreparedStatement {
                    statement: s.statement,
                    client_id: true,
                })
                .collect();
            counts.already_present += (before - fresh.len()) as u64;
            for record in by_bytes(fresh) {
                loop {
                    match runtime.block_on(sequencer.submit(tenant, writer, record.clone())) {
                        Ok(outcome) => {
                            counts.already_present += outcome.already_present as u64;
                            counts.new += (record.len() - outcome.already_present) as u64;
                            break;
                        }
                        Err(e) if e.kind() == ApiErrorKind::Unavailable && waited < MAX_WAIT => {
                            let pause = Duration::from_millis(200);
                            std::thread::sleep(pause);
                            waited += pause;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            let done = counts.new + counts.already_present;
            if done >= reported + 10_000 {
                reported = done;
                tracing::info!(
                    tenant,
                    statements = done,
                    of = verified.statements,
                    "learner import in progress"
                );
            }
        }
        Ok(counts)
    }
}

/// How the receiving board maps each identity of the bundle: already the learner's, an alias
/// to add (an account no rule resolves), or unmapped (an mbox the roster does not give them);
/// one that is another user's refuses the bundle.
fn map_identities(
    view: &lrs_query::aggregates::TenantView,
    user: lrs_roster::UserKey,
    user_sourced_id: &str,
    verified: &VerifiedBundle,
) -> Result<(Vec<MappedIdentity>, Vec<Alias>), ApiError> {
    let receiving =
        SourcedId::parse(user_sourced_id).ok_or_else(|| ApiError::not_found("no such user"))?;
    let mut identities = Vec::new();
    let mut aliases = Vec::new();
    for (identifier, _) in &verified.identities {
        let actor = ActorRef::from_canonical(identifier).expect("checked by verify_bundle");
        let (mapped_by, alias_added) = match view.identity.resolve(&view.roster, actor) {
            Some(resolved) if resolved.user == user => (rule_name(resolved.rule), false),
            Some(resolved) => {
                return Err(ApiError::bad_request(
                    BUNDLE_RULE,
                    "manifest.json",
                    format!(
                        "identity {identifier:?} is user {:?}'s in this board, not {user_sourced_id:?}'s: nothing was imported",
                        view.roster.user_sourced_id(resolved.user),
                    ),
                ));
            }
            None => match actor {
                ActorRef::Account { home_page, name } => {
                    aliases.push(Alias {
                        home_page: home_page.to_owned(),
                        name: name.to_owned(),
                        user_sourced_id: receiving.clone(),
                    });
                    ("alias", true)
                }
                _ => ("none", false),
            },
        };
        identities.push(MappedIdentity {
            identifier: identifier.clone(),
            mapped_by,
            alias_added,
        });
    }
    Ok((identities, aliases))
}

/// What steps 3 and 4 counted.
#[derive(Default)]
struct WrittenCounts {
    statements: Counted,
    state_documents: Counted,
    agent_profile_documents: Counted,
    attachments: Counted,
}

/// Splits statements into log records of at most [`RECORD_BYTES`] of bodies (one at least).
fn by_bytes(statements: Vec<PreparedStatement>) -> Vec<Vec<PreparedStatement>> {
    let mut records: Vec<Vec<PreparedStatement>> = Vec::new();
    let mut bytes = 0;
    for statement in statements {
        let size = statement.statement.body.len();
        match records.last_mut() {
            Some(record) if bytes + size <= RECORD_BYTES => {
                bytes += size;
                record.push(statement);
            }
            _ => {
                bytes = size;
                records.push(vec![statement]);
            }
        }
    }
    records
}

/// The manifest's `source_tenant`, read ahead of the check (the marker names it).
fn peek_source(archive: &mut ZipArchive<std::fs::File>) -> Result<String, BundleError> {
    let bytes = match read_file(archive, "manifest.json") {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(BundleError::Manifest(
                "missing: the bundle has no manifest.json".into(),
            ));
        }
    };
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|m| m.get("source_tenant")?.as_str().map(str::to_owned))
        .ok_or_else(|| BundleError::Manifest("no source_tenant".into()))
}

fn rule_name(rule: IdentityRule) -> &'static str {
    lrs_query::lifecycle::rule_name(rule)
}

/// A refused bundle: 400 naming the file (`Io`: a server fault).
pub fn bundle_error(e: BundleError) -> ApiError {
    match e.kind() {
        BundleErrorKind::Io => ApiError::internal("learner import", &e),
        _ => ApiError::bad_request(BUNDLE_RULE, e.file(), format!("{e}; nothing was imported")),
    }
}

/// A verified bundle that fails while it is written (its spooled file unreadable, or a
/// statement stored meanwhile with other content): part of it may be imported.
fn written_error(e: BundleError) -> ApiError {
    match e.kind() {
        BundleErrorKind::Io => ApiError::internal("learner import", &e),
        _ => ApiError::with_rule(
            ApiErrorKind::Conflict,
            BUNDLE_RULE,
            format!("{e}; the statements before it were imported"),
        ),
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ApiErrorKind::PayloadTooLarge,
        format!("the bundle is larger than learner_import.max_body_bytes ({limit} bytes)"),
    )
}
