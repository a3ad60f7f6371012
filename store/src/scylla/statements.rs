//! Statement tables: rows, index blocks, day directory, voiding, watermarks; the day walk.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use uuid::Uuid;

use super::{Inner, corrupt, driver_error, next_row_error};
use crate::layout::block_rows::block_rows;
use crate::layout::blocks::{self, BucketMerge};
use crate::layout::codec::{decode_keys_blob, encode_keys_blob};
use crate::layout::wide::bucket as day_of;
use crate::layout::{self, IndexTable};
use crate::{IndexScan, Position, StatementRow, StoreError, StoredStatement, Watermark};

/// Days read from `statement_buckets` per round trip of a scan.
const BUCKET_PAGE: i32 = 64;

/// Rows of one partition per unlogged batch.
const BATCH_ROWS: usize = 100;

pub(super) type Write<'a> = BoxFuture<'a, Result<(), StoreError>>;

/// Runs the writes, at most `db.concurrency` at once; the first error wins.
pub(super) async fn run_all(db: &Inner, writes: Vec<Write<'_>>) -> Result<(), StoreError> {
    futures::stream::iter(writes)
        .buffer_unordered(db.concurrency)
        .try_collect::<()>()
        .await
}

/// Runs the reads, at most `db.concurrency` at once; the results in order.
pub(super) async fn read_all<'a, T>(
    db: &Inner,
    reads: Vec<BoxFuture<'a, Result<T, StoreError>>>,
) -> Result<Vec<T>, StoreError> {
    futures::stream::iter(reads)
        .buffered(db.concurrency)
        .try_collect()
        .await
}

/// Writes rows of one partition with one prepared statement: a single row as itself, more as
/// unlogged batches (one partition, so the batch is applied as one mutation, with no batchlog).
pub(super) async fn write_partition<V: SerializeRow>(
    db: &Inner,
    statement: &PreparedStatement,
    rows: Vec<V>,
) -> Result<(), StoreError> {
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(BATCH_ROWS));
        if rows.len() == 1 {
            let row = rows.pop().expect("one row");
            db.session
                .execute_unpaged(statement, row)
                .await
                .map_err(driver_error)?;
        } else {
            let mut batch = Batch::new(BatchType::Unlogged);
            for _ in 0..rows.len() {
                batch.append_statement(statement.clone());
            }
            batch.set_is_idempotent(true);
            db.session
                .batch(&batch, &rows)
                .await
                .map_err(driver_error)?;
        }
        rows = rest;
    }
    Ok(())
}

/// Index blocks, the day directory, voided entries and study-log facts first, the `statements`
/// rows last: a
/// row is visible by id (which is how ingest tells a statement is already stored) only once it is
/// on every path, so a crash half-way is replayed in full. A scan may meanwhile find an entry
/// whose row is not written yet; readers skip ids that are not stored.
///
/// The index blocks (`layout/blocks.rs`) are built as PostgreSQL builds them: one row per
/// (tenant, path, day, ~65 ms bucket) of the batch, the rows of one partition in unlogged batches.
pub(super) async fn write_statements(db: &Inner, rows: &[StatementRow]) -> Result<(), StoreError> {
    let p = &db.prepared;
    let tables = block_rows(rows)?;
    let mut buckets: BTreeMap<(&str, IndexTable, &[u8]), BTreeSet<i64>> = BTreeMap::new();
    let mut writes: Vec<Write<'_>> = Vec::new();
    for row in rows {
        // Voiding arrives in any order: the entry is keyed by the target.
        if let Some(target) = row.keys.voids {
            let values = (row.tenant.as_str(), target, row.id);
            writes.push(write_partition(db, &p.insert_voided, vec![values]).boxed());
        }
    }
    for (table, blocks) in &tables {
        let statement = &p.insert_index[table.index()];
        // Rows come grouped by partition: (tenant, path key, day).
        for partition in
            blocks.chunk_by(|a, b| (a.tenant, &a.path_key, a.day) == (b.tenant, &b.path_key, b.day))
        {
            let first = &partition[0];
            buckets
                .entry((first.tenant, *table, first.path_key.as_slice()))
                .or_default()
                .insert(first.day);
            let write = if *table == IndexTable::All {
                let values: Vec<_> = partition
                    .iter()
                    .map(|b| (b.tenant, b.day, b.bucket, b.block, b.positions.as_slice()))
                    .collect();
                write_partition(db, statement, values).boxed()
            } else {
                let values: Vec<_> = partition
                    .iter()
                    .map(|b| {
                        let key = b.path_key.as_slice();
                        (
                            b.tenant,
                            key,
                            b.day,
                            b.bucket,
                            b.block,
                            b.positions.as_slice(),
                        )
                    })
                    .collect();
                write_partition(db, statement, values).boxed()
            };
            writes.push(write);
        }
    }
    for ((tenant, table, path_key), days) in buckets {
        let values: Vec<_> = days
            .into_iter()
            .map(|day| (tenant, table.path_name(), path_key, day))
            .collect();
        writes.push(write_partition(db, &p.insert_bucket, values).boxed());
    }
    // The study-log facts go with the index entries, before the rows (see `studylog.rs`).
    writes.extend(super::studylog::fact_writes(db, rows).await?);
    run_all(db, writes).await?;

    let mut writes: Vec<Write<'_>> = Vec::with_capacity(rows.len());
    for row in rows {
        let inherited = match &row.inherited {
            Some(keys) => MaybeUnset::Set(encode_keys_blob(keys)?),
            // Unset, not null: a null would write a tombstone.
            None => MaybeUnset::Unset,
        };
        let values = (
            row.tenant.as_str(),
            row.id,
            row.stored,
            encode_keys_blob(&row.keys)?,
            inherited,
            row.body.clone(),
        );
        writes.push(write_partition(db, &p.insert_statement, vec![values]).boxed());
    }
    run_all(db, writes).await
}

pub(super) async fn record_watermarks(db: &Inner, marks: &[Watermark]) -> Result<(), StoreError> {
    // One row per partition; of two marks of one partition the later wins.
    let latest: BTreeMap<u32, &Watermark> = marks.iter().map(|m| (m.partition, m)).collect();
    let writes = latest
        .into_values()
        .map(|m| {
            let values = (m.partition as i32, m.next_offset as i64, m.stored);
            write_partition(db, &db.prepared.upsert_watermark, vec![values]).boxed()
        })
        .collect();
    run_all(db, writes).await
}

/// The only read that is not of one partition: the table holds a row per log partition.
pub(super) async fn watermarks(db: &Inner) -> Result<Vec<Watermark>, StoreError> {
    let mut marks: Vec<Watermark> = db
        .session
        .execute_iter(db.prepared.select_watermarks.clone(), ())
        .await
        .map_err(driver_error)?
        .rows_stream::<(i32, i64, i64)>()?
        .map_ok(|(partition, next_offset, stored)| Watermark {
            partition: partition as u32,
            next_offset: next_offset as u64,
            stored,
        })
        .try_collect()
        .await
        .map_err(next_row_error)?;
    marks.sort_by_key(|m| m.partition);
    Ok(marks)
}

/// The rows of a result, typed.
pub(super) fn rows<R>(result: QueryResult) -> Result<Vec<R>, StoreError>
where
    R: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
{
    result
        .into_rows_result()
        .map_err(driver_error)?
        .rows::<R>()
        .map_err(corrupt)?
        .collect::<Result<Vec<R>, _>>()
        .map_err(corrupt)
}

/// One lookup by partition key per id, at most `db.concurrency` at once, in order.
pub(super) async fn get_statements(
    db: &Inner,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<Option<StoredStatement>>, StoreError> {
    let reads = ids
        .iter()
        .map(|&id| get_statement(db, tenant, id).boxed())
        .collect();
    read_all(db, reads).await
}

async fn get_statement(
    db: &Inner,
    tenant: &str,
    id: Uuid,
) -> Result<Option<StoredStatement>, StoreError> {
    let p = &db.prepared;
    let result = db
        .session
        .execute_unpaged(&p.select_statement, (tenant, id))
        .await
        .map_err(driver_error)?;
    let Some((stored, keys, inherited, body)) =
        rows::<(i64, Vec<u8>, Option<Vec<u8>>, Vec<u8>)>(result)?.pop()
    else {
        return Ok(None);
    };
    let result = db
        .session
        .execute_unpaged(&p.select_voided, (tenant, id))
        .await
        .map_err(driver_error)?;
    let voided_by = rows::<(Uuid,)>(result)?.pop().map(|(by,)| by);
    Ok(Some(StoredStatement {
        id,
        stored,
        keys: decode_keys_blob(&keys)?,
        inherited: inherited.as_deref().map(decode_keys_blob).transpose()?,
        body: Bytes::from(body),
        voided_by,
    }))
}

pub(super) async fn contains_statements(
    db: &Inner,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<bool>, StoreError> {
    let reads = ids
        .iter()
        .map(|&id| {
            async move {
                let result = db
                    .session
                    .execute_unpaged(&db.prepared.select_statement_id, (tenant, id))
                    .await
                    .map_err(driver_error)?;
                Ok::<bool, StoreError>(!rows::<(Uuid,)>(result)?.is_empty())
            }
            .boxed()
        })
        .collect();
    read_all(db, reads).await
}

/// Walks the days of the path that `statement_buckets` lists inside the scan's bounds, in scan
/// order, reading each day's index blocks (paged) into the shared [`BucketMerge`], until
/// `scan.limit` positions are final.
pub(super) async fn scan(db: &Inner, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
    let Some((low, high)) = layout::scan_bounds(scan) else {
        return Ok(Vec::new());
    };
    let (table, path_key) = IndexTable::of_path(&scan.path);
    let path_key = path_key.to_bytes();
    let direction = usize::from(!scan.ascending);
    let list_buckets = &db.prepared.list_buckets[direction];
    let slice = &db.prepared.slice_index[table.index()][direction];
    let tenant = scan.tenant.as_str();

    let mut merge = BucketMerge::new(low, high, scan.ascending, scan.limit);
    let (low_bucket, high_bucket) = (blocks::bucket(low.stored), blocks::bucket(high.stored));
    let (mut first, mut last) = (day_of(low.stored), day_of(high.stored));
    'days: while first <= last {
        let values = (
            tenant,
            table.path_name(),
            path_key.as_slice(),
            first,
            last,
            BUCKET_PAGE,
        );
        let result = db
            .session
            .execute_unpaged(list_buckets, values)
            .await
            .map_err(driver_error)?;
        let days: Vec<i64> = rows::<(i64,)>(result)?.into_iter().map(|(d,)| d).collect();
        for &day in &days {
            let (from, to) = ((low_bucket, i64::MIN), (high_bucket, i64::MAX));
            let pager = if table == IndexTable::All {
                let values = (tenant, day, from.0, from.1, to.0, to.1);
                db.session.execute_iter(slice.clone(), values).await
            } else {
                let values = (tenant, path_key.as_slice(), day, from.0, from.1, to.0, to.1);
                db.session.execute_iter(slice.clone(), values).await
            };
            let mut blocks_of_day = pager
                .map_err(driver_error)?
                .rows_stream::<(i64, i64, Vec<u8>)>()?;
            while let Some((bucket, block, positions)) =
                blocks_of_day.try_next().await.map_err(next_row_error)?
            {
                let key = blocks::block_key_suffix(bucket, block);
                if !merge.push(&key, &positions)? {
                    break 'days;
                }
            }
            if merge.full() {
                break 'days;
            }
        }
        match (days.last(), days.len() as i32 == BUCKET_PAGE) {
            (Some(&day), true) if scan.ascending => first = day + 1,
            (Some(&day), true) => last = day - 1,
            _ => break,
        }
    }
    Ok(merge.finish())
}
