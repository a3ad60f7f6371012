//! Suite fixtures: rows, keys, documents, a deterministic PRNG.

use bytes::Bytes;
use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

use crate::{
    AccessPath, Document, DocumentKind, DocumentScope, IndexScan, Micros, Position, Precondition,
    StatementRow,
};

/// A small deterministic PRNG (SplitMix64), so every run checks the same cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }

    /// Uniform enough in `0..n` for tests.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

pub(super) fn row(tenant: &str, stored: Micros, id: u128, keys: IndexKeys) -> StatementRow {
    let id = Uuid::from_u128(id);
    StatementRow {
        tenant: tenant.into(),
        stored,
        id,
        keys,
        inherited: None,
        body: Bytes::from(format!(r#"{{"id":"{id}","tenant":"{tenant}"}}"#)),
        study: None,
    }
}

pub(super) fn position(row: &StatementRow) -> Position {
    Position {
        stored: row.stored,
        id: row.id,
    }
}

pub(super) fn verb(n: u64) -> Key16 {
    Key16::of(&format!("http://adlnet.gov/expapi/verbs/v{n}"))
}

pub(super) fn authority(n: u64) -> Key16 {
    Key16::of(&format!("account::https://lrs.example.jp::tool-{n}"))
}

pub(super) fn agent_path(n: u64) -> AccessPath {
    AccessPath::Agent(Key16::of(&format!("agent-{n}")))
}

/// Keys with one verb, one authority, the given agents (direct and related) and activities.
pub(super) fn keys(verb_n: u64, authority_n: u64, agents: &[u64], activities: &[u64]) -> IndexKeys {
    let hash = |prefix: &str, ns: &[u64]| {
        let mut keys: Vec<Key16> = ns
            .iter()
            .map(|n| Key16::of(&format!("{prefix}-{n}")))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    IndexKeys {
        verb: verb(verb_n),
        authority: authority(authority_n),
        registration: None,
        voids: None,
        refers_to: None,
        direct_agents: hash("agent", agents),
        related_agents: hash("agent", agents),
        direct_activities: hash("activity", activities),
        related_activities: hash("activity", activities),
    }
}

pub(super) fn voiding(target: Uuid) -> IndexKeys {
    IndexKeys {
        voids: Some(target),
        ..keys(99, 1, &[1], &[])
    }
}

pub(super) fn scan(tenant: &str, path: AccessPath, ascending: bool, limit: usize) -> IndexScan {
    IndexScan {
        tenant: tenant.into(),
        path,
        since: None,
        until: None,
        after: None,
        ascending,
        limit,
    }
}

pub(super) fn state_scope(tenant: &str, scope: &str) -> DocumentScope {
    DocumentScope {
        tenant: tenant.into(),
        kind: DocumentKind::State,
        scope: scope.into(),
    }
}

/// A document whose etag is derived from its body (any stable function will do in tests).
pub(super) fn document(body: &str, updated: Micros) -> Document {
    Document {
        content_type: "application/json".into(),
        body: Bytes::from(format!(r#"{{"v":"{body}"}}"#)),
        etag: format!(
            "{:040x}",
            Key16::of(body)
                .0
                .iter()
                .fold(0u128, |a, b| a << 8 | u128::from(*b))
        ),
        updated,
    }
}

pub(super) fn if_match(etag: &str) -> Precondition {
    Precondition::IfMatch(etag.into())
}

pub(super) fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// `len` bytes of printable ASCII drawn from `rng`: a key value no backend can compress (a
/// PostgreSQL index row may hold a compressed value, so a repetitive one would prove nothing).
pub(super) fn incompressible(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'!' + rng.below(94) as u8))
        .collect()
}

/// A tenant name of the largest size a key holds, starting with `prefix` (the suite's functions
/// keep to tenants of their own).
pub(super) fn longest_tenant(prefix: &str, rng: &mut Rng) -> String {
    const TENANT_CHARS: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    let mut tenant = prefix.to_owned();
    while tenant.len() < crate::MAX_TENANT_BYTES {
        tenant.push(char::from(
            TENANT_CHARS[rng.below(TENANT_CHARS.len() as u64) as usize],
        ));
    }
    tenant
}
