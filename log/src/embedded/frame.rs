//! The on-disk frame of one record; this format must never change silently (see the golden tests).
//!
//! ```text
//! byte  size  field
//! 0     4     len:   u32 little-endian, length of the payload as stored
//! 4     4     crc:   u32 little-endian, CRC-32 (IEEE 802.3, as `crc32fast`) of the payload as stored
//! 8     1     flags: high nibble = format version (1); bit 0 = compressed; other bits zero
//! 9     len   payload as stored
//! ```
//!
//! A compressed payload is stored as `[u32 little-endian uncompressed length][lz4 block]`
//! (`lz4_flex::block::compress_prepend_size`). A record is stored compressed only when that is
//! smaller than the original.
//!
//! The version nibble makes an all-zero header invalid: a zero-filled tail left by a crash (the
//! file grew but its data never reached the disk) is never mistaken for empty records.
//!
//! Offsets are not stored: a record's offset is its segment's base offset plus its index there.

use bytes::Bytes;

use crate::{LogError, LogErrorKind};

/// Bytes before the payload.
pub(crate) const HEADER_LEN: usize = 9;

const VERSION_1: u8 = 0x10;
const VERSION_MASK: u8 = 0xF0;
const COMPRESSED: u8 = 0x01;

/// The decoded fixed part of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub stored_len: u32,
    pub crc: u32,
    pub compressed: bool,
}

impl FrameHeader {
    /// Parses a header, rejecting unknown versions and flags. `None` means "not a frame".
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let bytes: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        let flags = bytes[8];
        if flags & VERSION_MASK != VERSION_1 || flags & !(VERSION_MASK | COMPRESSED) != 0 {
            return None;
        }
        Some(FrameHeader {
            stored_len: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            crc: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            compressed: flags & COMPRESSED != 0,
        })
    }

    /// Header plus payload.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.stored_len as usize
    }

    /// Whether `stored` is the intact payload this header describes.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == self.stored_len as usize && crc32fast::hash(stored) == self.crc
    }

    /// Checks the CRC of the stored payload and returns the original record.
    pub fn decode(&self, stored: &[u8]) -> Result<Bytes, LogError> {
        if !self.matches(stored) {
            return Err(LogError::new(
                LogErrorKind::Corrupt,
                "record checksum mismatch",
            ));
        }
        if !self.compressed {
            return Ok(Bytes::copy_from_slice(stored));
        }
        lz4_flex::block::decompress_size_prepended(stored)
            .map(Bytes::from)
            .map_err(|err| {
                LogError::new(
                    LogErrorKind::Corrupt,
                    format!("record decompression failed: {err}"),
                )
            })
    }
}

/// Encodes one record as a frame, compressing it when asked and when that saves space.
///
/// Fails only for a record larger than the format allows (4 GiB).
pub(crate) fn encode(payload: &[u8], compress: bool) -> Result<Vec<u8>, LogError> {
    let uncompressed_len = u32::try_from(payload.len()).map_err(|_| {
        LogError::new(
            LogErrorKind::Config,
            format!("record of {} bytes exceeds the 4 GiB limit", payload.len()),
        )
    })?;
    if compress && let Some(frame) = encode_compressed(payload, uncompressed_len) {
        return Ok(frame);
    }
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&uncompressed_len.to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    frame.push(VERSION_1);
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// The compressed frame, or `None` when compression does not make the record smaller.
fn encode_compressed(payload: &[u8], uncompressed_len: u32) -> Option<Vec<u8>> {
    let body_start = HEADER_LEN + 4;
    let mut frame = vec![0u8; body_start + lz4_flex::block::get_maximum_output_size(payload.len())];
    let compressed_len = lz4_flex::block::compress_into(payload, &mut frame[body_start..]).ok()?;
    let stored_len = 4 + compressed_len;
    if stored_len >= payload.len() {
        return None;
    }
    frame.truncate(HEADER_LEN + stored_len);
    frame[HEADER_LEN..body_start].copy_from_slice(&uncompressed_len.to_le_bytes());
    let crc = crc32fast::hash(&frame[HEADER_LEN..]);
    frame[0..4].copy_from_slice(&(stored_len as u32).to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame[8] = VERSION_1 | COMPRESSED;
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_frame(frame: &[u8]) -> Bytes {
        let header = FrameHeader::parse(frame).expect("a valid header");
        assert_eq!(header.frame_len(), frame.len());
        header
            .decode(&frame[HEADER_LEN..])
            .expect("an intact frame")
    }

    #[test]
    fn an_uncompressed_frame_has_the_documented_bytes() {
        let frame = encode(b"hello", false).unwrap();
        let mut expected = vec![5, 0, 0, 0];
        expected.extend_from_slice(&0x3610_a686_u32.to_le_bytes()); // CRC-32 of "hello"
        expected.push(0x10);
        expected.extend_from_slice(b"hello");
        assert_eq!(frame, expected);
    }

    #[test]
    fn a_compressible_record_round_trips_through_a_smaller_compressed_frame() {
        let payload = "{\"verb\":\"completed\"}".repeat(100);
        let frame = encode(payload.as_bytes(), true).unwrap();
        assert!(frame.len() < payload.len());
        assert_eq!(frame[8], 0x11);
        assert_eq!(decode_frame(&frame), payload.as_bytes());
    }

    #[test]
    fn an_incompressible_record_is_stored_uncompressed() {
        let frame = encode(b"abc", true).unwrap();
        assert_eq!(frame[8], 0x10);
        assert_eq!(decode_frame(&frame), &b"abc"[..]);
    }

    #[test]
    fn an_all_zero_header_is_not_a_frame() {
        assert_eq!(FrameHeader::parse(&[0; HEADER_LEN]), None);
    }

    #[test]
    fn a_flipped_payload_bit_is_detected() {
        let mut frame = encode(b"hello", false).unwrap();
        frame[HEADER_LEN] ^= 1;
        let header = FrameHeader::parse(&frame).unwrap();
        let err = header.decode(&frame[HEADER_LEN..]).unwrap_err();
        assert_eq!(err.kind(), LogErrorKind::Corrupt);
    }
}
