//! The `quarantine` table (schema/postgres/002_quarantine.sql).

use bytes::Bytes;
use deadpool_postgres::Object;
use uuid::Uuid;

use super::unavailable;
use crate::{QuarantinedStatement, StoreError};

/// One multi-row upsert: a replayed row overwrites itself.
pub(super) async fn quarantine(
    client: &Object,
    statements: &[QuarantinedStatement],
) -> Result<(), StoreError> {
    let upsert = client
        .prepare_cached(
            "INSERT INTO quarantine (tenant, statement_id, stored, log_partition, log_offset, \
             error, body, quarantined) \
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::int8[], $4::int4[], $5::int8[], \
             $6::text[], $7::bytea[], $8::int8[]) \
             ON CONFLICT (tenant, statement_id) DO UPDATE SET stored = EXCLUDED.stored, \
             log_partition = EXCLUDED.log_partition, log_offset = EXCLUDED.log_offset, \
             error = EXCLUDED.error, body = EXCLUDED.body, quarantined = EXCLUDED.quarantined",
        )
        .await
        .map_err(unavailable)?;
    let tenants: Vec<&str> = statements.iter().map(|s| s.tenant.as_str()).collect();
    let ids: Vec<Uuid> = statements.iter().map(|s| s.id).collect();
    let stored: Vec<i64> = statements.iter().map(|s| s.stored).collect();
    let partitions: Vec<i32> = statements.iter().map(|s| s.log_partition as i32).collect();
    let offsets: Vec<i64> = statements.iter().map(|s| s.log_offset as i64).collect();
    // `text` cannot hold NUL; an error message is for people, so NUL becomes U+FFFD.
    let errors: Vec<String> = statements
        .iter()
        .map(|s| s.error.replace('\0', "\u{fffd}"))
        .collect();
    let bodies: Vec<&[u8]> = statements.iter().map(|s| &s.body[..]).collect();
    let quarantined: Vec<i64> = statements.iter().map(|s| s.quarantined).collect();
    client
        .execute(
            &upsert,
            &[
                &tenants,
                &ids,
                &stored,
                &partitions,
                &offsets,
                &errors,
                &bodies,
                &quarantined,
            ],
        )
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn quarantined(
    client: &Object,
    tenant: Option<&str>,
    limit: usize,
) -> Result<Vec<QuarantinedStatement>, StoreError> {
    let columns = "tenant, statement_id, stored, log_partition, log_offset, error, body, \
                   quarantined";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match tenant {
        Some(tenant) => {
            let select = client
                .prepare_cached(&format!(
                    "SELECT {columns} FROM quarantine WHERE tenant = $1 \
                     ORDER BY statement_id LIMIT $2"
                ))
                .await
                .map_err(unavailable)?;
            client.query(&select, &[&tenant, &limit]).await
        }
        None => {
            let select = client
                .prepare_cached(&format!(
                    "SELECT {columns} FROM quarantine ORDER BY tenant, statement_id LIMIT $1"
                ))
                .await
                .map_err(unavailable)?;
            client.query(&select, &[&limit]).await
        }
    }
    .map_err(unavailable)?;
    Ok(rows
        .iter()
        .map(|row| QuarantinedStatement {
            tenant: row.get(0),
            id: row.get(1),
            stored: row.get(2),
            log_partition: row.get::<_, i32>(3) as u32,
            log_offset: row.get::<_, i64>(4) as u64,
            error: row.get(5),
            body: Bytes::copy_from_slice(row.get(6)),
            quarantined: row.get(7),
        })
        .collect())
}

pub(super) async fn purge_quarantined(
    client: &Object,
    tenant: &str,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    let delete = client
        .prepare_cached("DELETE FROM quarantine WHERE tenant = $1 AND statement_id = ANY($2)")
        .await
        .map_err(unavailable)?;
    client
        .execute(&delete, &[&tenant, &ids])
        .await
        .map_err(unavailable)?;
    Ok(())
}
