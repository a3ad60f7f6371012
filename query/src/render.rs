//! Writing stored statements back out as JSON.
//!
//! Stored bodies lack `stored` (it is carried once per request through the log); it is spliced in
//! here. The exact format never re-parses the body.

use lrs_schema::{StatementFormat, format_statement, format_timestamp};
use lrs_store::{Micros, StoredStatement};

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

#[cfg(test)]
mod tests {
    use super::*;

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
