//! [`EmbeddedStore`]: the store seam on fjall, for `lrs serve` in one process.
//!
//! The tables mirror the ScyllaDB design, one fjall keyspace each (see `keys.rs` and `codec.rs`
//! for the byte layouts):
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `statements` | tenant, id | `codec` statement value v1 (stored, index keys, LZ4 body) |
//! | `statements_by_stored` | tenant, stored, id | empty |
//! | `statements_by_<path>` | tenant, key16 or uuid, stored, id | empty |
//! | `voided` | tenant, target id | voiding statement id |
//! | `watermarks` | partition (`u32` big-endian) | `codec` watermark value v1 |
//! | `documents` | tenant, kind, scope (`u32` length-prefixed), document id | `codec` document value v1 |
//!
//! Every fjall call blocks, so the async trait methods run them on tokio's blocking pool.

mod documents;
mod statements;

pub(crate) mod codec;
pub(crate) mod keys;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use uuid::Uuid;

use crate::{
    Document, DocumentScope, DocumentStore, IndexScan, Micros, Position, Precondition,
    StatementReader, StatementRow, StatementWriter, StoreError, StoreErrorKind, StoredStatement,
    Watermark,
};
use fjall::config::CompressionPolicy;
use keys::IndexTable;

/// The embedded (fjall) store. Cheap to clone: clones share one database.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Tables>,
}

/// The open database and one handle per table.
pub(crate) struct Tables {
    db: Database,
    statements: Keyspace,
    /// Indexed by [`IndexTable::index`].
    indexes: Vec<Keyspace>,
    voided: Keyspace,
    watermarks: Keyspace,
    documents: Keyspace,
    /// Serializes document writes so a precondition check and its write are atomic.
    document_writes: Mutex<()>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        let db = Database::builder(dir).open().map_err(unavailable)?;
        // Bodies are LZ4-compressed in the value already; compressing the blocks again costs
        // CPU for nothing.
        let statements = db
            .keyspace("statements", || {
                KeyspaceCreateOptions::default()
                    .data_block_compression_policy(CompressionPolicy::disabled())
            })
            .map_err(unavailable)?;
        let indexes = IndexTable::EVERY
            .iter()
            .map(|table| db.keyspace(table.keyspace_name(), KeyspaceCreateOptions::default))
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
        Ok(EmbeddedStore {
            inner: Arc::new(Tables {
                db,
                statements,
                indexes,
                voided,
                watermarks,
                documents,
                document_writes: Mutex::new(()),
            }),
        })
    }

    /// Bytes the database occupies on disk (journals and tables).
    pub fn disk_space(&self) -> Result<u64, StoreError> {
        self.inner.db.disk_space().map_err(unavailable)
    }

    /// Runs blocking fjall work on tokio's blocking pool.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Tables) -> Result<T, StoreError> + Send + 'static,
    {
        let tables = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&tables))
            .await
            .map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("store task failed: {e}"),
                )
            })?
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

    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        let scan = scan.clone();
        self.blocking(move |t| t.scan(&scan)).await
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        self.blocking(|t| t.watermarks()).await
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
}
