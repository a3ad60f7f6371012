//! [`BlockRow`]: the index blocks of one batch as rows of the wide-column `statements_by_*`
//! tables (PostgreSQL, ScyllaDB; schema version 2), built with the shared
//! [`BlockWriter`](super::blocks::BlockWriter).
//!
//! A block's path prefix here is (tenant, day, path key): the wide tables are partitioned by day
//! (see schema/cql/001_init.cql), so a bucket of `stored` that spans midnight UTC gives one block
//! per day.

use super::blocks::{self, BlockWriter, POSITION_LEN};
use super::wide::bucket as day_of;
use super::{IndexTable, index_entries};
use crate::{Position, StatementRow, StoreError};

/// One row of a `statements_by_*` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockRow<'a> {
    pub tenant: &'a str,
    /// Empty for `statements_by_stored`, else the 16 bytes.
    pub path_key: Vec<u8>,
    /// The UTC day of the positions (the partition).
    pub day: i64,
    /// `stored >> 16` of the positions.
    pub bucket: i64,
    /// The block id: the xxh3-64 hash of `positions`, as a signed `bigint`.
    pub block: i64,
    /// The encoded positions (format byte, then 18 bytes per position).
    pub positions: Vec<u8>,
}

/// Length of the tenant number and the encoded day at the start of a block's path prefix.
const TENANT_DAY_LEN: usize = 4 + 8;

/// Every index block of a batch, per table (in [`IndexTable::EVERY`] order), each table's rows
/// grouped by partition (tenant, path key, day) and in bucket order within it.
pub(crate) fn block_rows(
    rows: &[StatementRow],
) -> Result<Vec<(IndexTable, Vec<BlockRow<'_>>)>, StoreError> {
    // Rows of one batch nearly always share a tenant: the prefix holds its number in `tenants`.
    let mut tenants: Vec<&str> = Vec::new();
    let mut entries: Vec<Vec<Vec<u8>>> = vec![Vec::new(); IndexTable::EVERY.len()];
    for row in rows {
        let tenant = match tenants.iter().rposition(|t| *t == row.tenant) {
            Some(n) => n,
            None => {
                tenants.push(&row.tenant);
                tenants.len() - 1
            }
        } as u32;
        let day = blocks::encode_stored(day_of(row.stored));
        let position = blocks::encode_position(Position {
            stored: row.stored,
            id: row.id,
        });
        for (table, path_key) in index_entries(&row.keys, row.inherited.as_ref(), |k| k.to_bytes())
        {
            let mut entry = Vec::with_capacity(TENANT_DAY_LEN + path_key.len() + POSITION_LEN);
            entry.extend_from_slice(&tenant.to_be_bytes());
            entry.extend_from_slice(&day);
            entry.extend_from_slice(&path_key);
            entry.extend_from_slice(&position);
            entries[table.index()].push(entry);
        }
    }
    let mut out = Vec::new();
    for (table, mut entries) in IndexTable::EVERY.into_iter().zip(entries) {
        if entries.is_empty() {
            continue;
        }
        entries.sort_unstable();
        let mut writer = BlockWriter::new();
        for entry in &entries {
            writer.push(entry);
        }
        let rows = writer
            .finish()
            .into_iter()
            .map(|(key, positions)| {
                let suffix = key.len() - blocks::BUCKET_LEN - blocks::BLOCK_ID_LEN;
                let tenant = u32::from_be_bytes(key[..4].try_into().expect("4 bytes"));
                let (bucket, block) = blocks::split_block_key(&key[suffix..])?;
                Ok(BlockRow {
                    tenant: tenants[tenant as usize],
                    path_key: key[TENANT_DAY_LEN..suffix].to_vec(),
                    day: blocks::decode_bucket(&key[4..TENANT_DAY_LEN])?,
                    bucket,
                    block,
                    positions,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.push((table, rows));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use lrs_schema::envelope::{IndexKeys, Key16};
    use uuid::Uuid;

    use super::*;
    use crate::layout::blocks::BucketMerge;
    use crate::layout::wide::BUCKET_MICROS;

    fn row(tenant: &str, stored: i64, id: u128, verb: &str) -> StatementRow {
        StatementRow {
            tenant: tenant.into(),
            stored,
            id: Uuid::from_u128(id),
            keys: IndexKeys {
                verb: Key16::of(verb),
                authority: Key16::of("tool"),
                ..IndexKeys::default()
            },
            inherited: None,
            body: Default::default(),
            study: None,
        }
    }

    /// The positions of a table's blocks of one tenant and path, merged as a scan merges them.
    fn scan(blocks: &[BlockRow<'_>], tenant: &str, path_key: &[u8]) -> Vec<Position> {
        let low = Position {
            stored: i64::MIN,
            id: Uuid::nil(),
        };
        let high = Position {
            stored: i64::MAX,
            id: Uuid::max(),
        };
        let mut merge = BucketMerge::new(low, high, true, usize::MAX);
        for b in blocks
            .iter()
            .filter(|b| b.tenant == tenant && b.path_key == path_key)
        {
            let suffix = blocks::block_key_suffix(b.bucket, b.block);
            merge.push(&suffix, &b.positions).unwrap();
        }
        merge.finish()
    }

    #[test]
    fn a_batch_becomes_one_block_per_tenant_path_day_and_bucket_holding_each_position_once() {
        let midnight = 20_001 * BUCKET_MICROS;
        let rows = vec![
            row("a", midnight - 2, 3, "answered"),
            row("a", midnight + 1, 1, "answered"),
            row("a", midnight + 1, 2, "completed"),
            row("b", midnight + 1, 4, "answered"),
            row("a", midnight + 1, 1, "answered"),
            row("a", midnight + 70_000, 5, "answered"),
        ];
        let tables = block_rows(&rows).unwrap();
        let by_stored = &tables.iter().find(|t| t.0 == IndexTable::All).unwrap().1;
        // Tenant a: the bucket before midnight, the same bucket after it (another day), a later
        // bucket; tenant b: one.
        let keys: Vec<(&str, i64, i64)> = by_stored
            .iter()
            .map(|b| (b.tenant, b.day, b.bucket))
            .collect();
        let bucket = |stored: i64| stored >> 16;
        assert_eq!(
            bucket(midnight - 2),
            bucket(midnight + 1),
            "a bucket spans midnight"
        );
        assert_eq!(
            keys,
            [
                ("a", 20_000, bucket(midnight - 2)),
                ("a", 20_001, bucket(midnight + 1)),
                ("a", 20_001, bucket(midnight + 70_000)),
                ("b", 20_001, bucket(midnight + 1)),
            ]
        );
        let ids = |positions: Vec<Position>| -> Vec<u128> {
            positions.iter().map(|p| p.id.as_u128()).collect()
        };
        assert_eq!(ids(scan(by_stored, "a", &[])), [3, 1, 2, 5]);
        let verbs = &tables.iter().find(|t| t.0 == IndexTable::Verb).unwrap().1;
        let answered = Key16::of("answered").0;
        assert_eq!(ids(scan(verbs, "a", &answered)), [3, 1, 5]);
        assert_eq!(ids(scan(verbs, "b", &answered)), [4]);
        // The same batch again is the same rows.
        assert_eq!(block_rows(&rows).unwrap(), tables);
    }
}
