//! Index blocks: the positions one statement batch files under one access path within one
//! bucket of `stored`, as ONE stored value. Every backend writes them: the embedded store as one
//! fjall key-value pair (key layout 3), PostgreSQL and ScyllaDB as one row of a
//! `statements_by_*` table (schema version 2).
//!
//! A batch of ~4,000 statements shares a handful of verbs, one authority and a few hundred
//! activities, and every statement is in `statements_by_stored`: one entry per (path, batch)
//! instead of one per (path, statement) cuts the inserts of a batch several-fold (measured in
//! docs/performance.md, "Issue 12: index entries per batch" and "Issue 12: index blocks in
//! PostgreSQL").
//!
//! | part | bytes |
//! |---|---|
//! | key | path prefix (the backend's: `embedded::keys::path_prefix`, or the wide stores' tenant, day and path key), bucket (8), block id (8) |
//! | value | format (1, = 1), then per position in ascending order, without repeats: the low 16 bits of `stored` (`u16` big-endian) and the 16 id bytes |
//!
//! The wide-column stores keep the bucket and the block id as `bigint` clustering columns
//! (`bucket`, `block`: [`block_key_suffix`] turns them back into the key's last 16 bytes) and
//! the value as the `positions` blob.
//!
//! - The **bucket** is `stored >> 16` (a ~65.5 ms window), encoded like `stored` (big-endian, sign
//!   bit flipped), so keys of one path sort by bucket and every position of a block lies in the
//!   block's bucket: a scan merges the blocks of one bucket at a time and the order across buckets
//!   is exact.
//! - The **block id** is the xxh3-64 hash of the value. Writing the same block again (a batch
//!   re-applied after a crash) overwrites it with the same bytes; any other set of positions gets
//!   another key, so a block is never replaced by one that lacks some of its positions. (A block
//!   keyed by its first position would be: a row written again alone, in a later batch, would
//!   replace the whole first block of its batch.) Two different blocks of one path and bucket
//!   collide with probability ~2⁻⁶⁴ per pair; `stored` is assigned by the LRS to the microsecond
//!   and the batching is ingest's, so a client cannot choose the rest of a block to aim for one.
//! - A position may sit in several blocks of its bucket (a statement written again in a batch
//!   split differently): a scan reports it once.

use uuid::Uuid;
use xxhash_rust::xxh3::xxh3_64;

use super::codec::corrupt;
use crate::{Micros, Position, StoreError};

/// Length of an encoded [`Position`]: 8 bytes of `stored`, 16 bytes of id.
pub(crate) const POSITION_LEN: usize = 24;

/// `stored >> BUCKET_BITS` is a position's bucket: 2¹⁶ µs ≈ 65.5 ms.
const BUCKET_BITS: u32 = 16;

/// Length of the encoded bucket in a block key.
pub(crate) const BUCKET_LEN: usize = 8;

/// Length of the block id after the bucket.
pub(crate) const BLOCK_ID_LEN: usize = 8;

/// The value format this code writes and reads.
const BLOCK_V1: u8 = 1;

/// One position in a value: the low 16 bits of `stored`, then the id.
const ENTRY_LEN: usize = 2 + 16;

/// The bucket of a `stored` value (floor division, so negative micros too).
pub(crate) fn bucket(stored: Micros) -> i64 {
    stored >> BUCKET_BITS
}

/// `stored` as 8 bytes whose byte order is the numeric order.
pub(crate) fn encode_stored(stored: Micros) -> [u8; 8] {
    ((stored as u64) ^ (1 << 63)).to_be_bytes()
}

/// A position as 24 bytes whose byte order is the position order: what [`BlockWriter::push`]
/// takes after the path prefix.
pub(crate) fn encode_position(position: Position) -> [u8; POSITION_LEN] {
    let mut out = [0u8; POSITION_LEN];
    out[..8].copy_from_slice(&encode_stored(position.stored));
    out[8..].copy_from_slice(position.id.as_bytes());
    out
}

/// A bucket as 8 bytes whose byte order is the numeric order.
pub(crate) fn encode_bucket(bucket: i64) -> [u8; BUCKET_LEN] {
    encode_stored(bucket)
}

/// The last 16 bytes of a block key (bucket, block id) from the wide stores' `bucket` and `block`
/// columns (the block id's 8 bytes as a big-endian `bigint`).
#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
pub(crate) fn block_key_suffix(bucket: i64, block: i64) -> [u8; BUCKET_LEN + BLOCK_ID_LEN] {
    let mut out = [0u8; BUCKET_LEN + BLOCK_ID_LEN];
    out[..BUCKET_LEN].copy_from_slice(&encode_bucket(bucket));
    out[BUCKET_LEN..].copy_from_slice(&block.to_be_bytes());
    out
}

/// The wide stores' (`bucket`, `block`) columns of a block key's last 16 bytes.
#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
pub(crate) fn split_block_key(suffix: &[u8]) -> Result<(i64, i64), StoreError> {
    let Some((bucket, block)) = suffix.split_at_checked(BUCKET_LEN) else {
        return Err(corrupt(format!(
            "block key suffix of {} bytes",
            suffix.len()
        )));
    };
    let block: [u8; BLOCK_ID_LEN] = block
        .try_into()
        .map_err(|_| corrupt(format!("block id of {} bytes", block.len())))?;
    Ok((decode_bucket(bucket)?, i64::from_be_bytes(block)))
}

pub(crate) fn decode_bucket(bytes: &[u8]) -> Result<i64, StoreError> {
    let bytes: [u8; BUCKET_LEN] = bytes
        .try_into()
        .map_err(|_| corrupt(format!("block bucket of {} bytes", bytes.len())))?;
    Ok((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// Builds the blocks of one index table of one batch from its entries: each entry a path prefix
/// followed by a 24-byte encoded position, pushed in byte order. Consecutive entries with the
/// same prefix and bucket become one block; a repeated entry is dropped.
pub(crate) struct BlockWriter {
    /// Finished blocks, (key, value), in key order.
    blocks: Vec<(Vec<u8>, Vec<u8>)>,
    /// The open block's path prefix, bucket and value.
    prefix: Vec<u8>,
    bucket: i64,
    value: Vec<u8>,
    /// The last entry's encoded position (to drop repeats).
    last: [u8; POSITION_LEN],
}

impl BlockWriter {
    pub(crate) fn new() -> BlockWriter {
        BlockWriter {
            blocks: Vec::new(),
            prefix: Vec::new(),
            bucket: 0,
            value: Vec::new(),
            last: [0; POSITION_LEN],
        }
    }

    /// Adds one entry; entries must come in byte order.
    pub(crate) fn push(&mut self, entry: &[u8]) {
        let (prefix, position) = entry.split_at(entry.len() - POSITION_LEN);
        let stored = u64::from_be_bytes(position[..8].try_into().expect("8 bytes")) ^ (1 << 63);
        let bucket = bucket(stored as i64);
        if self.value.is_empty() || prefix != self.prefix.as_slice() || bucket != self.bucket {
            self.finish_block();
            self.prefix.clear();
            self.prefix.extend_from_slice(prefix);
            self.bucket = bucket;
            self.value.push(BLOCK_V1);
        } else if position == self.last {
            return;
        }
        self.last.copy_from_slice(position);
        // The low 16 bits of the encoded `stored` are those of `stored` (only the sign bit flips).
        self.value.extend_from_slice(&position[6..8]);
        self.value.extend_from_slice(&position[8..]);
    }

    /// Every block, (key, value), in key order.
    pub(crate) fn finish(mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.finish_block();
        self.blocks
    }

    fn finish_block(&mut self) {
        if self.value.is_empty() {
            return;
        }
        let mut key = Vec::with_capacity(self.prefix.len() + BUCKET_LEN + BLOCK_ID_LEN);
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(&encode_bucket(self.bucket));
        key.extend_from_slice(&xxh3_64(&self.value).to_be_bytes());
        self.blocks.push((key, std::mem::take(&mut self.value)));
    }
}

/// Appends the positions of one block (key without its path prefix: bucket, block id) that lie in
/// `low..=high` to `out`.
pub(crate) fn decode_block(
    key: &[u8],
    value: &[u8],
    low: Position,
    high: Position,
    out: &mut Vec<Position>,
) -> Result<(), StoreError> {
    if key.len() != BUCKET_LEN + BLOCK_ID_LEN {
        return Err(corrupt(format!(
            "index block key suffix of {} bytes, expected {}",
            key.len(),
            BUCKET_LEN + BLOCK_ID_LEN
        )));
    }
    let bucket = decode_bucket(&key[..BUCKET_LEN])?;
    let Some((&format, entries)) = value.split_first() else {
        return Err(corrupt("empty index block".into()));
    };
    if format != BLOCK_V1 {
        return Err(corrupt(format!("index block format {format}, expected 1")));
    }
    if entries.len() % ENTRY_LEN != 0 {
        return Err(corrupt(format!(
            "index block of {} entry bytes, not a multiple of {ENTRY_LEN}",
            entries.len()
        )));
    }
    for entry in entries.chunks_exact(ENTRY_LEN) {
        let offset = u16::from_be_bytes([entry[0], entry[1]]);
        let position = Position {
            stored: (bucket << BUCKET_BITS) | i64::from(offset),
            id: Uuid::from_bytes(entry[2..].try_into().expect("16 bytes")),
        };
        if low <= position && position <= high {
            out.push(position);
        }
    }
    Ok(())
}

/// What a purge does to one index block: its positions minus the purged ones.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BlockRewrite {
    /// No purged position was in it.
    Unchanged,
    /// Every position was purged: delete the block.
    Emptied,
    /// Delete the block and write this one (key, value) instead: the same path prefix and
    /// bucket, a new block id (the hash of the new value).
    Replaced(Vec<u8>, Vec<u8>),
}

/// The block under `prefix` with key suffix `suffix` (bucket, block id) and `value`, without
/// the positions in `purged`.
pub(crate) fn without_positions(
    prefix: &[u8],
    suffix: &[u8],
    value: &[u8],
    purged: &std::collections::HashSet<Position>,
) -> Result<BlockRewrite, StoreError> {
    let low = Position {
        stored: Micros::MIN,
        id: Uuid::nil(),
    };
    let high = Position {
        stored: Micros::MAX,
        id: Uuid::max(),
    };
    let mut positions = Vec::new();
    decode_block(suffix, value, low, high, &mut positions)?;
    let before = positions.len();
    positions.retain(|p| !purged.contains(p));
    if positions.len() == before {
        return Ok(BlockRewrite::Unchanged);
    }
    if positions.is_empty() {
        return Ok(BlockRewrite::Emptied);
    }
    positions.sort_unstable();
    let mut writer = BlockWriter::new();
    let mut entry = prefix.to_vec();
    for position in positions {
        entry.truncate(prefix.len());
        entry.extend_from_slice(&encode_position(position));
        writer.push(&entry);
    }
    let mut blocks = writer.finish();
    match (blocks.pop(), blocks.is_empty()) {
        (Some((key, value)), true) => Ok(BlockRewrite::Replaced(key, value)),
        _ => Err(corrupt(
            "an index block held positions of more than one bucket".into(),
        )),
    }
}

/// Merges the blocks of a scan, met in key order (or reversed), into positions in scan order:
/// the blocks of one bucket are collected, then their positions sorted and repeats dropped
/// before the next bucket starts.
pub(crate) struct BucketMerge {
    low: Position,
    high: Position,
    ascending: bool,
    limit: usize,
    /// The bucket whose blocks are being collected (encoded), and their positions.
    bucket: Option<[u8; BUCKET_LEN]>,
    pending: Vec<Position>,
    out: Vec<Position>,
}

impl BucketMerge {
    pub(crate) fn new(low: Position, high: Position, ascending: bool, limit: usize) -> BucketMerge {
        BucketMerge {
            low,
            high,
            ascending,
            limit,
            bucket: None,
            pending: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Adds one block (its key without the path prefix). Returns `false` once `limit` positions
    /// are final: the caller stops reading.
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) -> Result<bool, StoreError> {
        let bucket = key.get(..BUCKET_LEN).and_then(|b| b.try_into().ok());
        if bucket != self.bucket {
            self.flush();
            if self.out.len() >= self.limit {
                return Ok(false);
            }
            self.bucket = bucket;
        }
        decode_block(key, value, self.low, self.high, &mut self.pending)?;
        Ok(true)
    }

    /// Ends the blocks read so far: whether `limit` positions are final. The wide stores call it
    /// at the end of each day partition to stop walking days. Correct even when the open
    /// bucket goes on in the next day: the positions of a bucket in a later day are all later
    /// than those in an earlier day.
    #[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
    pub(crate) fn full(&mut self) -> bool {
        self.flush();
        self.out.len() >= self.limit
    }

    /// The positions in scan order, at most `limit`.
    pub(crate) fn finish(mut self) -> Vec<Position> {
        self.flush();
        self.out.truncate(self.limit);
        self.out
    }

    fn flush(&mut self) {
        if self.ascending {
            self.pending.sort_unstable();
        } else {
            self.pending.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.pending.dedup();
        let room = self.limit.saturating_sub(self.out.len());
        self.out.extend(self.pending.drain(..).take(room))
    }
}

/// The encoded start and end of a scan's key range under a path prefix: from the first block of
/// `low`'s bucket to the last block of `high`'s.
pub(crate) fn key_range(prefix: &[u8], low: Position, high: Position) -> (Vec<u8>, Vec<u8>) {
    let mut start = prefix.to_vec();
    start.extend_from_slice(&encode_bucket(bucket(low.stored)));
    let mut end = prefix.to_vec();
    end.extend_from_slice(&encode_bucket(bucket(high.stored)));
    end.extend_from_slice(&[0xff; BLOCK_ID_LEN]);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(prefix: &[u8], stored: Micros, id: u128) -> Vec<u8> {
        let mut out = prefix.to_vec();
        out.extend_from_slice(&encode_position(Position {
            stored,
            id: Uuid::from_u128(id),
        }));
        out
    }

    fn every() -> (Position, Position) {
        (
            Position {
                stored: Micros::MIN,
                id: Uuid::nil(),
            },
            Position {
                stored: Micros::MAX,
                id: Uuid::max(),
            },
        )
    }

    #[test]
    fn blocks_decode_to_the_positions_written_once_each_in_their_bucket() {
        let stored = [
            Micros::MIN,
            Micros::MIN + 1,
            -65_537,
            -65_536,
            -1,
            0,
            1,
            65_535,
            65_536,
            1_764_000_000_123_456,
            Micros::MAX,
        ];
        // Path prefixes of one table: tenant (1 or 5 bytes, prefix-free), short key.
        let prefixes: [&[u8]; 3] = [
            &[1, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab],
            &[1, 0xcd, 0, 0, 0, 0, 0, 0, 0],
            &[
                0xf0, 0, 0, 1, 0, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
            ],
        ];
        let mut entries = Vec::new();
        for prefix in prefixes {
            for (n, &s) in stored.iter().enumerate() {
                for id in [0, n as u128, u128::MAX] {
                    entries.push(entry(prefix, s, id));
                    entries.push(entry(prefix, s, id));
                }
            }
        }
        entries.sort();
        let mut writer = BlockWriter::new();
        for e in &entries {
            writer.push(e);
        }
        let blocks = writer.finish();
        assert!(blocks.windows(2).all(|w| w[0].0 < w[1].0), "keys in order");

        let (low, high) = every();
        let mut decoded = Vec::new();
        for (key, value) in &blocks {
            let prefix_len = key.len() - BUCKET_LEN - BLOCK_ID_LEN;
            let mut positions = Vec::new();
            decode_block(&key[prefix_len..], value, low, high, &mut positions).unwrap();
            let buckets: Vec<i64> = positions.iter().map(|p| bucket(p.stored)).collect();
            assert_eq!(
                buckets,
                vec![
                    decode_bucket(&key[prefix_len..prefix_len + BUCKET_LEN]).unwrap();
                    buckets.len()
                ]
            );
            decoded.extend(
                positions
                    .iter()
                    .map(|p| entry(&key[..prefix_len], p.stored, p.id.as_u128())),
            );
        }
        entries.dedup();
        assert_eq!(decoded, entries);
    }

    #[test]
    fn the_block_id_changes_with_every_position_and_not_otherwise() {
        let block = |ids: &[u128]| {
            let mut writer = BlockWriter::new();
            for &id in ids {
                writer.push(&entry(&[1], 70_000, id));
            }
            writer.finish().remove(0).0
        };
        assert_eq!(block(&[1, 2, 3]), block(&[1, 2, 2, 3]));
        assert_ne!(block(&[1, 2, 3]), block(&[1, 2]));
        assert_ne!(block(&[1, 2, 3]), block(&[1, 3]));
        assert_eq!(
            block(&[1, 2, 3])[..1 + BUCKET_LEN],
            block(&[1, 3])[..1 + BUCKET_LEN]
        );
    }

    #[test]
    fn a_block_without_purged_positions_keeps_the_others_under_a_new_id() {
        let prefix = [1u8, 7, 7, 7, 7, 7, 7, 7, 7];
        let mut writer = BlockWriter::new();
        for id in [1u128, 2, 3] {
            writer.push(&entry(&prefix, 70_000 + id as Micros, id));
        }
        let (key, value) = writer.finish().remove(0);
        let suffix = &key[prefix.len()..];
        let position = |id: u128| Position {
            stored: 70_000 + id as Micros,
            id: Uuid::from_u128(id),
        };
        let none = std::collections::HashSet::from([position(9)]);
        assert_eq!(
            without_positions(&prefix, suffix, &value, &none).unwrap(),
            BlockRewrite::Unchanged
        );
        let all = std::collections::HashSet::from([position(1), position(2), position(3)]);
        assert_eq!(
            without_positions(&prefix, suffix, &value, &all).unwrap(),
            BlockRewrite::Emptied
        );
        let two = std::collections::HashSet::from([position(2)]);
        let BlockRewrite::Replaced(new_key, new_value) =
            without_positions(&prefix, suffix, &value, &two).unwrap()
        else {
            panic!("a block with positions left is replaced");
        };
        assert_eq!(
            new_key[..prefix.len() + BUCKET_LEN],
            key[..prefix.len() + BUCKET_LEN]
        );
        assert_ne!(new_key, key);
        let (low, high) = every();
        let mut left = Vec::new();
        decode_block(&new_key[prefix.len()..], &new_value, low, high, &mut left).unwrap();
        assert_eq!(left, vec![position(1), position(3)]);
        let mut expected = BlockWriter::new();
        expected.push(&entry(&prefix, 70_001, 1));
        expected.push(&entry(&prefix, 70_003, 3));
        assert_eq!(expected.finish(), vec![(new_key, new_value)]);
    }

    #[test]
    fn a_damaged_block_is_corrupt_not_misread() {
        let (low, high) = every();
        let key = [encode_bucket(1).as_slice(), &[0; BLOCK_ID_LEN]].concat();
        let mut out = Vec::new();
        for value in [&[][..], &[2][..], &[1, 0, 0, 7][..]] {
            assert!(
                decode_block(&key, value, low, high, &mut out).is_err(),
                "{value:?}"
            );
        }
        assert!(decode_block(&key[1..], &[1], low, high, &mut out).is_err());
        assert!(out.is_empty());
    }
}
