//! The nesting-depth check every JSON a request brings passes before it is parsed.

use memchr::memchr2;

use crate::error::ValidationError;
use crate::limits::{JSON_DEPTH_RULE, MAX_JSON_DEPTH};

/// Refuses JSON whose arrays and objects nest deeper than [`MAX_JSON_DEPTH`], looking only at
/// the bytes: one pass, no recursion, no allocation, so it is safe on any input and runs before
/// any parser (parsers, comparison and rendering recurse once per level). `path` names where the
/// JSON came from in the error: `"$"` for a body, `"?agent"` for a parameter.
///
/// Brackets inside strings do not count (escapes are followed, so `"\"["` is a string). The
/// input need not be valid JSON: on any prefix a parser accepts, the depth counted here is the
/// parser's, so nothing deeper than the limit reaches a parser; what else is wrong is left for
/// the parser to report.
pub fn check_json_depth(json: &[u8], path: &str) -> Result<(), ValidationError> {
    match too_deep_at(json, MAX_JSON_DEPTH) {
        None => Ok(()),
        Some(offset) => Err(ValidationError::at_str(
            JSON_DEPTH_RULE,
            path,
            format!(
                "arrays and objects nest deeper than {MAX_JSON_DEPTH} levels (byte {offset} opens level {})",
                MAX_JSON_DEPTH + 1
            ),
        )),
    }
}

/// The offset of the first `[` or `{` outside strings that opens level `max + 1`, if any.
fn too_deep_at(json: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&byte) = json.get(i) {
        match byte {
            b'"' => {
                i = string_end(json, i + 1)?;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Just past the closing quote of the string whose contents start at `from`; `None` when the
/// string never ends (nothing after it can be parsed then).
fn string_end(json: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr2(b'"', b'\\', json.get(from..)?)?;
        if json[at] == b'"' {
            return Some(at + 1);
        }
        // A backslash escapes the next byte (`\"`, `\\`, `\u…`: the escaped byte is ASCII).
        from = at + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn depth_counts_arrays_and_objects_outside_strings() {
        assert_eq!(too_deep_at(b"", 1), None);
        assert_eq!(too_deep_at(b"1", 0), None);
        assert_eq!(too_deep_at(b"[]", 1), None);
        assert_eq!(too_deep_at(b"[]", 0), Some(0));
        assert_eq!(too_deep_at(br#"{"a":[1,{"b":2}]}"#, 3), None);
        assert_eq!(too_deep_at(br#"{"a":[1,{"b":2}]}"#, 2), Some(8));
        assert_eq!(
            too_deep_at(b"[[],[],[]]", 2),
            None,
            "siblings do not add up"
        );
        assert_eq!(too_deep_at(br#"["[[[[", "{{{{"]"#, 1), None);
        assert_eq!(too_deep_at(br#"["\"[[[", "\\", [[]]]"#, 2), Some(17));
        assert_eq!(too_deep_at(br#"["\\\"[["]"#, 1), None);
        assert_eq!(too_deep_at(br#"["\u005b[["]"#, 1), None);
    }

    #[test]
    fn malformed_input_never_hides_depth_and_never_panics() {
        assert_eq!(
            too_deep_at(b"]]]]]][[", 1),
            Some(7),
            "closers do not bank depth"
        );
        assert_eq!(too_deep_at(b"[[\"unterminated [[[[", 2), None);
        assert_eq!(too_deep_at(b"[\"ends with a backslash\\", 1), None);
        assert_eq!(too_deep_at(b"\\\\[[", 1), Some(3));
        assert_eq!(
            too_deep_at("[\"日本\\\u{3042}\",[[".as_bytes(), 2),
            Some(15)
        );
    }

    #[test]
    fn the_limit_admits_its_own_depth_and_refuses_one_more() {
        assert!(check_json_depth(nested(MAX_JSON_DEPTH).as_bytes(), "$").is_ok());
        let err = check_json_depth(nested(MAX_JSON_DEPTH + 1).as_bytes(), "?agent").unwrap_err();
        assert_eq!(err.rule(), JSON_DEPTH_RULE);
        assert_eq!(err.path(), "?agent");
        assert!(err.message().contains("byte 100"), "{}", err.message());
    }

    #[test]
    fn whatever_passes_is_parsed_by_serde_json_within_its_recursion_limit() {
        let deepest = format!("{{\"a\":{}}}", nested(MAX_JSON_DEPTH - 1));
        assert!(check_json_depth(deepest.as_bytes(), "$").is_ok());
        serde_json::from_str::<serde_json::Value>(&deepest).expect("serde_json parses it");
    }
}
