//! The ingest loop: poll → decode → first-wins check → store write → watermark → commit.
//!
//! A store failure is retried when it may pass (`Unavailable`: the store is down, the disk is
//! full), never skipped. One that cannot (`Rejected`: the store can never take some row of the
//! batch) is narrowed down instead: the batch is written in halves, and halves of failing
//! halves, in order, until each statement the store refuses is alone; those go to the
//! quarantine (stored with their log position and the error, counted, logged once) and the rest
//! is written, so the partition moves on.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use lrs_log::{ConsumedRecord, LogConsumer, LogError, LogErrorKind, PartitionId};
use lrs_progress::{AppliedBatch, IngestListener};
use lrs_schema::envelope::{IndexKeys, StatementEnvelope};
use lrs_store::{
    ActivityStore, QuarantineStore, QuarantinedStatement, Scraped, StatementReader, StatementRow,
    StatementWriter, StoreError, StoreErrorKind, StoreTimings, StudyLogStore, Watermark,
    now_micros,
};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use crate::definitions::DefinitionLearner;
use crate::study::{self, StudyBook, StudySettings};

/// Settings of one ingest loop.
#[derive(Debug, Clone)]
pub struct IngestorConfig {
    /// At most this many log records per store write (each record is one request's statements).
    pub max_records_per_batch: usize,
    /// About this many statements per store write at most: the number of records polled adapts
    /// to the statements per record seen so far, so a batch of 100-statement requests does not
    /// hold 256 × 100 statements (and their copies in the store's write batch) in memory at once.
    pub max_statements_per_batch: usize,
    /// How long one poll waits for records before checking for shutdown.
    pub poll_wait: Duration,
    /// The study-log settings (time zone, extension IRIs), as the API's.
    pub study: StudySettings,
}

impl Default for IngestorConfig {
    fn default() -> Self {
        IngestorConfig {
            max_records_per_batch: 256,
            max_statements_per_batch: 4_096,
            poll_wait: Duration::from_millis(100),
            study: StudySettings::default(),
        }
    }
}

/// The store calls ingest makes once per batch (`lrs_store_operation_duration_seconds{op}`).
pub const INGEST_STORE_OPERATIONS: &[&str] = &[
    "existing_bodies",
    "write_statements",
    "merge_activity_definitions",
    "record_watermarks",
];

/// Counters of one ingest loop (exposed as metrics).
pub struct IngestStats {
    pub records: AtomicU64,
    pub statements_written: AtomicU64,
    pub duplicates_skipped: AtomicU64,
    pub conflicts: AtomicU64,
    pub undecodable_records: AtomicU64,
    /// Statements the store refused for good, kept in its quarantine instead.
    pub quarantined: AtomicU64,
    pub batches: AtomicU64,
    /// Activity Definitions handed to the store (one per activity per batch).
    pub activity_definitions: AtomicU64,
    /// The store calls of each batch, timed.
    pub store: StoreTimings,
    /// `stored` (µs) of the oldest record of the batch being applied; 0 between batches.
    applying_since: AtomicI64,
    /// How long the oldest record of the last applied batch waited (µs); 0 once the log is drained.
    last_delay: AtomicI64,
}

impl Default for IngestStats {
    fn default() -> Self {
        IngestStats {
            records: AtomicU64::new(0),
            statements_written: AtomicU64::new(0),
            duplicates_skipped: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            undecodable_records: AtomicU64::new(0),
            quarantined: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            activity_definitions: AtomicU64::new(0),
            store: StoreTimings::new(INGEST_STORE_OPERATIONS),
            applying_since: AtomicI64::new(0),
            last_delay: AtomicI64::new(0),
        }
    }
}

impl IngestStats {
    /// `lrs_ingest_lag_seconds`: the age of the oldest record ingest has read but not yet
    /// applied, i.e. now minus its `stored` stamp (while a batch is being applied); between
    /// batches, how long the oldest record of the last batch waited from its `stored` stamp until
    /// it was in the store; 0 once a poll finds nothing left in the log. `stored` is stamped by
    /// the api's clock, so across machines the value includes their clock skew (never below 0).
    pub fn lag_seconds(&self) -> f64 {
        let micros = match self.applying_since.load(Ordering::Relaxed) {
            0 => self.last_delay.load(Ordering::Relaxed),
            oldest => now_micros() - oldest,
        };
        micros.max(0) as f64 / 1e6
    }
}

const INGEST_METRICS: &[(&str, &str)] = &[
    ("lrs_ingest_records_total", "Log records applied"),
    (
        "lrs_ingest_statements_written_total",
        "Statements written to the store",
    ),
    (
        "lrs_ingest_duplicates_total",
        "Statements skipped: their id was already stored (first wins)",
    ),
    (
        "lrs_ingest_conflicts_total",
        "Skipped duplicates whose content differed from the first",
    ),
    (
        "lrs_ingest_undecodable_records_total",
        "Log records that could not be decoded",
    ),
    (
        "lrs_ingest_quarantined_total",
        "Statements the store refused for good, kept in its quarantine instead",
    ),
    ("lrs_ingest_batches_total", "Store batches written"),
    (
        "lrs_ingest_lag_seconds",
        "Age of the oldest log record ingest holds but has not applied (0 when drained)",
    ),
];

impl IngestStats {
    /// The `lrs_ingest_*` series, read from these counters at scrape time (register it with the
    /// process's Prometheus registry).
    pub fn collector(self: &Arc<Self>) -> Scraped {
        let stats = self.clone();
        Scraped::new(INGEST_METRICS, move || {
            [
                &stats.records,
                &stats.statements_written,
                &stats.duplicates_skipped,
                &stats.conflicts,
                &stats.undecodable_records,
                &stats.quarantined,
                &stats.batches,
            ]
            .iter()
            .map(|counter| counter.load(Ordering::Relaxed) as f64)
            .chain([stats.lag_seconds()])
            .collect()
        })
    }
}

/// Why the ingest loop stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("log: {0}")]
    Log(#[from] LogError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Applies the log to the store.
pub struct Ingestor<S> {
    store: Arc<S>,
    consumer: Box<dyn LogConsumer>,
    /// Told after every applied batch (in one process: the read side and the write sequencer).
    listeners: Vec<Arc<dyn IngestListener>>,
    config: IngestorConfig,
    stats: Arc<IngestStats>,
    /// `stored` of the last applied record per partition, so a batch of undecodable records
    /// never moves a watermark backwards.
    last_stored: HashMap<PartitionId, i64>,
    definitions: Arc<DefinitionLearner>,
    /// Running mean of statements per record (sizes the next poll).
    statements_per_record: f64,
    /// Dictionary keys recorded and voiding targets still looked for (`study.rs`).
    study: Mutex<StudyBook>,
}

/// Pause between retries when the store fails; the batch is retried, never skipped.
const STORE_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Pause between polls while the log is unavailable.
const LOG_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Batches with fewer statements have their definitions extracted on the ingest task itself;
/// larger ones on the blocking pool, so a big batch never stalls a tokio worker.
const INLINE_DEFINITION_ROWS: usize = 64;

impl<S: StatementWriter + StatementReader + ActivityStore + QuarantineStore + StudyLogStore>
    Ingestor<S>
{
    pub fn new(store: Arc<S>, consumer: Box<dyn LogConsumer>, config: IngestorConfig) -> Self {
        Ingestor {
            store,
            consumer,
            listeners: Vec::new(),
            config,
            stats: Arc::new(IngestStats::default()),
            last_stored: HashMap::new(),
            definitions: Arc::default(),
            statements_per_record: 1.0,
            study: Mutex::default(),
        }
    }

    /// Records to ask the log for: as many as fit `max_statements_per_batch` at the running mean
    /// of statements per record, within 1…`max_records_per_batch`.
    fn poll_size(&self) -> usize {
        records_to_poll(&self.config, self.statements_per_record)
    }

    /// Adds a listener told about every applied batch, in the order they were added.
    pub fn with_listener(mut self, listener: Arc<dyn IngestListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Times the batch's store calls into `timings` (the process's shared histogram); until this
    /// is called they go to a histogram of the ingestor's own.
    pub fn with_timings(mut self, timings: StoreTimings) -> Self {
        timings.register_ops(INGEST_STORE_OPERATIONS);
        Arc::get_mut(&mut self.stats)
            .expect("timings are set before the stats are shared")
            .store = timings;
        self
    }

    pub fn stats(&self) -> Arc<IngestStats> {
        self.stats.clone()
    }

    /// Runs until `shutdown` turns true, then drains what the log already holds and returns.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), IngestError> {
        for mark in self.store.watermarks().await? {
            self.last_stored.insert(mark.partition, mark.stored);
        }
        let mut unavailable_polls = 0u64;
        loop {
            let stopping = *shutdown.borrow();
            let polled = tokio::select! {
                polled = self.consumer.poll(self.poll_size(), self.config.poll_wait) => polled,
                _ = shutdown.changed(), if !stopping => continue,
            };
            let records = match polled {
                Ok(records) => {
                    if unavailable_polls > 0 {
                        tracing::info!(unavailable_polls, "log available again");
                        unavailable_polls = 0;
                    }
                    records
                }
                // The broker is away (or the group is rebalancing): wait for it; the consumer
                // reconnects by itself. Anything else (a closed log, a misconfiguration) stops us.
                Err(err) if err.kind() == LogErrorKind::Unavailable => {
                    if stopping {
                        tracing::warn!(error = %err, "log unavailable while draining; stopping");
                        return Ok(());
                    }
                    unavailable_polls += 1;
                    if unavailable_polls == 1 || unavailable_polls.is_multiple_of(60) {
                        tracing::warn!(error = %err, unavailable_polls, "log unavailable; retrying");
                    }
                    tokio::time::sleep(LOG_RETRY_PAUSE).await;
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            if records.is_empty() {
                self.stats.last_delay.store(0, Ordering::Relaxed);
                if stopping {
                    tracing::info!("ingest drained; stopping");
                    return Ok(());
                }
                continue;
            }
            // Events of the batch (store retries, conflicts) carry its size at `debug`.
            let span = tracing::debug_span!("ingest_batch", records = records.len());
            self.apply_with_retry(records).instrument(span).await?;
        }
    }

    async fn apply_with_retry(&mut self, records: Vec<ConsumedRecord>) -> Result<(), IngestError> {
        let mut batch = decode_batch(&records, &self.stats);
        let per_record = batch.applied.statement_ids.len() as f64 / records.len() as f64;
        self.statements_per_record = 0.8 * self.statements_per_record + 0.2 * per_record;
        if let Some(oldest) = batch.oldest_stored {
            self.stats.applying_since.store(oldest, Ordering::Relaxed);
        }
        for mark in &mut batch.applied.watermarks {
            let last = self.last_stored.entry(mark.partition).or_insert(0);
            mark.stored = mark.stored.max(*last);
            *last = mark.stored;
        }
        let mut failures = 0u64;
        loop {
            match self.apply(&batch).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(failures, "store available again; the batch is applied");
                    }
                    break;
                }
                Err(err) => {
                    failures += 1;
                    // Once, then every minute or so: a store outage (a full disk) can be long.
                    if failures == 1 || failures.is_multiple_of(300) {
                        tracing::warn!(error = %err, failures, "store write failed; retrying the batch");
                    }
                    tokio::time::sleep(STORE_RETRY_PAUSE).await;
                }
            }
        }
        for mark in &batch.applied.watermarks {
            match self.consumer.commit(mark.partition, mark.next_offset).await {
                Ok(()) => {}
                // The store has the batch; an uncommitted position only means a replay after a
                // restart (idempotent), and the next batch's commit covers this one.
                Err(err) if err.kind() == LogErrorKind::Unavailable => {
                    tracing::warn!(error = %err, partition = mark.partition, "commit failed; the next one covers it");
                }
                Err(err) => return Err(err.into()),
            }
        }
        // Counted before the listener hears of the batch, so a reader it wakes sees the counts.
        self.stats
            .records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        if let Some(oldest) = batch.oldest_stored {
            let waited = now_micros() - oldest;
            self.stats.last_delay.store(waited, Ordering::Relaxed);
            self.stats.applying_since.store(0, Ordering::Relaxed);
        }
        for listener in &self.listeners {
            listener.applied(&batch.applied);
        }
        Ok(())
    }

    /// Writes the batch's new statements (quarantining those the store refuses for good), then
    /// the watermarks. Idempotent.
    async fn apply(&self, batch: &DecodedBatch) -> Result<(), StoreError> {
        let rows = Rows {
            rows: &batch.rows,
            origins: &batch.origins,
        };
        let written = match caught("a statement read", self.new_rows(&batch.rows)).await {
            Ok(kept) => {
                let (new, origins): (Vec<StatementRow>, Vec<(PartitionId, u64)>) = kept
                    .into_iter()
                    .map(|(i, row)| (row, batch.origins[i]))
                    .unzip();
                let new_rows = Rows {
                    rows: &new,
                    origins: &origins,
                };
                match self.write_new(&new).await {
                    Ok(()) => new.len(),
                    Err(err) if err.kind() == StoreErrorKind::Rejected => {
                        self.isolate(new_rows, err, Step::Write).await?
                    }
                    Err(err) => return Err(err),
                }
            }
            // Reads that fail for good (not seen so far) are narrowed down the same way.
            Err(err) if err.kind() == StoreErrorKind::Rejected => {
                self.isolate(rows, err, Step::ReadAndWrite).await?
            }
            Err(err) => return Err(err),
        };
        self.stats
            .store
            .time(
                "record_watermarks",
                self.store.record_watermarks(&batch.applied.watermarks),
            )
            .await?;
        self.stats
            .statements_written
            .fetch_add(written as u64, Ordering::Relaxed);
        Ok(())
    }

    /// The rows to write, with their index in `rows`: the new ones (first wins), with the keys
    /// of their StatementRef targets.
    async fn new_rows(
        &self,
        rows: &[StatementRow],
    ) -> Result<Vec<(usize, StatementRow)>, StoreError> {
        let mut kept = self.first_wins(rows).await?;
        self.inherit_target_keys(&mut kept).await?;
        Ok(kept)
    }

    /// Writes rows known to be new: their definitions, then the rows. A panic of the store on
    /// them is caught and answered as `Rejected`.
    async fn write_new(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let write = async {
            self.learn_definitions(rows).await?;
            let terms = self
                .study
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .new_terms(rows, &self.config.study, now_micros());
            if !terms.is_empty() {
                self.store.record_terms(&terms).await?;
            }
            self.stats
                .store
                .time("write_statements", self.store.write_statements(rows))
                .await?;
            self.void_targets(rows).await
        };
        caught("a statement write", write).await
    }

    /// Removes the facts of the statements `rows` void, and of earlier voiding statements'
    /// targets not found then (see `study.rs`). Idempotent: voiding a fact already gone, or
    /// recomputing a summary again, changes nothing.
    async fn void_targets(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        let mut wanted: Vec<(String, Uuid)> = rows
            .iter()
            .filter_map(|r| r.keys.voids.map(|target| (r.tenant.clone(), target)))
            .collect();
        wanted.extend(
            self.study
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pending_targets(),
        );
        if wanted.is_empty() {
            return Ok(());
        }
        wanted.sort();
        wanted.dedup();
        let mut by_tenant: HashMap<String, Vec<Uuid>> = HashMap::new();
        for (tenant, target) in wanted {
            by_tenant.entry(tenant).or_default().push(target);
        }
        for (tenant, targets) in by_tenant {
            let stored = self.store.get_statements(&tenant, &targets).await?;
            let mut facts = Vec::new();
            let mut missing = Vec::new();
            for (target, statement) in targets.into_iter().zip(stored) {
                match statement {
                    Some(statement) => {
                        if let Some((row, _)) = study::derive(&statement.body, &self.config.study) {
                            facts.push((row.day, row.fact.actor, target));
                        }
                        self.study
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .found(&(tenant.clone(), target));
                    }
                    None => missing.push((tenant.clone(), target)),
                }
            }
            self.study
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .await_targets(missing);
            self.store.void_facts(&tenant, &facts).await?;
        }
        Ok(())
    }

    /// One step of [`Ingestor::isolate`] on a slice of rows: how many it wrote.
    async fn write_slice(&self, rows: &[StatementRow], step: Step) -> Result<usize, StoreError> {
        match step {
            Step::Write => self.write_new(rows).await.map(|()| rows.len()),
            Step::ReadAndWrite => {
                let new: Vec<StatementRow> = caught("a statement read", self.new_rows(rows))
                    .await?
                    .into_iter()
                    .map(|(_, row)| row)
                    .collect();
                self.write_new(&new).await.map(|()| new.len())
            }
        }
    }

    /// The store refused `rows` for good (`first`): writes them in halves, and halves of failing
    /// halves, in order, until every refused statement is alone, and quarantines those. Rows
    /// with k poison statements among n cost about 2·k·log2(n) writes. Returns the statements
    /// written.
    async fn isolate(
        &self,
        rows: Rows<'_>,
        first: StoreError,
        step: Step,
    ) -> Result<usize, StoreError> {
        tracing::warn!(error = %first, rows = rows.rows.len(), "the store refused a batch for good; isolating the statements it refuses");
        let all = 0..rows.rows.len();
        if all.len() <= 1 {
            if !all.is_empty() {
                self.quarantine(rows, 0, &first).await?;
            }
            return Ok(0);
        }
        let mut written = 0;
        // A stack of ranges still to write, the next one on top.
        let mut pending: Vec<Range<usize>> = halves(all).into_iter().rev().collect();
        while let Some(range) = pending.pop() {
            match self.write_slice(&rows.rows[range.clone()], step).await {
                Ok(n) => written += n,
                Err(err) if err.kind() == StoreErrorKind::Rejected && range.len() == 1 => {
                    self.quarantine(rows, range.start, &err).await?;
                }
                Err(err) if err.kind() == StoreErrorKind::Rejected => {
                    pending.extend(halves(range).into_iter().rev());
                }
                Err(err) => return Err(err),
            }
        }
        Ok(written)
    }

    /// Keeps row `index` in the store's quarantine, counts and logs it. Should the quarantine
    /// refuse it too, the statement is logged whole instead (the log still holds it until
    /// retention removes it), so the partition moves on either way.
    async fn quarantine(
        &self,
        rows: Rows<'_>,
        index: usize,
        error: &StoreError,
    ) -> Result<(), StoreError> {
        let row = &rows.rows[index];
        let (partition, offset) = rows.origins[index];
        let statement = QuarantinedStatement {
            tenant: row.tenant.clone(),
            id: row.id,
            stored: row.stored,
            log_partition: partition,
            log_offset: offset,
            error: error.message().to_owned(),
            body: row.body.clone(),
            quarantined: now_micros(),
        };
        let kept = caught(
            "a quarantine write",
            self.store.quarantine(std::slice::from_ref(&statement)),
        )
        .await;
        match kept {
            Ok(()) => tracing::error!(
                tenant = %row.tenant,
                statement_id = %row.id,
                partition,
                offset,
                error = %error,
                "statement quarantined: the store can never take it"
            ),
            Err(refused) if refused.kind() == StoreErrorKind::Rejected => tracing::error!(
                tenant = %row.tenant,
                statement_id = %row.id,
                partition,
                offset,
                error = %error,
                quarantine_error = %refused,
                body = %String::from_utf8_lossy(&row.body),
                "statement skipped: neither the store nor its quarantine can take it"
            ),
            Err(err) => return Err(err),
        }
        self.stats.quarantined.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Merges the Activity Definitions of the rows about to be written into the canonical ones.
    /// It runs before the rows are written: a crash in between replays the batch, the rows are
    /// still new, and merging the same definitions again changes nothing. Rows dropped as
    /// duplicates teach nothing (their first copy already did).
    async fn learn_definitions(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        let learned = if rows.len() < INLINE_DEFINITION_ROWS {
            self.definitions.learn(rows)
        } else {
            let (learner, rows) = (self.definitions.clone(), rows.to_vec());
            // A panic on these rows would panic again: `Rejected`, so they are isolated.
            tokio::task::spawn_blocking(move || learner.learn(&rows))
                .await
                .map_err(|e| match e.try_into_panic() {
                    Ok(payload) => StoreError::from_panic("learning definitions", payload.as_ref()),
                    Err(e) => StoreError::new(
                        StoreErrorKind::Unavailable,
                        format!("definition task failed: {e}"),
                    ),
                })?
        };
        if !learned.rows.is_empty() {
            self.stats
                .store
                .time(
                    "merge_activity_definitions",
                    self.store.merge_activity_definitions(&learned.rows),
                )
                .await?;
            self.stats
                .activity_definitions
                .fetch_add(learned.rows.len() as u64, Ordering::Relaxed);
        }
        self.definitions.merged(learned);
        Ok(())
    }

    /// Drops rows whose id is already stored (or repeated earlier in the batch). A dropped row that
    /// is not equivalent to the kept one is a conflict: reported, never written over the first.
    async fn first_wins(
        &self,
        rows: &[StatementRow],
    ) -> Result<Vec<(usize, StatementRow)>, StoreError> {
        let mut by_tenant: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            by_tenant.entry(row.tenant.as_str()).or_default().push(i);
        }
        let mut keep = vec![true; rows.len()];
        for (tenant, indexes) in by_tenant {
            let ids: Vec<Uuid> = indexes.iter().map(|&i| rows[i].id).collect();
            let existing = self
                .stats
                .store
                .time("existing_bodies", self.store.existing_bodies(tenant, &ids))
                .await?;
            let mut seen: HashMap<Uuid, usize> = HashMap::new();
            for &i in &indexes {
                let row = &rows[i];
                let first_body = match (existing.get(&row.id), seen.get(&row.id)) {
                    (Some(body), _) => Some(body),
                    (None, Some(&j)) => Some(&rows[j].body),
                    (None, None) => None,
                };
                match first_body {
                    None => {
                        seen.insert(row.id, i);
                    }
                    Some(first) => {
                        keep[i] = false;
                        self.note_duplicate(tenant, row, first);
                    }
                }
            }
        }
        Ok(rows
            .iter()
            .enumerate()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|((i, row), _)| (i, row.clone()))
            .collect())
    }

    /// xAPI Communication §2.1.3 "Filter Conditions for StatementRefs": a statement whose object
    /// is a StatementRef (a voiding statement included) also matches the filters its target
    /// matches, so it is written with the target's keys. The target is looked up in this batch
    /// and then in the store; a target that arrives after its referrer is not linked back (the
    /// referrer then matches on its own keys only).
    async fn inherit_target_keys(
        &self,
        rows: &mut [(usize, StatementRow)],
    ) -> Result<(), StoreError> {
        let wanted: HashSet<(String, Uuid)> = rows
            .iter()
            .filter_map(|(_, r)| r.keys.refers_to.map(|t| (r.tenant.clone(), t)))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<(String, Uuid), IndexKeys> = rows
            .iter()
            .filter(|(_, r)| wanted.contains(&(r.tenant.clone(), r.id)))
            .map(|(_, r)| ((r.tenant.clone(), r.id), r.keys.clone()))
            .collect();
        let mut missing: HashMap<String, Vec<Uuid>> = HashMap::new();
        for (tenant, id) in &wanted {
            if !found.contains_key(&(tenant.clone(), *id)) {
                missing.entry(tenant.clone()).or_default().push(*id);
            }
        }
        for (tenant, ids) in missing {
            let stored = self.store.get_statements(&tenant, &ids).await?;
            for (id, statement) in ids.into_iter().zip(stored) {
                if let Some(statement) = statement {
                    found.insert((tenant.clone(), id), statement.keys);
                }
            }
        }
        for (_, row) in rows.iter_mut() {
            if let Some(target) = row.keys.refers_to {
                row.inherited = found.get(&(row.tenant.clone(), target)).cloned();
            }
        }
        Ok(())
    }

    fn note_duplicate(&self, tenant: &str, row: &StatementRow, first: &Bytes) {
        if lrs_schema::bodies_equivalent(first, &row.body) {
            self.stats
                .duplicates_skipped
                .fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tenant, statement_id = %row.id, "conflicting statement id; kept the first");
        }
    }
}

/// Rows with the log position each was read from.
#[derive(Clone, Copy)]
struct Rows<'a> {
    rows: &'a [StatementRow],
    origins: &'a [(PartitionId, u64)],
}

/// What [`Ingestor::isolate`] redoes on each slice.
#[derive(Clone, Copy)]
enum Step {
    /// The rows are known to be new: write them.
    Write,
    /// The first-wins and StatementRef reads failed: redo them, then write.
    ReadAndWrite,
}

/// A store call whose panic (a backend's assertion on one input) is an error, `Rejected`,
/// rather than the end of the ingest task: the same input panics again, so it is quarantined.
async fn caught<T>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(StoreError::from_panic(what, payload.as_ref())),
    }
}

/// `range` cut in two (the first half the shorter); a range of one is itself.
fn halves(range: Range<usize>) -> Vec<Range<usize>> {
    if range.len() <= 1 {
        return vec![range];
    }
    let middle = range.start + range.len() / 2;
    vec![range.start..middle, middle..range.end]
}

fn records_to_poll(config: &IngestorConfig, statements_per_record: f64) -> usize {
    let fitting = config.max_statements_per_batch as f64 / statements_per_record.max(1.0);
    (fitting as usize).clamp(1, config.max_records_per_batch.max(1))
}

struct DecodedBatch {
    rows: Vec<StatementRow>,
    /// The log partition and offset each row was read from.
    origins: Vec<(PartitionId, u64)>,
    applied: AppliedBatch,
    /// `stored` of the oldest decodable record.
    oldest_stored: Option<i64>,
}

fn decode_batch(records: &[ConsumedRecord], stats: &IngestStats) -> DecodedBatch {
    let mut rows = Vec::new();
    let mut origins = Vec::new();
    let mut ids = Vec::new();
    let mut marks: HashMap<PartitionId, Watermark> = HashMap::new();
    let mut oldest_stored: Option<i64> = None;
    for record in records {
        let mark = marks.entry(record.partition).or_insert(Watermark {
            partition: record.partition,
            next_offset: 0,
            stored: 0,
        });
        mark.next_offset = mark.next_offset.max(record.offset + 1);
        let envelope = match StatementEnvelope::decode(&record.payload) {
            Ok(envelope) => envelope,
            Err(err) => {
                // Undecodable records can never be applied; they are counted and logged with their
                // position so an operator can inspect them, and the log moves on.
                stats.undecodable_records.fetch_add(1, Ordering::Relaxed);
                tracing::error!(partition = record.partition, offset = record.offset, error = %err, "undecodable log record skipped");
                continue;
            }
        };
        mark.stored = mark.stored.max(envelope.stored);
        oldest_stored = Some(oldest_stored.map_or(envelope.stored, |o| o.min(envelope.stored)));
        let tenant = envelope.tenant;
        for statement in envelope.statements {
            ids.push((tenant.clone(), statement.id));
            origins.push((record.partition, record.offset));
            rows.push(StatementRow {
                tenant: tenant.clone(),
                stored: envelope.stored,
                id: statement.id,
                keys: statement.keys,
                inherited: None,
                body: Bytes::from(statement.body),
                study: statement.study,
            });
        }
    }
    let mut watermarks: Vec<Watermark> = marks.into_values().collect();
    watermarks.sort_by_key(|m| m.partition);
    DecodedBatch {
        rows,
        origins,
        applied: AppliedBatch {
            watermarks,
            statement_ids: ids,
        },
        oldest_stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_cover_a_range_in_order_and_a_single_row_is_itself() {
        assert_eq!(halves(0..5), [0..2, 2..5]);
        assert_eq!(halves(3..5), [3..4, 4..5]);
        let single = halves(7..8);
        assert_eq!((single.len(), single[0].clone()), (1, 7..8));
    }

    #[test]
    fn the_poll_size_fits_the_statement_budget_at_the_mean_record_size() {
        let config = IngestorConfig::default();
        // Single-statement requests: the record cap.
        assert_eq!(records_to_poll(&config, 1.0), 256);
        // Batches of 100: ~4096 statements.
        assert_eq!(records_to_poll(&config, 100.0), 40);
        // Huge records: still at least one.
        assert_eq!(records_to_poll(&config, 1e9), 1);
        // No statements seen (undecodable records): treated as one per record.
        assert_eq!(records_to_poll(&config, 0.0), 256);
    }
}
