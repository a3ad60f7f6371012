//! Byte encodings shared by every backend: the index keys of a statement (the one layout of
//! `lrs_schema::keys_codec`, with two-byte counts) and a bounds-checked [`Reader`] for versioned
//! values.
//!
//! The index keys are part of the embedded `statements` value (see `embedded/codec.rs`) and,
//! after a version byte, of the wide-column `keys` and `inherited` blobs ([`encode_keys_blob`]).

use lrs_schema::envelope::IndexKeys;
use lrs_schema::keys_codec::{
    ByteReader, CountWidth, KeysCodecError, read_index_keys, write_index_keys,
};

use crate::{StoreError, StoreErrorKind};

/// Version byte of the wide-column `keys` blob (used by the PostgreSQL and ScyllaDB stores). Version 1 (a big-endian layout of the first
/// PostgreSQL store, never released) is not read.
#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
const KEYS_BLOB_V2: u8 = 2;

pub(crate) fn corrupt(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, message)
}

/// Appends the index keys (two-byte counts) to `out`.
pub(crate) fn encode_keys(out: &mut Vec<u8>, keys: &IndexKeys) -> Result<(), StoreError> {
    write_index_keys(out, keys, CountWidth::Two).map_err(|e| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("statement index keys: {e}"),
        )
    })
}

/// Reads the index keys written by [`encode_keys`].
pub(crate) fn decode_keys(r: &mut Reader<'_>) -> Result<IndexKeys, StoreError> {
    let what = r.what;
    read_index_keys(&mut r.bytes, CountWidth::Two).map_err(|e| truncated(what, e))
}

#[cfg_attr(not(any(feature = "postgres", feature = "scylla")), allow(dead_code))]
/// The wide-column `keys` (and `inherited`) blob: [`KEYS_BLOB_V2`], then the index keys layout.
pub(crate) fn encode_keys_blob(keys: &IndexKeys) -> Result<Vec<u8>, StoreError> {
    let count: usize = keys.lists().iter().map(|l| l.len()).sum();
    let mut out = Vec::with_capacity(64 + 16 * count);
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

fn truncated(what: &str, err: KeysCodecError) -> StoreError {
    corrupt(format!("{what} value: {err}"))
}

/// Reads a value front to back; running out of bytes is [`StoreErrorKind::Corrupt`] naming
/// `what`, never a panic.
pub(crate) struct Reader<'a> {
    bytes: ByteReader<'a>,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader {
            bytes: ByteReader::new(bytes),
            what,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        self.bytes.take(n).map_err(|e| truncated(self.what, e))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        self.bytes.array().map_err(|e| truncated(self.what, e))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, StoreError> {
        self.bytes.u8().map_err(|e| truncated(self.what, e))
    }

    /// A `u16` little-endian length, then that many bytes of UTF-8.
    pub(crate) fn string(&mut self) -> Result<String, StoreError> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| corrupt(format!("{} value holds a non-UTF-8 string", self.what)))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        self.bytes.rest()
    }
}

#[cfg(test)]
mod tests {
    use lrs_schema::envelope::Key16;
    use uuid::Uuid;

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
