//! [`ScyllaStore`]: the store seam on ScyllaDB (cargo feature `scylla`).
//!
//! The tables are schema/cql/001_init.cql (PostgreSQL mirrors them one to one, and `PostgresStore`
//! runs the same queries). Every request names a whole partition key and slices clustering
//! columns; no secondary index, no `ALLOW FILTERING`. The index tables hold index blocks
//! (`layout/blocks.rs`, schema version 2): a scan walks the days listed in `statement_buckets`,
//! one index partition at a time, merging its blocks (see `statements.rs`). A keyspace with the
//! version-1 index tables (a row per statement and path) is refused at connect.
//!
//! At connect the store creates its keyspace if missing (with the configured replication), applies
//! the schema files (`CREATE TABLE IF NOT EXISTS` only) and prepares every statement once.
//! Requests use the driver's default load balancing, token-aware (each goes to a replica of its
//! partition), `LOCAL_QUORUM` for reads and writes (a read after an acknowledged write sees it)
//! and `LOCAL_SERIAL` for lightweight transactions. Statement writes are idempotent upserts,
//! marked so (the driver may retry them): unlogged batches only for rows of one partition, the
//! rest concurrent, at most [`ScyllaConfig::concurrency`] in flight. Lightweight transactions
//! (`IF NOT EXISTS`, `IF EXISTS`, `IF etag = ?`, `IF definition = ?`) serve document writes and
//! activity definition merges only, and every write of those two tables is one (Scylla does not
//! order plain writes against lightweight transactions on one row); the study-log tables use them
//! for first-wins dictionary entries and roster versions (`studylog.rs`).

mod config;
mod documents;
mod nonces;
mod prepared;
mod purge;
mod quarantine;
mod statements;
mod studylog;

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use lrs_schema::envelope::Key16;
use lrs_schema::{DefinitionJson, MonthSummary};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{
    DbError, DeserializationError, ExecutionError, NextRowError, PagerExecutionError,
    RequestAttemptError, TypeCheckError,
};
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::statement::{Consistency, SerialConsistency};
use uuid::Uuid;

pub use config::{DEFAULT_CONCURRENCY, DEFAULT_REPLICATION, ScyllaConfig, ScyllaUriError};

use crate::{
    ActivityDefinitionRow, ActivityStore, AttachmentBody, AttachmentStore, Document,
    DocumentAddress, DocumentScope, DocumentStore, FactRow, IndexScan, Micros, MonthNumber,
    Position, Precondition, PurgeCounts, PurgeRecord, PurgeStore, QuarantineStore,
    QuarantinedStatement, RosterChangeRow, RosterRecordRow, RosterStore, RosterVersionRow,
    SchemaMode, StatementReader, StatementRow, StatementWriter, StoreError, StoreErrorKind,
    StoredStatement, StudyLogStore, TermRow, Watermark,
};
use prepared::Prepared;

/// The ScyllaDB store. Cheap to clone: clones share one session.
#[derive(Clone)]
pub struct ScyllaStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    session: Session,
    prepared: Prepared,
    concurrency: usize,
}

impl ScyllaStore {
    /// Connects, creates the keyspace and tables if missing, and prepares every statement.
    pub async fn connect(config: ScyllaConfig) -> Result<ScyllaStore, StoreError> {
        Self::connect_with_schema(config, SchemaMode::Apply).await
    }

    /// Connects, applies or requires the schema (see [`SchemaMode`]), and prepares every
    /// statement.
    pub async fn connect_with_schema(
        config: ScyllaConfig,
        mode: SchemaMode,
    ) -> Result<ScyllaStore, StoreError> {
        let (keyspace, replication) = config.checked()?;
        let mut policy = DefaultPolicy::builder().token_aware(true);
        if let Some(dc) = &config.local_datacenter {
            policy = policy.prefer_datacenter(dc.clone());
        }
        let profile = ExecutionProfile::builder()
            .consistency(Consistency::LocalQuorum)
            .serial_consistency(Some(SerialConsistency::LocalSerial))
            .load_balancing_policy(policy.build())
            .build();
        let session = SessionBuilder::new()
            .known_nodes(&config.known_nodes)
            .default_execution_profile_handle(profile.into_handle())
            // Client-side timestamps, monotonic per process: of two plain writes of one row by
            // this process (a watermark), the later wins whichever node coordinates it.
            .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
            .build()
            .await
            .map_err(driver_error)?;
        apply_schema(&session, &keyspace, replication, mode).await?;
        session
            .use_keyspace(keyspace.as_str(), false)
            .await
            .map_err(driver_error)?;
        let prepared = Prepared::new(&session).await?;
        Ok(ScyllaStore {
            inner: Arc::new(Inner {
                session,
                prepared,
                concurrency: config.concurrency.max(1),
            }),
        })
    }

    /// Drops the configured keyspace and every table in it: the tear-down of a test or of a
    /// decommissioned deployment. Irreversible.
    pub async fn drop_keyspace(config: &ScyllaConfig) -> Result<(), StoreError> {
        let (keyspace, _) = config.checked()?;
        let session = SessionBuilder::new()
            .known_nodes(&config.known_nodes)
            .build()
            .await
            .map_err(driver_error)?;
        session
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
            .await
            .map_err(driver_error)?;
        Ok(())
    }

    /// [`ScyllaStore::connect_with_schema`] with [`ScyllaConfig::from_uri`].
    pub async fn connect_uri(uri: &str, mode: SchemaMode) -> Result<ScyllaStore, StoreError> {
        let config = ScyllaConfig::from_uri(uri)
            .map_err(|e| StoreError::new(StoreErrorKind::Unavailable, e.to_string()))?;
        Self::connect_with_schema(config, mode).await
    }
}

/// Creates the keyspace and the tables of the schema files if any is missing.
///
/// Concurrent schema changes are what makes a first start of every role at once fragile, and
/// ScyllaDB has no lock to take before its keyspace exists; so a connect that finds every
/// table there (every restart, and every role once `lrs migrate` or one of them has run)
/// changes nothing, and DDL runs only while the schema is incomplete. Each statement is
/// `IF NOT EXISTS` and waits for schema agreement (the driver's default) before the next, and
/// an "already exists" answer (a concurrent creator won) counts as done. Clusters with
/// Raft-based schema management (ScyllaDB 6 and later by default) serialise the rest. In
/// [`SchemaMode::Require`] nothing is created.
async fn apply_schema(
    session: &Session,
    keyspace: &str,
    replication: &str,
    mode: SchemaMode,
) -> Result<(), StoreError> {
    if has_version_1_index_tables(session, keyspace).await? {
        return Err(crate::layout::wide::old_index_tables());
    }
    let missing = missing_tables(session, keyspace).await?;
    if missing.is_empty() {
        return Ok(());
    }
    if mode == SchemaMode::Require {
        return Err(crate::layout::wide::schema_missing(&missing));
    }
    let ddl = |statement: String| async move {
        match session.query_unpaged(statement.as_str(), ()).await {
            Ok(_) => Ok(()),
            Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(
                DbError::AlreadyExists { .. },
                _,
            ))) => Ok(()),
            Err(e) => Err(driver_error(format!("scylla schema: {statement}: {e}"))),
        }
    };
    ddl(format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}"
    ))
    .await?;
    session
        .use_keyspace(keyspace, false)
        .await
        .map_err(driver_error)?;
    for (_, text) in config::SCHEMA_FILES {
        for statement in config::schema_statements(text) {
            ddl(statement).await?;
        }
    }
    Ok(())
}

/// Whether the keyspace holds the index tables of schema version 1 (a row per statement and
/// path), which this build neither reads nor converts.
async fn has_version_1_index_tables(session: &Session, keyspace: &str) -> Result<bool, StoreError> {
    let result = session
        .query_unpaged(
            "SELECT column_name FROM system_schema.columns \
             WHERE keyspace_name = ? AND table_name = 'statements_by_stored' AND column_name = ?",
            (keyspace, crate::layout::wide::VERSION_1_INDEX_COLUMN),
        )
        .await
        .map_err(driver_error)?;
    Ok(!statements::rows::<(String,)>(result)?.is_empty())
}

/// The tables of the schema files that the keyspace lacks (all of them without a keyspace).
async fn missing_tables(session: &Session, keyspace: &str) -> Result<Vec<String>, StoreError> {
    let result = session
        .query_unpaged(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
            (keyspace,),
        )
        .await
        .map_err(driver_error)?;
    let present: HashSet<String> = statements::rows::<(String,)>(result)?
        .into_iter()
        .map(|(name,)| name)
        .collect();
    Ok(config::SCHEMA_FILES
        .iter()
        .flat_map(|(_, text)| crate::layout::wide::schema_tables(text))
        .filter(|table| !present.contains(table))
        .collect())
}

/// A driver error, classified: [`StoreErrorKind::Rejected`] when the request itself can never
/// succeed (values the driver cannot serialize or that are too long for a partition key, or
/// the cluster's "Invalid" answer, e.g. a partition key over 64 KiB), else
/// [`StoreErrorKind::Unavailable`] (unreachable, timed out, overloaded: worth retrying).
pub(crate) fn driver_error<E: std::fmt::Display + 'static>(error: E) -> StoreError {
    let any: &dyn Any = &error;
    let rejected = match any.downcast_ref::<ExecutionError>() {
        Some(e) => rejects_its_input(e),
        None => matches!(
            any.downcast_ref::<PagerExecutionError>(),
            Some(PagerExecutionError::SerializationError(_))
        ),
    };
    let kind = if rejected {
        StoreErrorKind::Rejected
    } else {
        StoreErrorKind::Unavailable
    };
    StoreError::new(kind, format!("scylla: {error}"))
}

fn rejects_its_input(error: &ExecutionError) -> bool {
    match error {
        ExecutionError::BadQuery(_) => true,
        ExecutionError::LastAttemptError(attempt) => matches!(
            attempt,
            RequestAttemptError::SerializationError(_)
                | RequestAttemptError::CqlRequestSerialization(_)
                | RequestAttemptError::DbError(DbError::Invalid, _)
        ),
        _ => false,
    }
}

/// A row that does not decode into the columns the store wrote.
pub(crate) fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, format!("scylla row: {error}"))
}

/// A row of a paged read that could not be fetched, or not decoded.
pub(crate) fn next_row_error(error: NextRowError) -> StoreError {
    match error {
        NextRowError::RowDeserializationError(e) => corrupt(e),
        other => driver_error(other),
    }
}

impl From<DeserializationError> for StoreError {
    fn from(error: DeserializationError) -> Self {
        corrupt(error)
    }
}

impl From<TypeCheckError> for StoreError {
    fn from(error: TypeCheckError) -> Self {
        corrupt(error)
    }
}

#[async_trait]
impl StatementWriter for ScyllaStore {
    async fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        statements::write_statements(&self.inner, rows).await
    }

    async fn record_watermarks(&self, marks: &[Watermark]) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        statements::record_watermarks(&self.inner, marks).await
    }
}

#[async_trait]
impl StatementReader for ScyllaStore {
    async fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        statements::get_statements(&self.inner, tenant, ids).await
    }

    async fn contains_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<bool>, StoreError> {
        statements::contains_statements(&self.inner, tenant, ids).await
    }

    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        statements::scan(&self.inner, scan).await
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        statements::watermarks(&self.inner).await
    }
}

#[async_trait]
impl DocumentStore for ScyllaStore {
    async fn get_document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        documents::get_document(&self.inner, scope, id).await
    }

    async fn list_documents(
        &self,
        scope: &DocumentScope,
        since: Option<Micros>,
    ) -> Result<Vec<String>, StoreError> {
        documents::list_documents(&self.inner, scope, since).await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        document: Document,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        documents::put_document(&self.inner, scope, id, &document, precondition).await
    }

    async fn delete_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        precondition: Precondition,
    ) -> Result<bool, StoreError> {
        documents::delete_document(&self.inner, scope, id, &precondition).await
    }

    async fn delete_documents(&self, scope: &DocumentScope) -> Result<(), StoreError> {
        documents::delete_documents(&self.inner, scope).await
    }

    async fn agent_documents(
        &self,
        tenant: &str,
        agent: &str,
    ) -> Result<Vec<DocumentAddress>, StoreError> {
        documents::agent_documents(&self.inner, tenant, agent).await
    }
}

#[async_trait]
impl AttachmentStore for ScyllaStore {
    async fn put_attachments(
        &self,
        tenant: &str,
        attachments: &[AttachmentBody],
    ) -> Result<(), StoreError> {
        documents::put_attachments(&self.inner, tenant, attachments).await
    }

    async fn get_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<Vec<Option<AttachmentBody>>, StoreError> {
        documents::get_attachments(&self.inner, tenant, sha2).await
    }
}

#[async_trait]
impl ActivityStore for ScyllaStore {
    async fn merge_activity_definitions(
        &self,
        rows: &[ActivityDefinitionRow],
    ) -> Result<(), StoreError> {
        documents::merge_activity_definitions(&self.inner, rows).await
    }

    async fn get_activity_definition(
        &self,
        tenant: &str,
        activity_id: &str,
    ) -> Result<Option<DefinitionJson>, StoreError> {
        let ids = [activity_id.to_owned()];
        let mut got = documents::get_activity_definitions(&self.inner, tenant, &ids).await?;
        Ok(got.pop().flatten())
    }

    async fn get_activity_definitions(
        &self,
        tenant: &str,
        activity_ids: &[String],
    ) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
        documents::get_activity_definitions(&self.inner, tenant, activity_ids).await
    }
}

#[async_trait]
impl crate::NonceStore for ScyllaStore {
    async fn use_nonce_once(&self, nonce: &str, until: i64, now: i64) -> Result<bool, StoreError> {
        nonces::use_once(&self.inner, nonce, until, now).await
    }
}

#[async_trait]
impl QuarantineStore for ScyllaStore {
    async fn quarantine(&self, statements: &[QuarantinedStatement]) -> Result<(), StoreError> {
        quarantine::quarantine(&self.inner, statements).await
    }

    async fn quarantined(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantinedStatement>, StoreError> {
        quarantine::quarantined(&self.inner, tenant, limit).await
    }

    async fn purge_quarantined(&self, tenant: &str, ids: &[Uuid]) -> Result<(), StoreError> {
        quarantine::purge_quarantined(&self.inner, tenant, ids).await
    }
}

#[async_trait]
impl StudyLogStore for ScyllaStore {
    async fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError> {
        studylog::record_terms(&self.inner, terms).await
    }

    async fn terms(&self, tenant: &str, since: Option<Micros>) -> Result<Vec<TermRow>, StoreError> {
        studylog::terms(&self.inner, tenant, since).await
    }

    async fn facts(
        &self,
        tenant: &str,
        first_day: i32,
        last_day: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<FactRow>, StoreError> {
        studylog::facts(&self.inner, tenant, first_day, last_day, actors).await
    }

    async fn month_summaries(
        &self,
        tenant: &str,
        month: MonthNumber,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
        studylog::month_summaries(&self.inner, tenant, month, actors).await
    }

    async fn void_facts(
        &self,
        tenant: &str,
        targets: &[(i32, Key16, Uuid)],
    ) -> Result<(), StoreError> {
        studylog::void_facts(&self.inner, tenant, targets).await
    }

    async fn study_tenants(&self) -> Result<Vec<String>, StoreError> {
        studylog::study_tenants(&self.inner).await
    }
}

#[async_trait]
impl RosterStore for ScyllaStore {
    async fn commit_roster(
        &self,
        tenant: &str,
        version: &RosterVersionRow,
        changes: &[RosterChangeRow],
    ) -> Result<(), StoreError> {
        studylog::commit_roster(&self.inner, tenant, version, changes).await
    }

    async fn roster_versions(&self, tenant: &str) -> Result<Vec<RosterVersionRow>, StoreError> {
        studylog::roster_versions(&self.inner, tenant).await
    }

    async fn roster_records(&self, tenant: &str) -> Result<Vec<RosterRecordRow>, StoreError> {
        studylog::roster_records(&self.inner, tenant).await
    }
}

/// Purges on ScyllaDB: attachments and the purge records are here; purging statements (their
/// index blocks) and whole tenants is not built yet on this backend, and says so
/// (`Unavailable`, so a purge job stays unfinished and resumable rather than half-done).
#[async_trait]
impl PurgeStore for ScyllaStore {
    async fn purge_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<PurgeCounts, StoreError> {
        if ids.is_empty() {
            return Ok(PurgeCounts::default());
        }
        purge::purge_statements(&self.inner, tenant, ids).await
    }

    async fn purge_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts::default();
        for hash in sha2 {
            let held = self
                .inner
                .session
                .query_unpaged(
                    "SELECT sha2 FROM attachments WHERE tenant = ? AND sha2 = ?",
                    (tenant, hash.as_str()),
                )
                .await
                .map_err(driver_error)?;
            if statements::rows::<(String,)>(held)?.is_empty() {
                continue;
            }
            self.inner
                .session
                .query_unpaged(
                    "DELETE FROM attachments WHERE tenant = ? AND sha2 = ?",
                    (tenant, hash.as_str()),
                )
                .await
                .map_err(driver_error)?;
            counts.attachments += 1;
        }
        Ok(counts)
    }

    async fn purge_terms(
        &self,
        tenant: &str,
        dim: u8,
        keys: &[Key16],
    ) -> Result<PurgeCounts, StoreError> {
        purge::purge_terms(&self.inner, tenant, dim, keys).await
    }

    async fn purge_tenant(&self, tenant: &str, limit: usize) -> Result<PurgeCounts, StoreError> {
        purge::purge_tenant(&self.inner, tenant, limit).await
    }

    /// Left to ScyllaDB's own compaction after `gc_grace_seconds` (docs/lifecycle.md).
    async fn compact(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn put_purge_record(&self, record: &PurgeRecord) -> Result<(), StoreError> {
        self.inner
            .session
            .query_unpaged(
                "INSERT INTO purges (id, created, record) VALUES (?, ?, ?)",
                (record.id, record.created, record.record.to_vec()),
            )
            .await
            .map_err(driver_error)?;
        Ok(())
    }

    async fn purge_records(&self) -> Result<Vec<PurgeRecord>, StoreError> {
        let result = self
            .inner
            .session
            .query_unpaged("SELECT id, created, record FROM purges", ())
            .await
            .map_err(driver_error)?;
        let mut out: Vec<PurgeRecord> = statements::rows::<(Uuid, i64, Vec<u8>)>(result)?
            .into_iter()
            .map(|(id, created, record)| PurgeRecord {
                id,
                created,
                record: bytes::Bytes::from(record),
            })
            .collect();
        out.sort_by_key(|r| (r.created, r.id));
        Ok(out)
    }
}
