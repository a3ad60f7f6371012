//! Statement tables: rows, index entries, bucket directory, voiding, watermarks; the bucket walk.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use deadpool_postgres::Object;
use uuid::Uuid;

use super::unavailable;
use crate::layout::codec::{decode_keys_blob, encode_keys_blob};
use crate::layout::wide::bucket;
use crate::layout::{self, IndexTable};
use crate::{IndexScan, Position, StatementRow, StoreError, StoredStatement, Watermark};

/// Buckets read from `statement_buckets` per round trip of a scan.
const BUCKET_PAGE: i64 = 64;

/// One transaction of multi-row upserts (`ON CONFLICT DO NOTHING`), one statement per table:
/// committed, hence durable, when this returns. Scylla writes the same rows as unlogged batches
/// per partition; both are idempotent.
pub(super) async fn write_statements(
    client: &mut Object,
    rows: &[StatementRow],
) -> Result<(), StoreError> {
    let mut statement_cols = StatementColumns::default();
    let mut entries: BTreeMap<IndexTable, EntryColumns> = BTreeMap::new();
    let mut buckets = BucketColumns::default();
    let (mut void_tenants, mut void_targets, mut void_by) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        statement_cols.push(row)?;
        let day = bucket(row.stored);
        for (table, path_key) in
            layout::index_entries(&row.keys, row.inherited.as_ref(), |k| k.to_bytes())
        {
            buckets.push(&row.tenant, table, &path_key, day);
            let e = entries.entry(table).or_default();
            e.tenants.push(row.tenant.as_str());
            e.path_keys.push(path_key);
            e.buckets.push(day);
            e.stored.push(row.stored);
            e.ids.push(row.id);
        }
        // Voiding arrives in any order: the entry is keyed by the target.
        if let Some(target) = row.keys.voids {
            void_tenants.push(row.tenant.as_str());
            void_targets.push(target);
            void_by.push(row.id);
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
    for (table, e) in &entries {
        if *table == IndexTable::All {
            let insert = tx
                .prepare_cached(
                    "INSERT INTO statements_by_stored (tenant, bucket, stored, id) \
                     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::uuid[]) \
                     ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(unavailable)?;
            tx.execute(&insert, &[&e.tenants, &e.buckets, &e.stored, &e.ids])
                .await
                .map_err(unavailable)?;
        } else {
            let insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO {} (tenant, path_key, bucket, stored, id) \
                     SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::int8[], $4::int8[], \
                     $5::uuid[]) ON CONFLICT DO NOTHING",
                    table.table_name()
                ))
                .await
                .map_err(unavailable)?;
            tx.execute(
                &insert,
                &[&e.tenants, &e.path_keys, &e.buckets, &e.stored, &e.ids],
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

#[derive(Default)]
struct EntryColumns<'a> {
    tenants: Vec<&'a str>,
    path_keys: Vec<Vec<u8>>,
    buckets: Vec<i64>,
    stored: Vec<i64>,
    ids: Vec<Uuid>,
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

/// Walks the buckets of the path that `statement_buckets` lists inside the scan's bounds, in scan
/// order, slicing one index partition per bucket, until `scan.limit` positions are found.
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
        "tenant = $1 AND bucket = $2".to_owned()
    } else {
        "tenant = $1 AND bucket = $2 AND path_key = $8".to_owned()
    };
    let slice = client
        .prepare_cached(&format!(
            "SELECT stored, id FROM {} WHERE {partition} \
             AND (stored, id) >= ($3, $4) AND (stored, id) <= ($5, $6) \
             ORDER BY stored {order}, id {order} LIMIT $7",
            table.table_name()
        ))
        .await
        .map_err(unavailable)?;

    let limit = scan.limit;
    let mut out: Vec<Position> = Vec::with_capacity(limit.min(1024));
    let (mut first, mut last) = (bucket(low.stored), bucket(high.stored));
    while out.len() < limit && first <= last {
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
            let wanted = (limit - out.len()) as i64;
            let tenant: &(dyn tokio_postgres::types::ToSql + Sync) = &scan.tenant;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                tenant,
                &day,
                &low.stored,
                &low.id,
                &high.stored,
                &high.id,
                &wanted,
                &path_key,
            ];
            let params = if table == IndexTable::All {
                &params[..7]
            } else {
                &params[..]
            };
            for row in client.query(&slice, params).await.map_err(unavailable)? {
                out.push(Position {
                    stored: row.get(0),
                    id: row.get(1),
                });
            }
            if out.len() >= limit {
                return Ok(out);
            }
        }
        match (days.last(), days.len() as i64 == BUCKET_PAGE) {
            (Some(&day), true) if scan.ascending => first = day + 1,
            (Some(&day), true) => last = day - 1,
            _ => break,
        }
    }
    Ok(out)
}
