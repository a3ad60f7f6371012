//! Key encodings of the embedded tables (key layout version [`KEY_LAYOUT`]).
//!
//! Statement keys (`statements`, `voided`, every index table) start with the tenant's interned id:
//! a `u32` assigned on the tenant's first write and recorded in the `tenants` table (name → id),
//! encoded in 1 byte (5 from the 240th tenant on; see [`push_tenant`]). Short ids keep keys short
//! (a 17-byte statement key fits fjall's 20-byte inline slice) and the keys of one tenant are never
//! a prefix of another tenant's keys.
//!
//! Index keys then hold the *first 8 bytes* of the access path's key (a [`Key16`] is an xxh3-128
//! hash, so its first 8 bytes are a 64-bit hash; a registration uuid, which may be structured, is
//! first mixed down to 8 bytes by [`short_registration`]). Two keys whose 8-byte prefixes collide
//! share index entries, so a scan may return a few positions of statements that are not on the
//! requested path: **callers re-check the full 16-byte keys** stored in the statement value (the
//! query planner does, for every candidate). With hash keys, a collision among a tenant's keys is
//! a ~2⁻⁶⁴-per-pair event; it costs a wasted read, never a wrong answer.
//!
//! Inside an access path, statements are ordered by their [`Position`](crate::Position): `stored` as a big-endian
//! `u64` with the sign bit flipped (so negative micros sort first), then the 16 id bytes. The
//! positions are not keys of their own: the positions one batch files under one path within one
//! ~65 ms bucket of `stored` are one *index block* (see `layout/blocks.rs`), keyed by the bucket (encoded
//! like `stored`) and a block id; keys of one path therefore sort by bucket, and a scan merges
//! the blocks of each bucket.
//!
//! Documents keep the tenant name as a length-prefixed byte string (`u16` big-endian length, then
//! the UTF-8 bytes): document traffic is small and a document key holds a long scope anyway.
//!
//! | table | key |
//! |---|---|
//! | `statements`, `voided` | tenant (1 or 5), statement id (16) |
//! | `statements_by_stored` | tenant (1 or 5), bucket (8), block id (8) |
//! | `statements_by_<path>` | tenant (1 or 5), short key (8), bucket (8), block id (8) |

use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

// Positions are encoded as the index blocks every backend shares encode them.
#[cfg(test)]
use crate::Position;
use crate::StoreError;
pub(crate) use crate::layout::blocks::{POSITION_LEN, encode_position};
use crate::layout::{self, IndexTable, PathKey};

/// The key layout this code writes and reads, recorded in the `meta` table. Neither version 1
/// (tenant name prefixes, full 16-byte path keys, no `tenants` table) nor version 2 (one index key
/// per statement and path: path prefix, then the position) is readable by this code.
pub(crate) const KEY_LAYOUT: u8 = 3;

/// An interned tenant: see the module documentation.
pub(crate) type TenantId = u32;

/// Longest tenant prefix of statement keys.
pub(crate) const TENANT_LEN: usize = 5;

/// Tenant ids below this are encoded in one byte; the others as this byte, then 4 bytes.
const TENANT_ONE_BYTE: TenantId = 0xf0;

/// Length of the path key inside an index key.
pub(crate) const SHORT_KEY_LEN: usize = 8;

/// The partition key of an index key: see the module documentation.
pub(crate) type ShortKey = [u8; SHORT_KEY_LEN];

/// The (short) partition key after the tenant of one access path's keys.
pub(crate) fn partition(path_key: PathKey) -> Option<ShortKey> {
    match path_key {
        PathKey::None => None,
        PathKey::Key(k) => Some(short(&k)),
        PathKey::Registration(r) => Some(short_registration(r)),
    }
}

/// The first 8 bytes of a [`Key16`] (already a hash).
pub(crate) fn short(key: &Key16) -> ShortKey {
    let mut out = [0u8; SHORT_KEY_LEN];
    out.copy_from_slice(&key.0[..SHORT_KEY_LEN]);
    out
}

/// A registration mixed down to 8 bytes. Registrations are client-chosen and may be structured
/// (e.g. zero in one half), so both halves go through a bijective 64-bit mixer (the `splitmix64`
/// finalizer): registrations that differ in only one half never collide.
pub(crate) fn short_registration(registration: Uuid) -> ShortKey {
    let bytes = registration.as_bytes();
    let mut hi = [0u8; 8];
    hi.copy_from_slice(&bytes[..8]);
    let mut lo = [0u8; 8];
    lo.copy_from_slice(&bytes[8..]);
    (u64::from_be_bytes(hi) ^ mix64(u64::from_be_bytes(lo))).to_be_bytes()
}

fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Every (table, partition key) entry one statement with these keys gets (see
/// [`layout::index_entries`]); two full keys of one list may share a short key, and get one
/// entry.
pub(crate) fn index_entries(
    keys: &IndexKeys,
    inherited: Option<&IndexKeys>,
) -> Vec<(IndexTable, Option<ShortKey>)> {
    layout::index_entries(keys, inherited, partition)
}

/// fjall's longest key (it panics on a longer one): every key is checked against it before it
/// reaches fjall ([`checked_key`]); a lookup of a longer key finds nothing ([`fits`]).
pub(crate) const MAX_KEY_LEN: usize = u16::MAX as usize;

/// Whether fjall can hold `key`. Lookups of a key that cannot be stored find nothing.
pub(crate) fn fits(key: &[u8]) -> bool {
    key.len() <= MAX_KEY_LEN
}

/// `key`, or [`StoreErrorKind::Rejected`] when it is longer than fjall's limit: a row whose key
/// is too long can never be written, however often it is retried.
pub(crate) fn checked_key(table: &str, key: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    if fits(&key) {
        Ok(key)
    } else {
        Err(StoreError::rejected(format!(
            "a key of the embedded `{table}` table would be {} bytes; fjall keys are at most \
             {MAX_KEY_LEN} bytes",
            key.len()
        )))
    }
}

/// The tenant name as a document key prefix: `u16` big-endian length, then the bytes.
pub(crate) fn tenant_name_prefix(tenant: &str) -> Result<Vec<u8>, StoreError> {
    let len = u16::try_from(tenant.len()).map_err(|_| {
        StoreError::rejected(format!(
            "a tenant name of {} bytes is longer than 65535",
            tenant.len()
        ))
    })?;
    let mut out = Vec::with_capacity(2 + tenant.len() + 16 + POSITION_LEN);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(tenant.as_bytes());
    Ok(out)
}

/// The interned tenant as a statement key prefix, appended to `out`: one byte for ids below
/// 0xf0 (every deployment with fewer than 240 tenants), else `0xf0` and the `u32` big-endian.
/// The encoding is prefix-free, so one tenant's keys are never a prefix of another's.
///
/// Why one byte: fjall keeps the first 4 bytes of a long key inline and compares those before
/// following the pointer to the rest, so the memtable's skiplist search only dereferences a key
/// when those 4 bytes tie. A 1-byte tenant leaves 3 discriminating bytes (of the path key, or of
/// the statement id) in that inline prefix; a 4-byte tenant left none.
pub(crate) fn push_tenant(out: &mut Vec<u8>, tenant: TenantId) {
    if tenant < TENANT_ONE_BYTE {
        out.push(tenant as u8);
    } else {
        out.push(TENANT_ONE_BYTE as u8);
        out.extend_from_slice(&tenant.to_be_bytes());
    }
}

/// `statements` and `voided` key: tenant, then the 16 id bytes.
pub(crate) fn statement_key(tenant: TenantId, id: Uuid) -> Vec<u8> {
    let mut key = Vec::with_capacity(TENANT_LEN + 16);
    push_tenant(&mut key, tenant);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The prefix shared by every key of one access path of one tenant.
pub(crate) fn path_prefix(tenant: TenantId, partition: Option<ShortKey>) -> Vec<u8> {
    let mut out = Vec::with_capacity(TENANT_LEN + SHORT_KEY_LEN + POSITION_LEN);
    push_tenant(&mut out, tenant);
    if let Some(key) = partition {
        out.extend_from_slice(&key);
    }
    out
}

/// Appends one index entry to `out`: path prefix, then the encoded position (no allocation per
/// entry on the write path). A batch's entries, sorted, become its index blocks
/// (`blocks::BlockWriter`).
pub(crate) fn push_index_entry(
    out: &mut Vec<u8>,
    tenant: TenantId,
    partition: Option<ShortKey>,
    position: &[u8; POSITION_LEN],
) {
    push_tenant(out, tenant);
    if let Some(key) = partition {
        out.extend_from_slice(&key);
    }
    out.extend_from_slice(position);
}

#[cfg(test)]
pub(crate) fn decode_position(bytes: &[u8]) -> Result<Position, StoreError> {
    let bytes: [u8; POSITION_LEN] = bytes.try_into().map_err(|_| {
        super::codec::corrupt(format!("position of {} bytes, expected 24", bytes.len()))
    })?;
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&bytes[..8]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[8..]);
    Ok(Position {
        stored: (u64::from_be_bytes(stored) ^ (1 << 63)) as i64,
        id: uuid::Uuid::from_bytes(id),
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::layout::blocks::BlockWriter;

    #[test]
    fn encoded_positions_sort_like_positions() {
        let stored = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let ids = [Uuid::nil(), Uuid::from_u128(1), Uuid::max()];
        let mut positions: Vec<Position> = stored
            .iter()
            .flat_map(|&s| ids.iter().map(move |&id| Position { stored: s, id }))
            .collect();
        positions.reverse();
        let mut encoded: Vec<[u8; 24]> = positions.iter().map(|p| encode_position(*p)).collect();
        positions.sort();
        encoded.sort();
        let decoded: Vec<Position> = encoded
            .iter()
            .map(|e| decode_position(e).unwrap())
            .collect();
        assert_eq!(decoded, positions);
    }

    #[test]
    fn tenant_name_prefixes_never_overlap() {
        let a = tenant_name_prefix("board").unwrap();
        let b = tenant_name_prefix("board-2").unwrap();
        assert!(!b.starts_with(&a));
        assert!(!a.starts_with(&b));
    }

    #[test]
    fn tenant_prefixes_are_prefix_free() {
        let ids = [1, 2, 0xef, 0xf0, 0xf1, 0x1234_5678, TenantId::MAX];
        for a in ids {
            for b in ids.iter().copied().filter(|&b| b != a) {
                let (mut x, mut y) = (Vec::new(), Vec::new());
                push_tenant(&mut x, a);
                push_tenant(&mut y, b);
                assert!(!y.starts_with(&x), "{a} {b}");
            }
        }
    }

    #[test]
    fn structured_registrations_do_not_collide_when_shortened() {
        let mut seen = std::collections::HashSet::new();
        for hi in 0..64u128 {
            for lo in 0..64u128 {
                assert!(seen.insert(short_registration(Uuid::from_u128(hi << 64 | lo))));
            }
        }
    }

    /// Key layout version 3, pinned: a change here is a new [`KEY_LAYOUT`].
    #[test]
    fn the_version_3_key_layout_never_changes() {
        assert_eq!(KEY_LAYOUT, 3);
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let id = Uuid::from_u128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff);
        assert_eq!(
            hex(&statement_key(7, id)),
            "0700112233445566778899aabbccddeeff"
        );
        assert_eq!(
            hex(&statement_key(0x1234_5678, id)),
            "f01234567800112233445566778899aabbccddeeff"
        );
        // Two statements in one bucket of `statements_by_stored`, one in a bucket of a path.
        let mut writer = BlockWriter::new();
        let at = |stored| encode_position(Position { stored, id });
        let key = Key16([0xab; 16]);
        for (partition, stored) in [
            (None, -2),
            (None, -1),
            (Some(short(&key)), 1_760_404_365_123_456),
        ] {
            let mut entry = Vec::new();
            push_index_entry(&mut entry, 7, partition, &at(stored));
            writer.push(&entry);
        }
        let blocks: Vec<(String, String)> = writer
            .finish()
            .iter()
            .map(|(key, value)| (hex(key), hex(value)))
            .collect();
        assert_eq!(
            blocks,
            [
                (
                    "077fffffffffffffffb48b17d0e9e3b5f9".to_owned(),
                    "01fffe00112233445566778899aabbccddeeff\
                     ffff00112233445566778899aabbccddeeff"
                        .to_owned()
                ),
                (
                    "07abababababababab80000006411414d818f6fc74cb9ba362".to_owned(),
                    "011f8000112233445566778899aabbccddeeff".to_owned()
                ),
            ]
        );
        assert_eq!(
            hex(&short_registration(Uuid::from_u128(3))),
            hex(&mix64(3).to_be_bytes())
        );
    }
}
