//! The LRS's own limits on what one request may hold, beyond the xAPI rules.
//!
//! Each limit keeps a request from taking the process down or from being acknowledged and then
//! failing in a store; each is refused with `400 Bad Request` whose `rule` starts with
//! `"LRS limit:"` and names the limit. README "Limits" lists them with their reasons.

/// Arrays and objects nested inside one another in any JSON a request brings (statement bodies
/// in every framing, JSON documents, the `agent` parameter, signature payloads, `more` cursors).
///
/// Parsers, comparison and rendering recurse once per level, so an unbounded depth overflows a
/// worker's stack and aborts the process. The check runs on the raw bytes before any parser
/// (see [`check_json_depth`](crate::check_json_depth)). 100 lets an extension value nest more
/// than 64 levels in every place an extension can appear (the deepest, a context activity's
/// definition inside a SubStatement in a batch, sits 9 levels down), and stays below
/// serde_json's own recursion limit (128), so whatever passes is parsed by either parser.
pub const MAX_JSON_DEPTH: usize = 100;
pub const JSON_DEPTH_RULE: &str =
    "LRS limit: JSON nesting depth (arrays and objects inside one another) is at most 100 levels";

/// Bytes of one IRI or IRL (activity ids, verb ids, extension keys, `homePage`, `openid`,
/// `moreInfo`, `type`, `fileUrl`, `usageType`, and the same in parameters).
///
/// Activity ids are store keys (the canonical Activity Definitions, per tenant): PostgreSQL's
/// btree index rows hold about 2,700 bytes, the tightest of every backend (fjall and ScyllaDB keys
/// hold 65,535 bytes). The store's shared suite writes ids of this size to every backend.
pub const MAX_IRI_BYTES: usize = 2_048;
pub const IRI_LENGTH_RULE: &str = "LRS limit: an IRI (activity id, verb id, extension key, homePage, openid, moreInfo, type, fileUrl, usageType) is at most 2048 bytes";

/// Bytes that address one document of the document resources: the `activityId`, the canonical
/// form of the `agent` (e.g. `account::<homePage>::<name>`, `mbox::mailto:…`) and the
/// `stateId` / `profileId`, together.
///
/// They make up the document's store key with the tenant, the registration and two separators
/// (at most 38 bytes more); like activity ids, the key must fit PostgreSQL's btree rows.
pub const MAX_DOCUMENT_ADDRESS_BYTES: usize = 2_400;
pub const DOCUMENT_ADDRESS_RULE: &str = "LRS limit: a document's address (activityId, the agent's canonical identifier and the stateId or profileId together) is at most 2400 bytes";

/// Components in one interaction component list (`choices`, `scale`, `source`, `target`,
/// `steps`). Far above any real question (validation is linear in them whatever their number,
/// but a definition is merged and rendered with every statement that carries it).
pub const MAX_INTERACTION_COMPONENTS: usize = 10_000;
pub const INTERACTION_COMPONENTS_RULE: &str = "LRS limit: an interaction component list (choices, scale, source, target, steps) holds at most 10000 components";

/// Language ranges of an `Accept-Language` header used for `format=canonical` (the best ones by
/// `q`); longer ranges than [`MAX_LANGUAGE_RANGE_BYTES`] are skipped. Language filtering looks
/// every range up in every language map of a page, so the work stays linear in the page.
pub const MAX_LANGUAGE_RANGES: usize = 16;
/// See [`MAX_LANGUAGE_RANGES`].
pub const MAX_LANGUAGE_RANGE_BYTES: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_its_limit() {
        for (rule, limit) in [
            (JSON_DEPTH_RULE, MAX_JSON_DEPTH),
            (IRI_LENGTH_RULE, MAX_IRI_BYTES),
            (DOCUMENT_ADDRESS_RULE, MAX_DOCUMENT_ADDRESS_BYTES),
            (INTERACTION_COMPONENTS_RULE, MAX_INTERACTION_COMPONENTS),
        ] {
            assert!(rule.starts_with("LRS limit: "), "{rule}");
            assert!(
                rule.contains(&format!("at most {limit} ")),
                "{rule} names {limit}"
            );
        }
    }
}
