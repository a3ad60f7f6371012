//! Real deletion ([`crate::PurgeStore`]) on ScyllaDB: the same rows PostgreSQL deletes
//! (`postgres/purge.rs`), each by its whole primary key or partition (no `ALLOW FILTERING`).
//! ScyllaDB deletes by writing tombstones: the bytes leave the SSTables at compaction after
//! `gc_grace_seconds` (docs/lifecycle.md).
//!
//! Statements: each purged statement's row is read for its keys; each index partition (table,
//! path key, day) holding one of their positions has the blocks of the affected bucket read
//! and rewritten without them (the new block written first, then the old one deleted, so a
//! reader in between sees a position twice, which a scan's merge drops, never none); a day left
//! without blocks leaves `statement_buckets`; then the rows and their `voided` markers go.
//! Not one transaction, as on PostgreSQL: every step is idempotent, and a purge interrupted
//! half-way is run again from its checkpoint (`lrs_ingest::purge`).
//!
//! A whole tenant: its statements through its `statements_by_stored` index as above, then every
//! other table's rows of the tenant, found by a paged scan of the table's primary keys (the
//! tenant is part of every partition key, never a partition of its own): a cost of the whole
//! table, paid by a tenant purge only. Documents go through their lightweight-transaction
//! delete (`documents.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::TryStreamExt;
use lrs_schema::envelope::Key16;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, Row};
use uuid::Uuid;

use super::statements::rows;
use super::{Inner, driver_error, next_row_error};
use crate::layout::blocks::{self, BlockRewrite};
use crate::layout::codec::decode_keys_blob;
use crate::layout::wide::{bucket as day_of, utc_month};
use crate::layout::{self, IndexTable, PathKey};
use crate::{
    AccessPath, DocumentKind, DocumentScope, IndexScan, Position, PurgeCounts, StoreError,
};

/// Statements prepared once per purge call (a purge is rare; the store's own set stays the
/// xAPI surface's).
struct Statements<'a> {
    db: &'a Inner,
    prepared: HashMap<String, PreparedStatement>,
}

impl<'a> Statements<'a> {
    fn new(db: &'a Inner) -> Self {
        Statements {
            db,
            prepared: HashMap::new(),
        }
    }

    async fn get(&mut self, cql: &str) -> Result<PreparedStatement, StoreError> {
        if let Some(p) = self.prepared.get(cql) {
            return Ok(p.clone());
        }
        let p = self.db.session.prepare(cql).await.map_err(driver_error)?;
        self.prepared.insert(cql.to_owned(), p.clone());
        Ok(p)
    }

    async fn run(
        &mut self,
        cql: &str,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<scylla::response::query_result::QueryResult, StoreError> {
        let p = self.get(cql).await?;
        self.db
            .session
            .execute_unpaged(&p, values)
            .await
            .map_err(driver_error)
    }
}

pub(super) async fn purge_statements(
    db: &Inner,
    tenant: &str,
    ids: &[Uuid],
) -> Result<PurgeCounts, StoreError> {
    let mut counts = PurgeCounts::default();
    let mut cql = Statements::new(db);
    // (table, path key, day, bucket) → the purged positions filed there.
    let mut affected: BTreeMap<(IndexTable, Vec<u8>, i64, i64), HashSet<Position>> =
        BTreeMap::new();
    let mut found = Vec::new();
    for &id in ids {
        let held = cql
            .run(
                "SELECT stored, keys, inherited FROM statements WHERE tenant = ? AND id = ?",
                (tenant, id),
            )
            .await?;
        let Some((stored, keys, inherited)) = rows::<(i64, Vec<u8>, Option<Vec<u8>>)>(held)?.pop()
        else {
            continue;
        };
        let keys = decode_keys_blob(&keys)?;
        let inherited = inherited.as_deref().map(decode_keys_blob).transpose()?;
        for (table, path_key) in layout::index_entries(&keys, inherited.as_ref(), PathKey::to_bytes)
        {
            affected
                .entry((table, path_key, day_of(stored), blocks::bucket(stored)))
                .or_default()
                .insert(Position { stored, id });
        }
        found.push(id);
    }
    let mut days: BTreeSet<(IndexTable, Vec<u8>, i64)> = BTreeSet::new();
    for ((table, path_key, day, bucket), purged) in &affected {
        let name = table.table_name();
        let all = *table == IndexTable::All;
        let blocks_held = if all {
            cql.run(
                &format!("SELECT block, positions FROM {name} WHERE tenant = ? AND day = ? AND bucket = ?"),
                (tenant, *day, *bucket),
            )
            .await?
        } else {
            cql.run(
                &format!(
                    "SELECT block, positions FROM {name} \
                     WHERE tenant = ? AND path_key = ? AND day = ? AND bucket = ?"
                ),
                (tenant, path_key.as_slice(), *day, *bucket),
            )
            .await?
        };
        for (block, positions) in rows::<(i64, Vec<u8>)>(blocks_held)? {
            let suffix = blocks::block_key_suffix(*bucket, block);
            let rewrite = blocks::without_positions(&[], &suffix, &positions, purged)?;
            if rewrite == BlockRewrite::Unchanged {
                continue;
            }
            counts.index_blocks += 1;
            if let BlockRewrite::Replaced(key, value) = &rewrite {
                let (_, new_block) = blocks::split_block_key(key)?;
                if all {
                    cql.run(
                        "INSERT INTO statements_by_stored (tenant, day, bucket, block, positions) \
                         VALUES (?, ?, ?, ?, ?)",
                        (tenant, *day, *bucket, new_block, value.as_slice()),
                    )
                    .await?;
                } else {
                    cql.run(
                        &format!(
                            "INSERT INTO {name} (tenant, path_key, day, bucket, block, positions) \
                             VALUES (?, ?, ?, ?, ?, ?)"
                        ),
                        (
                            tenant,
                            path_key.as_slice(),
                            *day,
                            *bucket,
                            new_block,
                            value.as_slice(),
                        ),
                    )
                    .await?;
                }
            }
            if all {
                cql.run(
                    "DELETE FROM statements_by_stored \
                     WHERE tenant = ? AND day = ? AND bucket = ? AND block = ?",
                    (tenant, *day, *bucket, block),
                )
                .await?;
            } else {
                cql.run(
                    &format!(
                        "DELETE FROM {name} \
                         WHERE tenant = ? AND path_key = ? AND day = ? AND bucket = ? AND block = ?"
                    ),
                    (tenant, path_key.as_slice(), *day, *bucket, block),
                )
                .await?;
            }
        }
        days.insert((*table, path_key.clone(), *day));
    }
    // A day partition left without blocks leaves the day directory too (its path key is a hash
    // of the learner's identifier).
    for (table, path_key, day) in days {
        let name = table.table_name();
        let left = if table == IndexTable::All {
            cql.run(
                &format!("SELECT block FROM {name} WHERE tenant = ? AND day = ? LIMIT 1"),
                (tenant, day),
            )
            .await?
        } else {
            cql.run(
                &format!(
                    "SELECT block FROM {name} WHERE tenant = ? AND path_key = ? AND day = ? LIMIT 1"
                ),
                (tenant, path_key.as_slice(), day),
            )
            .await?
        };
        if rows::<(i64,)>(left)?.is_empty() {
            cql.run(
                "DELETE FROM statement_buckets \
                 WHERE tenant = ? AND path = ? AND path_key = ? AND bucket = ?",
                (tenant, table.path_name(), path_key.as_slice(), day),
            )
            .await?;
        }
    }
    for id in found {
        let marker = cql
            .run(
                "SELECT voided_by FROM voided WHERE tenant = ? AND target = ?",
                (tenant, id),
            )
            .await?;
        if !rows::<(Uuid,)>(marker)?.is_empty() {
            cql.run(
                "DELETE FROM voided WHERE tenant = ? AND target = ?",
                (tenant, id),
            )
            .await?;
            counts.voided_markers += 1;
        }
        cql.run(
            "DELETE FROM statements WHERE tenant = ? AND id = ?",
            (tenant, id),
        )
        .await?;
        counts.statements += 1;
    }
    Ok(counts)
}

/// Every table a tenant's rows may be in besides the statements and the documents, with its
/// primary key columns (the tenant first), and the count it adds to. The index tables and
/// `statement_buckets` are emptied through the statements; they are scanned too, for rows a
/// crash left behind.
const TENANT_TABLES: &[(&str, &str)] = &[
    ("attachments", "tenant, sha2"),
    ("activities", "tenant, activity_id"),
    ("quarantine", "tenant, statement_id"),
    ("facts", "tenant, day, actor, id"),
    ("month_summaries", "tenant, month, actor"),
    ("terms", "tenant, dim, term_key"),
    ("terms_by_time", "tenant, month, first_seen, dim, term_key"),
    ("study_tenants", "tenant"),
    ("roster_versions", "tenant, number"),
    ("roster_records", "tenant, kind, sourced_id"),
    ("voided", "tenant, target"),
    ("statement_buckets", "tenant, path, path_key, bucket"),
    ("statements_by_stored", "tenant, day, bucket, block"),
    (
        "statements_by_agent",
        "tenant, path_key, day, bucket, block",
    ),
    (
        "statements_by_related_agent",
        "tenant, path_key, day, bucket, block",
    ),
    ("statements_by_verb", "tenant, path_key, day, bucket, block"),
    (
        "statements_by_activity",
        "tenant, path_key, day, bucket, block",
    ),
    (
        "statements_by_related_activity",
        "tenant, path_key, day, bucket, block",
    ),
    (
        "statements_by_registration",
        "tenant, path_key, day, bucket, block",
    ),
    (
        "statements_by_authority",
        "tenant, path_key, day, bucket, block",
    ),
];

/// Deletes about `limit` rows of the tenant: its statements first (a page of its stored
/// index), then its documents, then the other tables' rows. Called until it returns 0.
pub(super) async fn purge_tenant(
    db: &Inner,
    tenant: &str,
    limit: usize,
) -> Result<PurgeCounts, StoreError> {
    let limit = limit.max(1);
    let page = super::statements::scan(
        db,
        &IndexScan {
            tenant: tenant.to_owned(),
            path: AccessPath::All,
            since: None,
            until: None,
            after: None,
            ascending: true,
            limit,
        },
    )
    .await?;
    if !page.is_empty() {
        let ids: Vec<Uuid> = page.iter().map(|p| p.id).collect();
        let counts = purge_statements(db, tenant, &ids).await?;
        if counts != PurgeCounts::default() {
            return Ok(counts);
        }
    }
    let mut counts = PurgeCounts::default();
    // Documents: the scopes of the tenant, each deleted whole.
    let scopes: BTreeSet<(i8, String)> = db
        .session
        .execute_iter(db.prepared.scan_document_keys.clone(), ())
        .await
        .map_err(driver_error)?
        .rows_stream::<(String, i8, String, String)>()?
        .try_filter_map(|(row_tenant, kind, scope, _)| async move {
            Ok((row_tenant == tenant).then_some((kind, scope)))
        })
        .try_collect()
        .await
        .map_err(next_row_error)?;
    for (kind, scope) in scopes.into_iter().take(limit) {
        let Some(kind) = [
            DocumentKind::State,
            DocumentKind::ActivityProfile,
            DocumentKind::AgentProfile,
        ]
        .into_iter()
        .find(|k| crate::layout::wide::document_kind(*k) == kind) else {
            continue;
        };
        let scope = DocumentScope {
            tenant: tenant.to_owned(),
            kind,
            scope,
        };
        counts.documents += super::documents::list_documents(db, &scope, None)
            .await?
            .len() as u64;
        super::documents::delete_documents(db, &scope).await?;
    }
    if counts != PurgeCounts::default() {
        return Ok(counts);
    }
    let mut cql = Statements::new(db);
    for (table, columns) in TENANT_TABLES {
        let keys: Vec<Row> = db
            .session
            .query_iter(format!("SELECT {columns} FROM {table}"), ())
            .await
            .map_err(driver_error)?
            .rows_stream::<Row>()?
            .try_filter(|row| {
                let theirs = matches!(
                    row.columns.first(),
                    Some(Some(CqlValue::Text(t))) if t == tenant
                );
                async move { theirs }
            })
            .try_collect()
            .await
            .map_err(next_row_error)?;
        let filter = columns
            .split(", ")
            .map(|c| format!("{c} = ?"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let delete = format!("DELETE FROM {table} WHERE {filter}");
        for row in keys.into_iter().take(limit) {
            let values: Vec<CqlValue> = row
                .columns
                .into_iter()
                .map(|c| c.unwrap_or(CqlValue::Empty))
                .collect();
            cql.run(&delete, values).await?;
            match *table {
                "voided" => counts.voided_markers += 1,
                "attachments" => counts.attachments += 1,
                t if t.starts_with("statements_by_") => counts.index_blocks += 1,
                _ => counts.other_rows += 1,
            }
        }
        if counts != PurgeCounts::default() {
            return Ok(counts);
        }
    }
    Ok(counts)
}

/// Deletes dictionary entries and their `terms_by_time` rows (found by the `first_seen` the
/// entry held): the listing first, so a crash leaves at worst an entry a later purge finds.
pub(super) async fn purge_terms(
    db: &Inner,
    tenant: &str,
    dim: u8,
    keys: &[Key16],
) -> Result<PurgeCounts, StoreError> {
    let mut counts = PurgeCounts::default();
    let dim = dim as i8;
    for key in keys {
        let held = db
            .session
            .execute_unpaged(&db.prepared.select_term, (tenant, dim, key.0.as_slice()))
            .await
            .map_err(driver_error)?;
        let Some((_, first_seen)) = rows::<(String, i64)>(held)?.into_iter().next() else {
            continue;
        };
        db.session
            .query_unpaged(
                "DELETE FROM terms_by_time \
                 WHERE tenant = ? AND month = ? AND first_seen = ? AND dim = ? AND term_key = ?",
                (
                    tenant,
                    utc_month(first_seen),
                    first_seen,
                    dim,
                    key.0.as_slice(),
                ),
            )
            .await
            .map_err(driver_error)?;
        db.session
            .query_unpaged(
                "DELETE FROM terms WHERE tenant = ? AND dim = ? AND term_key = ?",
                (tenant, dim, key.0.as_slice()),
            )
            .await
            .map_err(driver_error)?;
        counts.other_rows += 2;
    }
    Ok(counts)
}
