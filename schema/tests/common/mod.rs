//! The differential check of the fast write path against today's (issue 12): shared by the test
//! files that have statement corpora.

#![allow(dead_code)] // each test file uses part of it

use lrs_schema::{
    FastStatement, XapiVersion, finalize_statement, parse_statements, parse_statements_fast,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// What the LRS writes as `timestamp` when a statement has none (any fixed text will do).
pub const RECEIVED: &str = "2026-04-01T09:00:00.123456Z";

/// The authority the API sets (an OAuth-style anonymous Group, with non-ASCII text).
pub fn authority() -> Value {
    json!({"objectType": "Group", "member": [
        {"name": "学習ツール", "account": {"homePage": "https://lrs.example.jp", "name": "tool-1"}},
        {"mbox": "mailto:teacher@example.jp"}
    ]})
}

/// The id the LRS gives the statement at `index` when the client sent none.
pub fn assigned_id(index: usize) -> Uuid {
    Uuid::from_u128(0x5e1f_0000_0000_4000_8000_0000_0000_0000 + index as u128)
}

/// Today's stored form: what `lrs-api` prepare does with the `Value` (finalize, then a
/// `timestamp` when there is none, then serialise).
pub fn slow_stored(value: &Value, id: Uuid, version: XapiVersion) -> Vec<u8> {
    let mut value = value.clone();
    finalize_statement(&mut value, id, &authority(), version);
    if value.get("timestamp").is_none() {
        value
            .as_object_mut()
            .unwrap()
            .insert("timestamp".into(), RECEIVED.into());
    }
    serde_json::to_vec(&value).unwrap()
}

pub fn fast_stored(statement: &FastStatement<'_>, id: Uuid, version: XapiVersion) -> Vec<u8> {
    let authority = serde_json::to_vec(&authority()).unwrap();
    statement.stored_body(id, &authority, version, RECEIVED)
}

/// Outcome of one differential check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The fast path answered, and agreed with today's.
    Fast,
    /// The fast path declined (today's path answers, Ok or Err).
    Declined,
}

/// Runs both paths on `body` and panics unless they agree: the fast path accepts only what
/// today's path accepts, with an equal Statement, equal index terms, and stored bytes that parse
/// to today's stored JSON with the same keys in the same order. When `canonical` (the body is
/// spelled as serde_json writes, whitespace aside: no `\\/` or `\\u3042` escapes, numbers as
/// serde_json prints them) the stored bytes must be byte-equal to today's.
pub fn check(body: &[u8], version: XapiVersion, canonical: bool) -> Path {
    let slow = parse_statements(body, version);
    let Some(fast) = parse_statements_fast(body, version) else {
        return Path::Declined;
    };
    let shown = String::from_utf8_lossy(body);
    let slow = match slow {
        Ok(slow) => slow,
        Err(e) => panic!("the fast path accepted what today's path refuses ({e}): {shown}"),
    };
    assert_eq!(fast.len(), slow.len(), "statement count: {shown}");
    for (i, (f, (s, value))) in fast.iter().zip(&slow).enumerate() {
        assert_eq!(f.statement(), s, "statement {i}: {shown}");
        assert_eq!(
            f.statement().index_terms(),
            s.index_terms(),
            "index terms {i}: {shown}"
        );
        let id = s.id().unwrap_or_else(|| assigned_id(i));
        let want = slow_stored(value, id, version);
        let got = fast_stored(f, id, version);
        // Readers parse stored bodies with serde_json; today's path parsed the client's numbers
        // with simd-json (the same text is in the stored bytes, so the same parser must give
        // today's value exactly).
        serde_json::from_slice::<Value>(&got).unwrap_or_else(|e| {
            panic!(
                "fast stored bytes are not JSON ({e}): {}",
                String::from_utf8_lossy(&got)
            )
        });
        let reparsed = lrs_schema::parse_json(&got).unwrap();
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&reparsed).unwrap()).unwrap(),
            String::from_utf8(want.clone()).unwrap(),
            "stored form {i} of {shown}"
        );
        assert!(got.starts_with(b"{"), "stored bytes start with the brace");
        if canonical {
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "byte-equal stored form {i} of {shown}"
            );
        }
    }
    Path::Fast
}

/// Both paths on the compact and the pretty-printed serialisation of `value`; the fast path's
/// answer for the compact one.
pub fn check_value(value: &Value, version: XapiVersion) -> Path {
    let compact = check(&serde_json::to_vec(value).unwrap(), version, true);
    let pretty = check(&serde_json::to_vec_pretty(value).unwrap(), version, true);
    assert_eq!(compact, pretty, "whitespace changes nothing: {value}");
    compact
}
