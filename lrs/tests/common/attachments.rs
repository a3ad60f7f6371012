//! Building `multipart/mixed` statement requests and reading multipart answers, written
//! independently of the server's parser (xAPI 1.0.3 Communication §1.5.2).

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::TestLrs;

/// The boundary of the specification's example (Communication §1.5.2.s6): every character class.
pub const BOUNDARY: &str = "abcABC0123'()+_,-./:=?";

pub fn content_type() -> String {
    format!("multipart/mixed; boundary=\"{BOUNDARY}\"")
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An Attachment object for `data`, without fileUrl.
pub fn attachment_for(data: &[u8], content_type: &str) -> Value {
    json!({
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment", "ja-JP": "テスト添付"},
        "contentType": content_type,
        "length": data.len(),
        "sha2": sha256_hex(data),
    })
}

/// One part: header lines and data.
pub struct RawPart {
    pub headers: Vec<String>,
    pub data: Vec<u8>,
}

impl RawPart {
    /// A well-formed attachment part for `data`.
    pub fn attachment(data: &[u8], content_type: &str) -> RawPart {
        RawPart {
            headers: vec![
                format!("Content-Type: {content_type}"),
                "Content-Transfer-Encoding: binary".into(),
                format!("X-Experience-API-Hash: {}", sha256_hex(data)),
            ],
            data: data.to_vec(),
        }
    }

    /// The statements part.
    pub fn statements(statements: &Value) -> RawPart {
        RawPart {
            headers: vec!["Content-Type: application/json".into()],
            data: serde_json::to_vec(statements).unwrap(),
        }
    }
}

/// A body of the given parts, each introduced by a delimiter line, closed by the close delimiter.
pub fn body(parts: &[RawPart]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        for header in &part.headers {
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// The statements part followed by a well-formed part for each `(data, content type)`.
pub fn request_body(statements: &Value, attachments: &[(&[u8], &str)]) -> Vec<u8> {
    let mut parts = vec![RawPart::statements(statements)];
    parts.extend(attachments.iter().map(|(d, t)| RawPart::attachment(d, t)));
    body(&parts)
}

/// One part of an answer: header names lower-cased.
#[derive(Debug)]
pub struct AnswerPart {
    pub headers: HashMap<String, String>,
    pub data: Vec<u8>,
}

impl AnswerPart {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.data).unwrap()
    }
}

/// Splits a multipart answer by the boundary of its Content-Type.
pub fn split(content_type: &str, body: &[u8]) -> Vec<AnswerPart> {
    assert!(
        content_type.starts_with("multipart/mixed"),
        "not multipart: {content_type}"
    );
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .expect("a boundary parameter")
        .trim_matches('"');
    let delimiter = format!("\r\n--{boundary}");
    let mut rest = body
        .strip_prefix(format!("--{boundary}").as_bytes())
        .expect("the body starts with the first delimiter");
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after a delimiter");
        let end = find(rest, delimiter.as_bytes()).expect("another delimiter");
        let part = &rest[..end];
        let head_end = find(part, b"\r\n\r\n").map_or(0, |i| i + 2);
        let headers = String::from_utf8(part[..head_end].to_vec())
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        parts.push(AnswerPart {
            headers,
            data: part[head_end + 2..].to_vec(),
        });
        rest = &rest[end + delimiter.len()..];
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl TestLrs {
    /// POST (or PUT with `?statementId=`) a multipart body in the 2.0.0 family.
    pub async fn send_multipart(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.request(method, path)
            .header("Content-Type", content_type())
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// GET `path` (which asks for `attachments=true`); returns the status and the parts.
    pub async fn get_parts(&self, path: &str) -> (reqwest::StatusCode, Vec<AnswerPart>) {
        let response = self.request(Method::GET, path).send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.bytes().await.unwrap();
        (status, split(&content_type, &body))
    }
}
