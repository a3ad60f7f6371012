//! Key encodings of the embedded tables.
//!
//! Every key starts with the tenant as a length-prefixed byte string (`u16` big-endian length,
//! then the UTF-8 bytes), so the keys of one tenant are never a prefix of another tenant's keys.
//! Inside an access path, statements are ordered by their [`Position`]: `stored` as a big-endian
//! `u64` with the sign bit flipped (so negative micros sort first), then the 16 id bytes. Byte order
//! of keys is therefore exactly `Position` order.

use lrs_schema::envelope::IndexKeys;

use crate::{AccessPath, IndexScan, Micros, Position, StoreError, StoreErrorKind};

/// Length of an encoded [`Position`]: 8 bytes of `stored`, 16 bytes of id.
pub(crate) const POSITION_LEN: usize = 24;

/// The index tables, one per [`AccessPath`] variant, in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexTable {
    All,
    Agent,
    RelatedAgent,
    Verb,
    Activity,
    RelatedActivity,
    Registration,
    Authority,
}

impl IndexTable {
    pub(crate) const EVERY: [IndexTable; 8] = [
        IndexTable::All,
        IndexTable::Agent,
        IndexTable::RelatedAgent,
        IndexTable::Verb,
        IndexTable::Activity,
        IndexTable::RelatedActivity,
        IndexTable::Registration,
        IndexTable::Authority,
    ];

    /// The fjall keyspace name; part of the on-disk format.
    pub(crate) fn keyspace_name(self) -> &'static str {
        match self {
            IndexTable::All => "statements_by_stored",
            IndexTable::Agent => "statements_by_agent",
            IndexTable::RelatedAgent => "statements_by_related_agent",
            IndexTable::Verb => "statements_by_verb",
            IndexTable::Activity => "statements_by_activity",
            IndexTable::RelatedActivity => "statements_by_related_activity",
            IndexTable::Registration => "statements_by_registration",
            IndexTable::Authority => "statements_by_authority",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The table and the partition key (after the tenant) one scan reads.
    pub(crate) fn of_path(path: &AccessPath) -> (IndexTable, Option<[u8; 16]>) {
        match path {
            AccessPath::All => (IndexTable::All, None),
            AccessPath::Agent(k) => (IndexTable::Agent, Some(k.0)),
            AccessPath::RelatedAgent(k) => (IndexTable::RelatedAgent, Some(k.0)),
            AccessPath::Verb(k) => (IndexTable::Verb, Some(k.0)),
            AccessPath::Activity(k) => (IndexTable::Activity, Some(k.0)),
            AccessPath::RelatedActivity(k) => (IndexTable::RelatedActivity, Some(k.0)),
            AccessPath::Registration(r) => (IndexTable::Registration, Some(r.into_bytes())),
            AccessPath::Authority(k) => (IndexTable::Authority, Some(k.0)),
        }
    }
}

/// Every (table, partition key) entry one statement with these keys gets.
pub(crate) fn index_entries(keys: &IndexKeys) -> Vec<(IndexTable, Option<[u8; 16]>)> {
    let mut out = Vec::with_capacity(
        4 + keys.direct_agents.len()
            + keys.related_agents.len()
            + keys.direct_activities.len()
            + keys.related_activities.len(),
    );
    out.push((IndexTable::All, None));
    out.push((IndexTable::Verb, Some(keys.verb.0)));
    out.push((IndexTable::Authority, Some(keys.authority.0)));
    if let Some(registration) = keys.registration {
        out.push((IndexTable::Registration, Some(registration.into_bytes())));
    }
    let lists = [
        (IndexTable::Agent, &keys.direct_agents),
        (IndexTable::RelatedAgent, &keys.related_agents),
        (IndexTable::Activity, &keys.direct_activities),
        (IndexTable::RelatedActivity, &keys.related_activities),
    ];
    for (table, list) in lists {
        out.extend(list.iter().map(|k| (table, Some(k.0))));
    }
    out
}

/// The tenant as a key prefix: `u16` big-endian length, then the bytes.
pub(crate) fn tenant_prefix(tenant: &str) -> Result<Vec<u8>, StoreError> {
    let len = u16::try_from(tenant.len()).map_err(|_| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("tenant of {} bytes is longer than 65535", tenant.len()),
        )
    })?;
    let mut out = Vec::with_capacity(2 + tenant.len() + 16 + POSITION_LEN);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(tenant.as_bytes());
    Ok(out)
}

/// The prefix shared by every key of one access path of one tenant.
pub(crate) fn path_prefix(tenant: &[u8], partition: Option<[u8; 16]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(tenant.len() + 16 + POSITION_LEN);
    out.extend_from_slice(tenant);
    if let Some(key) = partition {
        out.extend_from_slice(&key);
    }
    out
}

/// `stored` as 8 bytes whose byte order is the numeric order.
pub(crate) fn encode_stored(stored: Micros) -> [u8; 8] {
    ((stored as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn encode_position(position: Position) -> [u8; POSITION_LEN] {
    let mut out = [0u8; POSITION_LEN];
    out[..8].copy_from_slice(&encode_stored(position.stored));
    out[8..].copy_from_slice(position.id.as_bytes());
    out
}

pub(crate) fn decode_position(bytes: &[u8]) -> Result<Position, StoreError> {
    let bytes: [u8; POSITION_LEN] = bytes.try_into().map_err(|_| {
        StoreError::new(
            StoreErrorKind::Corrupt,
            format!("index key suffix of {} bytes, expected 24", bytes.len()),
        )
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

/// The inclusive range of encoded positions a scan may return, or `None` when it is empty.
///
/// Exclusive bounds (`since`, `after`) become inclusive by taking the next (or previous) possible
/// 24-byte suffix; every key under one path prefix has exactly 24 more bytes, so this is exact.
pub(crate) fn scan_bounds(scan: &IndexScan) -> Option<([u8; POSITION_LEN], [u8; POSITION_LEN])> {
    let mut low = [0u8; POSITION_LEN];
    let mut high = [0xffu8; POSITION_LEN];
    if let Some(since) = scan.since {
        let mut last_at_since = [0xffu8; POSITION_LEN];
        last_at_since[..8].copy_from_slice(&encode_stored(since));
        low = low.max(successor(last_at_since)?);
    }
    if let Some(until) = scan.until {
        let mut last_at_until = [0xffu8; POSITION_LEN];
        last_at_until[..8].copy_from_slice(&encode_stored(until));
        high = high.min(last_at_until);
    }
    if let Some(after) = scan.after {
        let after = encode_position(after);
        if scan.ascending {
            low = low.max(successor(after)?);
        } else {
            high = high.min(predecessor(after)?);
        }
    }
    (low <= high).then_some((low, high))
}

fn successor(mut bytes: [u8; POSITION_LEN]) -> Option<[u8; POSITION_LEN]> {
    for byte in bytes.iter_mut().rev() {
        if *byte == 0xff {
            *byte = 0;
        } else {
            *byte += 1;
            return Some(bytes);
        }
    }
    None
}

fn predecessor(mut bytes: [u8; POSITION_LEN]) -> Option<[u8; POSITION_LEN]> {
    for byte in bytes.iter_mut().rev() {
        if *byte == 0 {
            *byte = 0xff;
        } else {
            *byte -= 1;
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

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
    fn tenant_prefixes_never_overlap() {
        let a = tenant_prefix("board").unwrap();
        let b = tenant_prefix("board-2").unwrap();
        assert!(!b.starts_with(&a));
        assert!(!a.starts_with(&b));
    }

    #[test]
    fn a_since_at_the_largest_time_is_an_empty_scan() {
        let scan = IndexScan {
            tenant: "t".into(),
            path: AccessPath::All,
            since: Some(i64::MAX),
            until: None,
            after: None,
            ascending: true,
            limit: 10,
        };
        assert_eq!(scan_bounds(&scan), None);
    }
}
