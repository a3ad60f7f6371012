//! The store seam: where ingest writes statements and query reads them.
//!
//! Flow: lrs-api → log → `ingest` → **store** → `query`. The data model mirrors ScyllaDB: one table
//! per access path, every key starting with the tenant, statements ordered by `stored` inside each
//! access path. The store is deliberately thin: it writes what it is given (blind, idempotent
//! writes: writing the same row twice is a no-op) and scans one access path at a time. Conflict
//! detection, voiding order, query planning and cursors live above the seam (`ingest`, `query`),
//! so every backend shares them.
//!
//! Documents (state, activity and agent profiles) are read-modify-write with preconditions, so the
//! API talks to the [`DocumentStore`] directly.
//!
//! Attachment data is content-addressed by its SHA-2 and written by the API, durably, before the
//! statements that reference it enter the log ([`AttachmentStore`]), so an acknowledged
//! statement never lacks its attachment data.
//! Canonical Activity Definitions are merged by ingest from the statements it writes and read by
//! the Activities Resource through the [`ActivityStore`].
//!
//! A statement the store can never take (its error is [`StoreErrorKind::Rejected`]: a key beyond
//! a backend's limits, say) is kept by ingest in the [`QuarantineStore`] instead, so one poison
//! statement neither stalls ingest nor is lost.
//!
//! Implementations: [`EmbeddedStore`] (fjall), `PostgresStore` (feature `postgres`),
//! `ScyllaStore` (feature `scylla`). Every implementation runs the shared [`suite`].

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;
use lrs_schema::DefinitionJson;
use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

mod embedded;
mod error;
mod layout;
mod metrics;
mod nonces;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "scylla")]
mod scylla;
mod studylog;
#[cfg(feature = "testsuite")]
pub mod suite;

pub use embedded::EmbeddedStore;
pub use error::{StoreError, StoreErrorKind};
pub use metrics::{LATENCY_BUCKETS, Scraped, StoreTimings};
pub use nonces::NonceStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "scylla")]
pub use scylla::{
    DEFAULT_CONCURRENCY, DEFAULT_REPLICATION, ScyllaConfig, ScyllaStore, ScyllaUriError,
};
pub use studylog::{
    ACTOR_TERMS, ALIAS_KIND, FactRow, MonthNumber, RosterChangeRow, RosterRecordRow, RosterStore,
    RosterVersionRow, StudyLogStore, StudyRow, TRANSFER_KIND, TermRow, term_dims,
};

/// Bytes of a tenant name, which starts every key (tenants are 1–64 characters, `lrs-auth`).
pub const MAX_TENANT_BYTES: usize = 64;

/// Bytes of an activity id, a key of [`ActivityStore`] (with the tenant).
///
/// The key limits come from the backends: fjall keys and ScyllaDB partition keys hold 65,535
/// bytes, but a PostgreSQL btree index row holds about 2,700 bytes (`BTMaxItemSize`: 2,704 with
/// the row header; with a 64-byte tenant, measured on PostgreSQL 15: 2,624 bytes of activity id
/// or 2,617 bytes of document scope + id, for values that do not compress). The shared [`suite`]
/// writes keys of these sizes to every backend. The API refuses larger values before
/// acknowledging anything (`lrs_schema::limits`), so ingest never meets an unstorable key.
pub const MAX_ACTIVITY_ID_BYTES: usize = 2_048;

/// Bytes of a document's scope and id together, a key of [`DocumentStore`] (with the tenant and
/// the kind). See [`MAX_ACTIVITY_ID_BYTES`] for where the limit comes from.
pub const MAX_DOCUMENT_KEY_BYTES: usize = 2_450;

// Every IRI the API accepts fits as an activity id.
const _: () = assert!(lrs_schema::limits::MAX_IRI_BYTES <= MAX_ACTIVITY_ID_BYTES);

/// What a connect to a remote store (PostgreSQL, ScyllaDB) does about the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaMode {
    /// Creates every missing table (`lrs migrate`, and by default every role). Concurrent
    /// connects are serialised: an advisory lock on PostgreSQL; on ScyllaDB no DDL at all once
    /// every table exists.
    Apply,
    /// Only checks that every table exists, else fails with `Unavailable` naming the missing
    /// ones: the roles of a deployment whose schema is created by one `lrs migrate` run.
    Require,
}

/// Microseconds since the Unix epoch: the unit of `stored` everywhere in the store.
pub type Micros = i64;

/// The current time as [`Micros`] (0 if the clock is before the epoch).
pub fn now_micros() -> Micros {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Micros)
}

/// One statement to write. `body` is the statement JSON without `stored`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementRow {
    pub tenant: String,
    pub stored: Micros,
    pub id: Uuid,
    pub keys: IndexKeys,
    /// The keys of the statement this one targets with a StatementRef, when ingest found it:
    /// the row is also filed under them (xAPI Communication §2.1.3 "Filter Conditions for
    /// StatementRefs").
    pub inherited: Option<IndexKeys>,
    pub body: Bytes,
    /// What the statement contributes to the study-log aggregates (none for a voiding
    /// statement); written with it, in the same atomic batch.
    pub study: Option<StudyRow>,
}

/// A statement read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    pub id: Uuid,
    pub stored: Micros,
    pub keys: IndexKeys,
    /// See [`StatementRow::inherited`].
    pub inherited: Option<IndexKeys>,
    /// The statement JSON without `stored` (see [`StatementRow::body`]).
    pub body: Bytes,
    /// The id of a statement that voids this one, if the store has seen one (in any order).
    pub voided_by: Option<Uuid>,
}

/// A statement's place in `stored` order; ties (one request's statements share `stored`) are broken
/// by id. This is also what a `more` cursor remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub stored: Micros,
    pub id: Uuid,
}

/// The access paths: one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessPath {
    /// Every statement of the tenant.
    All,
    /// `agent` filter: the actor, or the object when it is an agent or group.
    Agent(Key16),
    /// `agent` with `related_agents=true`.
    RelatedAgent(Key16),
    Verb(Key16),
    /// `activity` filter: the object when it is an activity.
    Activity(Key16),
    /// `activity` with `related_activities=true`.
    RelatedActivity(Key16),
    Registration(Uuid),
    /// Statements written under one credential (`statements/read/mine`).
    Authority(Key16),
}

/// One range scan over one access path, in `stored` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexScan {
    pub tenant: String,
    pub path: AccessPath,
    /// Only statements stored strictly after this (xAPI `since` is exclusive).
    pub since: Option<Micros>,
    /// Only statements stored at or before this (xAPI `until` is inclusive).
    pub until: Option<Micros>,
    /// Resume strictly after this position in the scan direction (a `more` cursor).
    pub after: Option<Position>,
    pub ascending: bool,
    pub limit: usize,
}

/// How far ingest has applied one log partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    pub partition: u32,
    /// Every record before this offset has been applied to the store.
    pub next_offset: u64,
    /// `stored` of the last applied record.
    pub stored: Micros,
}

/// Write side for statements (used by ingest).
#[async_trait]
pub trait StatementWriter: Send + Sync + 'static {
    /// Writes the rows and their entries in every access path, plus a `voided` entry for rows
    /// whose `keys.voids` is set. Blind and idempotent. Durable when it returns.
    async fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError>;

    /// Records ingest progress; durable when it returns.
    async fn record_watermarks(&self, marks: &[Watermark]) -> Result<(), StoreError>;
}

/// Read side for statements (used by query, by ingest for conflict checks, by the API's 409 check).
#[async_trait]
pub trait StatementReader: Send + Sync + 'static {
    /// Looks up statements by id; the result has one entry per requested id, in order.
    async fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError>;

    /// Which of the ids are stored, in order: the cheap first step of duplicate-id checks (most
    /// ids are new, and their bodies are only needed when they are not).
    async fn contains_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<bool>, StoreError> {
        Ok(self
            .get_statements(tenant, ids)
            .await?
            .iter()
            .map(Option::is_some)
            .collect())
    }

    /// The bodies of those ids that are stored (duplicate-id checks). Presence is checked first
    /// with [`StatementReader::contains_statements`]: most ids are new, and only stored ones are
    /// read in full.
    async fn existing_bodies(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Bytes>, StoreError> {
        let present = self.contains_statements(tenant, ids).await?;
        let present: Vec<Uuid> = ids
            .iter()
            .zip(present)
            .filter_map(|(id, p)| p.then_some(*id))
            .collect();
        if present.is_empty() {
            return Ok(HashMap::new());
        }
        let stored = self.get_statements(tenant, &present).await?;
        Ok(present
            .into_iter()
            .zip(stored)
            .filter_map(|(id, s)| s.map(|s| (id, s.body)))
            .collect())
    }

    /// Positions from one access path, in the requested order, at most `scan.limit`.
    ///
    /// Never a position of another tenant or of a statement outside the time and cursor bounds,
    /// and never misses one on the path. It may, rarely, include positions of statements that are
    /// not on the path (an implementation may index a short hash of the path key, and hashes
    /// collide): callers check the full keys of each statement they read, as the query planner
    /// does.
    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError>;

    /// The recorded ingest progress of every partition.
    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError>;

    /// Whether the store works; `Err` (`Unavailable`) says why not. Cheap and synchronous: the
    /// API asks it before acknowledging a write and for `/ready`. A remote backend answers `Ok`
    /// (its availability shows in its calls); the embedded store reports a failure of its
    /// database until it has reopened it.
    fn health(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The three document resources of xAPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocumentKind {
    State,
    ActivityProfile,
    AgentProfile,
}

/// The set of documents one listing or bulk delete addresses, e.g. the state documents of one
/// (activity, agent, registration). `scope` is a canonical string the caller builds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentScope {
    pub tenant: String,
    pub kind: DocumentKind,
    pub scope: String,
}

impl DocumentScope {
    /// The agent (canonical IFI) whose documents these are: a State scope is the activity IRI,
    /// `\n` and the agent (an IRI holds no whitespace, so the first `\n` ends the activity); an
    /// Agent Profile scope is the agent. `None` for Activity Profiles.
    pub fn agent(&self) -> Option<&str> {
        match self.kind {
            DocumentKind::State => self.scope.split_once('\n').map(|(_, agent)| agent),
            DocumentKind::AgentProfile => Some(&self.scope),
            DocumentKind::ActivityProfile => None,
        }
    }
}

/// Where one stored document is: its scope and its stored id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentAddress {
    pub scope: DocumentScope,
    pub id: String,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub content_type: String,
    pub body: Bytes,
    /// Quoted-free hex SHA-1 of the body (the API adds the quotes on the wire).
    pub etag: String,
    pub updated: Micros,
}

/// A condition a document write or delete must meet, checked atomically with the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// The current document's etag must be this one.
    IfMatch(String),
    /// There must be no current document (`If-None-Match: *`).
    IfAbsent,
}

/// Documents: read-modify-write with preconditions.
#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    async fn get_document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError>;

    /// Ids of the documents in the scope updated strictly after `since` (all when `None`).
    async fn list_documents(
        &self,
        scope: &DocumentScope,
        since: Option<Micros>,
    ) -> Result<Vec<String>, StoreError>;

    /// Writes a document if the precondition holds, else [`StoreErrorKind::PreconditionFailed`].
    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        document: Document,
        precondition: Precondition,
    ) -> Result<(), StoreError>;

    /// Deletes a document if the precondition holds. Returns whether one existed.
    async fn delete_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        precondition: Precondition,
    ) -> Result<bool, StoreError>;

    /// Deletes every document of the scope.
    async fn delete_documents(&self, scope: &DocumentScope) -> Result<(), StoreError>;

    /// Every State and Agent Profile document of one agent (its canonical IFI, as in the
    /// scopes), across every activity and registration: what a learner's export (issue 14)
    /// carries. Sorted by kind (State first), scope and id. The State documents are found by
    /// reading the tenant's State scopes (embedded, PostgreSQL) or the whole `documents` table
    /// (ScyllaDB, whose partition key is the scope): a cost of the tenant's documents, paid by
    /// an export, never by the xAPI surface.
    async fn agent_documents(
        &self,
        tenant: &str,
        agent: &str,
    ) -> Result<Vec<DocumentAddress>, StoreError>;
}

/// An attachment's raw data, addressed by the SHA-2 of those bytes (xAPI 1.0.3 Data §2.4.11
/// `sha2`; xAPI Communication §1.5.2 `X-Experience-API-Hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentBody {
    /// Lower-case hex SHA-256, SHA-384 or SHA-512 of `body`.
    pub sha2: String,
    /// The content type the data was first stored with.
    pub content_type: String,
    pub body: Bytes,
}

/// Attachment data, per tenant, deduplicated by hash.
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// Stores the bodies; a body whose hash the tenant already has is kept as it is (same hash,
    /// same bytes). Durable when it returns.
    async fn put_attachments(
        &self,
        tenant: &str,
        attachments: &[AttachmentBody],
    ) -> Result<(), StoreError>;

    /// Looks up bodies by lower-case hash; one entry per requested hash, in order.
    async fn get_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<Vec<Option<AttachmentBody>>, StoreError>;
}

/// A statement ingest could not write because the store refused it for good
/// ([`StoreErrorKind::Rejected`]), kept with where it came from and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedStatement {
    pub tenant: String,
    pub id: Uuid,
    /// `stored` as the API stamped it.
    pub stored: Micros,
    /// Where it was read from: the log partition and offset of its record.
    pub log_partition: u32,
    pub log_offset: u64,
    /// The store's error.
    pub error: String,
    /// The statement JSON without `stored` (see [`StatementRow::body`]).
    pub body: Bytes,
    /// When ingest quarantined it.
    pub quarantined: Micros,
}

/// Statements ingest quarantined: written by ingest, listed for operators (the admin endpoint
/// and `lrs admin quarantine list`).
#[async_trait]
pub trait QuarantineStore: Send + Sync + 'static {
    /// Keeps the statements, one row per (tenant, id): a replayed batch overwrites its rows with
    /// the same statements. Durable when it returns.
    async fn quarantine(&self, statements: &[QuarantinedStatement]) -> Result<(), StoreError>;

    /// At most `limit` quarantined statements of `tenant` (of every tenant when `None`), in id
    /// order within a tenant.
    async fn quarantined(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantinedStatement>, StoreError>;

    /// Deletes the quarantined statements `ids` of `tenant` (a purge's: a learner's, or those
    /// stored before a retention cutoff); ids not quarantined are ignored. Durable when it
    /// returns; the bytes leave the embedded store's files at the purge's compaction.
    async fn purge_quarantined(&self, tenant: &str, ids: &[Uuid]) -> Result<(), StoreError>;
}

/// One Activity Definition learned from a written statement, to merge into the activity's
/// canonical definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityDefinitionRow {
    pub tenant: String,
    /// The activity id (an IRI), compared as a plain string (RFC 3987 §5.3.1).
    pub activity_id: String,
    pub definition: DefinitionJson,
}

/// Canonical Activity Definitions, one per (tenant, activity id): merged by ingest from the
/// definitions statements carry, read by the Activities Resource (xAPI 1.0.3 Communication §2.5).
#[async_trait]
pub trait ActivityStore: Send + Sync + 'static {
    /// Merges the rows, in order, into the stored definitions with [`DefinitionJson::merge`].
    /// Durable when it returns. Merging the same rows again, in the same order, changes nothing
    /// (ingest replays its last batch after a crash).
    async fn merge_activity_definitions(
        &self,
        rows: &[ActivityDefinitionRow],
    ) -> Result<(), StoreError>;

    /// The canonical definition of an activity, if any statement of the tenant defined it.
    async fn get_activity_definition(
        &self,
        tenant: &str,
        activity_id: &str,
    ) -> Result<Option<DefinitionJson>, StoreError>;

    /// The canonical definitions of several activities, in the order of `activity_ids` (`None`
    /// where no statement of the tenant defined one). One call per page of statements read in
    /// `format=canonical`; backends that can should answer it in one round trip.
    async fn get_activity_definitions(
        &self,
        tenant: &str,
        activity_ids: &[String],
    ) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
        let mut out = Vec::with_capacity(activity_ids.len());
        for activity_id in activity_ids {
            out.push(self.get_activity_definition(tenant, activity_id).await?);
        }
        Ok(out)
    }
}

/// What a purge removed from the store, per kind of row. Counts only, never what the rows held
/// (they end up in the purge's audit record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PurgeCounts {
    /// Statement rows.
    pub statements: u64,
    /// Index blocks rewritten without the purged positions, or deleted when none was left.
    pub index_blocks: u64,
    /// `voided` markers kept under a purged statement's id.
    pub voided_markers: u64,
    /// Documents (state, activity and agent profiles).
    pub documents: u64,
    /// Attachment bodies.
    pub attachments: u64,
    /// Every other row: of a whole-tenant purge (facts, month summaries, dictionary terms,
    /// activity definitions, quarantined statements, roster versions and records), of a
    /// learner purge (their dictionary terms and quarantined statements), of a retention purge
    /// (quarantined statements stored before the cutoff).
    pub other_rows: u64,
}

impl PurgeCounts {
    /// Adds another purge step's counts to these.
    pub fn add(&mut self, other: &PurgeCounts) {
        self.statements += other.statements;
        self.index_blocks += other.index_blocks;
        self.voided_markers += other.voided_markers;
        self.documents += other.documents;
        self.attachments += other.attachments;
        self.other_rows += other.other_rows;
    }
}

/// One purge job's record, as the purge service keeps it: its id, when it was created, and its
/// state as opaque JSON (the store keeps it whole; `lrs-ingest`'s `purge` module owns the
/// format). Records are never deleted: they are the purge audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRecord {
    pub id: Uuid,
    pub created: Micros,
    pub record: Bytes,
}

/// Real deletion (issue 14 §3): statements with every index entry, attachments, a whole
/// tenant, and the records of the purge jobs that did it. xAPI voiding is not deletion; this is.
///
/// The study-log facts of purged statements are removed through
/// [`StudyLogStore::void_facts`] (which recomputes their month summaries) before the statements
/// go: the purge service derives each statement's fact from its body, as ingest does for a
/// voided one. Documents go through [`DocumentStore::delete_documents`].
///
/// Every method is idempotent: a purge interrupted by a crash is run again from its last
/// checkpoint and finishes.
#[async_trait]
pub trait PurgeStore: Send + Sync + 'static {
    /// Deletes the statements of `tenant` with these ids: their rows, their positions in every
    /// index block (each affected block is rewritten without them, or deleted when empty) and
    /// the `voided` marker kept under each id. A `voided` marker whose voiding statement is
    /// purged while its target stays is kept (the target stays voided; the marker holds only
    /// the voiding statement's id). Ids not stored are skipped. Durable when it returns.
    async fn purge_statements(&self, tenant: &str, ids: &[Uuid])
    -> Result<PurgeCounts, StoreError>;

    /// Deletes the tenant's attachment bodies with these (lower-case hex) hashes; hashes not
    /// held are skipped. The caller checks that no remaining statement references them.
    async fn purge_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<PurgeCounts, StoreError>;

    /// Deletes the tenant's dictionary entries (`dim`, each key), with their `terms_by_time`
    /// listing: a purged learner's identifiers ([`ACTOR_TERMS`]), whose facts are gone. Keys
    /// not held are skipped; the count is in `other_rows`. An entry written again later (a new
    /// statement of that identifier) is a new entry.
    async fn purge_terms(
        &self,
        tenant: &str,
        dim: u8,
        keys: &[Key16],
    ) -> Result<PurgeCounts, StoreError>;

    /// Deletes at most about `limit` rows of everything the tenant holds: statements, index
    /// blocks, voided markers, documents, attachments, facts, month summaries, terms, activity
    /// definitions, quarantined statements and rosters. Called until it returns a count of 0;
    /// each call is durable. Watermarks (per log partition, of no tenant) and purge records
    /// stay.
    async fn purge_tenant(&self, tenant: &str, limit: usize) -> Result<PurgeCounts, StoreError>;

    /// Makes the deleted rows' bytes leave the disk where the backend keeps them after a delete
    /// (the embedded store: flushes every memtable, so the journals holding the rows can go,
    /// and compacts every table, dropping tombstoned values). The remote backends leave it to
    /// their own compaction (PostgreSQL `VACUUM`, ScyllaDB `gc_grace_seconds`:
    /// docs/lifecycle.md) and return at once.
    async fn compact(&self) -> Result<(), StoreError>;

    /// Writes (or replaces) a purge job's record. Durable when it returns.
    async fn put_purge_record(&self, record: &PurgeRecord) -> Result<(), StoreError>;

    /// Every purge record, oldest first.
    async fn purge_records(&self) -> Result<Vec<PurgeRecord>, StoreError>;
}
