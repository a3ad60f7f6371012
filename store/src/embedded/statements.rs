//! Statement tables: the row, its index entries, voiding, watermarks.

use fjall::PersistMode;
use uuid::Uuid;

use super::codec::{self, corrupt};
use super::keys::{self, statement_key};
use super::{Tables, unavailable};
use crate::layout::blocks::{self, BlockWriter, BucketMerge};
use crate::layout::{self, IndexTable};
use crate::{IndexScan, Position, StatementRow, StoreError, StoredStatement, Watermark};

impl Tables {
    /// One atomic batch for every row, index block and voided entry, fsynced before returning:
    /// ingest commits its log offset right after, so the rows must survive a crash.
    ///
    /// A statement's index entries are not keys of their own: the entries of one path within one
    /// bucket of `stored` become one index block (`layout/blocks.rs`), so a batch of thousands of
    /// statements makes a few inserts per path instead of one per statement and path.
    ///
    /// The keys go into the batch sorted, table by table: fjall applies a batch to the
    /// memtables in order, and a skiplist insert next to the previous one finds its search path
    /// still in the CPU cache. Random order made every insert a chain of cache misses.
    pub(crate) fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        let mut statements: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(rows.len());
        let mut indexes: [KeyArena; IndexTable::EVERY.len()] = Default::default();
        let mut voided: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        // Rows of one batch nearly always share a tenant: look it up once per run.
        let mut last_tenant: Option<(&str, keys::TenantId)> = None;
        for row in rows {
            let tenant = match last_tenant {
                Some((name, id)) if name == row.tenant => id,
                _ => {
                    let id = self.assign_tenant_id(&row.tenant)?;
                    last_tenant = Some((&row.tenant, id));
                    id
                }
            };
            let position = keys::encode_position(Position {
                stored: row.stored,
                id: row.id,
            });
            let value =
                codec::encode_statement(row.stored, &row.keys, row.inherited.as_ref(), &row.body)?;
            statements.push((statement_key(tenant, row.id), value));
            for (table, partition) in keys::index_entries(&row.keys, row.inherited.as_ref()) {
                let arena = &mut indexes[table.index()];
                let start = arena.bytes.len();
                keys::push_index_entry(&mut arena.bytes, tenant, partition, &position);
                arena.spans.push((start, arena.bytes.len()));
            }
            // Voiding arrives in any order: the entry is keyed by the target, so the target reads
            // as voided whether it was written before or after this row.
            if let Some(target) = row.keys.voids {
                voided.push((statement_key(tenant, target), row.id.as_bytes().to_vec()));
            }
        }

        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        // Stable sorts: of two rows with one key in one batch, the later still wins.
        statements.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in statements {
            batch.insert(&self.statements, key, value);
        }
        for (table, arena) in indexes.iter_mut().enumerate() {
            let bytes = &arena.bytes;
            arena
                .spans
                .sort_unstable_by(|a, b| bytes[a.0..a.1].cmp(&bytes[b.0..b.1]));
            let mut writer = BlockWriter::new();
            for &(start, end) in &arena.spans {
                writer.push(&bytes[start..end]);
            }
            for (key, value) in writer.finish() {
                batch.insert(&self.indexes[table], key, value);
            }
        }
        voided.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in voided {
            batch.insert(&self.voided, key, value);
        }
        // The study-log facts and their summaries land with the statements, or neither does.
        let _study = rows
            .iter()
            .any(|r| r.study.is_some())
            .then(|| self.study_writes.lock().unwrap_or_else(|p| p.into_inner()));
        self.add_facts(&mut batch, rows, &|tenant| self.assign_tenant_id(tenant))?;
        let inserts = batch.len() as u64;
        batch.commit().map_err(unavailable)?;
        self.statement_inserts
            .fetch_add(inserts, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn record_watermarks(&self, marks: &[Watermark]) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for mark in marks {
            batch.insert(
                &self.watermarks,
                mark.partition.to_be_bytes().to_vec(),
                codec::encode_watermark(mark.next_offset, mark.stored).to_vec(),
            );
        }
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(vec![None; ids.len()]);
        };
        ids.iter()
            .map(|&id| self.get_statement(tenant, id))
            .collect()
    }

    /// Key presence only: no body decompression, no voided lookup.
    pub(crate) fn contains_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<bool>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(vec![false; ids.len()]);
        };
        ids.iter()
            .map(|&id| {
                self.statements
                    .contains_key(statement_key(tenant, id))
                    .map_err(unavailable)
            })
            .collect()
    }

    fn get_statement(
        &self,
        tenant: keys::TenantId,
        id: Uuid,
    ) -> Result<Option<StoredStatement>, StoreError> {
        let key = statement_key(tenant, id);
        let Some(value) = self.statements.get(&key).map_err(unavailable)? else {
            return Ok(None);
        };
        let value = codec::decode_statement(&value)?;
        let voided_by = match self.voided.get(&key).map_err(unavailable)? {
            None => None,
            Some(bytes) => Some(Uuid::from_slice(&bytes).map_err(|_| {
                corrupt(format!(
                    "voided entry of {} bytes, expected 16",
                    bytes.len()
                ))
            })?),
        };
        Ok(Some(StoredStatement {
            id,
            stored: value.stored,
            keys: value.keys,
            inherited: value.inherited,
            body: value.body,
            voided_by,
        }))
    }

    /// Positions on one access path. Index keys hold 8-byte key prefixes, so on a prefix collision
    /// this also returns positions of statements on a colliding path (of the same tenant and
    /// table): callers re-check the full keys (see `keys.rs`).
    ///
    /// Reads the path's blocks from the bucket of the first bound on, one bucket at a time
    /// (`blocks::BucketMerge`): the positions of a bucket are sorted and each reported once, and
    /// buckets never overlap, so the order is exact.
    pub(crate) fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        let Some((low, high)) = layout::scan_bounds(scan) else {
            return Ok(Vec::new());
        };
        let Some(tenant) = self.tenant_id(&scan.tenant) else {
            return Ok(Vec::new());
        };
        let (table, path_key) = IndexTable::of_path(&scan.path);
        let prefix = keys::path_prefix(tenant, keys::partition(path_key));
        let (start, end) = blocks::key_range(&prefix, low, high);
        let range = self.indexes[table.index()].range(start..=end);
        let mut merge = BucketMerge::new(low, high, scan.ascending, scan.limit);
        let mut push = |guard: fjall::Guard| -> Result<bool, StoreError> {
            let (key, value) = guard.into_inner().map_err(unavailable)?;
            if key.len() != prefix.len() + blocks::BUCKET_LEN + blocks::BLOCK_ID_LEN {
                return Err(corrupt(format!(
                    "index key of {} bytes under a {}-byte prefix",
                    key.len(),
                    prefix.len()
                )));
            }
            merge.push(&key[prefix.len()..], &value)
        };
        if scan.ascending {
            for guard in range {
                if !push(guard)? {
                    break;
                }
            }
        } else {
            for guard in range.rev() {
                if !push(guard)? {
                    break;
                }
            }
        }
        Ok(merge.finish())
    }

    pub(crate) fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        self.watermarks
            .iter()
            .map(|guard| {
                let (key, value) = guard.into_inner().map_err(unavailable)?;
                let partition: [u8; 4] = key[..].try_into().map_err(|_| {
                    corrupt(format!("watermark key of {} bytes, expected 4", key.len()))
                })?;
                let (next_offset, stored) = codec::decode_watermark(&value)?;
                Ok(Watermark {
                    partition: u32::from_be_bytes(partition),
                    next_offset,
                    stored,
                })
            })
            .collect()
    }
}

/// The index keys of one table in one batch: one buffer, so a key costs no allocation of its own
/// (fjall copies each key into its memtable anyway).
#[derive(Default)]
struct KeyArena {
    bytes: Vec<u8>,
    /// `bytes[start..end]` of every key.
    spans: Vec<(usize, usize)>,
}
