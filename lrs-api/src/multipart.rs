//! `multipart/mixed` (RFC 2046 §5.1), the format of statement requests and answers that carry
//! attachment data (xAPI 1.0.3 Communication §1.5.2; xAPI 2.0 keeps the same section).
//!
//! The request body is read whole under the request size limit before it is parsed, so the
//! parser sees one contiguous buffer: however the body was split into network chunks, it parses
//! the same, and every part is a slice of that buffer (no copy). The parser is strict: the
//! boundary comes from the Content-Type header and must be a valid RFC 2046 boundary, lines end
//! with CRLF, headers are `Name: value` without folding and without repetition, and the body must
//! end with the close delimiter. A preamble before the first delimiter and an epilogue after the
//! last one are ignored, as RFC 2046 requires.

use std::collections::HashSet;

use bytes::Bytes;
use memchr::memmem;

const FORMAT_RULE: &str = "RFC 2046 §5.1.1 (xAPI Communication §1.5.2.s2.b2): a multipart/mixed body is delimiter lines of the declared boundary, each followed by a part of CRLF-terminated headers, an empty line and the data, and ends with the close delimiter";
const BOUNDARY_RULE: &str = "RFC 2046 §5.1.1 (xAPI Communication §1.5.2.s2.b2): a multipart/mixed Content-Type MUST declare a boundary of 1 to 70 characters";

/// The boundary of answers we write; a random suffix keeps it out of the parts' data.
const BOUNDARY_PREFIX: &str = "xapi-lrs-boundary-";

/// Why a multipart body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the Content-Type header has no boundary parameter")]
    MissingBoundary,
    #[error("boundary {0:?} is not 1 to 70 RFC 2046 boundary characters")]
    BadBoundary(String),
    #[error("the body has no delimiter line for boundary {0:?}")]
    NoDelimiter(String),
    #[error("delimiter line {0} is followed by other characters than a line end")]
    BadDelimiterLine(usize),
    #[error("part {part}: malformed header line {line:?}")]
    BadHeader { part: usize, line: String },
    #[error("part {part}: header {name:?} appears more than once")]
    DuplicateHeader { part: usize, name: String },
    #[error("part {0}: the headers are not followed by an empty line")]
    UnterminatedHeaders(usize),
    #[error("the body ends without the close delimiter of boundary {0:?}")]
    Unclosed(String),
}

impl MultipartError {
    /// The rule broken, for the 400 body.
    pub fn rule(&self) -> &'static str {
        match self {
            MultipartError::MissingBoundary | MultipartError::BadBoundary(_) => BOUNDARY_RULE,
            _ => FORMAT_RULE,
        }
    }
}

/// One body part: its headers (names lower-cased) and its data, a slice of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Part {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// The `boundary` parameter of a `multipart/mixed` Content-Type value.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let params = content_type.split_once(';').map_or("", |(_, p)| p);
    let boundary = parameter(params, "boundary").ok_or(MultipartError::MissingBoundary)?;
    let valid = (1..=70).contains(&boundary.len())
        && !boundary.ends_with(' ')
        && boundary.bytes().all(is_bchar);
    if valid {
        Ok(boundary)
    } else {
        Err(MultipartError::BadBoundary(boundary))
    }
}

/// RFC 2046 `bchars`.
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

/// A parameter of a media type (`; name=value` or `; name="quoted value"`), by
/// case-insensitive name (RFC 2045 §5.1).
fn parameter(params: &str, wanted: &str) -> Option<String> {
    let mut rest = params;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let (name, after) = rest.split_once('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => quoted_string(quoted)?,
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        if name.trim().eq_ignore_ascii_case(wanted) {
            return Some(value);
        }
        rest = after;
    }
}

/// The content of a quoted string (after its opening quote) and what follows its closing quote.
fn quoted_string(s: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

/// Splits a `multipart/mixed` body into its parts.
pub fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let dash_boundary = format!("--{boundary}");
    // RFC 2046: the CRLF before "--boundary" belongs to the delimiter, not to the part before it.
    let delimiter = format!("\r\n{dash_boundary}");
    let finder = memmem::Finder::new(delimiter.as_bytes());
    let mut pos = if body.starts_with(dash_boundary.as_bytes()) {
        dash_boundary.len()
    } else {
        finder
            .find(body)
            .map(|i| i + delimiter.len())
            .ok_or_else(|| MultipartError::NoDelimiter(boundary.to_owned()))?
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let padding = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if !rest[padding..].starts_with(b"\r\n") {
            return Err(MultipartError::BadDelimiterLine(parts.len() + 1));
        }
        let start = pos + padding + 2;
        let end = finder
            .find(&body[start..])
            .map(|i| start + i)
            .ok_or_else(|| MultipartError::Unclosed(boundary.to_owned()))?;
        parts.push(parse_part(body.slice(start..end), parts.len())?);
        pos = end + delimiter.len();
    }
}

fn parse_part(content: Bytes, index: usize) -> Result<Part, MultipartError> {
    if content.is_empty() {
        return Ok(Part {
            headers: Vec::new(),
            body: content,
        });
    }
    let (head, body_start) = if content.starts_with(b"\r\n") {
        (&content[..0], 2)
    } else {
        let end = memmem::find(&content, b"\r\n\r\n")
            .ok_or(MultipartError::UnterminatedHeaders(index))?;
        (&content[..end], end + 4)
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    // Repetitions are found with a set: a part may carry any number of header lines.
    let mut names: HashSet<String> = HashSet::new();
    if !head.is_empty() {
        let mut lines = head.split(|b| *b == b'\n').peekable();
        while let Some(line) = lines.next() {
            let (name, value) = header_line(line, lines.peek().is_none(), index)?;
            if !names.insert(name.clone()) {
                return Err(MultipartError::DuplicateHeader { part: index, name });
            }
            headers.push((name, value));
        }
    }
    Ok(Part {
        headers,
        body: content.slice(body_start..),
    })
}

/// One `Name: value` line, split on LF: every line but the last (whose CRLF went to the empty
/// line) must end with CR. No folding, no bare CR or LF, no empty name.
fn header_line(line: &[u8], last: bool, part: usize) -> Result<(String, String), MultipartError> {
    let bad = || MultipartError::BadHeader {
        part,
        line: String::from_utf8_lossy(line).into_owned(),
    };
    let line = if last {
        line
    } else {
        line.strip_suffix(b"\r").ok_or_else(bad)?
    };
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    if text.contains('\r') || text.starts_with([' ', '\t']) {
        return Err(bad());
    }
    let (name, value) = text.split_once(':').ok_or_else(bad)?;
    let is_token = |c: char| c.is_ascii_graphic() && c != ':';
    if name.is_empty() || !name.chars().all(is_token) {
        return Err(bad());
    }
    Ok((
        name.to_ascii_lowercase(),
        value.trim_matches([' ', '\t']).to_owned(),
    ))
}

/// One part of an answer.
pub struct OutgoingPart<'a> {
    pub headers: Vec<(&'static str, &'a str)>,
    pub body: &'a [u8],
}

/// Writes a `multipart/mixed` body; returns the boundary chosen (one that occurs in no part)
/// and the body.
pub fn write(parts: &[OutgoingPart<'_>]) -> (String, Vec<u8>) {
    let boundary = loop {
        let candidate = format!("{BOUNDARY_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let finder = memmem::Finder::new(candidate.as_bytes());
        if parts.iter().all(|p| finder.find(p.body).is_none()) {
            break candidate;
        }
    };
    let len: usize = parts.iter().map(|p| p.body.len() + 256).sum();
    let mut out = Vec::with_capacity(len + boundary.len() + 8);
    for part in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &part.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    (boundary, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "-------314159265358979323846";

    fn body(parts: &[&str]) -> Bytes {
        Bytes::from(parts.concat())
    }

    #[test]
    fn the_boundary_is_read_plain_or_quoted_and_validated() {
        assert_eq!(
            boundary(&format!("multipart/mixed; boundary={B}")),
            Ok(B.into())
        );
        assert_eq!(
            boundary("multipart/mixed; charset=x; boundary=\"abcABC0123'()+_,-./:=?\""),
            Ok("abcABC0123'()+_,-./:=?".into())
        );
        assert_eq!(
            boundary("Multipart/Mixed;BOUNDARY=abc ; x=y"),
            Ok("abc".into())
        );
        assert_eq!(
            boundary("multipart/mixed;"),
            Err(MultipartError::MissingBoundary)
        );
        assert_eq!(
            boundary("multipart/mixed"),
            Err(MultipartError::MissingBoundary)
        );
        assert!(matches!(
            boundary("multipart/mixed; boundary=\"\""),
            Err(MultipartError::BadBoundary(_))
        ));
        assert!(matches!(
            boundary(&format!("multipart/mixed; boundary={}", "a".repeat(71))),
            Err(MultipartError::BadBoundary(_))
        ));
        assert!(matches!(
            boundary("multipart/mixed; boundary=a{b}"),
            Err(MultipartError::BadBoundary(_))
        ));
    }

    #[test]
    fn parts_are_split_with_their_headers_and_exact_data() {
        let raw = body(&[
            "--",
            B,
            "\r\n",
            "Content-Type:application/json\r\n\r\n",
            "{\"a\":1}\r\n",
            "--",
            B,
            "\r\n",
            "Content-Type: text/plain\r\n",
            "Content-Transfer-Encoding: binary\r\n",
            "X-Experience-API-Hash: abc\r\n\r\n",
            "line one\r\nline two\r\n\r\n",
            "\r\n--",
            B,
            "--\r\n",
        ]);
        let parts = parse(&raw, B).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].header("content-type"), Some("application/json"));
        assert_eq!(&parts[0].body()[..], b"{\"a\":1}");
        assert_eq!(parts[1].header("X-EXPERIENCE-API-HASH"), Some("abc"));
        assert_eq!(parts[1].header("Content-Transfer-Encoding"), Some("binary"));
        assert_eq!(&parts[1].body()[..], b"line one\r\nline two\r\n\r\n");
    }

    #[test]
    fn a_preamble_and_an_epilogue_are_ignored_and_the_final_line_end_is_optional() {
        let raw = body(&[
            "\r\n--",
            B,
            "\r\nContent-Type: application/json\r\n\r\n{}",
            "\r\n--",
            B,
            "--",
        ]);
        let parts = parse(&raw, B).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(&parts[0].body()[..], b"{}");
        let raw = body(&[
            "this is a preamble\r\n--",
            B,
            "\r\n\r\n{}\r\n--",
            B,
            "--\r\nepilogue --",
            B,
        ]);
        let parts = parse(&raw, B).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].header("content-type"), None);
    }

    #[test]
    fn binary_data_that_is_not_utf8_is_kept_byte_for_byte() {
        let data: Vec<u8> = (0..=255u8)
            .chain([0xff, 0xfe, b'\r', b'\n', b'-', b'-'])
            .collect();
        let mut raw = format!("--{B}\r\nX-Experience-API-Hash: h\r\n\r\n").into_bytes();
        raw.extend_from_slice(&data);
        raw.extend_from_slice(format!("\r\n--{B}--").as_bytes());
        let parts = parse(&Bytes::from(raw), B).unwrap();
        assert_eq!(&parts[0].body()[..], &data[..]);
    }

    #[test]
    fn malformed_bodies_are_refused_with_the_reason() {
        let cases: Vec<(Bytes, MultipartError)> = vec![
            (
                body(&["Content-Type: application/json\r\n\r\n{}"]),
                MultipartError::NoDelimiter(B.into()),
            ),
            (
                body(&["--", B, "\r\n\r\n{}"]),
                MultipartError::Unclosed(B.into()),
            ),
            (
                body(&["--", B, "x\r\n\r\n{}\r\n--", B, "--"]),
                MultipartError::BadDelimiterLine(1),
            ),
            (
                body(&["--", B, "\r\nContent-Type: a\r\n{}\r\n--", B, "--"]),
                MultipartError::UnterminatedHeaders(0),
            ),
            (
                body(&["--", B, "\r\nNo colon here\r\n\r\n{}\r\n--", B, "--"]),
                MultipartError::BadHeader {
                    part: 0,
                    line: "No colon here".into(),
                },
            ),
            (
                body(&["--", B, "\r\nA: 1\r\n folded\r\n\r\n{}\r\n--", B, "--"]),
                MultipartError::BadHeader {
                    part: 0,
                    line: " folded".into(),
                },
            ),
            (
                body(&["--", B, "\r\nA: 1\nB: 2\r\n\r\n{}\r\n--", B, "--"]),
                MultipartError::BadHeader {
                    part: 0,
                    line: "A: 1".into(),
                },
            ),
            (
                body(&["--", B, "\r\nA: 1\r\na: 2\r\n\r\n{}\r\n--", B, "--"]),
                MultipartError::DuplicateHeader {
                    part: 0,
                    name: "a".into(),
                },
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse(&raw, B), Err(expected.clone()), "{expected}");
        }
    }

    #[test]
    fn a_header_repeated_after_thousands_of_others_is_found() {
        let many: String = (0..20_000).map(|i| format!("X-{i}: v\r\n")).collect();
        let distinct = body(&["--", B, "\r\n", &many, "\r\n{}\r\n--", B, "--"]);
        assert_eq!(parse(&distinct, B).unwrap()[0].header("x-19999"), Some("v"));
        let repeated = body(&[
            "--",
            B,
            "\r\n",
            &many,
            "x-0: again\r\n\r\n{}\r\n--",
            B,
            "--",
        ]);
        assert_eq!(
            parse(&repeated, B),
            Err(MultipartError::DuplicateHeader {
                part: 0,
                name: "x-0".into(),
            })
        );
    }

    #[test]
    fn an_empty_part_and_a_part_without_headers_are_parts() {
        let raw = body(&["--", B, "\r\n\r\n--", B, "\r\n\r\ndata\r\n--", B, "--"]);
        let parts = parse(&raw, B).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].body().is_empty());
        assert_eq!(&parts[1].body()[..], b"data");
    }

    #[test]
    fn what_we_write_parses_back_identically() {
        let data: Vec<u8> = (0..=255u8).collect();
        let parts = [
            OutgoingPart {
                headers: vec![("Content-Type", "application/json")],
                body: b"{\"statements\":[]}",
            },
            OutgoingPart {
                headers: vec![
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Transfer-Encoding", "binary"),
                    ("X-Experience-API-Hash", "00ff"),
                ],
                body: &data,
            },
        ];
        let (boundary, out) = write(&parts);
        assert!(boundary.starts_with(BOUNDARY_PREFIX));
        let parsed = parse(&Bytes::from(out), &boundary).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].header("content-type"), Some("application/json"));
        assert_eq!(&parsed[1].body()[..], &data[..]);
        assert_eq!(parsed[1].header("x-experience-api-hash"), Some("00ff"));
    }
}
