//! The `quarantine` table (schema/cql/002_quarantine.cql): one row per (tenant, statement id),
//! one partition per tenant.

use bytes::Bytes;
use futures::{FutureExt, StreamExt, TryStreamExt};
use uuid::Uuid;

use super::statements::run_all;
use super::{Inner, driver_error, next_row_error};
use crate::{QuarantinedStatement, StoreError};

/// A row as the table holds it.
type Row = (String, Uuid, i64, i32, i64, String, Vec<u8>, i64);

/// Plain upserts (idempotent), at most `db.concurrency` at once.
pub(super) async fn quarantine(
    db: &Inner,
    statements: &[QuarantinedStatement],
) -> Result<(), StoreError> {
    let writes = statements
        .iter()
        .map(|s| {
            let values = (
                s.tenant.as_str(),
                s.id,
                s.stored,
                s.log_partition as i32,
                s.log_offset as i64,
                s.error.as_str(),
                &s.body[..],
                s.quarantined,
            );
            async move {
                db.session
                    .execute_unpaged(&db.prepared.upsert_quarantine, values)
                    .await
                    .map(|_| ())
                    .map_err(driver_error)
            }
            .boxed()
        })
        .collect();
    run_all(db, writes).await
}

/// One tenant's partition, or (no tenant) a paged scan of the whole table.
pub(super) async fn quarantined(
    db: &Inner,
    tenant: Option<&str>,
    limit: usize,
) -> Result<Vec<QuarantinedStatement>, StoreError> {
    let pager = match tenant {
        Some(tenant) => {
            db.session
                .execute_iter(db.prepared.select_quarantine_of_tenant.clone(), (tenant,))
                .await
        }
        None => {
            db.session
                .execute_iter(db.prepared.select_quarantine.clone(), ())
                .await
        }
    }
    .map_err(driver_error)?;
    pager
        .rows_stream::<Row>()?
        .take(limit)
        .map_ok(
            |(tenant, id, stored, partition, offset, error, body, quarantined)| {
                QuarantinedStatement {
                    tenant,
                    id,
                    stored,
                    log_partition: partition as u32,
                    log_offset: offset as u64,
                    error,
                    body: Bytes::from(body),
                    quarantined,
                }
            },
        )
        .try_collect()
        .await
        .map_err(next_row_error)
}

/// One delete per id (idempotent), at most `db.concurrency` at once.
pub(super) async fn purge_quarantined(
    db: &Inner,
    tenant: &str,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    let deletes = ids
        .iter()
        .map(|&id| {
            async move {
                db.session
                    .execute_unpaged(&db.prepared.delete_quarantined, (tenant, id))
                    .await
                    .map(|_| ())
                    .map_err(driver_error)
            }
            .boxed()
        })
        .collect();
    run_all(db, deletes).await
}
