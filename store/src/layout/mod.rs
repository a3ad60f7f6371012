//! The layout every backend shares: the index tables and their path keys, the index entries of
//! one statement, a scan's position bounds, time buckets, and the byte encodings of index keys
//! ([`codec`]); [`wide`] adds what only the wide-column stores use. The embedded store (`embedded/keys.rs`) shortens path keys to 8 bytes and encodes
//! positions as key bytes; the wide-column stores (PostgreSQL, ScyllaDB) keep the 16-byte path
//! keys as a `path_key` blob column and positions as (`stored`, `id`) clustering columns.

#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
pub(crate) mod block_rows;
pub(crate) mod blocks;
pub(crate) mod codec;
// Used by the PostgreSQL and ScyllaDB stores; tested in every build.
#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
pub(crate) mod wide;

use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

use crate::{AccessPath, IndexScan, Micros, Position};

/// The index tables, one per [`AccessPath`] variant, in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// The table's name (a fjall keyspace, a PostgreSQL or CQL table); part of every on-disk
    /// format.
    pub(crate) fn table_name(self) -> &'static str {
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

    /// Position in [`IndexTable::EVERY`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The table and path key one scan reads.
    pub(crate) fn of_path(path: &AccessPath) -> (IndexTable, PathKey) {
        match path {
            AccessPath::All => (IndexTable::All, PathKey::None),
            AccessPath::Agent(k) => (IndexTable::Agent, PathKey::Key(*k)),
            AccessPath::RelatedAgent(k) => (IndexTable::RelatedAgent, PathKey::Key(*k)),
            AccessPath::Verb(k) => (IndexTable::Verb, PathKey::Key(*k)),
            AccessPath::Activity(k) => (IndexTable::Activity, PathKey::Key(*k)),
            AccessPath::RelatedActivity(k) => (IndexTable::RelatedActivity, PathKey::Key(*k)),
            AccessPath::Registration(r) => (IndexTable::Registration, PathKey::Registration(*r)),
            AccessPath::Authority(k) => (IndexTable::Authority, PathKey::Key(*k)),
        }
    }
}

impl AccessPath {
    /// Whether a statement with these (own) keys is on this path: exactly when
    /// [`index_entries`] files it there. The query planner checks its filters with it.
    pub fn includes(&self, keys: &IndexKeys) -> bool {
        match *self {
            AccessPath::All => true,
            AccessPath::Agent(k) => keys.direct_agents.contains(&k),
            AccessPath::RelatedAgent(k) => keys.related_agents.contains(&k),
            AccessPath::Verb(k) => keys.verb == k,
            AccessPath::Activity(k) => keys.direct_activities.contains(&k),
            AccessPath::RelatedActivity(k) => keys.related_activities.contains(&k),
            AccessPath::Registration(r) => keys.registration == Some(r),
            AccessPath::Authority(k) => keys.authority == k,
        }
    }
}

/// The key of one access path inside its table: none for `statements_by_stored`, a registration
/// uuid, or a [`Key16`] hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathKey {
    None,
    Key(Key16),
    Registration(Uuid),
}

/// Every (table, path key) entry one statement with these keys gets, each path key mapped by
/// `key` to the backend's form, sorted and without duplicates (two keys may map to one form).
///
/// `inherited` are the keys of a StatementRef target (xAPI Communication §2.1.3 "Filter
/// Conditions for StatementRefs"): the referring statement is also filed under the target's
/// verb, agents, activities and registration (not under its authority, and only once in `All`).
pub(crate) fn index_entries<K: Ord>(
    keys: &IndexKeys,
    inherited: Option<&IndexKeys>,
    mut key: impl FnMut(PathKey) -> K,
) -> Vec<(IndexTable, K)> {
    let lists = |k: &IndexKeys| {
        k.direct_agents.len()
            + k.related_agents.len()
            + k.direct_activities.len()
            + k.related_activities.len()
    };
    let mut out = Vec::with_capacity(4 + lists(keys) + inherited.map_or(0, |i| 2 + lists(i)));
    out.push((IndexTable::All, key(PathKey::None)));
    out.push((IndexTable::Authority, key(PathKey::Key(keys.authority))));
    for keys in std::iter::once(keys).chain(inherited) {
        out.push((IndexTable::Verb, key(PathKey::Key(keys.verb))));
        if let Some(registration) = keys.registration {
            out.push((
                IndexTable::Registration,
                key(PathKey::Registration(registration)),
            ));
        }
        let lists = [
            (IndexTable::Agent, &keys.direct_agents),
            (IndexTable::RelatedAgent, &keys.related_agents),
            (IndexTable::Activity, &keys.direct_activities),
            (IndexTable::RelatedActivity, &keys.related_activities),
        ];
        for (table, list) in lists {
            out.extend(list.iter().map(|k| (table, key(PathKey::Key(*k)))));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(since: Option<Micros>, after: Option<Position>, ascending: bool) -> IndexScan {
        IndexScan {
            tenant: "t".into(),
            path: AccessPath::All,
            since,
            until: None,
            after,
            ascending,
            limit: 10,
        }
    }

    #[test]
    fn a_since_at_the_largest_time_is_an_empty_scan() {
        assert_eq!(scan_bounds(&scan(Some(i64::MAX), None, true)), None);
    }

    #[test]
    fn a_cursor_bound_excludes_the_cursor_position_in_either_direction() {
        let after = Position {
            stored: 5,
            id: Uuid::max(),
        };
        let (low, _) = scan_bounds(&scan(None, Some(after), true)).unwrap();
        assert_eq!(
            low,
            Position {
                stored: 6,
                id: Uuid::nil()
            }
        );
        let after = Position {
            stored: 5,
            id: Uuid::nil(),
        };
        let (_, high) = scan_bounds(&scan(None, Some(after), false)).unwrap();
        assert_eq!(
            high,
            Position {
                stored: 4,
                id: Uuid::max()
            }
        );
    }

    #[test]
    fn a_statement_ref_inherits_every_entry_but_the_authority() {
        let own = IndexKeys {
            verb: Key16::of("voided"),
            authority: Key16::of("me"),
            ..IndexKeys::default()
        };
        let target = IndexKeys {
            verb: Key16::of("answered"),
            authority: Key16::of("someone else"),
            registration: Some(Uuid::from_u128(7)),
            direct_agents: vec![Key16::of("learner")],
            ..IndexKeys::default()
        };
        let entries = index_entries(&own, Some(&target), |k| k);
        let tables: Vec<IndexTable> = entries.iter().map(|e| e.0).collect();
        assert_eq!(
            tables,
            [
                IndexTable::All,
                IndexTable::Agent,
                IndexTable::Verb,
                IndexTable::Verb,
                IndexTable::Registration,
                IndexTable::Authority
            ]
        );
        assert!(entries.contains(&(IndexTable::Authority, PathKey::Key(Key16::of("me")))));
    }

    #[test]
    fn a_path_includes_a_statement_exactly_when_the_statement_is_filed_under_it() {
        let keys = IndexKeys {
            verb: Key16::of("answered"),
            authority: Key16::of("tool"),
            registration: Some(Uuid::from_u128(9)),
            voids: None,
            refers_to: None,
            direct_agents: vec![Key16::of("learner")],
            related_agents: vec![Key16::of("learner"), Key16::of("teacher")],
            direct_activities: vec![Key16::of("item")],
            related_activities: vec![Key16::of("item"), Key16::of("unit")],
        };
        let entries = index_entries(&keys, None, |k| k);
        let names = [
            "answered", "tool", "learner", "teacher", "item", "unit", "stranger",
        ];
        let mut paths = vec![
            AccessPath::All,
            AccessPath::Registration(Uuid::from_u128(9)),
            AccessPath::Registration(Uuid::from_u128(10)),
        ];
        for name in names {
            let k = Key16::of(name);
            paths.extend([
                AccessPath::Agent(k),
                AccessPath::RelatedAgent(k),
                AccessPath::Verb(k),
                AccessPath::Activity(k),
                AccessPath::RelatedActivity(k),
                AccessPath::Authority(k),
            ]);
        }
        for path in paths {
            assert_eq!(
                path.includes(&keys),
                entries.contains(&IndexTable::of_path(&path)),
                "{path:?}"
            );
        }
    }
}
