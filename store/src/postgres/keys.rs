//! Column encodings of the PostgreSQL (and ScyllaDB) tables: time buckets, index entries, scan
//! bounds and the `keys` blob of the `statements` table.

use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

use crate::{AccessPath, IndexScan, Micros, Position, StoreError, StoreErrorKind};

/// Width of a time bucket: one UTC day of `stored`, in microseconds (see schema/cql/001_init.cql).
pub(crate) const BUCKET_MICROS: Micros = 86_400_000_000;

/// The bucket of a `stored` value: the day since the epoch (negative before 1970).
pub(crate) fn bucket(stored: Micros) -> i64 {
    stored.div_euclid(BUCKET_MICROS)
}

/// The index tables, one per [`AccessPath`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum IndexTable {
    Stored,
    Agent,
    RelatedAgent,
    Verb,
    Activity,
    RelatedActivity,
    Registration,
    Authority,
}

impl IndexTable {
    /// The `path` column of `statement_buckets`; the table is `statements_by_<name>`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            IndexTable::Stored => "stored",
            IndexTable::Agent => "agent",
            IndexTable::RelatedAgent => "related_agent",
            IndexTable::Verb => "verb",
            IndexTable::Activity => "activity",
            IndexTable::RelatedActivity => "related_activity",
            IndexTable::Registration => "registration",
            IndexTable::Authority => "authority",
        }
    }

    /// The table and path key one scan reads (the path key is empty for `Stored`).
    pub(crate) fn of_path(path: &AccessPath) -> (IndexTable, Vec<u8>) {
        match path {
            AccessPath::All => (IndexTable::Stored, Vec::new()),
            AccessPath::Agent(k) => (IndexTable::Agent, k.0.to_vec()),
            AccessPath::RelatedAgent(k) => (IndexTable::RelatedAgent, k.0.to_vec()),
            AccessPath::Verb(k) => (IndexTable::Verb, k.0.to_vec()),
            AccessPath::Activity(k) => (IndexTable::Activity, k.0.to_vec()),
            AccessPath::RelatedActivity(k) => (IndexTable::RelatedActivity, k.0.to_vec()),
            AccessPath::Registration(r) => (IndexTable::Registration, r.as_bytes().to_vec()),
            AccessPath::Authority(k) => (IndexTable::Authority, k.0.to_vec()),
        }
    }
}

/// Every (table, path key) entry of one statement. `inherited` are the keys of a StatementRef
/// target (xAPI Communication §2.1.3 "Filter Conditions for StatementRefs"): the referring
/// statement is also filed under the target's verb, agents, activities and registration (not
/// under its authority, and only once in `Stored`).
pub(crate) fn index_entries(
    keys: &IndexKeys,
    inherited: Option<&IndexKeys>,
) -> Vec<(IndexTable, Vec<u8>)> {
    let mut out = vec![
        (IndexTable::Stored, Vec::new()),
        (IndexTable::Authority, keys.authority.0.to_vec()),
    ];
    for keys in std::iter::once(keys).chain(inherited) {
        out.push((IndexTable::Verb, keys.verb.0.to_vec()));
        if let Some(registration) = keys.registration {
            out.push((IndexTable::Registration, registration.as_bytes().to_vec()));
        }
        let lists = [
            (IndexTable::Agent, &keys.direct_agents),
            (IndexTable::RelatedAgent, &keys.related_agents),
            (IndexTable::Activity, &keys.direct_activities),
            (IndexTable::RelatedActivity, &keys.related_activities),
        ];
        for (table, list) in lists {
            out.extend(list.iter().map(|k| (table, k.0.to_vec())));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The inclusive range of positions a scan may return, or `None` when it is empty. Exclusive
/// bounds (`since`, `after`) become inclusive through the next (or previous) position.
pub(crate) fn scan_bounds(scan: &IndexScan) -> Option<(Position, Position)> {
    let mut low = Position {
        stored: Micros::MIN,
        id: Uuid::nil(),
    };
    let mut high = Position {
        stored: Micros::MAX,
        id: Uuid::max(),
    };
    if let Some(since) = scan.since {
        low = low.max(Position {
            stored: since.checked_add(1)?,
            id: Uuid::nil(),
        });
    }
    if let Some(until) = scan.until {
        high = high.min(Position {
            stored: until,
            id: Uuid::max(),
        });
    }
    if let Some(after) = scan.after {
        if scan.ascending {
            low = low.max(successor(after)?);
        } else {
            high = high.min(predecessor(after)?);
        }
    }
    (low <= high).then_some((low, high))
}

fn successor(p: Position) -> Option<Position> {
    match p.id.as_u128().checked_add(1) {
        Some(id) => Some(Position {
            stored: p.stored,
            id: Uuid::from_u128(id),
        }),
        None => Some(Position {
            stored: p.stored.checked_add(1)?,
            id: Uuid::nil(),
        }),
    }
}

fn predecessor(p: Position) -> Option<Position> {
    match p.id.as_u128().checked_sub(1) {
        Some(id) => Some(Position {
            stored: p.stored,
            id: Uuid::from_u128(id),
        }),
        None => Some(Position {
            stored: p.stored.checked_sub(1)?,
            id: Uuid::max(),
        }),
    }
}

/// Version byte of the `keys` blob.
const KEYS_V1: u8 = 1;

/// The `keys` (and `inherited`) blob: version, verb (16), authority (16), a flag byte (bit 0
/// registration, bit 1 voids, bit 2 refers_to) and the present uuids, then the four lists (direct
/// agents, related agents, direct activities, related activities), each a `u32` big-endian count
/// and 16 bytes per key.
pub(crate) fn encode_keys(keys: &IndexKeys) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(KEYS_V1);
    out.extend_from_slice(&keys.verb.0);
    out.extend_from_slice(&keys.authority.0);
    let ids = [keys.registration, keys.voids, keys.refers_to];
    let flags = ids
        .iter()
        .enumerate()
        .fold(0u8, |f, (i, id)| f | (u8::from(id.is_some()) << i));
    out.push(flags);
    for id in ids.iter().flatten() {
        out.extend_from_slice(id.as_bytes());
    }
    for list in [
        &keys.direct_agents,
        &keys.related_agents,
        &keys.direct_activities,
        &keys.related_activities,
    ] {
        out.extend_from_slice(&(list.len() as u32).to_be_bytes());
        for key in list {
            out.extend_from_slice(&key.0);
        }
    }
    out
}

pub(crate) fn decode_keys(bytes: &[u8]) -> Result<IndexKeys, StoreError> {
    let mut r = Reader(bytes);
    if r.take(1)? != [KEYS_V1] {
        return Err(corrupt("unknown keys blob version"));
    }
    let verb = Key16(r.array()?);
    let authority = Key16(r.array()?);
    let flags = r.take(1)?[0];
    let mut ids = [None; 3];
    for (i, id) in ids.iter_mut().enumerate() {
        if flags & (1 << i) != 0 {
            *id = Some(Uuid::from_bytes(r.array()?));
        }
    }
    let mut lists: [Vec<Key16>; 4] = Default::default();
    for list in &mut lists {
        let count = u32::from_be_bytes(r.array()?) as usize;
        for _ in 0..count {
            list.push(Key16(r.array()?));
        }
    }
    if !r.0.is_empty() {
        return Err(corrupt("trailing bytes in keys blob"));
    }
    let [
        direct_agents,
        related_agents,
        direct_activities,
        related_activities,
    ] = lists;
    Ok(IndexKeys {
        verb,
        authority,
        registration: ids[0],
        voids: ids[1],
        refers_to: ids[2],
        direct_agents,
        related_agents,
        direct_activities,
        related_activities,
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], StoreError> {
        if self.0.len() < n {
            return Err(corrupt("truncated keys blob"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

fn corrupt(message: &str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_blobs_round_trip_with_and_without_optional_ids() {
        let full = IndexKeys {
            verb: Key16::of("v"),
            authority: Key16::of("a"),
            registration: Some(Uuid::from_u128(1)),
            voids: None,
            refers_to: Some(Uuid::from_u128(3)),
            direct_agents: vec![Key16::of("x"), Key16::of("y")],
            related_agents: vec![],
            direct_activities: vec![Key16::of("z")],
            related_activities: vec![Key16::of("w")],
        };
        for keys in [full, IndexKeys::default()] {
            assert_eq!(decode_keys(&encode_keys(&keys)).unwrap(), keys);
        }
    }

    #[test]
    fn buckets_are_utc_days_including_before_the_epoch() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(BUCKET_MICROS - 1), 0);
        assert_eq!(bucket(BUCKET_MICROS), 1);
        assert_eq!(bucket(-1), -1);
        assert_eq!(bucket(Micros::MIN), Micros::MIN / BUCKET_MICROS - 1);
    }
}
