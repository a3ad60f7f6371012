//! A POST/PUT body: one statement or an array of them.

use serde_json::Value;

use crate::error::ValidationError;
use crate::json::type_name;
use crate::json_depth::check_json_depth;
use crate::statement::Statement;
use crate::version::XapiVersion;

const JSON_RULE: &str =
    "xAPI 1.0.3 Communication §2.1.2 / RFC 8259: a Statement request body MUST be well-formed JSON";
const SHAPE_RULE: &str = "xAPI 1.0.3 Communication §2.1.2: the request body MUST be a Statement object or an array of Statements";

/// Parses a request body that is either one statement object or an array of them (an empty
/// array gives an empty vec). Each statement comes back typed, with its JSON value, which the
/// LRS stores in its exact form. Error paths are `$` for a single object and `$[i]…` in arrays.
///
/// xAPI 1.0.3 Communication §3.2.s3.b9: the whole batch is rejected if any statement is, so the
/// first error is returned.
pub fn parse_statements(
    body: &[u8],
    version: XapiVersion,
) -> Result<Vec<(Statement, Value)>, ValidationError> {
    let value = parse_json(body)?;
    match value {
        Value::Object(_) => {
            let statement = Statement::from_json(&value, version, "$")?;
            Ok(vec![(statement, value)])
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let statement = Statement::from_json(&item, version, &format!("$[{i}]"))?;
                out.push((statement, item));
            }
            Ok(out)
        }
        other => Err(ValidationError::at_str(
            SHAPE_RULE,
            "$",
            format!(
                "expected a Statement object or an array, found {}",
                type_name(&other)
            ),
        )),
    }
}

/// The body as a JSON value, parsed with simd-json (SIMD structural scan; measurably cheaper
/// than serde_json's byte-at-a-time parser on statement batches, docs/performance.md). Anything
/// simd-json refuses is parsed again with serde_json, whose answer is final: its error message is
/// the one clients see, and a body only serde_json accepts is still accepted (the two agree on
/// RFC 8259, see the tests).
///
/// simd-json turns a lone UTF-16 surrogate escape (`"\\ud800"`) into U+0000 instead of refusing
/// it, so a body with any surrogate escape goes to serde_json directly.
///
/// Both parsers recurse per nesting level (simd-json without a limit), so the depth is checked
/// first ([`check_json_depth`]).
pub fn parse_json(body: &[u8]) -> Result<Value, ValidationError> {
    check_json_depth(body, "$")?;
    if !has_surrogate_escape(body) && !has_long_digit_run(body) {
        let mut scratch = body.to_vec();
        if let Ok(value) = simd_json::serde::from_slice::<Value>(&mut scratch) {
            return Ok(value);
        }
    }
    serde_json::from_slice(body)
        .map_err(|e| ValidationError::at_str(JSON_RULE, "$", format!("malformed JSON: {e}")))
}

/// 19 or more ASCII digits in a row anywhere. simd-json 0.15 accepts some malformed numbers
/// after 19 digits (`1234567890123456789n` is read as 1234567890123456789), so such a body goes
/// to serde_json, which refuses it. (Digits inside a string also match; that only costs the
/// faster parser.)
fn has_long_digit_run(body: &[u8]) -> bool {
    let mut run = 0;
    for &b in body {
        if b.is_ascii_digit() {
            run += 1;
            if run >= 19 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// `\\u` followed by `D8`…`DF` (either case) anywhere: possibly a surrogate escape. (An escaped
/// backslash before `u` also matches; that only costs the faster parser.)
pub(crate) fn has_surrogate_escape(body: &[u8]) -> bool {
    memchr::memmem::find_iter(body, b"\\u").any(|at| {
        matches!(body.get(at + 2..at + 4), Some(&[d, x])
            if (d | 0x20) == b'd' && matches!(x | 0x20, b'8' | b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8259 §2–§8 edge cases: simd-json (with the serde_json fallback) must accept exactly
    /// what serde_json accepts, and build the same value.
    #[test]
    fn simd_json_parsing_agrees_with_serde_json_on_rfc_8259_edge_cases() {
        let cases: &[&[u8]] = &[
            b"{}",
            b"[]",
            b" [ {\"a\" : 1 } ] ",
            b"{\"a\":1,}",
            b"[1,]",
            b"{\"a\":1} x",
            b"{\"a\":1}{}",
            b"{\"a\":NaN}",
            b"{\"a\":01}",
            b"{\"a\":-}",
            b"{\"a\":1e400}",
            b"{\"a\":18446744073709551616}",
            b"{\"a\":-9223372036854775809}",
            b"{\"a\":1.0e-400}",
            b"{\"a\":\"tab\there\"}",
            b"{\"a\":\"\\ud800\"}",
            b"{\"a\":\"\\uDC00\"}",
            b"{\"a\":\"\\ude00\\ud83d\"}",
            b"{\"a\":\"\\ud800\\u0041\"}",
            b"{\"a\":\"x\\\\ud800\"}",
            b"{\"a\":\"\\ud83d\\ude00\"}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"\xe3\x81\x82\"}",
            b"{\"a\":1,\"a\":2}",
            b"{'a':1}",
            b"{a:1}",
            b"\xef\xbb\xbf{}",
            b"",
            b"   ",
            b"null",
            b"\"text\"",
            b"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
            b"{\"a\":true,\"b\":false,\"c\":null,\"d\":-0.5E+2}",
            b"{\"a\":1234567890123456789n}",
            b"[1234567890123456789n]",
            b"{\"a\":12345678901234567890123x}",
            b"{\"a\":1234567890123456789}",
            b"{\"a\":\"1234567890123456789n\"}",
        ];
        let disagreements: Vec<String> = cases
            .iter()
            .filter(|case| parse_json(case).ok() != serde_json::from_slice::<Value>(case).ok())
            .map(|case| String::from_utf8_lossy(case).into_owned())
            .collect();
        assert!(disagreements.is_empty(), "disagreements: {disagreements:?}");
    }

    /// Numbers are read correctly rounded whichever parser reads the body: serde_json without
    /// `float_roundtrip` read `21e+300` one unit in the last place off (2.1000000000000002e301),
    /// so a body that went to serde_json (here for its 20-digit run) stored a different number
    /// than the client sent (CI found it through the fast path's random edits).
    #[test]
    fn floats_are_read_correctly_rounded_by_both_parsers() {
        let texts = [
            "21e+300",
            "2.2250738585072014e-308",
            "0.30000000000000004",
            "1234567.123456789012",
            "9007199254740993.5",
            "4.9e-324",
            "1.7976931348623157e308",
        ];
        for text in texts {
            let want: f64 = text.parse().unwrap();
            for body in [
                format!("[{text}]"),
                format!("[{text},18446744073709551615]"),
            ] {
                let got = parse_json(body.as_bytes()).unwrap()[0].as_f64().unwrap();
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{body}: {got:e} for {want:e}"
                );
            }
        }
    }

    #[test]
    fn malformed_json_is_reported_with_serde_jsons_message_and_the_rule() {
        let err = parse_json(b"{\"a\":}").expect_err("malformed");
        let text = err.to_string();
        assert!(text.contains("RFC 8259"), "{text}");
        assert!(text.contains("malformed JSON: expected value"), "{text}");
    }
}
