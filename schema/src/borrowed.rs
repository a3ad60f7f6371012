//! The fast path of the write path: a statement body validated straight from a simd-json tape
//! borrowed from the request bytes, and its stored form spliced into those bytes, with no
//! `serde_json::Value` in between (issue 12, docs/performance.md "Issue 12: the borrowed parse").
//!
//! [`parse_statements_fast`] answers `None` whenever it is not certain to agree with
//! [`crate::parse_statements`] followed by [`crate::finalize_statement`]: the caller then takes
//! that path, which stays the only source of error messages. So `None` does not mean invalid.
//!
//! Why the answers agree when it answers `Some`:
//!
//! * The same bytes reach the same parser. Today's path builds its `Value` from the same simd-json
//!   tape (`simd_json::serde::from_slice` is `to_tape` plus a walk), after the same depth check,
//!   and only when no surrogate escape is present; otherwise this path declines.
//! * The same rules run: the typed model is parsed by the same code over [`JsonNode`], whose tape
//!   implementation answers as `serde_json::Value` does (numbers convert as serde_json's
//!   visitor converts simd-json's `I64`/`U64`/`F64`; strings are the tape's own).
//! * What the tape can express and a `Value` cannot is declined: duplicate keys (a `Value` keeps
//!   the last, in the first one's place), non-finite or 128-bit numbers.
//! * What today's finalize does not do by plain insertion is declined: a client `authority`
//!   (replaced, and the statement parsed again), a client `stored` (removed with `swap_remove`,
//!   which moves the last property), attachments (their signatures are checked against a `Value`).
//!
//! The stored bytes then differ from today's only in spelling, not in meaning or key order:
//! whitespace is removed as today, but strings keep the client's escapes (`\u3042`, `\/`) and
//! numbers the client's digits (`1.50`, `1e2`); parsing them gives today's `Value`.

use std::borrow::Cow;
use std::ops::Range;

use memchr::{memchr2, memchr3};
use serde_json::{Number, Value};
use simd_json::{Node, StaticNode};
use uuid::Uuid;

use crate::context::CONTEXT_ACTIVITY_KEYS;
use crate::json::{JsonNode, Kind};
use crate::json_depth::check_json_depth;
use crate::object::StatementObject;
use crate::statement::Statement;
use crate::version::{StatementVersion, XapiVersion};

/// One node of a simd-json tape and everything under it (`nodes[0]` is the node).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TapeNode<'t, 'i>(&'t [Node<'i>]);

/// How many tape nodes the value at `nodes[0]` takes, itself included.
fn width(nodes: &[Node<'_>]) -> usize {
    match nodes[0] {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

impl<'t, 'i: 't> JsonNode<'t> for TapeNode<'t, 'i> {
    type Items = TapeItems<'t, 'i>;
    type Members = TapeMembers<'t, 'i>;

    fn kind(self) -> Kind {
        match self.0[0] {
            Node::String(_) => Kind::String,
            Node::Object { .. } => Kind::Object,
            Node::Array { .. } => Kind::Array,
            Node::Static(StaticNode::Null) => Kind::Null,
            Node::Static(StaticNode::Bool(_)) => Kind::Bool,
            Node::Static(_) => Kind::Number,
        }
    }

    fn as_str(self) -> Option<&'t str> {
        match self.0[0] {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    fn as_bool(self) -> Option<bool> {
        match self.0[0] {
            Node::Static(StaticNode::Bool(b)) => Some(b),
            _ => None,
        }
    }

    fn as_f64(self) -> Option<f64> {
        match self.0[0] {
            Node::Static(StaticNode::I64(i)) => Some(i as f64),
            Node::Static(StaticNode::U64(u)) => Some(u as f64),
            Node::Static(StaticNode::F64(f)) => Some(f),
            _ => None,
        }
    }

    fn as_u64(self) -> Option<u64> {
        match self.0[0] {
            // serde_json keeps a non-negative i64 as a positive integer.
            Node::Static(StaticNode::I64(i)) => u64::try_from(i).ok(),
            Node::Static(StaticNode::U64(u)) => Some(u),
            _ => None,
        }
    }

    fn items(self) -> Option<Self::Items> {
        match self.0[0] {
            Node::Array { len, .. } => Some(TapeItems {
                rest: &self.0[1..],
                left: len,
            }),
            _ => None,
        }
    }

    fn members(self) -> Option<Self::Members> {
        match self.0[0] {
            Node::Object { len, .. } => Some(TapeMembers {
                rest: &self.0[1..],
                left: len,
            }),
            _ => None,
        }
    }

    fn get(self, key: &str) -> Option<Self> {
        self.members()?.find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn to_value(self) -> Value {
        match self.0[0] {
            Node::String(s) => Value::String(s.to_owned()),
            Node::Static(StaticNode::Null) => Value::Null,
            Node::Static(StaticNode::Bool(b)) => Value::Bool(b),
            Node::Static(StaticNode::I64(i)) => Value::Number(i.into()),
            Node::Static(StaticNode::U64(u)) => Value::Number(u.into()),
            // As serde_json's own visitor: a non-finite float is null (never on the fast path,
            // see `plain_tape`).
            Node::Static(StaticNode::F64(f)) => {
                Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            #[allow(unreachable_patterns)] // 128-bit integers exist only with a simd-json feature
            Node::Static(_) => Value::Null,
            Node::Array { .. } => Value::Array(
                self.items()
                    .into_iter()
                    .flatten()
                    .map(TapeNode::to_value)
                    .collect(),
            ),
            Node::Object { len, .. } => {
                let mut map = serde_json::Map::with_capacity(len);
                for (k, v) in self.members().into_iter().flatten() {
                    map.insert(k.to_owned(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// The elements of a tape array.
pub(crate) struct TapeItems<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for TapeItems<'t, 'i> {
    type Item = TapeNode<'t, 'i>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (item, rest) = self.rest.split_at(width(self.rest));
        self.rest = rest;
        Some(TapeNode(item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for TapeItems<'_, '_> {}

/// The members of a tape object, in document order.
pub(crate) struct TapeMembers<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i: 't> Iterator for TapeMembers<'t, 'i> {
    type Item = (&'t str, TapeNode<'t, 'i>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let Node::String(key) = self.rest[0] else {
            unreachable!("simd-json tapes hold a string key before every object value");
        };
        let value = &self.rest[1..];
        let (value, rest) = value.split_at(width(value));
        self.rest = rest;
        Some((key, TapeNode(value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for TapeMembers<'_, '_> {}

/// Whether a `serde_json::Value` built from this tape would hold exactly the tape: no object has a
/// key twice, every number is an `i64`, `u64` or finite `f64`.
fn plain_tape(nodes: &[Node<'_>]) -> bool {
    for (at, node) in nodes.iter().enumerate() {
        match *node {
            Node::Object { len, .. } if len > 1 => {
                let keys = TapeMembers {
                    rest: &nodes[at + 1..],
                    left: len,
                }
                .map(|(k, _)| k);
                if has_duplicate(keys, len) {
                    return false;
                }
            }
            Node::Static(StaticNode::F64(f)) if !f.is_finite() => return false,
            Node::Static(
                StaticNode::F64(_) | StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::Bool(_),
            )
            | Node::Static(StaticNode::Null) => {}
            #[allow(unreachable_patterns)] // 128-bit integers exist only with a simd-json feature
            Node::Static(_) => return false,
            _ => {}
        }
    }
    true
}

fn has_duplicate<'a>(mut keys: impl Iterator<Item = &'a str>, len: usize) -> bool {
    if len <= 16 {
        let mut seen: [&str; 16] = [""; 16];
        for (i, key) in keys.enumerate() {
            if seen[..i].contains(&key) {
                return true;
            }
            seen[i] = key;
        }
        false
    } else {
        let mut seen = std::collections::HashSet::with_capacity(len);
        keys.any(|k| !seen.insert(k))
    }
}

/// One statement of a body that took the fast path: typed, with what is needed to write its
/// stored form.
#[derive(Debug)]
pub struct FastStatement<'b> {
    statement: Statement,
    /// The statement's bytes without insignificant whitespace (borrowed from the body when it
    /// has none).
    compact: Cow<'b, [u8]>,
    /// Where the value of `id` is in `compact`, if the client sent one.
    id: Option<Range<usize>>,
    /// The client sent an acceptable `version` (kept as is).
    has_version: bool,
    /// `contextActivities` values that are single objects, here or in a SubStatement: each is
    /// written as an array of one.
    singles: Vec<Range<usize>>,
}

impl FastStatement<'_> {
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The stored form, as [`crate::finalize_statement`] and the API make it and `serde_json`
    /// writes it: `id` set (first when the client sent none), `version` kept or set to the
    /// default, `authority` (compact JSON) appended, single context Activities as arrays, and
    /// `timestamp` appended when the statement has none.
    pub fn stored_body(
        &self,
        id: Uuid,
        authority: &[u8],
        version: XapiVersion,
        timestamp: &str,
    ) -> Vec<u8> {
        let c = &self.compact;
        let mut out = Vec::with_capacity(c.len() + authority.len() + 128);
        let mut id_text = [0u8; 38];
        id_text[0] = b'"';
        id.hyphenated().encode_lower(&mut id_text[1..37]);
        id_text[37] = b'"';
        // (position, bytes removed, bytes inserted), in order of position.
        let mut edits: Vec<(usize, usize, &[u8])> = Vec::with_capacity(2 * self.singles.len() + 1);
        match &self.id {
            Some(range) => edits.push((range.start, range.len(), &id_text)),
            None => {
                edits.push((1, 0, b"\"id\":"));
                edits.push((1, 0, &id_text));
                edits.push((1, 0, b","));
            }
        }
        for single in &self.singles {
            edits.push((single.start, 0, b"["));
            edits.push((single.end, 0, b"]"));
        }
        edits.sort_by_key(|(at, _, _)| *at); // stable: same-position inserts keep their order
        let mut at = 0;
        for (position, removed, inserted) in edits {
            out.extend_from_slice(&c[at..position]);
            out.extend_from_slice(inserted);
            at = position + removed;
        }
        // Everything but the closing brace, then the appended properties.
        out.extend_from_slice(&c[at..c.len() - 1]);
        if !self.has_version {
            out.extend_from_slice(b",\"version\":\"");
            out.extend_from_slice(version.default_statement_version().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b",\"authority\":");
        out.extend_from_slice(authority);
        if self.statement.body().timestamp().is_none() {
            out.extend_from_slice(b",\"timestamp\":\"");
            out.extend_from_slice(timestamp.as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        out
    }
}

/// The statements of a POST/PUT body, on the fast path; `None` means "take
/// [`crate::parse_statements`]" (see the module documentation), never "invalid".
pub fn parse_statements_fast(body: &[u8], version: XapiVersion) -> Option<Vec<FastStatement<'_>>> {
    check_json_depth(body, "$").ok()?;
    if crate::batch::has_surrogate_escape(body) || !scalars_are_strict(body) {
        return None;
    }
    let mut scratch = body.to_vec();
    let tape = simd_json::to_tape(&mut scratch).ok()?;
    let nodes = tape.0.as_slice();
    if !plain_tape(nodes) {
        return None;
    }
    let root = TapeNode(nodes);
    let ranges = statement_ranges(body)?;
    match root.kind() {
        Kind::Object => Some(vec![fast_statement(
            root,
            &body[ranges[0].clone()],
            version,
            "$",
        )?]),
        Kind::Array => {
            let items = root.items()?;
            if items.len() == 0 || items.len() != ranges.len() {
                return None;
            }
            items
                .zip(ranges)
                .enumerate()
                .map(|(i, (item, range))| {
                    fast_statement(item, &body[range], version, &format!("$[{i}]"))
                })
                .collect()
        }
        _ => None,
    }
}

fn fast_statement<'b>(
    node: TapeNode<'_, '_>,
    bytes: &'b [u8],
    version: XapiVersion,
    path: &str,
) -> Option<FastStatement<'b>> {
    let statement = Statement::parse(node, version, path).ok()?;
    let sub = match statement.body().object() {
        StatementObject::SubStatement(sub) => Some(sub),
        _ => None,
    };
    if statement.authority().is_some()
        || statement.stored().is_some()
        || !statement.body().attachments().is_empty()
        || sub.is_some_and(|s| !s.body().attachments().is_empty())
    {
        return None;
    }
    let has_version = match node.get("version") {
        Some(v) => StatementVersion::is_acceptable(v.as_str()?, version).then_some(true)?,
        None => false,
    };
    let compact = compact(bytes)?;
    let top = members(&compact, 0)?;
    let id = find(&top, b"id").map(|m| m.value.clone());
    let mut singles = Vec::new();
    single_context_activities(&compact, &top, &mut singles)?;
    if sub.is_some() {
        let object = find(&top, b"object")?;
        let inner = members(&compact, object.value.start)?;
        single_context_activities(&compact, &inner, &mut singles)?;
    }
    Some(FastStatement {
        statement,
        compact,
        id,
        has_version,
        singles,
    })
}

/// Pushes the ranges of the single-object values of `context.contextActivities` of a statement
/// whose members are `top`.
fn single_context_activities(
    bytes: &[u8],
    top: &[Member],
    singles: &mut Vec<Range<usize>>,
) -> Option<()> {
    let Some(context) = find(top, b"context") else {
        return Some(());
    };
    let context = members(bytes, context.value.start)?;
    let Some(activities) = find(&context, b"contextActivities") else {
        return Some(());
    };
    for member in members(bytes, activities.value.start)? {
        if CONTEXT_ACTIVITY_KEYS
            .iter()
            .any(|k| k.as_bytes() == member.key)
            && bytes[member.value.start] == b'{'
        {
            singles.push(member.value);
        }
    }
    Some(())
}

// --- Byte scanning of JSON that simd-json already accepted ---------------------------------

/// One property of an object in compact JSON: the key's raw bytes (between the quotes) and the
/// value's range.
#[derive(Debug)]
struct Member<'a> {
    key: &'a [u8],
    value: Range<usize>,
}

fn find<'m, 'a>(members: &'m [Member<'a>], key: &[u8]) -> Option<&'m Member<'a>> {
    members.iter().find(|m| m.key == key)
}

/// The index just past the closing quote of the string whose opening quote is at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i += memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i] == b'\\' {
            i += 2;
        } else {
            return Some(i + 1);
        }
    }
}

/// The index just past the value starting at `at` (valid JSON, no whitespace before it).
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let rest = &bytes[at..];
            Some(
                at + rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                    .unwrap_or(rest.len()),
            )
        }
    }
}

/// The properties of the object at `at` in compact JSON. `None` when a key has an escape (its
/// raw bytes would not be its name; today's path handles it).
fn members(bytes: &[u8], at: usize) -> Option<Vec<Member<'_>>> {
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::with_capacity(12);
    let mut i = at + 1;
    if bytes.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let key_end = string_end(bytes, i)?;
        let key = &bytes[i + 1..key_end - 1];
        if key.contains(&b'\\') || bytes.get(key_end) != Some(&b':') {
            return None;
        }
        let start = key_end + 1;
        let end = value_end(bytes, start)?;
        out.push(Member {
            key,
            value: start..end,
        });
        match bytes.get(end)? {
            b',' => i = end + 1,
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

/// Whether every token outside strings that is not punctuation or whitespace is `true`, `false`,
/// `null` or an RFC 8259 number other than the integer `-0`. simd-json 0.15 accepts some
/// malformed numbers after 19 digits (`[1234567890123456789n]`, read as 1234567890123456789);
/// today's path re-serialises the value it read, but spliced bytes would keep the malformed
/// text. And simd-json reads `-0` as the integer 0, which today's path stores as `0`, while the
/// client's `-0` read back by serde_json is the float `-0.0`. Such bodies are declined.
fn scalars_are_strict(body: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => match string_end(body, i) {
                Some(end) => i = end,
                None => return false,
            },
            b'{' | b'}' | b'[' | b']' | b':' | b',' | b' ' | b'\n' | b'\r' | b'\t' => i += 1,
            _ => {
                let end = body[i..]
                    .iter()
                    .position(|b| {
                        matches!(
                            b,
                            b'{' | b'}'
                                | b'['
                                | b']'
                                | b':'
                                | b','
                                | b'"'
                                | b' '
                                | b'\n'
                                | b'\r'
                                | b'\t'
                        )
                    })
                    .map_or(body.len(), |n| i + n);
                let token = &body[i..end];
                let number = || token != b"-0" && is_json_number(token);
                if !(matches!(token, b"true" | b"false" | b"null") || number()) {
                    return false;
                }
                i = end;
            }
        }
    }
    true
}

/// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(token: &[u8]) -> bool {
    let digits = |at: usize| {
        token[at.min(token.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut i = usize::from(token.first() == Some(&b'-'));
    match token.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return false,
    }
    if token.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if matches!(token.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(token.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == token.len()
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// The byte range of each statement of a body: the object, or each element of the array.
fn statement_ranges(body: &[u8]) -> Option<Vec<Range<usize>>> {
    let start = skip_whitespace(body, 0);
    match *body.get(start)? {
        b'{' => Some(vec![Range {
            start,
            end: value_end(body, start)?,
        }]),
        b'[' => {
            let mut out = Vec::new();
            let mut i = skip_whitespace(body, start + 1);
            if body.get(i) == Some(&b']') {
                return Some(out);
            }
            loop {
                let end = value_end(body, i)?;
                out.push(i..end);
                i = skip_whitespace(body, end);
                match body.get(i)? {
                    b',' => i = skip_whitespace(body, i + 1),
                    b']' => return Some(out),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// The JSON without whitespace outside strings (borrowed when it has no whitespace at all).
fn compact(bytes: &[u8]) -> Option<Cow<'_, [u8]>> {
    if memchr3(b' ', b'\n', b'\t', bytes).is_none() && memchr::memchr(b'\r', bytes).is_none() {
        return Some(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let end = string_end(bytes, i)?;
                out.extend_from_slice(&bytes[i..end]);
                i = end;
            }
            b' ' | b'\n' | b'\r' | b'\t' => i += 1,
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_recognised_exactly_as_rfc_8259_spells_them() {
        for ok in [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "1.5",
            "-0.0",
            "1e5",
            "1E+5",
            "1e-05",
            "0.1e1",
            "123456789012345678901234",
        ] {
            assert!(is_json_number(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "-",
            "+1",
            "01",
            "-01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "1.e5",
            "0x1",
            "1n",
            "1234567890123456789n",
            "-922337203685477580n8",
            "NaN",
            "Infinity",
            "1_000",
            "1.5.5",
        ] {
            assert!(!is_json_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn a_body_with_a_malformed_number_simd_json_accepts_is_declined() {
        let body = br#"{"actor":{"mbox":"mailto:a@example.jp"},"verb":{"id":"http://example.jp/v"},"object":{"id":"http://example.jp/a","definition":{"extensions":{"http://example.jp/x":1234567890123456789n}}}}"#;
        let refused = crate::parse_statements(body, XapiVersion::V1_0_3)
            .expect_err("today's path refuses it (serde_json decides bodies with long digit runs)");
        assert!(refused.to_string().contains("malformed JSON"), "{refused}");
        assert!(parse_statements_fast(body, XapiVersion::V1_0_3).is_none());
        let fine = String::from_utf8_lossy(body).replace("6789n", "6789");
        assert!(parse_statements_fast(fine.as_bytes(), XapiVersion::V1_0_3).is_some());
    }
}
