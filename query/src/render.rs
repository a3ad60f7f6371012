//! Writing stored statements back out as JSON.
//!
//! Stored bodies lack `stored` (it is carried once per request through the log); it is spliced in
//! here. The exact format never re-parses the body.

use std::collections::HashSet;

use lrs_schema::{
    CanonicalDefinitions, StatementFormat, canonical_statement, format_statement, format_timestamp,
    statement_activity_ids,
};
use lrs_store::{Micros, StoredStatement};
use serde_json::Value;

/// The statement in `format`, with `stored` added, as JSON bytes.
pub fn statement_json(
    statement: &StoredStatement,
    format: StatementFormat,
    languages: &[String],
) -> Vec<u8> {
    match format {
        StatementFormat::Exact => with_stored(&statement.body, statement.stored),
        _ => {
            let exact = with_stored(&statement.body, statement.stored);
            match serde_json::from_slice::<serde_json::Value>(&exact) {
                Ok(value) => serde_json::to_vec(&format_statement(&value, format, languages))
                    .expect("a JSON value always serializes"),
                // The body was serialized by the API; if it ever fails to parse, the exact
                // bytes are the most faithful answer.
                Err(_) => exact,
            }
        }
    }
}

/// A page being rendered in the canonical format: each statement parsed once, so its activity
/// ids can be collected for one batch lookup of their canonical definitions before it is
/// rendered.
pub struct CanonicalPage {
    /// Each statement with `stored`, parsed; the exact bytes when the body does not parse.
    statements: Vec<Result<Value, Vec<u8>>>,
}

impl CanonicalPage {
    pub fn parse(statements: &[StoredStatement]) -> CanonicalPage {
        let statements = statements
            .iter()
            .map(|s| {
                let exact = with_stored(&s.body, s.stored);
                serde_json::from_slice(&exact).map_err(|_| exact)
            })
            .collect();
        CanonicalPage { statements }
    }

    /// Every activity id of the page, once each, in order of first appearance.
    pub fn activity_ids(&self) -> Vec<String> {
        let mut all = Vec::new();
        for value in self.statements.iter().flatten() {
            statement_activity_ids(value, &mut all);
        }
        let mut seen = HashSet::with_capacity(all.len());
        all.into_iter()
            .filter(|id| seen.insert(*id))
            .map(str::to_owned)
            .collect()
    }

    /// The statements as JSON bytes: Activities populated from `definitions`, then language
    /// filtered (see [`canonical_statement`]).
    pub fn render(self, definitions: &CanonicalDefinitions, languages: &[String]) -> Vec<Vec<u8>> {
        self.statements
            .into_iter()
            .map(|statement| match statement {
                Ok(mut value) => {
                    canonical_statement(&mut value, definitions, languages);
                    serde_json::to_vec(&value).expect("a JSON value always serializes")
                }
                Err(exact) => exact,
            })
            .collect()
    }
}

/// Inserts `"stored":"…"` as the first property of a JSON object body.
pub fn with_stored(body: &[u8], stored: Micros) -> Vec<u8> {
    let stamp = format_timestamp(stored);
    let mut out = Vec::with_capacity(body.len() + stamp.len() + 16);
    out.extend_from_slice(b"{\"stored\":\"");
    out.extend_from_slice(stamp.as_bytes());
    out.push(b'"');
    let rest = body.strip_prefix(b"{").unwrap_or(body);
    let is_empty_object = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    if !is_empty_object {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    out
}

/// A `{"statements":[…],"more":"…"}` result body.
pub fn statement_result(statements: &[Vec<u8>], more: &str) -> Vec<u8> {
    let len: usize = statements.iter().map(|s| s.len() + 1).sum();
    let mut out = Vec::with_capacity(len + more.len() + 32);
    out.extend_from_slice(b"{\"statements\":[");
    for (i, s) in statements.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(s);
    }
    out.extend_from_slice(b"],\"more\":");
    out.extend_from_slice(
        serde_json::to_string(more)
            .expect("a string always serializes")
            .as_bytes(),
    );
    out.push(b'}');
    out
}

/// An attachment the returned statements reference: what a `multipart/mixed` answer sends a
/// part for (xAPI 1.0.3 Communication §2.1.3, `attachments=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// The `sha2` as the statement spells it (the part's X-Experience-API-Hash).
    pub sha2: String,
    /// The Attachment's `contentType` (the part's Content-Type).
    pub content_type: String,
}

/// The distinct attachments (by case-insensitive `sha2`) of the statements and of their
/// SubStatements, in order of first appearance. Only read for `attachments=true`.
///
/// A `sha2` that is not a hex SHA-256, -384 or -512 digest is left out: the API stores data
/// only under a hash it checked against the data, so no data can be held under another, and a
/// statement's `sha2` is any string (an over-long one must never become a store key to look up).
pub fn referenced_attachments(statements: &[StoredStatement]) -> Vec<AttachmentRef> {
    let mut refs: Vec<AttachmentRef> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for statement in statements {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&statement.body) else {
            continue;
        };
        let nested = value
            .get("object")
            .filter(|o| o.get("objectType").and_then(|t| t.as_str()) == Some("SubStatement"));
        let lists = [Some(&value), nested]
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("attachments").and_then(|a| a.as_array()));
        for attachment in lists.flatten() {
            let field = |name: &str| attachment.get(name).and_then(|v| v.as_str());
            let Some(sha2) = field("sha2").filter(|h| is_sha2_hex(h)) else {
                continue;
            };
            if !seen.insert(sha2.to_ascii_lowercase()) {
                continue;
            }
            refs.push(AttachmentRef {
                sha2: sha2.to_owned(),
                content_type: field("contentType").unwrap_or_default().to_owned(),
            });
        }
    }
    refs
}

/// 64, 96 or 128 hexadecimal digits (xAPI Communication §1.5.2.s4.b4: X-Experience-API-Hash).
fn is_sha2_hex(hash: &str) -> bool {
    matches!(hash.len(), 64 | 96 | 128) && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(body: serde_json::Value) -> StoredStatement {
        StoredStatement {
            id: uuid::Uuid::nil(),
            stored: 0,
            keys: Default::default(),
            inherited: None,
            body: serde_json::to_vec(&body).unwrap().into(),
            voided_by: None,
        }
    }

    #[test]
    fn referenced_attachments_are_distinct_by_hash_and_include_substatements() {
        let attachment = |sha2: &str, content_type: &str| serde_json::json!({"sha2": sha2, "contentType": content_type, "length": 1});
        let [a, b, c, d] = ["a", "b", "c", "d"].map(|x| x.repeat(64));
        let statements = [
            stored(
                serde_json::json!({"attachments": [attachment(&a.to_uppercase(), "text/plain"), attachment(&b, "image/png")]}),
            ),
            stored(serde_json::json!({"attachments": [attachment(&a, "text/csv")]})),
            stored(
                serde_json::json!({"object": {"objectType": "SubStatement", "attachments": [attachment(&c, "a/b")]}}),
            ),
            stored(
                serde_json::json!({"object": {"objectType": "Activity", "attachments": [attachment(&d, "a/b")]}}),
            ),
            stored(serde_json::json!({"id": "no attachments"})),
        ];
        let refs = referenced_attachments(&statements);
        let got: Vec<(&str, &str)> = refs
            .iter()
            .map(|r| (r.sha2.as_str(), r.content_type.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (a.to_uppercase().as_str(), "text/plain"),
                (b.as_str(), "image/png"),
                (c.as_str(), "a/b")
            ]
        );
    }

    #[test]
    fn hashes_no_data_can_be_stored_under_are_not_looked_up() {
        let long = "e".repeat(70_000);
        let statements = [stored(serde_json::json!({"attachments": [
            {"sha2": "", "contentType": "a/b"},
            {"sha2": "not hex", "contentType": "a/b"},
            {"sha2": "a".repeat(63), "contentType": "a/b"},
            {"sha2": long, "contentType": "a/b"},
            {"sha2": "f".repeat(96), "contentType": "a/b"}
        ]}))];
        let refs = referenced_attachments(&statements);
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].sha2, "f".repeat(96));
    }

    #[test]
    fn stored_is_spliced_into_a_non_empty_object() {
        let out = with_stored(br#"{"id":"x"}"#, 0);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["id"], "x");
        assert!(
            value["stored"]
                .as_str()
                .unwrap()
                .starts_with("1970-01-01T00:00:00")
        );
    }

    #[test]
    fn stored_is_spliced_into_an_empty_object() {
        let out = with_stored(b"{ }", 0);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 1);
    }

    #[test]
    fn a_statement_result_is_valid_json() {
        let body = statement_result(
            &[br#"{"a":1}"#.to_vec(), br#"{"b":2}"#.to_vec()],
            "/x?more=\"q\"",
        );
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["statements"].as_array().unwrap().len(), 2);
        assert_eq!(value["more"], "/x?more=\"q\"");
    }
}
