//! The one byte layout of a statement's [`IndexKeys`], shared by the log envelope
//! (`envelope.rs`) and every store backend (`lrs-store`'s `layout/codec.rs`), with the
//! bounds-checked [`ByteReader`] that reads it back.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! u8   flags (bit 0: has voids target; bit 1: has registration; bit 2: refers to a statement)
//! [16] voided target id            (if bit 0)
//! [16] registration                (if bit 1)
//! [16] StatementRef target id      (if bit 2)
//! [16] verb key
//! [16] authority key
//! n, n × [16]  direct agent keys     (actor; object when it is an Agent/Group)
//! n, n × [16]  related agent keys    (direct + context, authority, sub-statement)
//! n, n × [16]  direct activity keys  (object when it is an Activity)
//! n, n × [16]  related activity keys (direct + context activities, sub-statement)
//! ```
//!
//! `n` is one byte in the log envelope and two bytes in stored values ([`CountWidth`]); both
//! formats are pinned by golden tests where they are used.

use uuid::Uuid;

use crate::envelope::{IndexKeys, Key16};

const FLAG_VOIDS: u8 = 1;
const FLAG_REGISTRATION: u8 = 2;
const FLAG_REFERS: u8 = 4;

/// How the key-list counts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountWidth {
    /// One byte: at most 255 keys of one kind (the log envelope).
    One,
    /// Two bytes, little-endian: at most 65,535 (stored values).
    Two,
}

impl CountWidth {
    fn max(self) -> usize {
        match self {
            CountWidth::One => u8::MAX as usize,
            CountWidth::Two => u16::MAX as usize,
        }
    }
}

/// Why index keys could not be written or read.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum KeysCodecError {
    #[error("the bytes end in the middle of a value")]
    Truncated,
    #[error("too many index keys ({0}) of one kind for one statement")]
    TooManyKeys(usize),
}

/// Appends `keys` in the layout above.
pub fn write_index_keys(
    out: &mut Vec<u8>,
    keys: &IndexKeys,
    width: CountWidth,
) -> Result<(), KeysCodecError> {
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
    for list in keys.lists() {
        if list.len() > width.max() {
            return Err(KeysCodecError::TooManyKeys(list.len()));
        }
        match width {
            CountWidth::One => out.push(list.len() as u8),
            CountWidth::Two => out.extend_from_slice(&(list.len() as u16).to_le_bytes()),
        }
        for key in list {
            out.extend_from_slice(&key.0);
        }
    }
    Ok(())
}

/// Reads index keys written by [`write_index_keys`] with the same `width`.
pub fn read_index_keys(
    r: &mut ByteReader<'_>,
    width: CountWidth,
) -> Result<IndexKeys, KeysCodecError> {
    let flags = r.u8()?;
    let mut optional_id = |bit: u8| -> Result<Option<Uuid>, KeysCodecError> {
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
        let n = match width {
            CountWidth::One => r.u8()? as usize,
            CountWidth::Two => u16::from_le_bytes(r.array()?) as usize,
        };
        // Never reserve more than the bytes left could hold.
        list.reserve(n.min(r.remaining() / 16));
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

/// Reads bytes front to back; running out is [`KeysCodecError::Truncated`], never a panic.
pub struct ByteReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        ByteReader { bytes, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], KeysCodecError> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or(KeysCodecError::Truncated)?;
        self.pos += n;
        Ok(slice)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], KeysCodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, KeysCodecError> {
        Ok(self.take(1)?[0])
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The rest of the bytes (the reader is then at the end).
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::IndexTerms;

    fn keys() -> IndexKeys {
        IndexKeys::from_terms(&IndexTerms {
            verb: "http://adlnet.gov/expapi/verbs/answered".into(),
            authority: "account::https://lrs.example.jp::tool-a".into(),
            registration: Some(Uuid::from_u128(5)),
            voids: None,
            refers_to: Some(Uuid::from_u128(6)),
            direct_agents: vec!["mbox::mailto:a@example.jp".into()],
            related_agents: vec!["mbox::mailto:a@example.jp".into(), "x".into()],
            direct_activities: Vec::new(),
            related_activities: vec!["https://example.jp/a".into()],
        })
    }

    #[test]
    fn index_keys_round_trip_in_both_count_widths() {
        for width in [CountWidth::One, CountWidth::Two] {
            let mut out = Vec::new();
            write_index_keys(&mut out, &keys(), width).unwrap();
            let mut r = ByteReader::new(&out);
            assert_eq!(read_index_keys(&mut r, width).unwrap(), keys());
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn the_two_widths_differ_only_in_the_counts() {
        let (mut one, mut two) = (Vec::new(), Vec::new());
        write_index_keys(&mut one, &keys(), CountWidth::One).unwrap();
        write_index_keys(&mut two, &keys(), CountWidth::Two).unwrap();
        assert_eq!(two.len(), one.len() + 4);
    }

    #[test]
    fn more_keys_than_the_count_holds_is_an_error() {
        let mut many = keys();
        many.related_agents = vec![Key16([1; 16]); 256];
        let mut out = Vec::new();
        assert_eq!(
            write_index_keys(&mut out, &many, CountWidth::One),
            Err(KeysCodecError::TooManyKeys(256))
        );
        assert!(write_index_keys(&mut out, &many, CountWidth::Two).is_ok());
    }

    #[test]
    fn truncated_keys_are_an_error_not_a_panic() {
        let mut out = Vec::new();
        write_index_keys(&mut out, &keys(), CountWidth::Two).unwrap();
        for cut in 0..out.len() {
            let mut r = ByteReader::new(&out[..cut]);
            assert_eq!(
                read_index_keys(&mut r, CountWidth::Two),
                Err(KeysCodecError::Truncated),
                "cut at {cut}"
            );
        }
    }
}
