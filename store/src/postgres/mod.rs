//! [`PostgresStore`]: the store seam on PostgreSQL (cargo feature `postgres`).
//!
//! The tables are schema/postgres/001_init.sql, a one-to-one mirror of the ScyllaDB tables in
//! schema/cql/001_init.cql: every primary key is the Scylla partition key followed by its
//! clustering key, and every query here is one Scylla could run with those keys (a whole partition
//! key, a slice of clustering columns, `IN` on partition keys). A scan walks the day buckets listed
//! in `statement_buckets`, one index partition at a time (see `statements.rs`). The backend stays
//! thin: conflict checks, voiding order, planning and cursors live above the seam.
//!
//! Statement writes are one transaction of multi-row `INSERT … ON CONFLICT DO NOTHING` (blind and
//! idempotent); document preconditions are conditional writes (`ON CONFLICT DO NOTHING`,
//! `UPDATE/DELETE … WHERE etag = $`), the counterpart of Scylla's lightweight transactions.
//! Connections come from a `deadpool-postgres` pool; statements are prepared once per connection.
//! Connections are plain TCP or Unix sockets (no TLS yet).

mod documents;
mod statements;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use lrs_schema::DefinitionJson;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::{
    ActivityDefinitionRow, ActivityStore, AttachmentBody, AttachmentStore, Document, DocumentScope,
    DocumentStore, IndexScan, Micros, Position, Precondition, StatementReader, StatementRow,
    StatementWriter, StoreError, StoreErrorKind, StoredStatement, Watermark,
};

/// The schema every store creates (idempotently) when it connects.
const SCHEMA_V1: &str = include_str!("../../../schema/postgres/001_init.sql");

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
        Self::open(parse(url)?).await
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
        let (client, connection) = config.connect(NoTls).await.map_err(unavailable)?;
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(unavailable)?;
        drop(client);
        let _ = driver.await;
        config.options(format!("-c search_path={schema}"));
        Self::open(config).await
    }

    async fn open(config: tokio_postgres::Config) -> Result<PostgresStore, StoreError> {
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
        store
            .client()
            .await?
            .batch_execute(SCHEMA_V1)
            .await
            .map_err(unavailable)?;
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

fn parse(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    url.parse().map_err(|e| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("postgres connection string: {e}"),
        )
    })
}

pub(crate) fn unavailable(error: tokio_postgres::Error) -> StoreError {
    let message = match error.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {error}"),
    };
    StoreError::new(StoreErrorKind::Unavailable, message)
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
