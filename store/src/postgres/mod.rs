//! [`PostgresStore`]: the store seam on PostgreSQL (cargo feature `postgres`).
//!
//! The tables are schema/postgres/*.sql, a one-to-one mirror of the ScyllaDB tables in
//! schema/cql/001_init.cql: every primary key is the Scylla partition key followed by its
//! clustering key, and every query here is one Scylla could run with those keys (a whole partition
//! key, a slice of clustering columns, `IN` on partition keys). The index tables hold index
//! blocks (`layout/blocks.rs`, schema version 2): a scan walks the days listed in
//! `statement_buckets`, one index partition at a time, merging its blocks (see `statements.rs`).
//! A store with the version-1 index tables (a row per statement and path) is refused at connect. The backend stays
//! thin: conflict checks, voiding order, planning and cursors live above the seam.
//!
//! Statement writes are one transaction of multi-row `INSERT … ON CONFLICT DO NOTHING` (blind and
//! idempotent), which also holds their study-log facts and month-summary deltas (`studylog.rs`:
//! a fact adds to its summary only when this transaction inserted it); document preconditions are conditional writes (`ON CONFLICT DO NOTHING`,
//! `UPDATE/DELETE … WHERE etag = $`), the counterpart of Scylla's lightweight transactions.
//! Connections come from a `deadpool-postgres` pool; statements are prepared once per connection.
//! Every connect applies the schema files under one advisory lock (concurrent first starts of
//! every role on a fresh database); `lrs migrate` does only that. Errors are classified
//! ([`unavailable`]): a data or limit error of one input is `Rejected` (ingest quarantines the
//! statement), the rest `Unavailable` (retried).
//! Connections are plain TCP or Unix sockets (no TLS yet).

mod documents;
mod nonces;
mod purge;
mod quarantine;
mod roster;
mod statements;
mod studylog;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use lrs_schema::envelope::Key16;
use lrs_schema::{DefinitionJson, MonthSummary};
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::{
    ActivityDefinitionRow, ActivityStore, AttachmentBody, AttachmentStore, Document,
    DocumentAddress, DocumentScope, DocumentStore, FactRow, IndexScan, Micros, MonthNumber,
    Position, Precondition, PurgeCounts, PurgeRecord, PurgeStore, QuarantineStore,
    QuarantinedStatement, RosterChangeRow, RosterRecordRow, RosterStore, RosterVersionRow,
    SchemaMode, StatementReader, StatementRow, StatementWriter, StoreError, StoreErrorKind,
    StoredStatement, StudyLogStore, TermRow, Watermark,
};

/// The schema files, in order, every store applies (idempotently: `CREATE TABLE IF NOT EXISTS`
/// only) when it connects.
const SCHEMA_FILES: &[(&str, &str)] = &[
    (
        "001_init.sql",
        include_str!("../../../schema/postgres/001_init.sql"),
    ),
    (
        "002_quarantine.sql",
        include_str!("../../../schema/postgres/002_quarantine.sql"),
    ),
    (
        "003_studylog.sql",
        include_str!("../../../schema/postgres/003_studylog.sql"),
    ),
    (
        "004_purges.sql",
        include_str!("../../../schema/postgres/004_purges.sql"),
    ),
    (
        "005_lti_nonces.sql",
        include_str!("../../../schema/postgres/005_lti_nonces.sql"),
    ),
];

/// The advisory lock (PostgreSQL's two-`int4` key space, apart from the `int8` keys of activity
/// merges) every schema change of this store holds. `CREATE … IF NOT EXISTS` is not safe under
/// concurrency: two sessions creating one table at once can fail with a duplicate key in
/// `pg_type`, and orchestrators start every role at once on a fresh database.
const SCHEMA_LOCK: (i32, i32) = (0x4c52_5300, 1);

/// Connections kept open per store.
const POOL_SIZE: usize = 16;

/// The PostgreSQL store. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (a libpq connection string or `postgres://` URL) and creates the tables
    /// in the connection's default schema if they are missing.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with_schema(url, SchemaMode::Apply).await
    }

    /// Connects to `url`, applying the schema or only requiring it (see [`SchemaMode`]).
    pub async fn connect_with_schema(
        url: &str,
        mode: SchemaMode,
    ) -> Result<PostgresStore, StoreError> {
        Self::open(parse(url)?, mode).await
    }

    /// Like [`PostgresStore::connect`], with every table in the schema `schema` (created if
    /// missing). `schema` is a plain identifier: ASCII letters, digits and `_`.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
        let valid = !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!("schema name {schema:?} is not a plain identifier"),
            ));
        }
        let mut config = parse(url)?;
        let (mut client, connection) = config.connect(NoTls).await.map_err(unavailable)?;
        let driver = tokio::spawn(connection);
        locked_schema_change(
            &mut client,
            &[format!("CREATE SCHEMA IF NOT EXISTS {schema}")],
        )
        .await?;
        drop(client);
        let _ = driver.await;
        config.options(format!("-c search_path={schema}"));
        Self::open(config, SchemaMode::Apply).await
    }

    async fn open(
        config: tokio_postgres::Config,
        mode: SchemaMode,
    ) -> Result<PostgresStore, StoreError> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::new(StoreErrorKind::Unavailable, format!("pool: {e}")))?;
        let store = PostgresStore { pool };
        let mut client = store.client().await?;
        if has_version_1_index_tables(&client).await? {
            return Err(crate::layout::wide::old_index_tables());
        }
        match mode {
            SchemaMode::Apply => {
                let files: Vec<String> = SCHEMA_FILES
                    .iter()
                    .map(|(_, sql)| sql.to_string())
                    .collect();
                locked_schema_change(&mut client, &files).await?;
            }
            SchemaMode::Require => {
                let missing = missing_tables(&client).await?;
                if !missing.is_empty() {
                    return Err(crate::layout::wide::schema_missing(&missing));
                }
            }
        }
        drop(client);
        Ok(store)
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("postgres connection: {e}"),
            )
        })
    }
}

/// Runs the schema statements in one transaction holding [`SCHEMA_LOCK`], so concurrent
/// connects (every role of a fresh deployment) create the schema one after the other; the later
/// ones find it there.
async fn locked_schema_change(
    client: &mut tokio_postgres::Client,
    statements: &[String],
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(unavailable)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&SCHEMA_LOCK.0, &SCHEMA_LOCK.1],
    )
    .await
    .map_err(unavailable)?;
    for statement in statements {
        tx.batch_execute(statement).await.map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)
}

/// Whether the connection's schema holds the index tables of schema version 1 (a row per
/// statement and path), which this build neither reads nor converts.
async fn has_version_1_index_tables(client: &tokio_postgres::Client) -> Result<bool, StoreError> {
    let rows = client
        .query(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = 'statements_by_stored' AND column_name = $1",
            &[&crate::layout::wide::VERSION_1_INDEX_COLUMN],
        )
        .await
        .map_err(unavailable)?;
    Ok(!rows.is_empty())
}

/// The tables of the schema files missing from the connection's schema (`search_path`).
async fn missing_tables(client: &tokio_postgres::Client) -> Result<Vec<String>, StoreError> {
    let present: std::collections::HashSet<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema()",
            &[],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok(SCHEMA_FILES
        .iter()
        .flat_map(|(_, sql)| crate::layout::wide::schema_tables(sql))
        .filter(|table| !present.contains(table))
        .collect())
}

fn parse(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    url.parse().map_err(|e| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("postgres connection string: {e}"),
        )
    })
}

/// A driver or server error, classified: [`StoreErrorKind::Rejected`] when the same input can
/// never succeed (SQLSTATE class 22 "data exception", e.g. a NUL in `text` or a value out of
/// range; class 23 "integrity constraint violation"; class 54 "program limit exceeded", e.g. an
/// index row beyond btree's ~2.7 KB; or a parameter the client cannot encode), else
/// [`StoreErrorKind::Unavailable`] (connections, timeouts, lock and serialization failures,
/// resources such as a full disk: class 53), which is worth retrying.
pub(crate) fn unavailable(error: tokio_postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        let message = format!("postgres: {} ({code})", db.message());
        let kind = match &code[..2] {
            "22" | "23" | "54" => StoreErrorKind::Rejected,
            _ => StoreErrorKind::Unavailable,
        };
        return StoreError::new(kind, message);
    }
    // tokio-postgres's client-side failures for one input (a value that does not serialize, a
    // message over the protocol's 1 GiB bound) are only told apart by their text.
    let text = error.to_string();
    let kind = if text.starts_with("error serializing parameter")
        || text.starts_with("error encoding message")
    {
        StoreErrorKind::Rejected
    } else {
        StoreErrorKind::Unavailable
    };
    let message = match std::error::Error::source(&error) {
        Some(cause) => format!("postgres: {text}: {cause}"),
        None => format!("postgres: {text}"),
    };
    StoreError::new(kind, message)
}

#[async_trait]
impl StatementWriter for PostgresStore {
    async fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        statements::write_statements(&mut self.client().await?, rows).await
    }

    async fn record_watermarks(&self, marks: &[Watermark]) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        statements::record_watermarks(&self.client().await?, marks).await
    }
}

#[async_trait]
impl StatementReader for PostgresStore {
    async fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        statements::get_statements(&self.client().await?, tenant, ids).await
    }

    async fn contains_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<bool>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        statements::contains_statements(&self.client().await?, tenant, ids).await
    }

    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        statements::scan(&self.client().await?, scan).await
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        statements::watermarks(&self.client().await?).await
    }
}

#[async_trait]
impl DocumentStore for PostgresStore {
    async fn get_document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        documents::get_document(&self.client().await?, scope, id).await
    }

    async fn list_documents(
        &self,
        scope: &DocumentScope,
        since: Option<Micros>,
    ) -> Result<Vec<String>, StoreError> {
        documents::list_documents(&self.client().await?, scope, since).await
    }

    async fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        document: Document,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        documents::put_document(&self.client().await?, scope, id, &document, &precondition).await
    }

    async fn delete_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        precondition: Precondition,
    ) -> Result<bool, StoreError> {
        documents::delete_document(&self.client().await?, scope, id, &precondition).await
    }

    async fn delete_documents(&self, scope: &DocumentScope) -> Result<(), StoreError> {
        documents::delete_documents(&self.client().await?, scope).await
    }

    async fn agent_documents(
        &self,
        tenant: &str,
        agent: &str,
    ) -> Result<Vec<DocumentAddress>, StoreError> {
        documents::agent_documents(&self.client().await?, tenant, agent).await
    }
}

#[async_trait]
impl AttachmentStore for PostgresStore {
    async fn put_attachments(
        &self,
        tenant: &str,
        attachments: &[AttachmentBody],
    ) -> Result<(), StoreError> {
        if attachments.is_empty() {
            return Ok(());
        }
        documents::put_attachments(&self.client().await?, tenant, attachments).await
    }

    async fn get_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<Vec<Option<AttachmentBody>>, StoreError> {
        if sha2.is_empty() {
            return Ok(Vec::new());
        }
        documents::get_attachments(&self.client().await?, tenant, sha2).await
    }
}

#[async_trait]
impl ActivityStore for PostgresStore {
    async fn merge_activity_definitions(
        &self,
        rows: &[ActivityDefinitionRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        documents::merge_activity_definitions(&mut self.client().await?, rows).await
    }

    async fn get_activity_definition(
        &self,
        tenant: &str,
        activity_id: &str,
    ) -> Result<Option<DefinitionJson>, StoreError> {
        let ids = [activity_id.to_owned()];
        let mut got =
            documents::get_activity_definitions(&self.client().await?, tenant, &ids).await?;
        Ok(got.pop().flatten())
    }

    async fn get_activity_definitions(
        &self,
        tenant: &str,
        activity_ids: &[String],
    ) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
        if activity_ids.is_empty() {
            return Ok(Vec::new());
        }
        documents::get_activity_definitions(&self.client().await?, tenant, activity_ids).await
    }
}

#[async_trait]
impl crate::NonceStore for PostgresStore {
    async fn use_nonce_once(&self, nonce: &str, until: i64, now: i64) -> Result<bool, StoreError> {
        nonces::use_once(&self.client().await?, nonce, until, now).await
    }
}

#[async_trait]
impl QuarantineStore for PostgresStore {
    async fn quarantine(&self, statements: &[QuarantinedStatement]) -> Result<(), StoreError> {
        if statements.is_empty() {
            return Ok(());
        }
        quarantine::quarantine(&self.client().await?, statements).await
    }

    async fn quarantined(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantinedStatement>, StoreError> {
        quarantine::quarantined(&self.client().await?, tenant, limit).await
    }

    async fn purge_quarantined(&self, tenant: &str, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        quarantine::purge_quarantined(&self.client().await?, tenant, ids).await
    }
}

#[async_trait]
impl StudyLogStore for PostgresStore {
    async fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError> {
        if terms.is_empty() {
            return Ok(());
        }
        studylog::record_terms(&mut self.client().await?, terms).await
    }

    async fn terms(&self, tenant: &str, since: Option<Micros>) -> Result<Vec<TermRow>, StoreError> {
        studylog::terms(&self.client().await?, tenant, since).await
    }

    async fn facts(
        &self,
        tenant: &str,
        first_day: i32,
        last_day: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<FactRow>, StoreError> {
        studylog::facts(&self.client().await?, tenant, first_day, last_day, actors).await
    }

    async fn month_summaries(
        &self,
        tenant: &str,
        month: MonthNumber,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
        studylog::month_summaries(&self.client().await?, tenant, month, actors).await
    }

    async fn void_facts(
        &self,
        tenant: &str,
        targets: &[(i32, Key16, Uuid)],
    ) -> Result<(), StoreError> {
        if targets.is_empty() {
            return Ok(());
        }
        studylog::void_facts(&mut self.client().await?, tenant, targets).await
    }

    async fn study_tenants(&self) -> Result<Vec<String>, StoreError> {
        studylog::study_tenants(&self.client().await?).await
    }
}

#[async_trait]
impl RosterStore for PostgresStore {
    async fn commit_roster(
        &self,
        tenant: &str,
        version: &RosterVersionRow,
        changes: &[RosterChangeRow],
    ) -> Result<(), StoreError> {
        roster::commit_roster(&mut self.client().await?, tenant, version, changes).await
    }

    async fn roster_versions(&self, tenant: &str) -> Result<Vec<RosterVersionRow>, StoreError> {
        roster::roster_versions(&self.client().await?, tenant).await
    }

    async fn roster_records(&self, tenant: &str) -> Result<Vec<RosterRecordRow>, StoreError> {
        roster::roster_records(&self.client().await?, tenant).await
    }
}

#[async_trait]
impl PurgeStore for PostgresStore {
    async fn purge_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<PurgeCounts, StoreError> {
        if ids.is_empty() {
            return Ok(PurgeCounts::default());
        }
        purge::purge_statements(&mut self.client().await?, tenant, ids).await
    }

    async fn purge_attachments(
        &self,
        tenant: &str,
        sha2: &[String],
    ) -> Result<PurgeCounts, StoreError> {
        if sha2.is_empty() {
            return Ok(PurgeCounts::default());
        }
        purge::purge_attachments(&self.client().await?, tenant, sha2).await
    }

    async fn purge_terms(
        &self,
        tenant: &str,
        dim: u8,
        keys: &[Key16],
    ) -> Result<PurgeCounts, StoreError> {
        if keys.is_empty() {
            return Ok(PurgeCounts::default());
        }
        purge::purge_terms(&mut self.client().await?, tenant, dim, keys).await
    }

    async fn purge_tenant(&self, tenant: &str, limit: usize) -> Result<PurgeCounts, StoreError> {
        purge::purge_tenant(&mut self.client().await?, tenant, limit).await
    }

    /// Left to autovacuum (docs/lifecycle.md).
    async fn compact(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn put_purge_record(&self, record: &PurgeRecord) -> Result<(), StoreError> {
        purge::put_purge_record(&self.client().await?, record).await
    }

    async fn purge_records(&self) -> Result<Vec<PurgeRecord>, StoreError> {
        purge::purge_records(&self.client().await?).await
    }
}
