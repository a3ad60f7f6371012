//! [`EmbeddedStore`]: the store seam on fjall, for `lrs serve` in one process.
//!
//! The tables mirror the ScyllaDB design, one fjall keyspace each (see `keys.rs` and `codec.rs`
//! for the byte layouts):
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `meta` | `layout` | key layout version (`u8`, [`keys::KEY_LAYOUT`]) |
//! | `tenants` | tenant name (UTF-8) | tenant id (`u32` big-endian) |
//! | `statements` | tenant id (1 or 5 bytes), id | `codec` statement value v1 (stored, full index keys, LZ4 body); key-value separated |
//! | `statements_by_stored` | tenant id, bucket of stored, block id | index block: the positions (stored, id) one batch filed there (`layout/blocks.rs`) |
//! | `statements_by_<path>` | tenant id, first 8 bytes of key16 (registration: mixed to 8), bucket of stored, block id | index block |
//! | `voided` | tenant id, target id | voiding statement id |
//! | `watermarks` | partition (`u32` big-endian) | `codec` watermark value v1 |
//! | `documents` | tenant name (`u16` length-prefixed), kind, scope (`u32` length-prefixed), document id | `codec` document value v1 |
//! | `attachments` | tenant name (`u16` length-prefixed), lower-case hex hash | attachment value v1 (`attachments.rs`); key-value separated |
//! | `activities` | tenant id (1 or 5 bytes), activity id (UTF-8) | version byte, canonical definition JSON (see `activities.rs`) |
//! | `quarantine` | tenant name (`u16` length-prefixed), statement id | quarantine value v1 (`quarantine.rs`) |
//! | `purges` | purge job id | created, the job record (`purge.rs`) |
//! | `facts`, `month_summaries`, `terms`, `terms_by_time`, `roster_versions`, `roster_records` | see `studylog.rs` | |
//!
//! Tenant ids are assigned on a tenant's first statement write (durably, before the rows) and
//! cached in memory; a read for a tenant that never wrote finds nothing and assigns nothing.
//! Index keys hold 8-byte key prefixes, so a scan may return extra positions on a prefix
//! collision; callers re-check the full keys (see `keys.rs`). A store written with key layout 1
//! (tenant names in statement keys, 16-byte path keys) or 2 (one index key per statement and
//! path) is refused at open, with what to do instead.
//!
//! Every fjall call blocks, so the async trait methods run them on tokio's blocking pool. fjall
//! panics on a key longer than 65,535 bytes: every key is checked before it gets there (a write
//! is [`StoreErrorKind::Rejected`], a lookup finds nothing), and a panic of a call is caught and
//! answered as `Rejected` too. A database fjall has poisoned (a failed write or flush, e.g. on a
//! full disk) is reopened in-process (see [`Shared`]).

mod activities;
mod attachments;
mod documents;
mod purge;
mod quarantine;
mod statements;
mod studylog;

pub(crate) mod codec;
pub(crate) mod keys;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions};
use uuid::Uuid;

use crate::layout::IndexTable;
use crate::{
    ActivityDefinitionRow, ActivityStore, AttachmentBody, AttachmentStore, Document,
    DocumentAddress, DocumentScope, DocumentStore, FactRow, IndexScan, Micros, MonthNumber,
    Position, Precondition, PurgeCounts, PurgeRecord, PurgeStore, QuarantineStore,
    QuarantinedStatement, RosterChangeRow, RosterRecordRow, RosterStore, RosterVersionRow,
    StatementReader, StatementRow, StatementWriter, StoreError, StoreErrorKind, StoredStatement,
    StudyLogStore, TermRow, Watermark,
};
use fjall::config::{CompressionPolicy, PinningPolicy};
use keys::{KEY_LAYOUT, TenantId};
use lrs_schema::DefinitionJson;
use lrs_schema::MonthSummary;
use lrs_schema::envelope::Key16;

/// The embedded (fjall) store. Cheap to clone: clones share one database.
#[derive(Clone)]
pub struct EmbeddedStore {
    shared: Arc<Shared>,
}

/// The database of one directory, and what it takes to reopen it after a failure.
///
/// fjall refuses every write once one write or background flush has failed (it is "poisoned",
/// e.g. by a full disk), until the database is opened again. So when a call fails and the
/// database proves poisoned, the store records the failure ([`EmbeddedStore::health`] reports
/// it) and a recovery thread reopens the directory in this process, once per
/// [`RECOVERY_PAUSE`] until it succeeds, as soon as the file system has
/// [`RECOVERY_MIN_FREE_BYTES`] free: fjall recovers from its journal, and every write fjall
/// acknowledged is still there. Callers (ingest) see `Unavailable` errors meanwhile, and retry;
/// reads keep using the failed database until the reopen.
struct Shared {
    dir: PathBuf,
    /// The open database; `None` while it is being reopened, or when reopening failed.
    tables: RwLock<Option<Arc<Tables>>>,
    /// Why the database failed, from the failure until a reopen succeeds.
    failure: Mutex<Option<String>>,
}

/// The pause before each attempt to reopen a failed database.
const RECOVERY_PAUSE: Duration = Duration::from_secs(1);

/// A failed database is reopened only once its file system has this much free space (a full
/// disk is the usual cause; reopening on one would only fail again at the next write).
pub const RECOVERY_MIN_FREE_BYTES: u64 = 16 * 1024 * 1024;

/// How long a reopen waits for calls still using the failed database to finish.
const RECOVERY_DRAIN: Duration = Duration::from_secs(5);

/// The open database and one handle per table.
pub(crate) struct Tables {
    db: Database,
    /// The key layout version (`meta`).
    meta: Keyspace,
    tenants: Keyspace,
    /// Every assigned tenant id, loaded at open; the source of truth while the store is open.
    tenant_ids: RwLock<HashMap<String, TenantId>>,
    /// Serializes tenant id assignment.
    tenant_assignment: Mutex<()>,
    statements: Keyspace,
    /// Indexed by [`IndexTable::index`].
    indexes: Vec<Keyspace>,
    voided: Keyspace,
    watermarks: Keyspace,
    documents: Keyspace,
    /// Serializes document writes so a precondition check and its write are atomic.
    document_writes: Mutex<()>,
    attachments: Keyspace,
    activities: Keyspace,
    /// Serializes activity definition merges (read, merge, write).
    activity_writes: Mutex<()>,
    quarantine: Keyspace,
    facts: Keyspace,
    month_summaries: Keyspace,
    terms: Keyspace,
    terms_by_time: Keyspace,
    roster_versions: Keyspace,
    roster_records: Keyspace,
    /// Serializes roster commits (the version number check and the batch).
    roster_writes: Mutex<()>,
    /// Purge job records (`purge.rs`).
    purges: Keyspace,
    /// Filler a purge writes through the journal and deletes at once (`purge.rs`).
    purge_scratch: Keyspace,
    /// fjall entries the statement batches inserted since the database was opened.
    statement_inserts: std::sync::atomic::AtomicU64,
    /// Serializes the writes that read facts or summaries before writing them (statement
    /// batches with facts, `void_facts`): one ingest loop makes them, but two writers of the
    /// same facts at once must still count each once.
    study_writes: Mutex<()>,
}

/// fjall keeps up to 64 MiB of memtable per keyspace by default; with the statements table and
/// eight index tables filling up together under sustained ingest that was most of the
/// server's memory. These bound the memtables to ~32 + 8 × 16 MiB (settings of a keyspace are
/// fixed when it is created, so they apply to new stores).
const STATEMENTS_MEMTABLE_BYTES: u64 = 32 * 1024 * 1024;
const INDEX_MEMTABLE_BYTES: u64 = 16 * 1024 * 1024;

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        let tables = Tables::open(dir)?;
        Ok(EmbeddedStore {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                tables: RwLock::new(Some(Arc::new(tables))),
                failure: Mutex::new(None),
            }),
        })
    }

    /// The fjall entries (rows, index blocks, voided entries, study-log facts and summaries) the
    /// statement writes inserted since the database was last opened: the write path's unit of
    /// work, which `examples/write_bench.rs` reports per statement.
    pub fn statement_inserts(&self) -> Result<u64, StoreError> {
        Ok(self
            .shared
            .tables()?
            .statement_inserts
            .load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Bytes the database occupies on disk (journals and tables).
    pub fn disk_space(&self) -> Result<u64, StoreError> {
        self.shared.tables()?.db.disk_space().map_err(unavailable)
    }

    /// `Err` (`Unavailable`, naming the cause) from a failure of the database until it has been
    /// reopened; see [`Shared`].
    pub fn health(&self) -> Result<(), StoreError> {
        match lock(&self.shared.failure).as_ref() {
            None => Ok(()),
            Some(error) => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!("the embedded store failed and is being reopened: {error}"),
            )),
        }
    }

    /// Runs blocking fjall work on tokio's blocking pool. A panic of the work (fjall asserts its
    /// limits) is caught there and answered as [`StoreErrorKind::Rejected`]: the same input
    /// panics again.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Tables) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.run(work))
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(payload) => StoreError::from_panic("the embedded store", payload.as_ref()),
                Err(e) => StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("store task failed: {e}"),
                ),
            })?
    }

    #[cfg(test)]
    fn tables(&self) -> Arc<Tables> {
        self.shared.tables().expect("an open store")
    }
}

impl Shared {
    /// The open database.
    fn tables(&self) -> Result<Arc<Tables>, StoreError> {
        let tables = self
            .tables
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        tables.ok_or_else(|| {
            let error = lock(&self.failure).clone().unwrap_or_default();
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("the embedded store failed and is being reopened: {error}"),
            )
        })
    }

    /// Runs one call; an `Unavailable` error from a database that proves poisoned records the
    /// failure and starts the recovery.
    fn run<T>(
        self: &Arc<Self>,
        work: impl FnOnce(&Tables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tables = self.tables()?;
        let result = work(&tables);
        if let Err(err) = &result
            && err.kind() == StoreErrorKind::Unavailable
            && let Err(poisoned) = tables.db.persist(fjall::PersistMode::Buffer)
        {
            let mut failure = lock(&self.failure);
            if failure.is_none() {
                tracing::error!(error = %err, state = %poisoned, "the embedded store failed; reopening it");
                *failure = Some(err.message().to_owned());
                self.spawn_recovery();
            }
        }
        result
    }

    /// A thread that reopens the database until it succeeds (or the store is dropped).
    fn spawn_recovery(self: &Arc<Self>) {
        let shared = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("lrs-store-recovery".into())
            .spawn(move || {
                let mut waited_for_space = false;
                let mut attempts = 0u64;
                loop {
                    std::thread::sleep(RECOVERY_PAUSE);
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    match free_bytes(&shared.dir) {
                        Some(free) if free < RECOVERY_MIN_FREE_BYTES => {
                            if !waited_for_space {
                                tracing::warn!(
                                    free,
                                    "the embedded store waits for free disk space before reopening"
                                );
                                waited_for_space = true;
                            }
                            continue;
                        }
                        _ => {}
                    }
                    attempts += 1;
                    // Logged once, then about every minute.
                    if shared.reopen(attempts == 1 || attempts.is_multiple_of(60)) {
                        return;
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "starting the store's recovery thread failed");
        }
    }

    /// Closes the failed database (once the calls still using it are done) and opens the
    /// directory again: whether that succeeded. `log` says whether to log a failure.
    fn reopen(&self, log: bool) -> bool {
        let old = self
            .tables
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut old) = old {
            let deadline = Instant::now() + RECOVERY_DRAIN;
            loop {
                match Arc::try_unwrap(old) {
                    // Dropping the tables closes the database (and its lock file).
                    Ok(tables) => break drop(tables),
                    Err(shared) if Instant::now() < deadline => {
                        old = shared;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(shared) => {
                        tracing::warn!(
                            "the failed embedded store is still in use; reopening later"
                        );
                        *self.tables.write().unwrap_or_else(|p| p.into_inner()) = Some(shared);
                        return false;
                    }
                }
            }
        }
        match Tables::open(&self.dir) {
            Ok(tables) => {
                *self.tables.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(tables));
                *lock(&self.failure) = None;
                tracing::info!(dir = %self.dir.display(), "the embedded store was reopened");
                true
            }
            Err(err) => {
                if log {
                    tracing::warn!(error = %err, "reopening the embedded store failed; retrying");
                }
                *lock(&self.failure) = Some(err.message().to_owned());
                false
            }
        }
    }
}

/// Free bytes on the file system holding `dir`, when they can be read.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tables {
    fn open(dir: &Path) -> Result<Tables, StoreError> {
        let db = Database::builder(dir).open().map_err(unavailable)?;
        let meta = db
            .keyspace("meta", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        let tenants = db
            .keyspace("tenants", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        // Bodies are LZ4-compressed in the value already; compressing the blocks again costs
        // CPU for nothing. Values of 1 KiB and more (nearly every statement) are kept apart in
        // blob files, written once: compacting the randomly keyed `statements` table then moves
        // small pointers, not bodies (write amplification 2.5 → 1.65 on the write bench).
        // Every level's filter and index blocks stay in memory (~1.5 bytes of filter per
        // statement, 15 MB at 10 M): the duplicate check of client-chosen ids is a point read
        // that nearly always misses, and with fjall's default (only L0's filters pinned) each
        // miss read the deeper levels' filter blocks from the files, 30 % of the CPU at 3.7 M
        // stored (docs/performance.md, "Issue 12: the targets on a quiet machine"). Set when
        // the table is created: a data dir made before keeps its settings.
        let statements = db
            .keyspace("statements", || {
                KeyspaceCreateOptions::default()
                    .filter_block_pinning_policy(PinningPolicy::all(true))
                    .index_block_pinning_policy(PinningPolicy::all(true))
                    .max_memtable_size(STATEMENTS_MEMTABLE_BYTES)
                    .data_block_compression_policy(CompressionPolicy::disabled())
                    .with_kv_separation(Some(
                        KvSeparationOptions::default().compression(CompressionType::None),
                    ))
            })
            .map_err(unavailable)?;
        let indexes = IndexTable::EVERY
            .iter()
            .map(|table| {
                db.keyspace(table.table_name(), || {
                    KeyspaceCreateOptions::default().max_memtable_size(INDEX_MEMTABLE_BYTES)
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        let voided = db
            .keyspace("voided", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        let watermarks = db
            .keyspace("watermarks", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        let documents = db
            .keyspace("documents", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        // Attachment data is often large: values of 1 KiB and more go to (LZ4) blob files.
        let attachments = db
            .keyspace("attachments", || {
                KeyspaceCreateOptions::default()
                    .with_kv_separation(Some(KvSeparationOptions::default()))
            })
            .map_err(unavailable)?;
        let activities = db
            .keyspace("activities", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        let quarantine = db
            .keyspace("quarantine", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        let keyspace = |name: &str| {
            db.keyspace(name, || {
                KeyspaceCreateOptions::default().max_memtable_size(INDEX_MEMTABLE_BYTES)
            })
            .map_err(unavailable)
        };
        let facts = keyspace("facts")?;
        let month_summaries = keyspace("month_summaries")?;
        let terms = keyspace("terms")?;
        let terms_by_time = keyspace("terms_by_time")?;
        let roster_versions = keyspace("roster_versions")?;
        let roster_records = keyspace("roster_records")?;
        let purges = db
            .keyspace("purges", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        let purge_scratch = db
            .keyspace("purge_scratch", KeyspaceCreateOptions::default)
            .map_err(unavailable)?;
        check_layout(&db, &meta, &statements)?;
        let tenant_ids = load_tenants(&tenants)?;
        Ok(Tables {
            db,
            meta,
            tenants,
            tenant_ids: RwLock::new(tenant_ids),
            tenant_assignment: Mutex::new(()),
            statements,
            indexes,
            voided,
            watermarks,
            documents,
            document_writes: Mutex::new(()),
            attachments,
            activities,
            activity_writes: Mutex::new(()),
            quarantine,
            facts,
            month_summaries,
            terms,
            terms_by_time,
            roster_versions,
            roster_records,
            roster_writes: Mutex::new(()),
            purges,
            purge_scratch,
            statement_inserts: Default::default(),
            study_writes: Mutex::new(()),
        })
    }
}

/// Records the key layout in a new store; refuses a store written with another layout.
fn check_layout(db: &Database, meta: &Keyspace, statements: &Keyspace) -> Result<(), StoreError> {
    let written = match meta.get(b"layout").map_err(unavailable)? {
        Some(v) if v[..] == [KEY_LAYOUT] => return Ok(()),
        Some(v) => match v[..] {
            [version] => version.to_string(),
            _ => format!("{v:?}"),
        },
        None if statements.first_key_value().is_some() => "1".to_owned(),
        None => {
            let mut batch = db.batch().durability(Some(fjall::PersistMode::SyncAll));
            batch.insert(meta, b"layout".to_vec(), vec![KEY_LAYOUT]);
            return batch.commit().map_err(unavailable);
        }
    };
    Err(codec::corrupt(format!(
        "the store was written with key layout {written}; this build reads only layout \
         {KEY_LAYOUT} and does not convert stores: keep running the release that wrote it, or \
         start this one on an empty data directory and post the statements to it again (e.g. \
         fetched from the old release with GET /xapi/statements)"
    )))
}

fn load_tenants(tenants: &Keyspace) -> Result<HashMap<String, TenantId>, StoreError> {
    tenants
        .iter()
        .map(|guard| {
            let (key, value) = guard.into_inner().map_err(unavailable)?;
            let name = String::from_utf8(key.to_vec())
                .map_err(|_| codec::corrupt("tenant name is not UTF-8".into()))?;
            let id: [u8; 4] = value[..].try_into().map_err(|_| {
                codec::corrupt(format!("tenant id of {} bytes, expected 4", value.len()))
            })?;
            Ok((name, TenantId::from_be_bytes(id)))
        })
        .collect()
}

impl Tables {
    /// The id of a tenant that has written statements, if any. Never assigns one.
    pub(crate) fn tenant_id(&self, tenant: &str) -> Option<TenantId> {
        self.tenant_ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .copied()
    }

    /// The id of a tenant, assigned (durably) on first use.
    pub(crate) fn assign_tenant_id(&self, tenant: &str) -> Result<TenantId, StoreError> {
        if let Some(id) = self.tenant_id(tenant) {
            return Ok(id);
        }
        let _guard = self
            .tenant_assignment
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(id) = self.tenant_id(tenant) {
            return Ok(id);
        }
        let next = {
            let ids = self.tenant_ids.read().unwrap_or_else(|p| p.into_inner());
            ids.values().max().map_or(Some(1), |max| max.checked_add(1))
        }
        .ok_or_else(|| StoreError::new(StoreErrorKind::Unavailable, "tenant ids exhausted"))?;
        let key = keys::checked_key("tenants", tenant.as_bytes().to_vec())?;
        let mut batch = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncAll));
        batch.insert(&self.tenants, key, next.to_be_bytes().to_vec());
        batch.commit().map_err(unavailable)?;
        self.tenant_ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.to_owned(), next);
        Ok(next)
    }
}

pub(crate) fn unavailable(error: fjall::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, format!("fjall: {error}"))
}

#[async_trait]
impl StatementWriter for EmbeddedStore {
    async fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = rows.to_vec();
        self.blocking(move |t| t.write_statements(&rows)).await
    }

    async fn record_watermarks(&self, marks: &[Watermark]) -> Result<(), StoreError> {
        let marks = marks.to_vec();
        self.blocking(move |t| t.record_watermarks(&marks)).await
    }
}

#[async_trait]
impl StatementReader for EmbeddedStore {
    async fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        let tenant = tenant.to_owned();
        let ids = ids.to_vec();
        self.blocking(move |t| t.get_statements(&tenant, &ids))
            .await
    }

    async fn contains_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<bool>, StoreError> {
        let tenant = tenant.to_owned();
        let ids = ids.to_vec();
        self.blocking(move |t| t.contains_statements(&tenant, &ids))
            .await
    }

    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        let scan = scan.clone();
        self.blocking(move |t| t.scan(&scan)).await
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        self.blocking(|t| t.watermarks()).await
    }

    fn health(&self) -> Result<(), StoreError> {
        EmbeddedStore::health(self)
    }
}

#[async_trait]
impl QuarantineStore for EmbeddedStore {
    async fn quarantine(&self, statements: &[QuarantinedStatement]) -> Result<(), StoreError> {
        if statements.is_empty() {
            return Ok(());
        }
        let statements = statements.to_vec();
        self.blocking(move |t| t.quarantine(&statements)).await
    }

    async fn quarantined(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantinedStatement>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.blocking(move |t| t.quarantined(tenant.as_deref(), limit))
            .await
    }

    async fn purge_quarantined(&self, tenant: &str, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (tenant, ids) = (tenant.to_owned(), ids.to_vec());
        self.blocking(move |t| t.purge_quarantined(&tenant, &ids))
            .await
    }
}

#[async_trait]
impl StudyLogStore for EmbeddedStore {
    async fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError> {
        if terms.is_empty() {
            return Ok(());
        }
        let terms = terms.to_vec();
        self.blocking(move |t| t.record_terms(&terms)).await
    }

    async fn terms(&self, tenant: &str, since: Option<Micros>) -> Result<Vec<TermRow>, StoreError> {
        let tenant = tenant.to_owned();
        self.blocking(move |t| t.terms(&tenant, since)).await
    }

    async fn facts(
        &self,
        tenant: &str,
        first_day: i32,
        last_day: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<FactRow>, StoreError> {
        let tenant = tenant.to_owned();
        let actors = actors.map(<[Key16]>::to_vec);
        self.blocking(move |t| t.facts(&tenant, first_day, last_day, actors.as_deref()))
            .await
    }

    async fn month_summaries(
        &self,
        tenant: &str,
        month: MonthNumber,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
        let tenant = tenant.to_owned();
        let actors = actors.map(<[Key16]>::to_vec);
        self.blocking(move |t| t.month_summaries(&tenant, month, actors.as_deref()))
            .await
    }

    async fn void_facts(
        &self,
        tenant: &str,
        targets: &[(i32, Key16, Uuid)],
    ) -> Result<(), StoreError> {
        if targets.is_empty() {
            return Ok(());
        }
        let tenant = tenant.to_owned();
        let targets = targets.to_vec();
        self.blocking(move |t| t.void_facts(&tenant, &targets))
            .await
    }

    async fn study_tenants(&self) -> Result<Vec<String>, StoreError> {
        self.blocking(|t| t.study_tenants()).await
    }
}

#[async_trait]
impl RosterStore for EmbeddedStore {
    async fn commit_roster(
        &self,
        tenant: &str,
        version: &RosterVersionRow,
        changes: &[RosterChangeRow],
    ) -> Result<(), StoreError> {
        let (tenant, version, changes) = (tenant.to_owned(), version.clone(), changes.to_vec());
        self.blocking(move |t| t.commit_roster(&tenant, &version, &changes))
            .await
    }

    async fn roster_versions(&self, tenant: &str) -> Result<Vec<RosterVersionRow>, StoreError> {
        let tenant = tenant.to_owned();
        self.blocking(move |t| t.roster_versions(&tenant)).await
    }

    async fn roster_records(&self, tenant: &str) -> Result<Vec<RosterRecordRow>, StoreError> {
        let tenant = tenant.to_owned();
        self.blocking(move |t| t.roster_records(&tenant)).await
    }
}

#[async_trait]
impl DocumentStore for EmbeddedStore {
    async fn get_document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.blocking(move |t| t.get_document(&scope, &id)).await
    }

    async fn list_documents(
        &self,
        scope: &DocumentScope,
        since: Option<Micros>,
    ) -> Result<Vec<String>, StoreError> {
        let scope = scope.clone();
        self.blocking(move |t| t.list_documents(&scope, since))
            .await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        document: Document,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.blocking(move |t| t.put_document(&scope, &id, &document, &precondition))
            .await
    }

    async fn delete_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        precondition: Precondition,
    ) -> Result<bool, StoreError> {
        let (scope, id) = (scope.clone(), id.to_owned());
        self.blocking(move |t| t.delete_document(&scope, &id, &precondition))
            .await
    }

    async fn delete_documents(&self, scope: &DocumentScope) -> Result<(), StoreError> {
        let scope = scope.clone();
        self.blocking(move |t| t.delete_documents(&scope)).await
    }

    async fn agent_documents(
        &self,
        tenant: &str,
        agent: &str,
    ) -> Result<Vec<DocumentAddress>, StoreError> {
        let (tenant, agent) = (tenant.to_owned(), agent.to_owned());
        self.blocking(move |t| t.agent_documents(&tenant, &agent))
            .await
    }
}

#[async_trait]
impl AttachmentStore for EmbeddedStore {
    async fn put_attachments(
        &self,
        tenant: &str,
        attachments: &[AttachmentBody],
    ) -> Result<(), StoreError> {
        if attachments.is_empty() {
            return Ok(());
        }
        let (tenant, attachments) = (tenant.to_owned(), attachments.to_vec());
        self.blocking(move |t| t.put_attachments(&tenant, &attachments))
            .await
    }

    async fn get_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<Vec<Option<AttachmentBody>>, StoreError> {
        let (tenant, sha2) = (tenant.to_owned(), sha2.to_vec());
        self.blocking(move |t| t.get_attachments(&tenant, &sha2))
            .await
    }
}

#[async_trait]
impl ActivityStore for EmbeddedStore {
    async fn merge_activity_definitions(
        &self,
        rows: &[ActivityDefinitionRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = rows.to_vec();
        self.blocking(move |t| t.merge_activity_definitions(&rows))
            .await
    }

    async fn get_activity_definition(
        &self,
        tenant: &str,
        activity_id: &str,
    ) -> Result<Option<DefinitionJson>, StoreError> {
        let (tenant, activity_id) = (tenant.to_owned(), activity_id.to_owned());
        self.blocking(move |t| t.get_activity_definition(&tenant, &activity_id))
            .await
    }

    async fn get_activity_definitions(
        &self,
        tenant: &str,
        activity_ids: &[String],
    ) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
        if activity_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, activity_ids) = (tenant.to_owned(), activity_ids.to_vec());
        self.blocking(move |t| t.get_activity_definitions(&tenant, &activity_ids))
            .await
    }
}

#[async_trait]
impl PurgeStore for EmbeddedStore {
    async fn purge_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<PurgeCounts, StoreError> {
        let (tenant, ids) = (tenant.to_owned(), ids.to_vec());
        self.blocking(move |t| t.purge_statements(&tenant, &ids))
            .await
    }

    async fn purge_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<PurgeCounts, StoreError> {
        let (tenant, sha2) = (tenant.to_owned(), sha2.to_vec());
        self.blocking(move |t| t.purge_attachments(&tenant, &sha2))
            .await
    }

    async fn purge_terms(
        &self,
        tenant: &str,
        dim: u8,
        keys: &[Key16],
    ) -> Result<PurgeCounts, StoreError> {
        let (tenant, keys) = (tenant.to_owned(), keys.to_vec());
        self.blocking(move |t| t.purge_terms(&tenant, dim, &keys))
            .await
    }

    async fn purge_tenant(&self, tenant: &str, limit: usize) -> Result<PurgeCounts, StoreError> {
        let tenant = tenant.to_owned();
        self.blocking(move |t| t.purge_tenant(&tenant, limit)).await
    }

    async fn compact(&self) -> Result<(), StoreError> {
        let dir = self.shared.dir.clone();
        self.blocking(move |t| t.compact(&dir)).await
    }

    async fn put_purge_record(&self, record: &PurgeRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.blocking(move |t| t.put_purge_record(&record)).await
    }

    async fn purge_records(&self) -> Result<Vec<PurgeRecord>, StoreError> {
        self.blocking(|t| t.purge_records()).await
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use lrs_schema::envelope::IndexKeys;

    use super::*;
    use crate::AccessPath;

    fn scan(tenant: &str) -> IndexScan {
        IndexScan {
            tenant: tenant.into(),
            path: AccessPath::All,
            since: None,
            until: None,
            after: None,
            ascending: true,
            limit: 10,
        }
    }

    #[tokio::test]
    async fn reads_never_assign_tenant_ids_and_writes_assign_them_durably() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert!(store.scan(&scan("ghost")).await.unwrap().is_empty());
        let got = store.get_statements("ghost", &[Uuid::nil()]).await.unwrap();
        assert_eq!(got, vec![None]);
        assert_eq!(store.tables().tenant_id("ghost"), None);
        assert!(store.tables().tenants.first_key_value().is_none());

        let row = |tenant: &str| StatementRow {
            tenant: tenant.into(),
            stored: 5,
            id: Uuid::from_u128(9),
            keys: IndexKeys::default(),
            inherited: None,
            body: Bytes::from_static(b"{}"),
            study: None,
        };
        store.write_statements(&[row("a"), row("b")]).await.unwrap();
        let (a, b) = (store.tables().tenant_id("a"), store.tables().tenant_id("b"));
        assert!(a.is_some() && b.is_some() && a != b);
        drop(store);

        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.tables().tenant_id("a"), a);
        assert_eq!(store.tables().tenant_id("b"), b);
        assert_eq!(store.scan(&scan("a")).await.unwrap().len(), 1);
        store.write_statements(&[row("c")]).await.unwrap();
        let c = store.tables().tenant_id("c");
        assert!(c.is_some() && c != a && c != b);
    }

    #[tokio::test]
    async fn a_store_of_key_layout_2_is_refused_at_open_saying_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        drop(EmbeddedStore::open(dir.path()).unwrap());
        {
            let db = Database::builder(dir.path()).open().unwrap();
            let meta = db.keyspace("meta", KeyspaceCreateOptions::default).unwrap();
            let mut batch = db.batch().durability(Some(fjall::PersistMode::SyncAll));
            batch.insert(&meta, b"layout".to_vec(), vec![2]);
            batch.commit().unwrap();
        }
        let error = EmbeddedStore::open(dir.path()).err().expect("refused");
        assert_eq!(error.kind(), StoreErrorKind::Corrupt);
        assert!(
            error
                .message()
                .contains("key layout 2; this build reads only layout 3"),
            "{error}"
        );
        assert!(error.message().contains("empty data directory"), "{error}");
    }
}
