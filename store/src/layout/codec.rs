//! Byte encodings shared by every backend: the index keys of a statement ([`encode_keys`]) and a
//! bounds-checked [`Reader`] for versioned values.
//!
//! Index keys layout (integers little-endian), part of the embedded `statements` value (see
//! `embedded/codec.rs`) and, after a version byte, of the wide-column `keys` and `inherited` blobs
//! ([`encode_keys_blob`]):
//!
//! ```text
//! u8   flags (bit 0: has voids target; bit 1: has registration; bit 2: refers to a statement)
//! [16] voided target id            (if bit 0)
//! [16] registration                (if bit 1)
//! [16] StatementRef target id      (if bit 2)
//! [16] verb key
//! [16] authority key
//! u16  n, n × [16]  direct agent keys
//! u16  n, n × [16]  related agent keys
//! u16  n, n × [16]  direct activity keys
//! u16  n, n × [16]  related activity keys
//! ```

use lrs_schema::envelope::{IndexKeys, Key16};
use uuid::Uuid;

use crate::{StoreError, StoreErrorKind};

const FLAG_VOIDS: u8 = 1;
const FLAG_REGISTRATION: u8 = 2;
const FLAG_REFERS: u8 = 4;

/// Version byte of the wide-column `keys` blob (used by the PostgreSQL and ScyllaDB stores). Version 1 (a big-endian layout of the first
/// PostgreSQL store, never released) is not read.
#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
const KEYS_BLOB_V2: u8 = 2;

pub(crate) fn corrupt(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, message)
}

/// Appends the index keys layout (see the module documentation) to `out`.
pub(crate) fn encode_keys(out: &mut Vec<u8>, keys: &IndexKeys) -> Result<(), StoreError> {
    let mut flags = 0;
    if keys.voids.is_some() {
        flags |= FLAG_VOIDS;
    }
    if keys.registration.is_some() {
        flags |= FLAG_REGISTRATION;
    }
    if keys.refers_to.is_some() {
        flags |= FLAG_REFERS;
    }
    out.push(flags);
    for id in [keys.voids, keys.registration, keys.refers_to]
        .into_iter()
        .flatten()
    {
        out.extend_from_slice(id.as_bytes());
    }
    out.extend_from_slice(&keys.verb.0);
    out.extend_from_slice(&keys.authority.0);
    for list in [
        &keys.direct_agents,
        &keys.related_agents,
        &keys.direct_activities,
        &keys.related_activities,
    ] {
        let n = u16::try_from(list.len()).map_err(|_| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!("{} index keys of one kind in one statement", list.len()),
            )
        })?;
        out.extend_from_slice(&n.to_le_bytes());
        for key in list {
            out.extend_from_slice(&key.0);
        }
    }
    Ok(())
}

/// Reads the index keys layout written by [`encode_keys`].
pub(crate) fn decode_keys(r: &mut Reader<'_>) -> Result<IndexKeys, StoreError> {
    let flags = r.u8()?;
    let mut optional_id = |bit: u8| -> Result<Option<Uuid>, StoreError> {
        if flags & bit != 0 {
            Ok(Some(Uuid::from_bytes(r.array()?)))
        } else {
            Ok(None)
        }
    };
    let voids = optional_id(FLAG_VOIDS)?;
    let registration = optional_id(FLAG_REGISTRATION)?;
    let refers_to = optional_id(FLAG_REFERS)?;
    let verb = Key16(r.array()?);
    let authority = Key16(r.array()?);
    let mut lists: [Vec<Key16>; 4] = Default::default();
    for list in &mut lists {
        let n = u16::from_le_bytes(r.array()?) as usize;
        list.reserve(n);
        for _ in 0..n {
            list.push(Key16(r.array()?));
        }
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
        registration,
        voids,
        refers_to,
        direct_agents,
        related_agents,
        direct_activities,
        related_activities,
    })
}

#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
/// The wide-column `keys` (and `inherited`) blob: [`KEYS_BLOB_V2`], then the index keys layout.
pub(crate) fn encode_keys_blob(keys: &IndexKeys) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(
        64 + 16
            * (keys.direct_agents.len()
                + keys.related_agents.len()
                + keys.direct_activities.len()
                + keys.related_activities.len()),
    );
    out.push(KEYS_BLOB_V2);
    encode_keys(&mut out, keys)?;
    Ok(out)
}

#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
pub(crate) fn decode_keys_blob(bytes: &[u8]) -> Result<IndexKeys, StoreError> {
    let mut r = Reader::new(bytes, "keys");
    let version = r.u8()?;
    if version != KEYS_BLOB_V2 {
        return Err(corrupt(format!("unknown keys blob version {version}")));
    }
    let keys = decode_keys(&mut r)?;
    if !r.rest().is_empty() {
        return Err(corrupt("trailing bytes in keys blob".into()));
    }
    Ok(keys)
}

/// Reads a value front to back; running out of bytes is [`StoreErrorKind::Corrupt`] naming
/// `what`, never a panic.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| corrupt(format!("{} value is truncated", self.what)))?;
        self.pos += n;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    /// A `u16` little-endian length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self) -> Result<String, StoreError> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| corrupt(format!("{} value holds a non-UTF-8 string", self.what)))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        rest
    }
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
            assert_eq!(
                decode_keys_blob(&encode_keys_blob(&keys).unwrap()).unwrap(),
                keys
            );
        }
    }

    #[test]
    fn the_version_2_keys_blob_never_changes() {
        let keys = IndexKeys {
            verb: Key16([1; 16]),
            authority: Key16([2; 16]),
            registration: Some(Uuid::from_u128(3)),
            direct_agents: vec![Key16([5; 16])],
            ..IndexKeys::default()
        };
        let hex: String = encode_keys_blob(&keys)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let golden = "0202\
            00000000000000000000000000000003\
            01010101010101010101010101010101\
            02020202020202020202020202020202\
            010005050505050505050505050505050505\
            000000000000";
        assert_eq!(hex, golden);
    }

    #[test]
    fn a_keys_blob_of_another_version_or_with_trailing_bytes_is_corrupt() {
        let mut blob = encode_keys_blob(&IndexKeys::default()).unwrap();
        blob.push(0);
        assert_eq!(
            decode_keys_blob(&blob).unwrap_err().kind(),
            StoreErrorKind::Corrupt
        );
        blob.pop();
        blob[0] = 1;
        assert_eq!(
            decode_keys_blob(&blob).unwrap_err().kind(),
            StoreErrorKind::Corrupt
        );
    }
}
