//! IRIs and IRLs: absolute identifiers with a scheme.

use std::fmt;

use crate::error::ValidationError;
use crate::limits::{IRI_LENGTH_RULE, MAX_IRI_BYTES};
use crate::path::JsonPath;

pub(crate) const IRI_RULE: &str = "xAPI 1.0.3 Data §2.2.s4.b1.b8 and §4.3: the LRS MUST reject IRI or IRL values without a scheme or not following the IRI format";

/// An absolute IRI (RFC 3987), checked best-effort as xAPI 1.0.3 Data §2.2.s4.b6 allows: a
/// scheme, a non-empty remainder, no whitespace or characters IRIs exclude, and well-formed
/// percent escapes. IRLs (`moreInfo`, `homePage`, `fileUrl`) use the same check.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iri(String);

impl Iri {
    /// Parses an IRI; the error path is `$`.
    pub fn parse(value: &str) -> Result<Iri, ValidationError> {
        Self::parse_at(value, &JsonPath::root("$"))
    }

    pub(crate) fn parse_at(value: &str, path: &JsonPath<'_>) -> Result<Iri, ValidationError> {
        if value.len() > MAX_IRI_BYTES {
            return Err(ValidationError::new(
                IRI_LENGTH_RULE,
                path,
                format!(
                    "the IRI is {} bytes long, more than {MAX_IRI_BYTES}",
                    value.len()
                ),
            ));
        }
        if is_absolute_iri(value) {
            Ok(Iri(value.to_owned()))
        } else {
            Err(ValidationError::new(
                IRI_RULE,
                path,
                format!("\"{value}\" is not an absolute IRI"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Iri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iri({})", self.0)
    }
}

impl fmt::Display for Iri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 3986 §3.1: `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, then `:`.
pub(crate) fn is_absolute_iri(value: &str) -> bool {
    let Some(colon) = value.find(':') else {
        return false;
    };
    let (scheme, rest) = (&value.as_bytes()[..colon], &value[colon + 1..]);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok && !rest.is_empty() && chars_ok(value)
}

fn chars_ok(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
            continue;
        }
        if b <= b' ' || b == 0x7f || b"<>\"{}|\\^`".contains(&b) {
            return false;
        }
        i += 1;
    }
    // Non-ASCII whitespace and controls are not IRI characters either (RFC 3987 §2.2 ucschar).
    value.is_ascii() || !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_iris_with_a_scheme_are_accepted() {
        for ok in [
            "http://adlnet.gov/expapi/verbs/answered",
            "https://drill.example.jp/items/理科-1",
            "urn:uuid:6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01",
            "tag:example.com,2025:x",
            "http://example.com/a%20b",
        ] {
            assert!(is_absolute_iri(ok), "{ok}");
        }
    }

    #[test]
    fn an_iri_may_be_as_long_as_the_limit_and_no_longer() {
        let longest = format!("https://example.jp/{}", "a".repeat(MAX_IRI_BYTES - 19));
        assert_eq!(longest.len(), MAX_IRI_BYTES);
        assert!(Iri::parse(&longest).is_ok());
        let err = Iri::parse(&format!("{longest}a")).unwrap_err();
        assert_eq!(err.rule(), IRI_LENGTH_RULE);
        assert!(err.message().contains("2049 bytes"), "{}", err.message());
    }

    #[test]
    fn relative_empty_and_spaced_iris_are_rejected() {
        for bad in [
            "",
            "answered",
            "/expapi/verbs",
            ":x",
            "1http://x",
            "http:",
            "http://exa mple.com",
            "http://example.com/%zz",
            "http://example.com/<a>",
        ] {
            assert!(!is_absolute_iri(bad), "{bad}");
        }
    }
}
