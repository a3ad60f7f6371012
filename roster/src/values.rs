//! The typed values of roster records: identifiers, grades, hashed mailboxes, instants.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha1::{Digest, Sha1};

/// A OneRoster `sourcedId` (or `userMasterIdentifier`): a non-empty string without control
/// characters, compared exactly.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourcedId(Box<str>);

impl SourcedId {
    pub fn parse(text: &str) -> Option<SourcedId> {
        (!text.is_empty() && !text.chars().any(char::is_control)).then(|| SourcedId(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id the roster already holds (so it was parsed once).
    pub(crate) fn known(text: &str) -> SourcedId {
        SourcedId(text.into())
    }
}

impl fmt::Debug for SourcedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SourcedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SourcedId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SourcedId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for SourcedId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SourcedId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SourcedId, D::Error> {
        let text = String::deserialize(deserializer)?;
        SourcedId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad sourcedId {text:?}")))
    }
}

/// A grade code, 1–15 ASCII letters, digits or `-`: the Japan Profile's `P1`–`P6`, `J1`–`J3`,
/// `H1`–`H3`, or CEDS codes (`KG`, `01`…). Stored inline (`Copy`), so a user costs no allocation
/// for it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grade {
    len: u8,
    bytes: [u8; 15],
}

impl Grade {
    pub fn parse(text: &str) -> Option<Grade> {
        let ok = (1..=15).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| {
            let mut bytes = [0; 15];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Grade {
                len: text.len() as u8,
                bytes,
            }
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("ASCII by construction")
    }
}

impl fmt::Debug for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Grade {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Grade {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Grade, D::Error> {
        let text = String::deserialize(deserializer)?;
        Grade::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("bad grade {text:?}")))
    }
}

/// The SHA-1 of a user's `mailto:` IRI, the form xAPI's `mbox_sha1sum` carries (xAPI 1.0.3
/// Data §2.4.2.3). The roster keeps this instead of the address, so both `mbox` and
/// `mbox_sha1sum` actors can be matched without holding the email.
///
/// The IRI hashed is canonical: `mailto:` + local part + `@` + the domain in lowercase (the
/// domain is case insensitive), as `lrs_schema::Mbox::canonical` writes it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MboxSha1([u8; 20]);

impl MboxSha1 {
    /// From a bare address (`users.csv`'s `email`); `None` unless it is `local@domain` with no
    /// whitespace.
    pub fn from_email(address: &str) -> Option<MboxSha1> {
        let at = address.rfind('@')?;
        let (local, domain) = (&address[..at], &address[at + 1..]);
        let plausible = !local.is_empty()
            && !domain.is_empty()
            && !address.chars().any(|c| c.is_whitespace() || c.is_control());
        plausible.then(|| {
            let canonical = format!("mailto:{local}@{}", domain.to_ascii_lowercase());
            MboxSha1(Sha1::digest(canonical.as_bytes()).into())
        })
    }

    /// From an xAPI `mbox` (`mailto:` IRI, scheme in any case).
    pub fn from_mbox(mbox: &str) -> Option<MboxSha1> {
        let scheme = mbox.get(..7)?;
        scheme
            .eq_ignore_ascii_case("mailto:")
            .then(|| MboxSha1::from_email(&mbox[7..]))?
    }

    /// From an xAPI `mbox_sha1sum` (40 hexadecimal digits, either case).
    pub fn from_hex(hex_digits: &str) -> Option<MboxSha1> {
        let mut bytes = [0; 20];
        hex::decode_to_slice(hex_digits, &mut bytes).ok()?;
        Some(MboxSha1(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for MboxSha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MboxSha1({})", self.to_hex())
    }
}

impl Serialize for MboxSha1 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for MboxSha1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MboxSha1, D::Error> {
        let text = String::deserialize(deserializer)?;
        MboxSha1::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad SHA-1 {text:?}")))
    }
}

/// An instant, in microseconds since the Unix epoch (as `lrs_schema` timestamps), written as
/// RFC 3339 UTC with microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(i64);

impl UtcTime {
    pub fn from_micros(micros: i64) -> UtcTime {
        UtcTime(micros)
    }

    /// An ISO 8601 date-time (`2025-04-01T00:00:00.000Z`; an offset is honoured, none means UTC).
    pub fn parse(text: &str) -> Option<UtcTime> {
        lrs_schema::parse_timestamp(text).ok().map(UtcTime)
    }

    pub fn micros(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lrs_schema::format_timestamp(self.0))
    }
}

impl Serialize for UtcTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UtcTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        UtcTime::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_hashes_agree_between_email_mbox_and_sha1sum() {
        let from_csv = MboxSha1::from_email("Taro.Yamada@Example.JP").unwrap();
        let from_mbox = MboxSha1::from_mbox("MAILTO:Taro.Yamada@example.jp").unwrap();
        assert_eq!(from_csv, from_mbox);
        // sha1("mailto:Taro.Yamada@example.jp"), computed independently with sha1sum(1).
        assert_eq!(
            from_csv.to_hex(),
            "b1c48a7012025751ca9c5e51860f6dd250c31103"
        );
        let by_hex = MboxSha1::from_hex(&from_csv.to_hex().to_uppercase()).unwrap();
        assert_eq!(by_hex, from_csv);
        assert_ne!(
            MboxSha1::from_email("taro.yamada@example.jp"),
            Some(from_csv)
        );
        assert_eq!(MboxSha1::from_email("not an address"), None);
        assert_eq!(MboxSha1::from_mbox("taro@example.jp"), None);
        assert_eq!(MboxSha1::from_hex("abc"), None);
    }

    #[test]
    fn grades_are_short_ascii_codes() {
        assert_eq!(Grade::parse("P4").unwrap().as_str(), "P4");
        assert!(Grade::parse("").is_none());
        assert!(Grade::parse("P 4").is_none());
        assert!(Grade::parse("小4").is_none());
        assert!(Grade::parse("ABCDEFGHIJKLMNOP").is_none());
    }

    #[test]
    fn sourced_ids_are_non_empty_without_control_characters() {
        assert!(SourcedId::parse("").is_none());
        assert!(SourcedId::parse("a\nb").is_none());
        assert_eq!(SourcedId::parse("学級-1").unwrap().as_str(), "学級-1");
    }
}
