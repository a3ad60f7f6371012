//! The log record envelope: what the API appends to the log and ingest consumes.
//!
//! One envelope carries one accepted request's statements (a POST batch is all-or-nothing, so it
//! travels as one record). The API has already parsed and validated every statement, assigned ids,
//! `authority` and `version`, and computed the index keys, so ingest never re-parses JSON.
//!
//! Wire format (all integers little-endian), version 1:
//!
//! ```text
//! u8   format version (= 1)
//! u16  tenant length, tenant bytes (UTF-8)
//! i64  stored, microseconds since the Unix epoch (shared by every statement of the record)
//! u32  statement count, then per statement:
//!      [16] id
//!      …    index keys, in the layout of `keys_codec.rs` with one-byte counts
//!      u8   1 if a study fact follows, else 0        (format version 2 only)
//!      i32  local day, [81] the `StudyFact`           (format version 2, if the flag is 1)
//!      u32  body length, body bytes (statement JSON without `stored`)
//! ```
//!
//! Version 2 adds the study-log fact of each statement (issue 11); an envelope none of whose
//! statements has one is still written as version 1, and both are read.
//!
//! The format is pinned by a golden test; change it only by adding a new version number.

use std::fmt;

use uuid::Uuid;

use crate::keys_codec::{
    ByteReader, CountWidth, KeysCodecError, read_index_keys, write_index_keys,
};
use crate::study_fact::{StudyFact, StudyRow};

/// A fixed-size key standing for an IRI or an agent identifier in index tables.
///
/// It is the 128-bit xxh3 hash of the canonical string, so index entries stay small and sort
/// uniformly, whatever the length of the IRI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key16(pub [u8; 16]);

impl Key16 {
    /// Hashes a canonical term (an activity IRI, a verb IRI, or an agent's canonical identifier).
    pub fn of(term: &str) -> Self {
        Key16(xxhash_rust::xxh3::xxh3_128(term.as_bytes()).to_be_bytes())
    }
}

impl fmt::Debug for Key16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key16({})", hex::encode(self.0))
    }
}

/// The terms of one statement that queries filter on, as canonical strings.
///
/// Agents are written as their canonical inverse functional identifier (see
/// `Agent::canonical_ifi` in this crate); activities and verbs as their IRI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexTerms {
    pub verb: String,
    pub authority: String,
    pub registration: Option<Uuid>,
    pub voids: Option<Uuid>,
    /// The target when the object is a StatementRef (voiding or not): xAPI Communication §2.1.3
    /// "Filter Conditions for StatementRefs" lets such a statement match its target's filters.
    pub refers_to: Option<Uuid>,
    pub direct_agents: Vec<String>,
    pub related_agents: Vec<String>,
    pub direct_activities: Vec<String>,
    pub related_activities: Vec<String>,
}

/// The hashed form of [`IndexTerms`]: what index tables are keyed by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKeys {
    pub verb: Key16,
    pub authority: Key16,
    pub registration: Option<Uuid>,
    pub voids: Option<Uuid>,
    pub refers_to: Option<Uuid>,
    pub direct_agents: Vec<Key16>,
    pub related_agents: Vec<Key16>,
    pub direct_activities: Vec<Key16>,
    pub related_activities: Vec<Key16>,
}

fn hash_all(terms: &[String]) -> Vec<Key16> {
    let mut keys: Vec<Key16> = terms.iter().map(|t| Key16::of(t)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

impl IndexKeys {
    /// The four key lists, in layout order: direct agents, related agents, direct activities,
    /// related activities.
    pub fn lists(&self) -> [&Vec<Key16>; 4] {
        [
            &self.direct_agents,
            &self.related_agents,
            &self.direct_activities,
            &self.related_activities,
        ]
    }

    pub fn from_terms(terms: &IndexTerms) -> Self {
        IndexKeys {
            verb: Key16::of(&terms.verb),
            authority: Key16::of(&terms.authority),
            registration: terms.registration,
            voids: terms.voids,
            refers_to: terms.refers_to,
            direct_agents: hash_all(&terms.direct_agents),
            related_agents: hash_all(&terms.related_agents),
            direct_activities: hash_all(&terms.direct_activities),
            related_activities: hash_all(&terms.related_activities),
        }
    }
}

/// One statement inside an envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeStatement {
    pub id: Uuid,
    pub keys: IndexKeys,
    /// The statement as JSON (exact format), with `id`, `authority` and `version` set and without
    /// `stored`, which is carried once per envelope and spliced in when the statement is read.
    pub body: Vec<u8>,
    /// What the statement contributes to the study-log aggregates (none for a voiding statement,
    /// or a record of format version 1).
    pub study: Option<StudyRow>,
}

/// One log record: the statements of one accepted request.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementEnvelope {
    pub tenant: String,
    /// Microseconds since the Unix epoch.
    pub stored: i64,
    pub statements: Vec<EnvelopeStatement>,
}

/// Why an envelope could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("log record is truncated")]
    Truncated,
    #[error("unknown log record format version {0}")]
    UnknownVersion(u8),
    #[error("tenant in log record is not UTF-8")]
    TenantNotUtf8,
    #[error("log record has {0} bytes after its end")]
    TrailingBytes(usize),
    #[error("too many index keys ({0}) for one statement; at most 255 per kind")]
    TooManyKeys(usize),
}

const FORMAT_VERSION: u8 = 1;
const FORMAT_VERSION_STUDY: u8 = 2;

impl From<KeysCodecError> for EnvelopeError {
    fn from(err: KeysCodecError) -> Self {
        match err {
            KeysCodecError::Truncated => EnvelopeError::Truncated,
            KeysCodecError::TooManyKeys(n) => EnvelopeError::TooManyKeys(n),
        }
    }
}

impl StatementEnvelope {
    /// Serializes the envelope (format version 1).
    pub fn encode(&self) -> Result<Vec<u8>, EnvelopeError> {
        let body_len: usize = self.statements.iter().map(|s| s.body.len() + 128).sum();
        let mut out = Vec::with_capacity(32 + self.tenant.len() + body_len);
        let study = self.statements.iter().any(|s| s.study.is_some());
        out.push(if study {
            FORMAT_VERSION_STUDY
        } else {
            FORMAT_VERSION
        });
        out.extend_from_slice(&(self.tenant.len() as u16).to_le_bytes());
        out.extend_from_slice(self.tenant.as_bytes());
        out.extend_from_slice(&self.stored.to_le_bytes());
        out.extend_from_slice(&(self.statements.len() as u32).to_le_bytes());
        for s in &self.statements {
            out.extend_from_slice(s.id.as_bytes());
            write_index_keys(&mut out, &s.keys, CountWidth::One)?;
            if study {
                match &s.study {
                    None => out.push(0),
                    Some(row) => {
                        out.push(1);
                        out.extend_from_slice(&row.day.to_le_bytes());
                        row.fact.encode_into(&mut out);
                    }
                }
            }
            out.extend_from_slice(&(s.body.len() as u32).to_le_bytes());
            out.extend_from_slice(&s.body);
        }
        Ok(out)
    }

    /// Parses an envelope written by [`StatementEnvelope::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let mut r = ByteReader::new(bytes);
        let version = r.u8()?;
        if version != FORMAT_VERSION && version != FORMAT_VERSION_STUDY {
            return Err(EnvelopeError::UnknownVersion(version));
        }
        let tenant_len = u16::from_le_bytes(r.array()?) as usize;
        let tenant = std::str::from_utf8(r.take(tenant_len)?)
            .map_err(|_| EnvelopeError::TenantNotUtf8)?
            .to_owned();
        let stored = i64::from_le_bytes(r.array()?);
        let count = u32::from_le_bytes(r.array()?) as usize;
        let mut statements = Vec::with_capacity(count.min(100_000));
        for _ in 0..count {
            let id = Uuid::from_bytes(r.array()?);
            let keys = read_index_keys(&mut r, CountWidth::One)?;
            let study = if version == FORMAT_VERSION_STUDY && r.u8()? == 1 {
                let day = i32::from_le_bytes(r.array()?);
                let fact = StudyFact::decode_from(&mut r)?;
                Some(StudyRow { day, fact })
            } else {
                None
            };
            let body_len = u32::from_le_bytes(r.array()?) as usize;
            let body = r.take(body_len)?.to_vec();
            statements.push(EnvelopeStatement {
                id,
                keys,
                body,
                study,
            });
        }
        if r.remaining() != 0 {
            return Err(EnvelopeError::TrailingBytes(r.remaining()));
        }
        Ok(StatementEnvelope {
            tenant,
            stored,
            statements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StatementEnvelope {
        let terms = IndexTerms {
            verb: "http://adlnet.gov/expapi/verbs/answered".into(),
            authority: "account::https://lrs.example.jp::tool-a".into(),
            registration: Some(Uuid::from_u128(0xa7d3e1f0_5c2b_4b8e_9f61_7e2d4c9a0b13)),
            voids: None,
            refers_to: None,
            direct_agents: vec!["account::https://eportal.example.jp::3f0c9a7e".into()],
            related_agents: vec![
                "account::https://eportal.example.jp::3f0c9a7e".into(),
                "account::https://lrs.example.jp::tool-a".into(),
            ],
            direct_activities: vec!["https://drill.example.jp/items/sci-p4-moon-003".into()],
            related_activities: vec![
                "https://drill.example.jp/items/sci-p4-moon-003".into(),
                "https://drill.example.jp/sets/sci-p4-moon".into(),
            ],
        };
        StatementEnvelope {
            tenant: "board-131016".into(),
            stored: 1_760_404_365_123_456,
            statements: vec![EnvelopeStatement {
                id: Uuid::from_u128(0x6f1c2a4e_8b3d_4e7a_9c10_2d5f7a8b9c01),
                keys: IndexKeys::from_terms(&terms),
                body: br#"{"id":"6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01"}"#.to_vec(),
                study: None,
            }],
        }
    }

    #[test]
    fn an_envelope_round_trips() {
        let mut env = sample();
        let bytes = env.encode().unwrap();
        assert_eq!(StatementEnvelope::decode(&bytes).unwrap(), env);
        env.statements[0].keys.refers_to = Some(Uuid::from_u128(7));
        env.statements[0].keys.voids = Some(Uuid::from_u128(7));
        let bytes = env.encode().unwrap();
        assert_eq!(StatementEnvelope::decode(&bytes).unwrap(), env);
    }

    #[test]
    fn the_version_1_wire_format_never_changes() {
        let bytes = sample().encode().unwrap();
        let golden = include_str!("../tests/fixtures/envelope-v1.hex").trim();
        assert_eq!(hex::encode(&bytes), golden);
    }

    #[test]
    fn an_envelope_with_study_facts_is_version_2_and_round_trips() {
        let mut env = sample();
        let fact = StudyFact {
            timestamp: 1_760_404_365_000_000,
            actor: Key16::of("account::https://eportal.example.jp::3f0c9a7e"),
            tool: crate::DimKey::of("drill"),
            verb: crate::DimKey::of("http://adlnet.gov/expapi/verbs/answered"),
            activity: crate::DimKey::NONE,
            activity_type: crate::DimKey::NONE,
            subject: crate::DimKey::of("算数"),
            curriculum_code: crate::DimKey::NONE,
            duration_ms: Some(1_500),
            success: Some(true),
            completion: None,
            scaled: Some(0.5),
        };
        let second = EnvelopeStatement {
            id: Uuid::from_u128(2),
            study: Some(StudyRow { day: 20_375, fact }),
            ..env.statements[0].clone()
        };
        env.statements.push(second);
        let bytes = env.encode().unwrap();
        assert_eq!(bytes[0], 2);
        assert_eq!(StatementEnvelope::decode(&bytes).unwrap(), env);
        for cut in 0..bytes.len() {
            assert!(
                StatementEnvelope::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_truncated_envelope_is_an_error_not_a_panic() {
        let bytes = sample().encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(
                StatementEnvelope::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_unknown_version_is_rejected() {
        let mut bytes = sample().encode().unwrap();
        bytes[0] = 9;
        assert_eq!(
            StatementEnvelope::decode(&bytes),
            Err(EnvelopeError::UnknownVersion(9))
        );
    }
}
