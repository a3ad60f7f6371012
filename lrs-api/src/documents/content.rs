//! Document bodies: content types, the JSON merge of POST, and ETags.

use bytes::Bytes;
use lrs_store::{Document, Micros};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::error::ApiError;

/// The content type stored when a request names none (RFC 9110 §8.3: the recipient may assume
/// `application/octet-stream`).
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

const MERGE_RULE: &str = "xAPI 1.0.3 Communication §2.2.s8.b1 (2.0 §4.1.6.2): a POST to an existing document is merged only when both documents are application/json JSON Objects; otherwise the LRS MUST respond 400 Bad Request and MUST NOT update the document";
const JSON_OBJECT_RULE: &str = "xAPI 1.0.3 Communication §2.2.s7 (2.0 §4.1.6.2): a document POSTed as application/json MUST be a JSON Object, which the LRS merges into the stored one";
const JSON_RULE: &str = "RFC 8259: a document sent as application/json MUST be JSON";

/// A document as a request sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    content_type: String,
    body: Bytes,
}

impl NewDocument {
    /// The request's `Content-Type` is kept as sent and returned on GET.
    pub fn new(content_type: Option<&str>, body: Bytes) -> NewDocument {
        let content_type = content_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_CONTENT_TYPE);
        NewDocument {
            content_type: content_type.to_owned(),
            body,
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// A PUT body: stored as sent, but one that says it is JSON must be JSON (within the LRS's
    /// nesting limit: a stored JSON document is parsed again by every POST merge).
    pub fn checked_for_put(self) -> Result<NewDocument, ApiError> {
        if !is_json(&self.content_type) {
            return Ok(self);
        }
        lrs_schema::check_json_depth(&self.body, "$")?;
        if serde_json::from_slice::<Value>(&self.body).is_err() {
            return Err(ApiError::bad_request(
                JSON_RULE,
                "$",
                "the body is not JSON although its Content-Type is application/json",
            ));
        }
        Ok(self)
    }

    /// A POST body: a JSON one must be a JSON Object (it is merged key by key); another kind is
    /// only accepted where there is no document yet (`None` then).
    pub fn post_object(&self) -> Result<Option<Map<String, Value>>, ApiError> {
        if !is_json(&self.content_type) {
            return Ok(None);
        }
        lrs_schema::check_json_depth(&self.body, "$")?;
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(object)) => Ok(Some(object)),
            _ => Err(ApiError::bad_request(
                JSON_OBJECT_RULE,
                "$",
                "the body is not a JSON Object although its Content-Type is application/json",
            )),
        }
    }

    /// This body as the document to store, updated at `now`.
    pub fn to_document(&self, now: Micros) -> Document {
        document(self.content_type.clone(), self.body.clone(), now)
    }
}

/// xAPI 1.0.3 Communication §2.2.s7.b1–b3: the merge overwrites the stored document's top-level
/// keys with the posted ones and keeps the rest; nested objects are replaced, not merged.
pub fn merge(
    current: &Document,
    posted: Option<&Map<String, Value>>,
    now: Micros,
) -> Result<Document, ApiError> {
    let Some(posted) = posted else {
        return Err(merge_refused(
            "the posted document is not application/json, and a document exists",
        ));
    };
    if !is_json(&current.content_type) {
        return Err(merge_refused(
            "the stored document is not application/json, so it cannot be merged",
        ));
    }
    let Ok(Value::Object(mut merged)) = serde_json::from_slice::<Value>(&current.body) else {
        return Err(merge_refused(
            "the stored document is not a JSON Object, so it cannot be merged",
        ));
    };
    for (key, value) in posted {
        merged.insert(key.clone(), value.clone());
    }
    let body = serde_json::to_vec(&merged).map_err(|e| ApiError::internal("document merge", &e))?;
    Ok(document(
        current.content_type.clone(),
        Bytes::from(body),
        now,
    ))
}

/// xAPI 1.0.3 Communication §3.1.s4.b2: the ETag is the hexadecimal SHA-1 digest of the
/// contents, in lowercase (2.0 §4.1.4 names no algorithm; the same one is used).
pub fn etag_of(body: &[u8]) -> String {
    hex::encode(Sha1::digest(body))
}

fn document(content_type: String, body: Bytes, updated: Micros) -> Document {
    Document {
        content_type,
        etag: etag_of(&body),
        body,
        updated,
    }
}

/// `application/json`, whatever its parameters (`; charset=utf-8`) and case.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn merge_refused(message: &str) -> ApiError {
    ApiError::bad_request(MERGE_RULE, "header:Content-Type", message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(content_type: &str, body: &str) -> Document {
        NewDocument::new(Some(content_type), Bytes::from(body.to_owned())).to_document(1)
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_etag_is_the_lowercase_hex_sha1_of_the_body() {
        assert_eq!(etag_of(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn a_merge_overwrites_top_level_keys_and_keeps_the_others() {
        let current = stored(
            "application/json; charset=utf-8",
            r#"{"car":{"make":"Ford","model":"Escape"},"driver":"Dale","keep":1}"#,
        );
        let posted = object(json!({"car": {"make": "Dodge"}, "driver": "Jeff"}));
        let merged = merge(&current, Some(&posted), 2).unwrap();
        let value: Value = serde_json::from_slice(&merged.body).unwrap();
        assert_eq!(
            value,
            json!({"car": {"make": "Dodge"}, "driver": "Jeff", "keep": 1})
        );
        assert_eq!(merged.etag, etag_of(&merged.body));
        assert_eq!(merged.updated, 2);
        assert_eq!(merged.content_type, "application/json; charset=utf-8");
    }

    #[test]
    fn a_merge_needs_two_json_objects() {
        let posted = object(json!({"a": 1}));
        for current in [
            stored("application/octet-stream", "/ asdf / undefined"),
            stored("application/json", "[1, 2]"),
        ] {
            let err = merge(&current, Some(&posted), 2).unwrap_err();
            assert_eq!(err.kind(), crate::ApiErrorKind::BadRequest);
        }
        let err = merge(&stored("application/json", "{}"), None, 2).unwrap_err();
        assert_eq!(err.kind(), crate::ApiErrorKind::BadRequest);
    }

    #[test]
    fn json_bodies_are_checked_and_other_bodies_are_opaque() {
        let json =
            |body: &str| NewDocument::new(Some("Application/JSON"), Bytes::from(body.to_owned()));
        assert!(json("{\"a\":1}").post_object().unwrap().is_some());
        assert!(json("[1]").post_object().is_err());
        assert!(json("{\"a\":1}{").post_object().is_err());
        assert!(json("[1]").checked_for_put().is_ok());
        assert!(json("{").checked_for_put().is_err());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        for err in [
            json(&deep).post_object().unwrap_err(),
            json(&deep).checked_for_put().unwrap_err(),
        ] {
            assert_eq!(err.kind(), crate::ApiErrorKind::BadRequest);
            assert!(err.to_string().contains("deeper than 100 levels"), "{err}");
        }
        let opaque = NewDocument::new(None, Bytes::from_static(b"\x00\x01"));
        assert_eq!(opaque.post_object().unwrap(), None);
        assert_eq!(opaque.to_document(1).content_type, DEFAULT_CONTENT_TYPE);
        assert!(opaque.checked_for_put().is_ok());
    }
}
