//! UUIDs in the standard string form xAPI requires.

use uuid::Uuid;

use crate::error::ValidationError;
use crate::path::JsonPath;

pub(crate) const UUID_RULE: &str =
    "xAPI 1.0.3 Data §4.4: UUIDs MUST be in the standard string form";

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits of either case), and nothing else:
/// no braces, no `urn:uuid:` prefix, no simple (hyphen-less) form.
pub(crate) fn parse_uuid(value: &str, path: &JsonPath<'_>) -> Result<Uuid, ValidationError> {
    let bytes = value.as_bytes();
    let standard = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    let parsed = if standard {
        Uuid::try_parse(value).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        ValidationError::new(
            UUID_RULE,
            path,
            format!("\"{value}\" is not a UUID in standard form"),
        )
    })
}

/// Whether two strings are the same UUID, whatever the case of their hex digits.
pub(crate) fn same_uuid(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
