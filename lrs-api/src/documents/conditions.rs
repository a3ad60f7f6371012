//! `If-Match` and `If-None-Match`: the request preconditions of the document resources.
//!
//! xAPI 1.0.3 Communication §3.1 (2.0 §4.1.4) asks the LRS to handle both headers "as described
//! in RFC 2616"; today that is RFC 9110 §13.1.1 (If-Match, strong comparison) and §13.1.2
//! (If-None-Match, weak comparison).

use actix_web::http::header::{HeaderMap, IF_MATCH, IF_NONE_MATCH};
use lrs_store::Document;

use crate::error::{ApiError, ApiErrorKind};

const IF_MATCH_RULE: &str = "xAPI 1.0.3 Communication §3.1.s4.b5 and b9 (2.0 §4.1.4): when If-Match does not match the document's current ETag, the LRS MUST return 412 Precondition Failed and MUST NOT modify the document";
const IF_NONE_MATCH_RULE: &str = "xAPI 1.0.3 Communication §3.1.s4.b6 and b9 (2.0 §4.1.4): with If-None-Match: * and a document present, the LRS MUST return 412 Precondition Failed and MUST NOT modify the document";
const HEADER_RULE: &str =
    "RFC 9110 §13.1.1: If-Match and If-None-Match hold \"*\" or a list of quoted entity tags";

/// One entity tag of a condition header, without its quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntityTag {
    weak: bool,
    tag: String,
}

/// The value of one condition header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TagList {
    /// `*`: any current document.
    Any,
    Tags(Vec<EntityTag>),
}

impl TagList {
    /// RFC 9110 §8.8.3.2: strong comparison (If-Match) ignores weak tags; weak comparison
    /// (If-None-Match) compares the opaque tags only.
    fn matches(&self, current: Option<&Document>, strong: bool) -> bool {
        match (self, current) {
            (_, None) => false,
            (TagList::Any, Some(_)) => true,
            (TagList::Tags(tags), Some(document)) => tags
                .iter()
                .any(|t| (!strong || !t.weak) && t.tag == document.etag),
        }
    }
}

/// Which condition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    IfMatch,
    IfNoneMatch,
}

impl From<Failed> for ApiError {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::IfMatch => ApiError::with_rule(
                ApiErrorKind::PreconditionFailed,
                IF_MATCH_RULE,
                "If-Match does not match the document's current ETag (or there is no document): GET it again for its current ETag",
            ),
            Failed::IfNoneMatch => ApiError::with_rule(
                ApiErrorKind::PreconditionFailed,
                IF_NONE_MATCH_RULE,
                "If-None-Match: a document matching it exists; GET it for its current ETag and send If-Match to change it",
            ),
        }
    }
}

/// The preconditions of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    if_match: Option<TagList>,
    if_none_match: Option<TagList>,
}

impl Conditions {
    /// Reads both headers; a malformed one is a 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Conditions, ApiError> {
        Ok(Conditions {
            if_match: tag_list(headers, IF_MATCH.as_str())?,
            if_none_match: tag_list(headers, IF_NONE_MATCH.as_str())?,
        })
    }

    /// Whether the request carries neither header.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// RFC 9110 §13.2.2: If-Match is evaluated first, then If-None-Match, against the current
    /// document (`None` when there is none).
    pub fn check(&self, current: Option<&Document>) -> Result<(), Failed> {
        if let Some(list) = &self.if_match
            && !list.matches(current, true)
        {
            return Err(Failed::IfMatch);
        }
        if let Some(list) = &self.if_none_match
            && list.matches(current, false)
        {
            return Err(Failed::IfNoneMatch);
        }
        Ok(())
    }
}

fn tag_list(headers: &HeaderMap, name: &str) -> Result<Option<TagList>, ApiError> {
    let mut values = headers.get_all(name).peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    let mut tags = Vec::new();
    for value in values {
        let text = value
            .to_str()
            .map_err(|_| bad_header(name, "is not text"))?;
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                return Ok(Some(TagList::Any));
            }
            tags.push(entity_tag(item).ok_or_else(|| {
                bad_header(name, &format!("holds {item:?}, not a quoted entity tag"))
            })?);
        }
    }
    if tags.is_empty() {
        return Err(bad_header(name, "is empty"));
    }
    Ok(Some(TagList::Tags(tags)))
}

/// `"tag"` or `W/"tag"`. A bare `tag` is accepted too: some clients drop the quotes the LRS sent.
fn entity_tag(item: &str) -> Option<EntityTag> {
    let (weak, rest) = match item.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, item),
    };
    let tag = match rest.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        None => rest,
    };
    let valid = !tag.is_empty() && !tag.contains('"') && !tag.chars().any(char::is_whitespace);
    valid.then(|| EntityTag {
        weak,
        tag: tag.to_owned(),
    })
}

fn bad_header(name: &str, what: &str) -> ApiError {
    ApiError::bad_request(
        HEADER_RULE,
        &format!("header:{name}"),
        format!("{name} {what}"),
    )
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};
    use bytes::Bytes;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn document(etag: &str) -> Document {
        Document {
            content_type: "application/json".into(),
            body: Bytes::from_static(b"{}"),
            etag: etag.into(),
            updated: 1,
        }
    }

    fn check(pairs: &[(&str, &str)], current: Option<&Document>) -> Result<(), Failed> {
        Conditions::from_headers(&headers(pairs))
            .unwrap()
            .check(current)
    }

    #[test]
    fn if_match_passes_only_for_the_current_strong_etag() {
        let doc = document("abc");
        assert_eq!(check(&[("If-Match", "\"abc\"")], Some(&doc)), Ok(()));
        assert_eq!(check(&[("If-Match", "\"x\", \"abc\"")], Some(&doc)), Ok(()));
        assert_eq!(check(&[("If-Match", "abc")], Some(&doc)), Ok(()));
        assert_eq!(check(&[("If-Match", "*")], Some(&doc)), Ok(()));
        for failing in ["\"1234\"", "W/\"abc\""] {
            assert_eq!(
                check(&[("If-Match", failing)], Some(&doc)),
                Err(Failed::IfMatch)
            );
        }
        assert_eq!(check(&[("If-Match", "*")], None), Err(Failed::IfMatch));
        assert_eq!(
            check(&[("If-Match", "\"abc\"")], None),
            Err(Failed::IfMatch)
        );
    }

    #[test]
    fn if_none_match_star_passes_only_without_a_document() {
        let doc = document("abc");
        assert_eq!(check(&[("If-None-Match", "*")], None), Ok(()));
        assert_eq!(
            check(&[("If-None-Match", "*")], Some(&doc)),
            Err(Failed::IfNoneMatch)
        );
        assert_eq!(
            check(&[("If-None-Match", "W/\"abc\"")], Some(&doc)),
            Err(Failed::IfNoneMatch)
        );
        assert_eq!(check(&[("If-None-Match", "\"other\"")], Some(&doc)), Ok(()));
    }

    #[test]
    fn no_headers_is_no_condition_and_malformed_headers_are_400() {
        let none = Conditions::from_headers(&HeaderMap::new()).unwrap();
        assert!(none.is_empty());
        assert_eq!(none.check(None), Ok(()));
        for bad in ["", "\"unterminated", "\"a b\""] {
            let err = Conditions::from_headers(&headers(&[("If-Match", bad)])).unwrap_err();
            assert_eq!(err.kind(), ApiErrorKind::BadRequest, "{bad:?}");
        }
    }
}
