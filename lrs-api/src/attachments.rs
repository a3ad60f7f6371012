//! Attachment data of a statement request: the parts of a `multipart/mixed` body, matched with
//! the statements' Attachment objects by SHA-2 (xAPI 1.0.3 Communication §1.5.2 and Data §2.4.11;
//! xAPI 2.0 keeps the same sections), and signature checks (Data §2.6).
//!
//! An `application/json` request has no parts, so every Attachment it carries needs a `fileUrl`.
//! Statements without attachments never reach past [`ReceivedParts::check_statement`]'s first
//! line, so the plain JSON path pays nothing for any of this.

use std::collections::HashMap;

use bytes::Bytes;
use lrs_schema::{Attachment, Statement, StatementObject};
use lrs_store::AttachmentBody;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::ApiError;
use crate::multipart::Part;
use crate::signature;

/// xAPI Data §2.6.s4.b1: the usageType of a statement's signature.
pub const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";
const SIGNATURE_CONTENT_TYPE: &str = "application/octet-stream";

const FIRST_PART_RULE: &str = "xAPI Communication §1.5.2.s2.b2.b1: the first part of a multipart/mixed statement request MUST contain the statements, with Content-Type application/json";
const HASH_HEADER_RULE: &str = "xAPI Communication §1.5.2.s2.b2.b3: every part after the first MUST include an X-Experience-API-Hash header";
const ENCODING_RULE: &str = "xAPI Communication §1.5.2.s2.b2.b4: every part after the first MUST include Content-Transfer-Encoding: binary";
const HASH_FORMAT_RULE: &str = "xAPI Communication §1.5.2.s4.b4: X-Experience-API-Hash is the hex SHA-256, SHA-384 or SHA-512 of the part's data";
const HASH_MATCH_RULE: &str = "xAPI Communication §1.5.2.s1.b4: attachment data is matched by comparing the SHA-2 of the raw data with the declared X-Experience-API-Hash";
const PARAMETER_RULE: &str = "xAPI Communication §1.5.2.s2.b2.b7: a part's Content-Type and Content-Length MUST match the contentType and length of its Attachment";
const UNUSED_PART_RULE: &str = "xAPI Communication §1.5.2.s2.b2.b3: every part after the first MUST carry an X-Experience-API-Hash equal to the sha2 of an Attachment in the statements";
const MISSING_PART_RULE: &str = "xAPI Communication §1.5.2.s3.b5: an Attachment without fileUrl MUST match a received part by its sha2";
const JSON_FILE_URL_RULE: &str = "xAPI Communication §1.5.2.s2.b1: an application/json request MUST include a fileUrl for every Attachment (send attachment data as multipart/mixed)";
const SIGNATURE_TYPE_RULE: &str = "xAPI Data §2.6.s4.b1: a signature Attachment MUST have the contentType application/octet-stream";
const SIGNATURE_PART_RULE: &str = "xAPI Data §2.6.s5.b3.b1: the LRS MUST decode the JWS, so a signature Attachment MUST be sent as a multipart/mixed part";

/// One received attachment part.
struct ReceivedPart {
    /// Its place in the body (the statements are part 0).
    index: usize,
    content_type: Option<String>,
    content_length: Option<u64>,
    body: Bytes,
    /// The content type to store it with, once an Attachment has claimed it.
    claimed: Option<String>,
}

/// The attachment parts of a request, by lower-case hex hash, and which Attachments claimed them.
#[derive(Default)]
pub struct ReceivedParts {
    multipart: bool,
    parts: HashMap<String, ReceivedPart>,
}

impl ReceivedParts {
    /// An `application/json` request: no parts.
    pub fn none() -> Self {
        ReceivedParts::default()
    }

    /// Checks the parts of a `multipart/mixed` request; returns the statements' JSON (the first
    /// part) and the attachment parts.
    pub fn from_parts(parts: Vec<Part>) -> Result<(Bytes, ReceivedParts), ApiError> {
        let mut parts = parts.into_iter();
        let first = parts.next().ok_or_else(|| {
            ApiError::bad_request(FIRST_PART_RULE, "multipart", "the body has no parts")
        })?;
        if !is_media_type(first.header("content-type"), "application/json") {
            return Err(ApiError::bad_request(
                FIRST_PART_RULE,
                "multipart:part[0]",
                format!(
                    "the first part's Content-Type is {:?}",
                    first.header("content-type").unwrap_or("absent")
                ),
            ));
        }
        let mut received = ReceivedParts {
            multipart: true,
            parts: HashMap::new(),
        };
        for (index, part) in parts.enumerate().map(|(i, p)| (i + 1, p)) {
            let (hash, part) = check_part(index, part)?;
            received.parts.entry(hash).or_insert(part);
        }
        Ok((first.body().clone(), received))
    }

    /// Checks one statement's Attachments (its SubStatement's too) against the parts, and its
    /// signature if it has one. `received` is the statement as sent.
    pub fn check_statement(
        &mut self,
        statement: &Statement,
        received: &Value,
        path: &str,
    ) -> Result<(), ApiError> {
        let own = statement.body().attachments();
        let nested = match statement.body().object() {
            StatementObject::SubStatement(sub) => sub.body().attachments(),
            _ => &[],
        };
        if own.is_empty() && nested.is_empty() {
            return Ok(());
        }
        for (i, attachment) in own.iter().enumerate() {
            let at = format!("{path}.attachments[{i}]");
            let data = self.claim(attachment, &at)?;
            if attachment.usage_type().as_str() == SIGNATURE_USAGE {
                check_signature(attachment, data, received, &at)?;
            }
        }
        for (i, attachment) in nested.iter().enumerate() {
            self.claim(attachment, &format!("{path}.object.attachments[{i}]"))?;
        }
        Ok(())
    }

    /// Matches one Attachment with its part; returns the part's data, if any.
    fn claim(&mut self, attachment: &Attachment, at: &str) -> Result<Option<Bytes>, ApiError> {
        let Some(part) = self.parts.get_mut(&attachment.sha2().to_ascii_lowercase()) else {
            if attachment.file_url().is_some() {
                return Ok(None);
            }
            let (rule, message) = if self.multipart {
                (
                    MISSING_PART_RULE,
                    format!("no part has X-Experience-API-Hash {}", attachment.sha2()),
                )
            } else {
                (
                    JSON_FILE_URL_RULE,
                    "the Attachment has no fileUrl".to_owned(),
                )
            };
            return Err(ApiError::bad_request(rule, at, message));
        };
        let part_path = format!("multipart:part[{}]", part.index);
        if let Some(content_type) = &part.content_type
            && !same_media_type(content_type, attachment.content_type())
        {
            return Err(ApiError::bad_request(
                PARAMETER_RULE,
                &part_path,
                format!(
                    "the part's Content-Type {content_type:?} differs from {at}.contentType {:?}",
                    attachment.content_type()
                ),
            ));
        }
        if let Some(length) = part.content_length
            && length != attachment.length()
        {
            return Err(ApiError::bad_request(
                PARAMETER_RULE,
                &part_path,
                format!(
                    "the part's Content-Length {length} differs from {at}.length {}",
                    attachment.length()
                ),
            ));
        }
        part.claimed
            .get_or_insert_with(|| attachment.content_type().to_owned());
        Ok(Some(part.body.clone()))
    }

    /// Every part must have been claimed by an Attachment; returns the bodies to store.
    pub fn finish(self) -> Result<Vec<AttachmentBody>, ApiError> {
        let mut bodies = Vec::with_capacity(self.parts.len());
        let mut parts: Vec<(String, ReceivedPart)> = self.parts.into_iter().collect();
        parts.sort_by_key(|(_, p)| p.index);
        for (sha2, part) in parts {
            let Some(claimed) = part.claimed else {
                return Err(ApiError::bad_request(
                    UNUSED_PART_RULE,
                    &format!("multipart:part[{}]", part.index),
                    format!("no Attachment of the statements has sha2 {sha2}"),
                ));
            };
            bodies.push(AttachmentBody {
                sha2,
                content_type: part.content_type.unwrap_or(claimed),
                body: part.body,
            });
        }
        Ok(bodies)
    }
}

/// Checks an attachment part's headers and data; returns its lower-case hash.
fn check_part(index: usize, part: Part) -> Result<(String, ReceivedPart), ApiError> {
    let at = format!("multipart:part[{index}]");
    let hash = part
        .header("x-experience-api-hash")
        .ok_or_else(|| {
            ApiError::bad_request(
                HASH_HEADER_RULE,
                &at,
                "the part has no X-Experience-API-Hash",
            )
        })?
        .to_ascii_lowercase();
    match part.header("content-transfer-encoding") {
        Some(encoding) if encoding.eq_ignore_ascii_case("binary") => {}
        other => {
            return Err(ApiError::bad_request(
                ENCODING_RULE,
                &at,
                format!(
                    "the part's Content-Transfer-Encoding is {:?}",
                    other.unwrap_or("absent")
                ),
            ));
        }
    }
    let body = part.body().clone();
    let actual = match hash.len() {
        64 => hex(&Sha256::digest(&body)),
        96 => hex(&Sha384::digest(&body)),
        128 => hex(&Sha512::digest(&body)),
        _ => String::new(),
    };
    if actual.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            HASH_FORMAT_RULE,
            &at,
            format!("X-Experience-API-Hash {hash:?} is not a hex SHA-2 digest"),
        ));
    }
    if actual != hash {
        return Err(ApiError::bad_request(
            HASH_MATCH_RULE,
            &at,
            format!("the part's data hashes to {actual}, not {hash}"),
        ));
    }
    let content_length = match part.header("content-length") {
        None => None,
        Some(value) => match value.parse::<u64>() {
            Ok(length) if length == body.len() as u64 => Some(length),
            _ => {
                return Err(ApiError::bad_request(
                    PARAMETER_RULE,
                    &at,
                    format!(
                        "the part's Content-Length {value:?} is not its length {}",
                        body.len()
                    ),
                ));
            }
        },
    };
    Ok((
        hash,
        ReceivedPart {
            index,
            content_type: part.header("content-type").map(str::to_owned),
            content_length,
            body,
            claimed: None,
        },
    ))
}

fn check_signature(
    attachment: &Attachment,
    data: Option<Bytes>,
    received: &Value,
    at: &str,
) -> Result<(), ApiError> {
    if !same_media_type(attachment.content_type(), SIGNATURE_CONTENT_TYPE) {
        return Err(ApiError::bad_request(
            SIGNATURE_TYPE_RULE,
            &format!("{at}.contentType"),
            format!(
                "the signature's contentType is {:?}",
                attachment.content_type()
            ),
        ));
    }
    let data = data.ok_or_else(|| {
        ApiError::bad_request(
            SIGNATURE_PART_RULE,
            at,
            "the signature was not sent as a part",
        )
    })?;
    signature::verify(&data, received)
        .map_err(|e| ApiError::bad_request(e.rule(), at, e.to_string()))
}

/// The `type/subtype` of a media type, lower-cased (parameters dropped).
fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn same_media_type(a: &str, b: &str) -> bool {
    essence(a) == essence(b)
}

fn is_media_type(value: Option<&str>, wanted: &str) -> bool {
    value.is_some_and(|v| essence(v) == wanted)
}

fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest
        .iter()
        .fold(String::with_capacity(128), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
