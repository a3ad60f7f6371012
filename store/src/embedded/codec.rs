//! Value encodings of the embedded tables. Each starts with a format version byte; a new layout
//! gets a new version and the decoder keeps reading the old ones. (Key layouts are versioned
//! separately: `keys::KEY_LAYOUT`, recorded in the `meta` table.)
//!
//! `statements` value, version 2 (integers little-endian; version 1 lacks bit 2 and the
//! inherited keys, and is still read):
//!
//! ```text
//! u8   version (= 2)
//! i64  stored, microseconds since the Unix epoch
//! keys     index keys, the shared layout of `layout/codec.rs`
//! u8   1 if the keys inherited from the StatementRef target follow (same `keys` layout), else 0
//! u32  uncompressed body length, then the LZ4 block of the body (to the end of the value)
//! ```
//!
//! `documents` value, version 1: `u8` version, `i64` updated, `u16` length + content type,
//! `u16` length + etag, then the body (uncompressed; fjall compresses the blocks).
//!
//! `watermarks` value, version 1: `u8` version, `u64` next offset, `i64` stored.

use bytes::Bytes;
use lrs_schema::envelope::IndexKeys;

pub(crate) use crate::layout::codec::corrupt;
use crate::layout::codec::{Reader, decode_keys, encode_keys};
use crate::{Document, Micros, StoreError, StoreErrorKind};

const STATEMENT_V1: u8 = 1;
const STATEMENT_V2: u8 = 2;
const DOCUMENT_V1: u8 = 1;
const WATERMARK_V1: u8 = 1;

/// A decoded `statements` value.
pub(crate) struct StatementValue {
    pub stored: Micros,
    pub keys: IndexKeys,
    pub inherited: Option<IndexKeys>,
    pub body: Bytes,
}

pub(crate) fn encode_statement(
    stored: Micros,
    keys: &IndexKeys,
    inherited: Option<&IndexKeys>,
    body: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let compressed = lz4_flex::compress_prepend_size(body);
    let key_count = keys.direct_agents.len()
        + keys.related_agents.len()
        + keys.direct_activities.len()
        + keys.related_activities.len();
    let mut out = Vec::with_capacity(96 + 16 * key_count + compressed.len());
    out.push(STATEMENT_V2);
    out.extend_from_slice(&stored.to_le_bytes());
    encode_keys(&mut out, keys)?;
    match inherited {
        Some(inherited) => {
            out.push(1);
            encode_keys(&mut out, inherited)?;
        }
        None => out.push(0),
    }
    out.extend_from_slice(&compressed);
    Ok(out)
}

pub(crate) fn decode_statement(bytes: &[u8]) -> Result<StatementValue, StoreError> {
    let mut r = Reader::new(bytes, "statement");
    let version = r.u8()?;
    if version != STATEMENT_V1 && version != STATEMENT_V2 {
        return Err(corrupt(format!(
            "unknown statement value version {version}"
        )));
    }
    let stored = i64::from_le_bytes(r.array()?);
    let keys = decode_keys(&mut r)?;
    let inherited = if version == STATEMENT_V2 && r.u8()? == 1 {
        Some(decode_keys(&mut r)?)
    } else {
        None
    };
    let body = lz4_flex::decompress_size_prepended(r.rest())
        .map_err(|e| corrupt(format!("statement body does not decompress: {e}")))?;
    Ok(StatementValue {
        stored,
        keys,
        inherited,
        body: Bytes::from(body),
    })
}

pub(crate) fn encode_document(document: &Document) -> Result<Vec<u8>, StoreError> {
    let too_long = |what: &str| {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("document {what} longer than 65535 bytes"),
        )
    };
    let content_type_len =
        u16::try_from(document.content_type.len()).map_err(|_| too_long("content type"))?;
    let etag_len = u16::try_from(document.etag.len()).map_err(|_| too_long("etag"))?;
    let mut out = Vec::with_capacity(
        13 + document.content_type.len() + document.etag.len() + document.body.len(),
    );
    out.push(DOCUMENT_V1);
    out.extend_from_slice(&document.updated.to_le_bytes());
    out.extend_from_slice(&content_type_len.to_le_bytes());
    out.extend_from_slice(document.content_type.as_bytes());
    out.extend_from_slice(&etag_len.to_le_bytes());
    out.extend_from_slice(document.etag.as_bytes());
    out.extend_from_slice(&document.body);
    Ok(out)
}

pub(crate) fn decode_document(bytes: &[u8]) -> Result<Document, StoreError> {
    let mut r = Reader::new(bytes, "document");
    let version = r.u8()?;
    if version != DOCUMENT_V1 {
        return Err(corrupt(format!("unknown document value version {version}")));
    }
    let updated = i64::from_le_bytes(r.array()?);
    let content_type = r.string()?;
    let etag = r.string()?;
    Ok(Document {
        content_type,
        etag,
        updated,
        body: Bytes::copy_from_slice(r.rest()),
    })
}

/// Only the `updated` field of a document value, for listings.
pub(crate) fn document_updated(bytes: &[u8]) -> Result<Micros, StoreError> {
    let mut r = Reader::new(bytes, "document");
    let version = r.u8()?;
    if version != DOCUMENT_V1 {
        return Err(corrupt(format!("unknown document value version {version}")));
    }
    Ok(i64::from_le_bytes(r.array()?))
}

pub(crate) fn encode_watermark(next_offset: u64, stored: Micros) -> [u8; 17] {
    let mut out = [0u8; 17];
    out[0] = WATERMARK_V1;
    out[1..9].copy_from_slice(&next_offset.to_le_bytes());
    out[9..].copy_from_slice(&stored.to_le_bytes());
    out
}

pub(crate) fn decode_watermark(bytes: &[u8]) -> Result<(u64, Micros), StoreError> {
    let mut r = Reader::new(bytes, "watermark");
    let version = r.u8()?;
    if version != WATERMARK_V1 {
        return Err(corrupt(format!(
            "unknown watermark value version {version}"
        )));
    }
    let next_offset = u64::from_le_bytes(r.array()?);
    let stored = i64::from_le_bytes(r.array()?);
    Ok((next_offset, stored))
}

#[cfg(test)]
mod tests {
    use lrs_schema::envelope::Key16;
    use uuid::Uuid;

    use super::*;

    fn sample_keys() -> IndexKeys {
        IndexKeys {
            verb: Key16([1; 16]),
            authority: Key16([2; 16]),
            registration: Some(Uuid::from_u128(3)),
            voids: Some(Uuid::from_u128(4)),
            refers_to: None,
            direct_agents: vec![Key16([5; 16])],
            related_agents: vec![Key16([5; 16]), Key16([6; 16])],
            direct_activities: vec![],
            related_activities: vec![Key16([7; 16])],
        }
    }

    #[test]
    fn a_statement_value_round_trips() {
        let keys = sample_keys();
        let body = br#"{"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"}}"#;
        let bytes = encode_statement(-42, &keys, None, body).unwrap();
        let value = decode_statement(&bytes).unwrap();
        assert_eq!(value.stored, -42);
        assert_eq!(value.keys, keys);
        assert_eq!(value.inherited, None);
        assert_eq!(&value.body[..], &body[..]);
        let referring = IndexKeys {
            refers_to: Some(Uuid::from_u128(9)),
            ..keys.clone()
        };
        let bytes = encode_statement(5, &referring, Some(&keys), body).unwrap();
        let value = decode_statement(&bytes).unwrap();
        assert_eq!(value.keys, referring);
        assert_eq!(value.inherited, Some(keys));
    }

    #[test]
    fn the_version_2_statement_value_format_never_changes() {
        let bytes = encode_statement(1_760_404_365_123_456, &sample_keys(), None, b"{}").unwrap();
        let golden = "02801fd8141441060003\
            00000000000000000000000000000004\
            00000000000000000000000000000003\
            01010101010101010101010101010101\
            02020202020202020202020202020202\
            0100050505050505050505050505050505050200\
            0505050505050505050505050505050506060606060606060606060606060606\
            0000010007070707070707070707070707070707 00 0200000020 7b7d";
        assert_eq!(hex(&bytes), golden.replace(' ', ""));
    }

    #[test]
    fn version_1_statement_values_are_still_read() {
        let golden = "01801fd8141441060003\
            00000000000000000000000000000004\
            00000000000000000000000000000003\
            01010101010101010101010101010101\
            02020202020202020202020202020202\
            0100050505050505050505050505050505050200\
            0505050505050505050505050505050506060606060606060606060606060606\
            00000100070707070707070707070707070707070200000020 7b7d";
        let bytes: Vec<u8> = (0..golden.replace(' ', "").len() / 2)
            .map(|i| u8::from_str_radix(&golden.replace(' ', "")[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let value = decode_statement(&bytes).unwrap();
        assert_eq!(value.keys, sample_keys());
        assert_eq!(value.inherited, None);
        assert_eq!(&value.body[..], b"{}");
    }

    #[test]
    fn a_truncated_statement_value_is_corrupt_not_a_panic() {
        let bytes =
            encode_statement(7, &sample_keys(), Some(&sample_keys()), b"{\"a\":1}").unwrap();
        for cut in 0..bytes.len() {
            if let Err(e) = decode_statement(&bytes[..cut]) {
                assert_eq!(e.kind(), StoreErrorKind::Corrupt);
            } else {
                panic!("cut at {cut} decoded");
            }
        }
    }

    #[test]
    fn a_document_value_round_trips() {
        let document = Document {
            content_type: "application/json".into(),
            body: Bytes::from_static(b"{\"progress\":0.5}"),
            etag: "0123abcd".into(),
            updated: 99,
        };
        let bytes = encode_document(&document).unwrap();
        assert_eq!(decode_document(&bytes).unwrap(), document);
        assert_eq!(document_updated(&bytes).unwrap(), 99);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
