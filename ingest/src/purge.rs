//! Purge jobs (issue 14 §3): real deletion of a tenant's old school years ("retention"), of a
//! whole tenant, of one learner (every statement and document of their identities, enumerated
//! by the job: [`crate::learner_purge`]), or of a list of statements and documents.
//!
//! A job is durable and resumable. Its record ([`PurgeJob`], JSON in the store's `purges`
//! table) is written before anything is deleted, again after every batch (the checkpoint), and
//! kept for ever as the audit record: who asked (credential and role), the scope, when, and the
//! counts; no personal data (statement ids of a statement-list purge, and the learner and their
//! identifiers of a learner purge, are dropped from the record once it is complete; the HTTP
//! answers never show them: [`PurgeJob::public`]). On start, [`PurgeService::resume`] runs every job whose record
//! is not complete, from its last phase: every step is idempotent, so a batch interrupted by a
//! crash is simply done again.
//!
//! The phases of a job:
//!
//! 1. **Ingest catches up**: the log's end offsets are recorded with the job; the job waits until
//!    the store's watermarks show every record before them applied, so nothing a purge deletes
//!    is written again by a replay.
//! 2. **Store**: in batches of `batch` statements: their study-log facts are derived from their
//!    bodies (as ingest does for a voided statement) and removed with
//!    [`StudyLogStore::void_facts`] (the month summaries are recomputed: the aggregates
//!    change), the hashes of their attachments are kept in the record, then the statements go
//!    ([`PurgeStore::purge_statements`]). A tenant purge deletes everything of the tenant
//!    ([`PurgeStore::purge_tenant`]).
//! 3. **Attachments**: a hash no remaining statement of the tenant mentions is deleted.
//! 4. **Compaction** ([`PurgeStore::compact`]): the embedded store flushes and compacts, so the
//!    bytes leave its files.
//! 5. **Log** ([`PurgeLog::drop_consumed`]): the embedded log seals its active segments and
//!    deletes every consumed one. A Kafka topic keeps records for its retention time
//!    (docs/lifecycle.md).
//!
//! Retention cuts by `stored` (the LRS's own clock: a statement the LRS has held for longer than
//! N school years), not `timestamp` (the client's, which may be anything): the cutoff is April 1,
//! 00:00 local time (`studylog.time_zone`), of the school year N − 1 years before the current
//! one; every statement stored before it goes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lrs_log::LogError;
use lrs_roster::{Calendar, SchoolYear};
use lrs_schema::envelope::Key16;
use lrs_store::{
    AccessPath, DocumentScope, DocumentStore, IndexScan, Micros, PurgeCounts, PurgeRecord,
    PurgeStore, QuarantineStore, StatementReader, StoreError, StudyLogStore, now_micros,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::learner_purge::{self, LearnerProgress, LearnerResolver};
use crate::study::{self, StudySettings};

/// Every store trait a purge uses.
pub trait PurgeBackend:
    StatementReader + PurgeStore + StudyLogStore + DocumentStore + QuarantineStore
{
}
impl<T> PurgeBackend for T where
    T: StatementReader + PurgeStore + StudyLogStore + DocumentStore + QuarantineStore + ?Sized
{
}

/// What a purge does to the log.
pub trait PurgeLog: Send + Sync + 'static {
    /// The offset the next record of each partition will get.
    fn end_offsets(&self) -> Result<Vec<(u32, u64)>, LogError>;

    /// Removes the records every consumer has consumed from the disk, where the log can
    /// (blocking). `Ok(None)` when it cannot (a Kafka topic: its retention does it).
    fn drop_consumed(&self) -> Result<Option<LogDrop>, LogError>;
}

/// What [`PurgeLog::drop_consumed`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogDrop {
    pub segments_deleted: u64,
    /// Sealed segments kept because a consumer has not read all their records yet.
    pub segments_kept: u64,
}

impl PurgeLog for lrs_log::EmbeddedLog {
    fn end_offsets(&self) -> Result<Vec<(u32, u64)>, LogError> {
        lrs_log::Log::end_offsets(self)
    }

    fn drop_consumed(&self) -> Result<Option<LogDrop>, LogError> {
        let dropped = lrs_log::EmbeddedLog::drop_consumed(self)?;
        Ok(Some(LogDrop {
            segments_deleted: dropped.deleted as u64,
            segments_kept: dropped.kept_unconsumed as u64,
        }))
    }
}

/// A log whose records leave by its own retention (Kafka): the purge only reads its ends.
pub struct RetainedLog(pub Arc<dyn lrs_log::Log>);

impl PurgeLog for RetainedLog {
    fn end_offsets(&self) -> Result<Vec<(u32, u64)>, LogError> {
        self.0.end_offsets()
    }

    fn drop_consumed(&self) -> Result<Option<LogDrop>, LogError> {
        Ok(None)
    }
}

/// What a job deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum PurgeScope {
    /// Every statement stored before April 1 of the school year `keep_school_years - 1` years
    /// before the current one (`cutoff`, fixed when the job is created).
    Retention {
        keep_school_years: u32,
        /// 年度 of the cutoff (its April 1 is the first day kept).
        first_kept_school_year: i32,
        /// Microseconds since the epoch: statements stored before it go.
        cutoff: Micros,
    },
    /// Everything the tenant holds.
    Tenant,
    /// One roster user: every statement of every identity resolved to them (as Actor or
    /// Object, every stored version) stored before `cutoff` (the job's creation), and their
    /// State and Agent Profile documents. The job resolves and enumerates them once ingest has
    /// caught up ([`crate::learner_purge`]).
    Learner {
        /// The learner until their identities are resolved; then dropped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_sourced_id: Option<String>,
        /// Their identities' canonical identifiers while the job runs; dropped once complete.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        identities: Vec<String>,
        /// How many identities were resolved (kept in the audit record).
        #[serde(default)]
        identity_count: u64,
        /// Microseconds since the epoch: statements stored from then on are not purged.
        cutoff: Micros,
        #[serde(default)]
        progress: LearnerProgress,
    },
    /// These statements and every document of these scopes (the learner purge's enumeration
    /// supplies them). The ids are dropped from the record once the job is complete.
    Statements {
        #[serde(default)]
        ids: Vec<Uuid>,
        #[serde(default)]
        document_scopes: Vec<ScopeRef>,
        /// How many ids the job was given.
        requested: u64,
    },
}

/// A [`DocumentScope`] in a job record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeRef {
    pub kind: String,
    pub scope: String,
}

impl ScopeRef {
    pub fn of(scope: &DocumentScope) -> ScopeRef {
        ScopeRef {
            kind: match scope.kind {
                lrs_store::DocumentKind::State => "state",
                lrs_store::DocumentKind::ActivityProfile => "activity_profile",
                lrs_store::DocumentKind::AgentProfile => "agent_profile",
            }
            .into(),
            scope: scope.scope.clone(),
        }
    }

    fn to_scope(&self, tenant: &str) -> DocumentScope {
        DocumentScope {
            tenant: tenant.to_owned(),
            kind: match self.kind.as_str() {
                "state" => lrs_store::DocumentKind::State,
                "activity_profile" => lrs_store::DocumentKind::ActivityProfile,
                _ => lrs_store::DocumentKind::AgentProfile,
            },
            scope: self.scope.clone(),
        }
    }
}

/// Who asked for a purge: a credential's name and role, or the scheduler. Never a learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// `admin-api` (an admin credential over HTTP), `cli` (`lrs admin purge`) or `scheduler`
    /// (the daily retention run).
    pub role: String,
    /// The credential's name (its account name), when a credential asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    WaitForIngest,
    Store,
    Attachments,
    Compact,
    Log,
    Complete,
}

/// A purge job's record: its state while it runs, its audit record once it is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeJob {
    pub id: Uuid,
    pub tenant: String,
    #[serde(flatten)]
    pub scope: PurgeScope,
    pub requested_by: Requester,
    /// RFC 3339 (UTC) times.
    pub requested_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub phase: Phase,
    /// `running` or `complete`.
    pub state: String,
    pub counts: PurgeCounts,
    /// Study-log facts removed.
    pub facts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogDrop>,
    /// Batches of statements done (the checkpoint count).
    pub batches: u64,
    /// The log's end offsets when the job was created.
    #[serde(default)]
    pub log_ends: Vec<(u32, u64)>,
    /// Hashes of attachments purged statements referenced: deleted in the attachments phase
    /// unless a remaining statement mentions them. Emptied then.
    #[serde(default)]
    pub attachment_candidates: BTreeSet<String>,
    /// Statement-list purges: how many ids are done.
    #[serde(default)]
    pub next_id: u64,
    /// The last error a run met (the job is retried at the next start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip)]
    created: Micros,
}

impl PurgeJob {
    /// Drops what names people from the record: a statement-list purge's ids, a learner purge's
    /// learner and identifiers (done once the store phase is over, before the compaction).
    fn forget_personal_data(&mut self) {
        match &mut self.scope {
            PurgeScope::Statements { ids, .. } => ids.clear(),
            PurgeScope::Learner {
                user_sourced_id,
                identities,
                ..
            } => {
                *user_sourced_id = None;
                identities.clear();
            }
            PurgeScope::Retention { .. } | PurgeScope::Tenant => {}
        }
    }

    /// The job as the admin API and the CLI show it: without what names people, even while it
    /// runs.
    pub fn public(&self) -> PurgeJob {
        let mut job = self.clone();
        job.forget_personal_data();
        job
    }
}

impl PurgeScope {
    /// The purge of the roster user `user_sourced_id`: what they had stored before `now`.
    pub fn learner(user_sourced_id: &str, now: Micros) -> PurgeScope {
        PurgeScope::Learner {
            user_sourced_id: Some(user_sourced_id.to_owned()),
            identities: Vec::new(),
            identity_count: 0,
            cutoff: now,
            progress: LearnerProgress::default(),
        }
    }
}

/// Why a purge could not be started or run.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("log: {0}")]
    Log(#[from] LogError),
    #[error("purge record: {0}")]
    Record(String),
    #[error("the purge service has stopped")]
    Stopped,
    #[error("keep_school_years must be at least 1")]
    KeepAtLeastOne,
    #[error("this purge service cannot resolve learners (run learner purges through `lrs serve`)")]
    NoLearnerResolver,
}

/// Settings of the purge service.
#[derive(Debug, Clone)]
pub struct PurgeConfig {
    /// Statements per batch (and checkpoint).
    pub batch: usize,
    /// The study-log settings (time zone, extensions), as ingest's: facts are derived with them.
    pub study: StudySettings,
    /// Test-only failpoint: the process aborts after this many batches of a run
    /// (`testing.purge_abort_after_batches`), to test resuming.
    pub abort_after_batches: Option<u64>,
}

impl Default for PurgeConfig {
    fn default() -> Self {
        PurgeConfig {
            batch: 1_000,
            study: StudySettings::default(),
            abort_after_batches: None,
        }
    }
}

/// Runs purge jobs one at a time, in the order they were asked for.
pub struct PurgeService {
    store: Arc<dyn PurgeBackend>,
    log: Arc<dyn PurgeLog>,
    learners: Option<Arc<dyn LearnerResolver>>,
    config: PurgeConfig,
    queue: mpsc::UnboundedSender<Uuid>,
    pending: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Uuid>>>,
}

impl PurgeService {
    pub fn new(
        store: Arc<dyn PurgeBackend>,
        log: Arc<dyn PurgeLog>,
        config: PurgeConfig,
    ) -> Arc<PurgeService> {
        PurgeService::with_learners(store, log, None, config)
    }

    /// A service that also runs learner purges, resolving learners with `learners`.
    pub fn with_learners(
        store: Arc<dyn PurgeBackend>,
        log: Arc<dyn PurgeLog>,
        learners: Option<Arc<dyn LearnerResolver>>,
        config: PurgeConfig,
    ) -> Arc<PurgeService> {
        let (queue, pending) = mpsc::unbounded_channel();
        Arc::new(PurgeService {
            store,
            log,
            learners,
            config,
            queue,
            pending: std::sync::Mutex::new(Some(pending)),
        })
    }

    /// Starts the worker (once) and queues every job whose record is not complete.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, PurgeError> {
        if let Some(mut pending) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let service = Arc::clone(self);
            tokio::spawn(async move {
                while let Some(id) = pending.recv().await {
                    service.run_until_complete(id).await;
                }
            });
        }
        let unfinished: Vec<PurgeJob> = self
            .jobs()
            .await?
            .into_iter()
            .filter(|j| j.phase != Phase::Complete)
            .collect();
        for job in &unfinished {
            tracing::info!(job = %job.id, tenant = %job.tenant, phase = ?job.phase, "resuming a purge");
            self.queue.send(job.id).map_err(|_| PurgeError::Stopped)?;
        }
        Ok(unfinished.len())
    }

    /// Records a new job (durably, before anything is deleted) and queues it.
    pub async fn start(
        &self,
        tenant: &str,
        scope: PurgeScope,
        requested_by: Requester,
    ) -> Result<PurgeJob, PurgeError> {
        let created = now_micros();
        let log = Arc::clone(&self.log);
        let log_ends = tokio::task::spawn_blocking(move || log.end_offsets())
            .await
            .map_err(|e| PurgeError::Record(e.to_string()))??;
        let job = PurgeJob {
            id: Uuid::new_v4(),
            tenant: tenant.to_owned(),
            scope,
            requested_by,
            requested_at: lrs_schema::format_timestamp(created),
            completed_at: None,
            phase: Phase::WaitForIngest,
            state: "running".into(),
            counts: PurgeCounts::default(),
            facts: 0,
            log: None,
            batches: 0,
            log_ends,
            attachment_candidates: BTreeSet::new(),
            next_id: 0,
            last_error: None,
            created,
        };
        self.save(&job).await?;
        self.queue.send(job.id).map_err(|_| PurgeError::Stopped)?;
        Ok(job)
    }

    /// The retention scope for `keep_school_years` at `now`, in `calendar`'s time zone.
    pub fn retention_scope(
        calendar: &Calendar,
        keep_school_years: u32,
        now: Micros,
    ) -> Result<PurgeScope, PurgeError> {
        if keep_school_years == 0 {
            return Err(PurgeError::KeepAtLeastOne);
        }
        let current = calendar.day_of(now).school_year().year();
        let first_kept = current - (keep_school_years as i32 - 1);
        Ok(PurgeScope::Retention {
            keep_school_years,
            first_kept_school_year: first_kept,
            cutoff: calendar.start_of(SchoolYear::new(first_kept).first_day()),
        })
    }

    /// Every job, oldest first.
    pub async fn jobs(&self) -> Result<Vec<PurgeJob>, PurgeError> {
        self.store
            .purge_records()
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// One job.
    pub async fn job(&self, id: Uuid) -> Result<Option<PurgeJob>, PurgeError> {
        Ok(self.jobs().await?.into_iter().find(|j| j.id == id))
    }

    async fn save(&self, job: &PurgeJob) -> Result<(), PurgeError> {
        let record = serde_json::to_vec(job).map_err(|e| PurgeError::Record(e.to_string()))?;
        self.store
            .put_purge_record(&PurgeRecord {
                id: job.id,
                created: job.created,
                record: record.into(),
            })
            .await?;
        Ok(())
    }

    /// Runs a job, retrying after a pause while it fails (a store or log unavailable).
    async fn run_until_complete(&self, id: Uuid) {
        let mut pause = Duration::from_millis(200);
        loop {
            match self.run(id).await {
                Ok(()) => return,
                Err(err) => {
                    tracing::warn!(job = %id, error = %err, "a purge failed; retrying");
                    if let Ok(Some(mut job)) = self.job(id).await {
                        job.last_error = Some(err.to_string());
                        let _ = self.save(&job).await;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// Runs a job from its recorded phase to the end, checkpointing as it goes.
    pub async fn run(&self, id: Uuid) -> Result<(), PurgeError> {
        let Some(mut job) = self.job(id).await? else {
            return Err(PurgeError::Record(format!("no purge job {id}")));
        };
        let mut batches_this_run = 0u64;
        while job.phase != Phase::Complete {
            match job.phase {
                Phase::WaitForIngest => {
                    self.wait_for_ingest(&job.log_ends).await?;
                    job.phase = Phase::Store;
                }
                Phase::Store => {
                    let more = self.store_step(&mut job).await?;
                    if more {
                        job.batches += 1;
                        batches_this_run += 1;
                        self.save(&job).await?;
                        if self
                            .config
                            .abort_after_batches
                            .is_some_and(|n| batches_this_run >= n)
                        {
                            tracing::error!(job = %job.id, "test failpoint: aborting mid-purge");
                            std::process::abort();
                        }
                        continue;
                    }
                    // Nothing after this phase needs to know whose data it was: the record
                    // forgets it before the compaction, which then drops its earlier versions.
                    job.forget_personal_data();
                    job.phase = Phase::Attachments;
                }
                Phase::Attachments => {
                    self.attachments_step(&mut job).await?;
                    job.phase = Phase::Compact;
                }
                Phase::Compact => {
                    self.store.compact().await?;
                    job.phase = Phase::Log;
                }
                Phase::Log => {
                    job.log = self.log_step().await?;
                    job.phase = Phase::Complete;
                    job.state = "complete".into();
                    job.completed_at = Some(lrs_schema::format_timestamp(now_micros()));
                    job.last_error = None;
                    job.forget_personal_data();
                    tracing::info!(job = %job.id, tenant = %job.tenant, counts = ?job.counts, "purge complete");
                }
                Phase::Complete => {}
            }
            self.save(&job).await?;
        }
        Ok(())
    }

    /// Waits until the store shows every log record before `ends` applied.
    async fn wait_for_ingest(&self, ends: &[(u32, u64)]) -> Result<(), PurgeError> {
        let mut waited = 0u32;
        loop {
            let marks = self.store.watermarks().await?;
            let behind = ends.iter().any(|&(partition, end)| {
                end > 0
                    && marks
                        .iter()
                        .find(|m| m.partition == partition)
                        .is_none_or(|m| m.next_offset < end)
            });
            if !behind {
                return Ok(());
            }
            waited += 1;
            if waited.is_multiple_of(600) {
                tracing::warn!("a purge waits for ingest to apply the log");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One batch of the store phase: whether there may be more.
    async fn store_step(&self, job: &mut PurgeJob) -> Result<bool, PurgeError> {
        let batch = self.config.batch.max(1);
        let tenant = job.tenant.clone();
        let ids: Vec<Uuid> = match &mut job.scope {
            PurgeScope::Tenant => {
                let counts = self.store.purge_tenant(&tenant, batch).await?;
                job.counts.add(&counts);
                return Ok(counts != PurgeCounts::default());
            }
            PurgeScope::Learner { .. } => return self.learner_step(job).await,
            PurgeScope::Retention { cutoff, .. } => {
                let scan = IndexScan {
                    tenant: tenant.clone(),
                    path: AccessPath::All,
                    since: None,
                    until: Some(*cutoff - 1),
                    after: None,
                    ascending: true,
                    limit: batch,
                };
                self.store
                    .scan(&scan)
                    .await?
                    .into_iter()
                    .map(|p| p.id)
                    .collect()
            }
            PurgeScope::Statements {
                ids,
                document_scopes,
                ..
            } => {
                let start = job.next_id as usize;
                if start >= ids.len() {
                    for scope in std::mem::take(document_scopes) {
                        let scope = scope.to_scope(&tenant);
                        let held = self.store.list_documents(&scope, None).await?;
                        self.store.delete_documents(&scope).await?;
                        job.counts.documents += held.len() as u64;
                    }
                    return Ok(false);
                }
                let end = (start + batch).min(ids.len());
                ids[start..end].to_vec()
            }
        };
        if ids.is_empty() {
            if let PurgeScope::Retention { cutoff, .. } = job.scope {
                // The quarantined statements stored before the cutoff go too.
                job.counts.other_rows +=
                    learner_purge::purge_quarantined_where(self.store.as_ref(), &tenant, |q| {
                        q.stored < cutoff
                    })
                    .await?;
            }
            return Ok(false);
        }
        let statements = self.store.get_statements(&tenant, &ids).await?;
        self.purge_batch(job, statements.into_iter().flatten().collect())
            .await?;
        if let PurgeScope::Statements { .. } = job.scope {
            job.next_id += ids.len() as u64;
        }
        Ok(true)
    }

    /// One batch of a learner purge: resolves the learner first (after ingest caught up), then
    /// the next batch of their statements, then their documents.
    async fn learner_step(&self, job: &mut PurgeJob) -> Result<bool, PurgeError> {
        let tenant = job.tenant.clone();
        let PurgeScope::Learner {
            user_sourced_id,
            identities,
            identity_count,
            cutoff,
            progress,
        } = &mut job.scope
        else {
            return Ok(false);
        };
        if !progress.resolved {
            let resolver = self
                .learners
                .as_ref()
                .ok_or(PurgeError::NoLearnerResolver)?;
            let user = user_sourced_id.clone().unwrap_or_default();
            // A learner the roster no longer lists has nothing left to resolve: the job ends
            // with nothing purged (the request checked them; the roster changed since).
            *identities = resolver
                .identities(&tenant, &user)
                .await?
                .unwrap_or_default();
            *identity_count = identities.len() as u64;
            *user_sourced_id = None;
            progress.resolved = true;
            return Ok(true);
        }
        if progress.documents_done {
            return Ok(false);
        }
        let (identities, cutoff) = (identities.clone(), *cutoff);
        let statements = learner_purge::next_batch(
            self.store.as_ref(),
            &tenant,
            &identities,
            cutoff,
            progress,
            self.config.batch.max(1),
        )
        .await?;
        if statements.is_empty() {
            let quarantined =
                learner_purge::purge_quarantined(self.store.as_ref(), &tenant, &identities).await?;
            let documents =
                learner_purge::delete_documents(self.store.as_ref(), &tenant, &identities).await?;
            // Their identifiers' dictionary entries: no fact of theirs is left to name.
            let keys: Vec<Key16> = identities.iter().map(|i| Key16::of(i)).collect();
            let terms = self
                .store
                .purge_terms(&tenant, lrs_store::ACTOR_TERMS, &keys)
                .await?;
            progress.documents_done = true;
            job.counts.other_rows += quarantined;
            job.counts.documents += documents;
            job.counts.add(&terms);
            return Ok(true);
        }
        self.purge_batch(job, statements).await?;
        Ok(true)
    }

    /// Purges `statements` with their study-log facts, after recording their attachments.
    async fn purge_batch(
        &self,
        job: &mut PurgeJob,
        statements: Vec<lrs_store::StoredStatement>,
    ) -> Result<(), PurgeError> {
        let tenant = job.tenant.clone();
        let mut facts = Vec::new();
        let mut found = Vec::new();
        for statement in statements {
            if let Some((row, _)) = study::derive(&statement.body, &self.config.study) {
                facts.push((row.day, row.fact.actor, statement.id));
            }
            job.attachment_candidates
                .extend(attachment_hashes(&statement.body));
            found.push(statement.id);
        }
        // The candidates are recorded before the statements that name them go.
        self.save(job).await?;
        self.store.void_facts(&tenant, &facts).await?;
        job.facts += facts.len() as u64;
        let counts = self.store.purge_statements(&tenant, &found).await?;
        job.counts.add(&counts);
        Ok(())
    }

    /// Deletes the candidate attachments no remaining statement of the tenant mentions.
    async fn attachments_step(&self, job: &mut PurgeJob) -> Result<(), PurgeError> {
        if job.attachment_candidates.is_empty() {
            return Ok(());
        }
        let mut unreferenced = job.attachment_candidates.clone();
        let mut after = None;
        loop {
            let page = self
                .store
                .scan(&IndexScan {
                    tenant: job.tenant.clone(),
                    path: AccessPath::All,
                    since: None,
                    until: None,
                    after,
                    ascending: true,
                    limit: 1_000,
                })
                .await?;
            let Some(last) = page.last().copied() else {
                break;
            };
            after = Some(last);
            let ids: Vec<Uuid> = page.iter().map(|p| p.id).collect();
            for statement in self
                .store
                .get_statements(&job.tenant, &ids)
                .await?
                .into_iter()
                .flatten()
            {
                for hash in attachment_hashes(&statement.body) {
                    unreferenced.remove(&hash);
                }
            }
            if unreferenced.is_empty() {
                break;
            }
        }
        let doomed: Vec<String> = unreferenced.into_iter().collect();
        let counts = self.store.purge_attachments(&job.tenant, &doomed).await?;
        job.counts.add(&counts);
        job.attachment_candidates.clear();
        Ok(())
    }

    /// Drops the consumed log segments, waiting (a little) for the consumer to commit what the
    /// store already holds.
    async fn log_step(&self) -> Result<Option<LogDrop>, PurgeError> {
        let mut total = LogDrop::default();
        for attempt in 0..100 {
            let log = Arc::clone(&self.log);
            let dropped = tokio::task::spawn_blocking(move || log.drop_consumed())
                .await
                .map_err(|e| PurgeError::Record(e.to_string()))??;
            let Some(dropped) = dropped else {
                return Ok(None);
            };
            total.segments_deleted += dropped.segments_deleted;
            total.segments_kept = dropped.segments_kept;
            if dropped.segments_kept == 0 {
                break;
            }
            if attempt == 99 {
                tracing::warn!(
                    kept = dropped.segments_kept,
                    "a purge left log segments a consumer has not read yet"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Some(total))
    }
}

fn decode(record: &PurgeRecord) -> Result<PurgeJob, PurgeError> {
    let mut job: PurgeJob = serde_json::from_slice(&record.record)
        .map_err(|e| PurgeError::Record(format!("purge record {}: {e}", record.id)))?;
    job.created = record.created;
    Ok(job)
}

/// The lower-case `sha2` of every attachment a statement body declares.
fn attachment_hashes(body: &[u8]) -> Vec<String> {
    // Cheap test first: most statements carry no attachment.
    if !body.windows(5).any(|w| w == b"sha2\"") {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut collect = |statement: &serde_json::Value| {
        if let Some(list) = statement.get("attachments").and_then(|a| a.as_array()) {
            out.extend(
                list.iter()
                    .filter_map(|a| a.get("sha2").and_then(|s| s.as_str()))
                    .map(str::to_ascii_lowercase),
            );
        }
    };
    collect(&value);
    if let Some(sub) = value.get("object") {
        collect(sub);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retention_cutoff_is_april_first_in_the_deployment_zone() {
        let calendar = Calendar::default();
        // 2026-12-05 12:00 JST.
        let now = lrs_schema::parse_timestamp("2026-12-05T03:00:00Z").unwrap();
        let PurgeScope::Retention {
            first_kept_school_year,
            cutoff,
            ..
        } = PurgeService::retention_scope(&calendar, 2, now).unwrap()
        else {
            unreachable!()
        };
        assert_eq!(first_kept_school_year, 2025);
        // 2025-04-01 00:00 JST is 2025-03-31 15:00 UTC.
        assert_eq!(
            lrs_schema::format_timestamp(cutoff),
            "2025-03-31T15:00:00.000000Z"
        );
        // On March 31 the current school year is still the previous calendar year's.
        let march = lrs_schema::parse_timestamp("2027-03-31T14:59:59Z").unwrap();
        let PurgeScope::Retention {
            first_kept_school_year,
            ..
        } = PurgeService::retention_scope(&calendar, 1, march).unwrap()
        else {
            unreachable!()
        };
        assert_eq!(first_kept_school_year, 2026);
        assert!(PurgeService::retention_scope(&calendar, 0, now).is_err());
    }

    #[test]
    fn attachment_hashes_are_read_from_the_statement_and_a_substatement() {
        let body = br#"{"attachments":[{"sha2":"ABC"}],"object":{"objectType":"SubStatement","attachments":[{"sha2":"def"}]}}"#;
        assert_eq!(attachment_hashes(body), vec!["abc", "def"]);
        assert!(attachment_hashes(br#"{"verb":{}}"#).is_empty());
    }
}
