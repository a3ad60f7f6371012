//! Statement tables: the row, its index entries, voiding, watermarks.

use fjall::PersistMode;
use uuid::Uuid;

use super::codec::{self, corrupt};
use super::keys::{self, IndexTable, POSITION_LEN};
use super::{Tables, unavailable};
use crate::{IndexScan, Position, StatementRow, StoreError, StoredStatement, Watermark};

impl Tables {
    /// One atomic batch for every row, index entry and voided entry, fsynced before returning:
    /// ingest commits its log offset right after, so the rows must survive a crash.
    pub(crate) fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for row in rows {
            let tenant = keys::tenant_prefix(&row.tenant)?;
            let position = keys::encode_position(Position {
                stored: row.stored,
                id: row.id,
            });
            let value = codec::encode_statement(row.stored, &row.keys, &row.body)?;
            batch.insert(&self.statements, statement_key(&tenant, row.id), value);
            for (table, partition) in keys::index_entries(&row.keys) {
                let mut key = keys::path_prefix(&tenant, partition);
                key.extend_from_slice(&position);
                batch.insert(&self.indexes[table.index()], key, Vec::new());
            }
            // Voiding arrives in any order: the entry is keyed by the target, so the target reads
            // as voided whether it was written before or after this row.
            if let Some(target) = row.keys.voids {
                batch.insert(
                    &self.voided,
                    statement_key(&tenant, target),
                    row.id.as_bytes().to_vec(),
                );
            }
        }
        batch.commit().map_err(unavailable)
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
        let tenant = keys::tenant_prefix(tenant)?;
        ids.iter()
            .map(|&id| self.get_statement(&tenant, id))
            .collect()
    }

    fn get_statement(
        &self,
        tenant: &[u8],
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
            body: value.body,
            voided_by,
        }))
    }

    pub(crate) fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        if scan.limit == 0 {
            return Ok(Vec::new());
        }
        let Some((low, high)) = keys::scan_bounds(scan) else {
            return Ok(Vec::new());
        };
        let (table, partition) = IndexTable::of_path(&scan.path);
        let prefix = keys::path_prefix(&keys::tenant_prefix(&scan.tenant)?, partition);
        let mut start = prefix.clone();
        start.extend_from_slice(&low);
        let mut end = prefix.clone();
        end.extend_from_slice(&high);

        let range = self.indexes[table.index()].range(start..=end);
        let decode = |guard: fjall::Guard| -> Result<Position, StoreError> {
            let key = guard.key().map_err(unavailable)?;
            if key.len() != prefix.len() + POSITION_LEN {
                return Err(corrupt(format!(
                    "index key of {} bytes under a {}-byte prefix",
                    key.len(),
                    prefix.len()
                )));
            }
            keys::decode_position(&key[prefix.len()..])
        };
        if scan.ascending {
            range.take(scan.limit).map(decode).collect()
        } else {
            range.rev().take(scan.limit).map(decode).collect()
        }
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

/// `statements` and `voided` key: tenant prefix, then the 16 id bytes.
fn statement_key(tenant: &[u8], id: Uuid) -> Vec<u8> {
    let mut key = Vec::with_capacity(tenant.len() + 16);
    key.extend_from_slice(tenant);
    key.extend_from_slice(id.as_bytes());
    key
}
