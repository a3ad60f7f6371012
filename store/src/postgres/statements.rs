//! Statement tables: rows, index blocks, day directory, voiding, watermarks; the day walk.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::unavailable;
use crate::layout::block_rows::{BlockRow, block_rows};
use crate::layout::blocks::{self, BucketMerge};
use crate::layout::codec::{decode_keys_blob, encode_keys_blob};
use crate::layout::wide::bucket as day_of;
use crate::layout::{self, IndexTable};
use crate::{IndexScan, Position, StatementRow, StoreError, StoredStatement, Watermark};

/// Days read from `statement_buckets` per round trip of a scan.
const BUCKET_PAGE: i64 = 64;

/// Index blocks read per round trip of a scan: a learner's path holds about one block per
/// statement, so a page of 100 statements is one or two round trips.
const BLOCK_PAGE: i64 = 128;

/// One transaction of multi-row upserts (`ON CONFLICT DO NOTHING`), one statement per table:
/// committed, hence durable, when this returns. The index entries are index blocks
/// (`layout/blocks.rs`): one row per (tenant, path, day, ~65 ms bucket) of the batch. Scylla
/// writes the same rows as unlogged batches per partition; both are idempotent (a block written
/// again is the same row).
pub(super) async fn write_statements(
    client: &mut Object,
    rows: &[StatementRow],
) -> Result<(), StoreError> {
    let mut statement_cols = StatementColumns::default();
    let (mut void_tenants, mut void_targets, mut void_by) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        statement_cols.push(row)?;
        // Voiding arrives in any order: the entry is keyed by the target.
        if let Some(target) = row.keys.voids {
            void_tenants.push(row.tenant.as_str());
            void_targets.push(target);
            void_by.push(row.id);
        }
    }
    let tables = block_rows(rows)?;
    let mut buckets = BucketColumns::default();
    for (table, blocks) in &tables {
        for b in blocks {
            buckets.push(b.tenant, *table, &b.path_key, b.day);
        }
    }

    let tx = client.transaction().await.map_err(unavailable)?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO statements (tenant, id, stored, keys, inherited, body) \
             SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::int8[], $4::bytea[], $5::bytea[], \
             $6::bytea[]) ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(unavailable)?;
    let c = &statement_cols;
    tx.execute(
        &insert,
        &[
            &c.tenants,
            &c.ids,
            &c.stored,
            &c.keys,
            &c.inherited,
            &c.bodies,
        ],
    )
    .await
    .map_err(unavailable)?;
    for (table, blocks) in &tables {
        let e = BlockColumns::of(blocks);
        if *table == IndexTable::All {
            let insert = tx
                .prepare_cached(
                    "INSERT INTO statements_by_stored (tenant, day, bucket, block, positions) \
                     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::int8[], \
                     $5::bytea[]) ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(unavailable)?;
            tx.execute(
                &insert,
                &[&e.tenants, &e.days, &e.buckets, &e.blocks, &e.positions],
            )
            .await
            .map_err(unavailable)?;
        } else {
            let insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO {} (tenant, path_key, day, bucket, block, positions) \
                     SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::int8[], $4::int8[], \
                     $5::int8[], $6::bytea[]) ON CONFLICT DO NOTHING",
                    table.table_name()
                ))
                .await
                .map_err(unavailable)?;
            tx.execute(
                &insert,
                &[
                    &e.tenants,
                    &e.path_keys,
                    &e.days,
                    &e.buckets,
                    &e.blocks,
                    &e.positions,
                ],
            )
            .await
            .map_err(unavailable)?;
        }
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO statement_buckets (tenant, path, path_key, bucket) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::int8[]) \
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(unavailable)?;
    let b = buckets.columns();
    tx.execute(&insert, &[&b.0, &b.1, &b.2, &b.3])
        .await
        .map_err(unavailable)?;
    if !void_targets.is_empty() {
        let insert = tx
            .prepare_cached(
                "INSERT INTO voided (tenant, target, voided_by) \
                 SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[]) ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(unavailable)?;
        tx.execute(&insert, &[&void_tenants, &void_targets, &void_by])
            .await
            .map_err(unavailable)?;
    }
    // The study-log facts and their summaries commit with the statements, or neither does.
    super::studylog::add_facts(&tx, rows).await?;
    tx.commit().await.map_err(unavailable)
}

#[derive(Default)]
struct StatementColumns<'a> {
    tenants: Vec<&'a str>,
    ids: Vec<Uuid>,
    stored: Vec<i64>,
    keys: Vec<Vec<u8>>,
    inherited: Vec<Option<Vec<u8>>>,
    bodies: Vec<&'a [u8]>,
}

impl<'a> StatementColumns<'a> {
    fn push(&mut self, row: &'a StatementRow) -> Result<(), StoreError> {
        self.tenants.push(&row.tenant);
        self.ids.push(row.id);
        self.stored.push(row.stored);
        self.keys.push(encode_keys_blob(&row.keys)?);
        self.inherited
            .push(row.inherited.as_ref().map(encode_keys_blob).transpose()?);
        self.bodies.push(&row.body);
        Ok(())
    }
}

/// The columns of one table's index blocks, for `UNNEST`.
struct BlockColumns<'a> {
    tenants: Vec<&'a str>,
    path_keys: Vec<&'a [u8]>,
    days: Vec<i64>,
    buckets: Vec<i64>,
    blocks: Vec<i64>,
    positions: Vec<&'a [u8]>,
}

impl<'a> BlockColumns<'a> {
    fn of(rows: &'a [BlockRow<'a>]) -> BlockColumns<'a> {
        BlockColumns {
            tenants: rows.iter().map(|b| b.tenant).collect(),
            path_keys: rows.iter().map(|b| b.path_key.as_slice()).collect(),
            days: rows.iter().map(|b| b.day).collect(),
            buckets: rows.iter().map(|b| b.bucket).collect(),
            blocks: rows.iter().map(|b| b.block).collect(),
            positions: rows.iter().map(|b| b.positions.as_slice()).collect(),
        }
    }
}

/// The distinct `statement_buckets` rows of one write.
#[derive(Default)]
struct BucketColumns<'a> {
    rows: std::collections::BTreeSet<(&'a str, IndexTable, Vec<u8>, i64)>,
}

impl<'a> BucketColumns<'a> {
    fn push(&mut self, tenant: &'a str, table: IndexTable, path_key: &[u8], day: i64) {
        self.rows.insert((tenant, table, path_key.to_vec(), day));
    }

    #[allow(clippy::type_complexity)]
    fn columns(&self) -> (Vec<&'a str>, Vec<&'static str>, Vec<&[u8]>, Vec<i64>) {
        let mut out = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (tenant, table, key, day) in &self.rows {
            out.0.push(*tenant);
            out.1.push(table.path_name());
            out.2.push(key.as_slice());
            out.3.push(*day);
        }
        out
    }
}

pub(super) async fn record_watermarks(
    client: &Object,
    marks: &[Watermark],
) -> Result<(), StoreError> {
    // One row per partition; of two marks of one partition the later wins.
    let latest: BTreeMap<u32, &Watermark> = marks.iter().map(|m| (m.partition, m)).collect();
    let partitions: Vec<i32> = latest.keys().map(|p| *p as i32).collect();
    let offsets: Vec<i64> = latest.values().map(|m| m.next_offset as i64).collect();
    let stored: Vec<i64> = latest.values().map(|m| m.stored).collect();
    let upsert = client
        .prepare_cached(
            "INSERT INTO watermarks (log_partition, next_offset, stored) \
             SELECT * FROM UNNEST($1::int4[], $2::int8[], $3::int8[]) \
             ON CONFLICT (log_partition) DO UPDATE \
             SET next_offset = EXCLUDED.next_offset, stored = EXCLUDED.stored",
        )
        .await
        .map_err(unavailable)?;
    client
        .execute(&upsert, &[&partitions, &offsets, &stored])
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn watermarks(client: &Object) -> Result<Vec<Watermark>, StoreError> {
    let select = client
        .prepare_cached("SELECT log_partition, next_offset, stored FROM watermarks")
        .await
        .map_err(unavailable)?;
    let mut marks: Vec<Watermark> = client
        .query(&select, &[])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| Watermark {
            partition: row.get::<_, i32>(0) as u32,
            next_offset: row.get::<_, i64>(1) as u64,
            stored: row.get(2),
        })
        .collect();
    marks.sort_by_key(|m| m.partition);
    Ok(marks)
}

/// Reads the rows by partition key (`IN`), then their `voided` entries.
pub(super) async fn get_statements(
    client: &Object,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<Option<StoredStatement>>, StoreError> {
    let select = client
        .prepare_cached(
            "SELECT id, stored, keys, inherited, body FROM statements \
             WHERE tenant = $1 AND id = ANY($2)",
        )
        .await
        .map_err(unavailable)?;
    let mut found: HashMap<Uuid, StoredStatement> = HashMap::new();
    for row in client
        .query(&select, &[&tenant, &ids])
        .await
        .map_err(unavailable)?
    {
        let id: Uuid = row.get(0);
        let inherited: Option<&[u8]> = row.get(3);
        found.insert(
            id,
            StoredStatement {
                id,
                stored: row.get(1),
                keys: decode_keys_blob(row.get(2))?,
                inherited: inherited.map(decode_keys_blob).transpose()?,
                body: Bytes::copy_from_slice(row.get(4)),
                voided_by: None,
            },
        );
    }
    if !found.is_empty() {
        let targets: Vec<Uuid> = found.keys().copied().collect();
        let select = client
            .prepare_cached(
                "SELECT target, voided_by FROM voided WHERE tenant = $1 AND target = ANY($2)",
            )
            .await
            .map_err(unavailable)?;
        for row in client
            .query(&select, &[&tenant, &targets])
            .await
            .map_err(unavailable)?
        {
            if let Some(statement) = found.get_mut(&row.get::<_, Uuid>(0)) {
                statement.voided_by = Some(row.get(1));
            }
        }
    }
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

pub(super) async fn contains_statements(
    client: &Object,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<bool>, StoreError> {
    let select = client
        .prepare_cached("SELECT id FROM statements WHERE tenant = $1 AND id = ANY($2)")
        .await
        .map_err(unavailable)?;
    let present: std::collections::HashSet<Uuid> = client
        .query(&select, &[&tenant, &ids])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok(ids.iter().map(|id| present.contains(id)).collect())
}

/// Walks the days of the path that `statement_buckets` lists inside the scan's bounds, in scan
/// order, reading each day's index blocks in pages of [`BLOCK_PAGE`] (a keyset slice of
/// (`bucket`, `block`)) into the shared [`BucketMerge`], until `scan.limit` positions are final.
pub(super) async fn scan(client: &Object, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
    let Some((low, high)) = layout::scan_bounds(scan) else {
        return Ok(Vec::new());
    };
    let (table, path_key) = IndexTable::of_path(&scan.path);
    let path_key = path_key.to_bytes();
    let order = if scan.ascending { "ASC" } else { "DESC" };
    let list_buckets = client
        .prepare_cached(&format!(
            "SELECT bucket FROM statement_buckets \
             WHERE tenant = $1 AND path = $2 AND path_key = $3 AND bucket >= $4 AND bucket <= $5 \
             ORDER BY bucket {order} LIMIT $6"
        ))
        .await
        .map_err(unavailable)?;
    let partition = if table == IndexTable::All {
        "tenant = $1 AND day = $2"
    } else {
        "tenant = $1 AND day = $2 AND path_key = $8"
    };
    // The exclusive end of the slice is the side a page continues from.
    let (lower, upper) = if scan.ascending {
        (">", "<=")
    } else {
        (">=", "<")
    };
    let slice = client
        .prepare_cached(&format!(
            "SELECT bucket, block, positions FROM {} WHERE {partition} \
             AND (bucket, block) {lower} ($3, $4) AND (bucket, block) {upper} ($5, $6) \
             ORDER BY bucket {order}, block {order} LIMIT $7",
            table.table_name()
        ))
        .await
        .map_err(unavailable)?;

    let mut merge = BucketMerge::new(low, high, scan.ascending, scan.limit);
    let (low_bucket, high_bucket) = (blocks::bucket(low.stored), blocks::bucket(high.stored));
    let (mut first, mut last) = (day_of(low.stored), day_of(high.stored));
    'days: while first <= last {
        let days: Vec<i64> = client
            .query(
                &list_buckets,
                &[
                    &scan.tenant,
                    &table.path_name(),
                    &path_key,
                    &first,
                    &last,
                    &BUCKET_PAGE,
                ],
            )
            .await
            .map_err(unavailable)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for &day in &days {
            // (bucket, block) bounds: every block of the buckets of `low` to `high`.
            let (mut from, mut to) = if scan.ascending {
                ((low_bucket - 1, i64::MAX), (high_bucket, i64::MAX))
            } else {
                ((low_bucket, i64::MIN), (high_bucket + 1, i64::MIN))
            };
            loop {
                let tenant: &(dyn ToSql + Sync) = &scan.tenant;
                let params: [&(dyn ToSql + Sync); 8] = [
                    tenant,
                    &day,
                    &from.0,
                    &from.1,
                    &to.0,
                    &to.1,
                    &BLOCK_PAGE,
                    &path_key,
                ];
                let params = if table == IndexTable::All {
                    &params[..7]
                } else {
                    &params[..]
                };
                let page = client.query(&slice, params).await.map_err(unavailable)?;
                for row in &page {
                    let (bucket, block): (i64, i64) = (row.get(0), row.get(1));
                    let key = blocks::block_key_suffix(bucket, block);
                    if !merge.push(&key, row.get(2))? {
                        break 'days;
                    }
                    if scan.ascending {
                        from = (bucket, block);
                    } else {
                        to = (bucket, block);
                    }
                }
                if (page.len() as i64) < BLOCK_PAGE {
                    break;
                }
            }
            if merge.full() {
                break 'days;
            }
        }
        match (days.last(), days.len() as i64 == BUCKET_PAGE) {
            (Some(&day), true) if scan.ascending => first = day + 1,
            (Some(&day), true) => last = day - 1,
            _ => break,
        }
    }
    Ok(merge.finish())
}
