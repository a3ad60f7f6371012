//! Real deletion ([`crate::PurgeStore`]) and the `purges` table.
//!
//! A purge of statements is one transaction: the rows are read (`FOR UPDATE`), each index
//! partition (table, path key, day) holding one of their positions has the blocks of the
//! affected buckets read and rewritten without them (deleted, and inserted again under their
//! new block id when positions are left), a `statement_buckets` row whose partition is left
//! without blocks is deleted, then the rows and their `voided` markers go. PostgreSQL deletes
//! by marking tuples dead: `VACUUM` (autovacuum) reclaims them, and the bytes may stay in free
//! pages and the WAL until reused or archived WAL expires (docs/lifecycle.md).

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use deadpool_postgres::Object;
use lrs_schema::envelope::Key16;
use uuid::Uuid;

use super::unavailable;
use crate::layout::blocks::{self, BlockRewrite};
use crate::layout::codec::decode_keys_blob;
use crate::layout::wide::{bucket as day_of, utc_month};
use crate::layout::{self, IndexTable, PathKey};
use crate::{Position, PurgeCounts, PurgeRecord, StoreError};

pub(super) async fn purge_statements(
    client: &mut Object,
    tenant: &str,
    ids: &[Uuid],
) -> Result<PurgeCounts, StoreError> {
    let mut counts = PurgeCounts::default();
    let tx = client.transaction().await.map_err(unavailable)?;
    let select = tx
        .prepare_cached(
            "SELECT id, stored, keys, inherited FROM statements \
             WHERE tenant = $1 AND id = ANY($2) FOR UPDATE",
        )
        .await
        .map_err(unavailable)?;
    // (table, path key, day, bucket) → the purged positions filed there.
    let mut affected: BTreeMap<(IndexTable, Vec<u8>, i64, i64), HashSet<Position>> =
        BTreeMap::new();
    let mut found = Vec::new();
    for row in tx
        .query(&select, &[&tenant, &ids])
        .await
        .map_err(unavailable)?
    {
        let id: Uuid = row.get(0);
        let stored: i64 = row.get(1);
        let keys = decode_keys_blob(row.get(2))?;
        let inherited: Option<&[u8]> = row.get(3);
        let inherited = inherited.map(decode_keys_blob).transpose()?;
        for (table, path_key) in layout::index_entries(&keys, inherited.as_ref(), PathKey::to_bytes)
        {
            affected
                .entry((table, path_key, day_of(stored), blocks::bucket(stored)))
                .or_default()
                .insert(Position { stored, id });
        }
        found.push(id);
    }
    let mut emptied_days: BTreeMap<(IndexTable, Vec<u8>, i64), ()> = BTreeMap::new();
    for ((table, path_key, day, bucket), purged) in &affected {
        let all = *table == IndexTable::All;
        let partition = if all {
            "tenant = $1 AND day = $2 AND bucket = $3"
        } else {
            "tenant = $1 AND day = $2 AND bucket = $3 AND path_key = $4"
        };
        let select = tx
            .prepare_cached(&format!(
                "SELECT block, positions FROM {} WHERE {partition}",
                table.table_name()
            ))
            .await
            .map_err(unavailable)?;
        let delete = tx
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE {partition} AND block = ${}",
                table.table_name(),
                if all { 4 } else { 5 }
            ))
            .await
            .map_err(unavailable)?;
        let insert = tx
            .prepare_cached(&if all {
                "INSERT INTO statements_by_stored (tenant, day, bucket, block, positions) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                    .to_owned()
            } else {
                format!(
                    "INSERT INTO {} (tenant, day, bucket, path_key, block, positions) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    table.table_name()
                )
            })
            .await
            .map_err(unavailable)?;
        let rows = if all {
            tx.query(&select, &[&tenant, day, bucket]).await
        } else {
            tx.query(&select, &[&tenant, day, bucket, path_key]).await
        }
        .map_err(unavailable)?;
        for row in rows {
            let block: i64 = row.get(0);
            let suffix = blocks::block_key_suffix(*bucket, block);
            let rewrite = blocks::without_positions(&[], &suffix, row.get(1), purged)?;
            if rewrite == BlockRewrite::Unchanged {
                continue;
            }
            counts.index_blocks += 1;
            if all {
                tx.execute(&delete, &[&tenant, day, bucket, &block]).await
            } else {
                tx.execute(&delete, &[&tenant, day, bucket, path_key, &block])
                    .await
            }
            .map_err(unavailable)?;
            if let BlockRewrite::Replaced(key, value) = rewrite {
                let (_, new_block) = blocks::split_block_key(&key)?;
                if all {
                    tx.execute(&insert, &[&tenant, day, bucket, &new_block, &value])
                        .await
                } else {
                    tx.execute(
                        &insert,
                        &[&tenant, day, bucket, path_key, &new_block, &value],
                    )
                    .await
                }
                .map_err(unavailable)?;
            }
        }
        emptied_days.insert((*table, path_key.clone(), *day), ());
    }
    // A day partition left without blocks leaves the day directory too (its path key is a hash
    // of the learner's identifier).
    for (table, path_key, day) in emptied_days.into_keys() {
        let all = table == IndexTable::All;
        let any = tx
            .prepare_cached(&format!(
                "SELECT 1 FROM {} WHERE tenant = $1 AND day = $2{} LIMIT 1",
                table.table_name(),
                if all { "" } else { " AND path_key = $3" }
            ))
            .await
            .map_err(unavailable)?;
        let left = if all {
            tx.query_opt(&any, &[&tenant, &day]).await
        } else {
            tx.query_opt(&any, &[&tenant, &day, &path_key]).await
        }
        .map_err(unavailable)?;
        if left.is_none() {
            let delete = tx
                .prepare_cached(
                    "DELETE FROM statement_buckets \
                     WHERE tenant = $1 AND path = $2 AND path_key = $3 AND bucket = $4",
                )
                .await
                .map_err(unavailable)?;
            tx.execute(&delete, &[&tenant, &table.path_name(), &path_key, &day])
                .await
                .map_err(unavailable)?;
        }
    }
    if !found.is_empty() {
        let delete = tx
            .prepare_cached("DELETE FROM statements WHERE tenant = $1 AND id = ANY($2)")
            .await
            .map_err(unavailable)?;
        counts.statements = tx
            .execute(&delete, &[&tenant, &found])
            .await
            .map_err(unavailable)?;
        let delete = tx
            .prepare_cached("DELETE FROM voided WHERE tenant = $1 AND target = ANY($2)")
            .await
            .map_err(unavailable)?;
        counts.voided_markers = tx
            .execute(&delete, &[&tenant, &found])
            .await
            .map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(counts)
}

pub(super) async fn purge_attachments(
    client: &Object,
    tenant: &str,
    sha2: &[String],
) -> Result<PurgeCounts, StoreError> {
    let delete = client
        .prepare_cached("DELETE FROM attachments WHERE tenant = $1 AND sha2 = ANY($2)")
        .await
        .map_err(unavailable)?;
    let attachments = client
        .execute(&delete, &[&tenant, &sha2])
        .await
        .map_err(unavailable)?;
    Ok(PurgeCounts {
        attachments,
        ..PurgeCounts::default()
    })
}

/// Deletes dictionary entries and their `terms_by_time` rows (found by the `first_seen` the
/// entry held), in one transaction.
pub(super) async fn purge_terms(
    client: &mut Object,
    tenant: &str,
    dim: u8,
    keys: &[Key16],
) -> Result<PurgeCounts, StoreError> {
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k.0[..]).collect();
    let dim = i16::from(dim);
    let tx = client.transaction().await.map_err(unavailable)?;
    let delete = tx
        .prepare_cached(
            "DELETE FROM terms WHERE tenant = $1 AND dim = $2 AND term_key = ANY($3) \
             RETURNING term_key, first_seen",
        )
        .await
        .map_err(unavailable)?;
    let deleted = tx
        .query(&delete, &[&tenant, &dim, &keys])
        .await
        .map_err(unavailable)?;
    let by_time = tx
        .prepare_cached(
            "DELETE FROM terms_by_time \
             WHERE tenant = $1 AND month = $2 AND first_seen = $3 AND dim = $4 AND term_key = $5",
        )
        .await
        .map_err(unavailable)?;
    let mut counts = PurgeCounts {
        other_rows: deleted.len() as u64,
        ..PurgeCounts::default()
    };
    for row in &deleted {
        let key: &[u8] = row.get(0);
        let first_seen: i64 = row.get(1);
        counts.other_rows += tx
            .execute(
                &by_time,
                &[&tenant, &utc_month(first_seen), &first_seen, &dim, &key],
            )
            .await
            .map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(counts)
}

/// Every table with a `tenant` column, and the count it adds to.
const TENANT_TABLES: &[&str] = &[
    "statements",
    "statements_by_stored",
    "statements_by_agent",
    "statements_by_related_agent",
    "statements_by_verb",
    "statements_by_activity",
    "statements_by_related_activity",
    "statements_by_registration",
    "statements_by_authority",
    "statement_buckets",
    "voided",
    "documents",
    "attachments",
    "activities",
    "quarantine",
    "facts",
    "month_summaries",
    "terms",
    "terms_by_time",
    "study_tenants",
    "roster_versions",
    "roster_records",
];

/// Deletes up to `limit` rows per table (`ctid` slices: a tenant's rows of one table are not
/// one Scylla partition, so this is one of the few queries here Scylla could not run; the
/// ScyllaDB store walks its partitions instead).
pub(super) async fn purge_tenant(
    client: &mut Object,
    tenant: &str,
    limit: usize,
) -> Result<PurgeCounts, StoreError> {
    let mut counts = PurgeCounts::default();
    let limit = limit.max(1) as i64;
    let tx = client.transaction().await.map_err(unavailable)?;
    for table in TENANT_TABLES {
        let delete = tx
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE ctid IN \
                 (SELECT ctid FROM {table} WHERE tenant = $1 LIMIT $2)"
            ))
            .await
            .map_err(unavailable)?;
        let n = tx
            .execute(&delete, &[&tenant, &limit])
            .await
            .map_err(unavailable)?;
        match *table {
            "statements" => counts.statements += n,
            "voided" => counts.voided_markers += n,
            "documents" => counts.documents += n,
            "attachments" => counts.attachments += n,
            t if t.starts_with("statements_by_") => counts.index_blocks += n,
            _ => counts.other_rows += n,
        }
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(counts)
}

pub(super) async fn put_purge_record(
    client: &Object,
    record: &PurgeRecord,
) -> Result<(), StoreError> {
    let upsert = client
        .prepare_cached(
            "INSERT INTO purges (id, created, record) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET created = EXCLUDED.created, record = EXCLUDED.record",
        )
        .await
        .map_err(unavailable)?;
    client
        .execute(&upsert, &[&record.id, &record.created, &&record.record[..]])
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn purge_records(client: &Object) -> Result<Vec<PurgeRecord>, StoreError> {
    let select = client
        .prepare_cached("SELECT id, created, record FROM purges")
        .await
        .map_err(unavailable)?;
    let mut out: Vec<PurgeRecord> = client
        .query(&select, &[])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| PurgeRecord {
            id: row.get(0),
            created: row.get(1),
            record: Bytes::copy_from_slice(row.get(2)),
        })
        .collect();
    out.sort_by_key(|r| (r.created, r.id));
    Ok(out)
}
