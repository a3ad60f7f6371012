//! Real deletion ([`crate::PurgeStore`]) and the `purges` table of purge job records.
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `purges` | job id (16) | created (`i64` big-endian), the record's JSON |
//!
//! A purged statement's positions are removed from its index blocks: every block of each of its
//! (table, path, bucket) entries is read, and one that held a purged position is deleted and,
//! when positions are left, written again under its new block id (`blocks::without_positions`).
//! The rows, blocks and markers go in one fsync'd batch. fjall deletes by tombstone: the bytes
//! leave the disk when [`Tables::compact`] has flushed every memtable (so the journals that
//! held the rows are dropped) and compacted every table (so the values under tombstones, blob
//! files included, are rewritten away).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use fjall::{Keyspace, PersistMode};
use lrs_schema::envelope::Key16;
use uuid::Uuid;

use super::codec::{self, corrupt};
use super::keys::{self, TenantId};
use super::{Tables, unavailable};
use crate::layout::IndexTable;
use crate::layout::blocks::{self, BlockRewrite};
use crate::{Micros, Position, PurgeCounts, PurgeRecord, StoreError};

impl Tables {
    pub(crate) fn purge_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts::default();
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(counts);
        };
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        // (table, path prefix, bucket) → the purged positions filed there.
        let mut affected: BTreeMap<(IndexTable, Vec<u8>, i64), HashSet<Position>> = BTreeMap::new();
        for &id in ids {
            let key = keys::statement_key(tenant, id);
            let Some(value) = self.statements.get(&key).map_err(unavailable)? else {
                continue;
            };
            let value = codec::decode_statement(&value)?;
            let position = Position {
                stored: value.stored,
                id,
            };
            for (table, partition) in keys::index_entries(&value.keys, value.inherited.as_ref()) {
                affected
                    .entry((
                        table,
                        keys::path_prefix(tenant, partition),
                        blocks::bucket(value.stored),
                    ))
                    .or_default()
                    .insert(position);
            }
            batch.remove(&self.statements, key.clone());
            counts.statements += 1;
            if self.voided.contains_key(&key).map_err(unavailable)? {
                batch.remove(&self.voided, key);
                counts.voided_markers += 1;
            }
        }
        for ((table, prefix, bucket), purged) in &affected {
            let table = &self.indexes[table.index()];
            let mut start = prefix.clone();
            start.extend_from_slice(&blocks::encode_bucket(*bucket));
            let mut end = start.clone();
            end.extend_from_slice(&[0xff; blocks::BLOCK_ID_LEN]);
            for guard in table.range(start..=end) {
                let (key, value) = guard.into_inner().map_err(unavailable)?;
                if key.len() != prefix.len() + blocks::BUCKET_LEN + blocks::BLOCK_ID_LEN {
                    return Err(corrupt(format!(
                        "index key of {} bytes under a {}-byte prefix",
                        key.len(),
                        prefix.len()
                    )));
                }
                match blocks::without_positions(prefix, &key[prefix.len()..], &value, purged)? {
                    BlockRewrite::Unchanged => {}
                    BlockRewrite::Emptied => {
                        batch.remove(table, key.to_vec());
                        counts.index_blocks += 1;
                    }
                    BlockRewrite::Replaced(new_key, new_value) => {
                        batch.remove(table, key.to_vec());
                        batch.insert(table, new_key, new_value);
                        counts.index_blocks += 1;
                    }
                }
            }
        }
        if !batch.is_empty() {
            batch.commit().map_err(unavailable)?;
        }
        Ok(counts)
    }

    pub(crate) fn purge_attachments(
        &self,
        tenant: &str,
        hashes: &[String],
    ) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts::default();
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for sha2 in hashes {
            let mut key = keys::tenant_name_prefix(tenant)?;
            key.extend_from_slice(sha2.as_bytes());
            if keys::fits(&key) && self.attachments.contains_key(&key).map_err(unavailable)? {
                batch.remove(&self.attachments, key);
                counts.attachments += 1;
            }
        }
        if !batch.is_empty() {
            batch.commit().map_err(unavailable)?;
        }
        Ok(counts)
    }

    /// Deletes dictionary entries and their `terms_by_time` keys (the value's first 8 bytes are
    /// `first_seen`, which that key holds).
    pub(crate) fn purge_terms(
        &self,
        tenant: &str,
        dim: u8,
        term_keys: &[Key16],
    ) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts::default();
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(counts);
        };
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for term in term_keys {
            let mut key = Vec::with_capacity(keys::TENANT_LEN + 17);
            keys::push_tenant(&mut key, tenant);
            key.push(dim);
            key.extend_from_slice(&term.0);
            let Some(value) = self.terms.get(&key).map_err(unavailable)? else {
                continue;
            };
            let first_seen: [u8; 8] = value
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| corrupt("a term without first_seen".into()))?;
            let mut by_time = Vec::with_capacity(keys::TENANT_LEN + 25);
            keys::push_tenant(&mut by_time, tenant);
            by_time.extend_from_slice(&(u64::from_be_bytes(first_seen) ^ (1 << 63)).to_be_bytes());
            by_time.push(dim);
            by_time.extend_from_slice(&term.0);
            batch.remove(&self.terms, key);
            batch.remove(&self.terms_by_time, by_time);
            counts.other_rows += 2;
        }
        if !batch.is_empty() {
            batch.commit().map_err(unavailable)?;
        }
        Ok(counts)
    }

    /// Deletes up to about `limit` keys of the tenant, table by table.
    pub(crate) fn purge_tenant(
        &self,
        tenant: &str,
        limit: usize,
    ) -> Result<PurgeCounts, StoreError> {
        let limit = limit.max(1);
        let mut counts = PurgeCounts::default();
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        let mut left = limit;
        let mut take =
            |table: &Keyspace, prefix: &[u8], count: &mut u64| -> Result<(), StoreError> {
                for guard in table.prefix(prefix).take(left) {
                    batch.remove(table, guard.key().map_err(unavailable)?.to_vec());
                    *count += 1;
                    left -= 1;
                }
                Ok(())
            };
        if let Some(id) = self.tenant_id(tenant) {
            let prefix = tenant_prefix(id);
            take(&self.statements, &prefix, &mut counts.statements)?;
            for table in &self.indexes {
                take(table, &prefix, &mut counts.index_blocks)?;
            }
            take(&self.voided, &prefix, &mut counts.voided_markers)?;
            for table in [
                &self.facts,
                &self.month_summaries,
                &self.terms,
                &self.terms_by_time,
                &self.activities,
            ] {
                take(table, &prefix, &mut counts.other_rows)?;
            }
        }
        let name = keys::tenant_name_prefix(tenant)?;
        take(&self.documents, &name, &mut counts.documents)?;
        take(&self.attachments, &name, &mut counts.attachments)?;
        for table in [
            &self.quarantine,
            &self.roster_versions,
            &self.roster_records,
        ] {
            take(table, &name, &mut counts.other_rows)?;
        }
        if !batch.is_empty() {
            let _study = self.study_writes.lock().unwrap_or_else(|p| p.into_inner());
            let _documents = self.lock_document_writes();
            batch.commit().map_err(unavailable)?;
        }
        Ok(counts)
    }

    /// Makes deleted rows leave the files: flushes every memtable, has fjall seal and drop the
    /// journals written so far, and compacts every table (dropping the values under tombstones,
    /// blob files included).
    ///
    /// fjall seals its active journal only when a flush finds it past 64 MB, and offers no call
    /// to seal it otherwise; so this writes [`JOURNAL_FILLER_BYTES`] of incompressible filler
    /// through it (into the `purge_scratch` keyspace, deleted again at once), then flushes: the
    /// journal holding the purged rows is sealed, and fjall deletes it once every keyspace has
    /// flushed past it. Waits (up to a minute) until the journals that existed before are gone.
    pub(crate) fn compact(&self, dir: &Path) -> Result<(), StoreError> {
        let before = journals(dir);
        self.db.persist(PersistMode::SyncAll).map_err(unavailable)?;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let chunk = 1 << 20;
        let chunks = JOURNAL_FILLER_BYTES / chunk;
        for n in 0..chunks {
            let value: Vec<u8> = (0..chunk / 8)
                .flat_map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()
                })
                .collect();
            let mut batch = self.db.batch();
            batch.insert(
                &self.purge_scratch,
                (n as u32).to_be_bytes().to_vec(),
                value,
            );
            batch.commit().map_err(unavailable)?;
        }
        let mut batch = self.db.batch();
        for n in 0..chunks {
            batch.remove(&self.purge_scratch, (n as u32).to_be_bytes().to_vec());
        }
        batch.commit().map_err(unavailable)?;
        self.db.persist(PersistMode::SyncAll).map_err(unavailable)?;
        let every = self.every_keyspace();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            for keyspace in &every {
                keyspace.rotate_memtable_and_wait().map_err(unavailable)?;
            }
            let left: Vec<_> = journals(dir)
                .into_iter()
                .filter(|j| before.contains(j))
                .collect();
            if left.is_empty() {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(StoreError::new(
                    crate::StoreErrorKind::Unavailable,
                    format!(
                        "fjall kept the journals {left:?} after a purge (journals now: {:?}); retrying",
                        journals(dir)
                    ),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // fjall keeps every version newer than its MVCC watermark through a compaction (a
        // reader's snapshot might need it), tombstones included, and moves the watermark up
        // only every 10,000 snapshots closed: close that many (an empty snapshot costs
        // nanoseconds), so the purge's own deletes are below it.
        for _ in 0..SNAPSHOTS_PER_WATERMARK_MOVE {
            drop(self.db.snapshot());
        }
        for keyspace in &every {
            keyspace.major_compact().map_err(unavailable)?;
        }
        // The compacted tables' files are deleted when fjall next tidies its version history,
        // which it does when a memtable is sealed: seal one (of a scratch entry).
        self.purge_scratch
            .insert(b"tidy".to_vec(), Vec::new())
            .map_err(unavailable)?;
        self.purge_scratch
            .remove(b"tidy".to_vec())
            .map_err(unavailable)?;
        self.purge_scratch
            .rotate_memtable_and_wait()
            .map_err(unavailable)?;
        Ok(())
    }

    fn every_keyspace(&self) -> Vec<&Keyspace> {
        let mut out = vec![
            &self.meta,
            &self.tenants,
            &self.statements,
            &self.voided,
            &self.watermarks,
            &self.documents,
            &self.attachments,
            &self.activities,
            &self.quarantine,
            &self.facts,
            &self.month_summaries,
            &self.terms,
            &self.terms_by_time,
            &self.roster_versions,
            &self.roster_records,
            &self.purges,
            &self.purge_scratch,
        ];
        out.extend(self.indexes.iter());
        out
    }

    pub(crate) fn put_purge_record(&self, record: &PurgeRecord) -> Result<(), StoreError> {
        let mut value = record.created.to_be_bytes().to_vec();
        value.extend_from_slice(&record.record);
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.purges, record.id.as_bytes().to_vec(), value);
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn purge_records(&self) -> Result<Vec<PurgeRecord>, StoreError> {
        let mut out = Vec::new();
        for guard in self.purges.iter() {
            let (key, value) = guard.into_inner().map_err(unavailable)?;
            let id = Uuid::from_slice(&key).map_err(|_| corrupt("purge record id".into()))?;
            let (created, record) = value
                .split_at_checked(8)
                .ok_or_else(|| corrupt("purge record value".into()))?;
            out.push(PurgeRecord {
                id,
                created: Micros::from_be_bytes(created.try_into().expect("8 bytes")),
                record: bytes::Bytes::copy_from_slice(record),
            });
        }
        out.sort_by_key(|r| (r.created, r.id));
        Ok(out)
    }
}

/// Bytes written through the journal so that fjall seals it (it does past 64 MB).
const JOURNAL_FILLER_BYTES: usize = 65 << 20;

/// fjall moves its MVCC garbage-collection watermark up once per this many snapshots closed
/// (`SnapshotTracker::close_raw` in fjall 3).
const SNAPSHOTS_PER_WATERMARK_MOVE: usize = 10_000;

/// The journal files (`*.jnl`) in the database directory.
fn journals(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jnl"))
        .collect()
}

fn tenant_prefix(tenant: TenantId) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(keys::TENANT_LEN);
    keys::push_tenant(&mut prefix, tenant);
    prefix
}
