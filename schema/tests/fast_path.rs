//! The fast write path (a typed parse from the simd-json tape, stored bytes spliced from the
//! body) agrees with today's `Value` path on every corpus: fixtures, structural mutations of
//! them, textual mutations (duplicate keys, escapes, odd numbers and unicode, whitespace), and
//! random byte edits. Where it declines, today's path answers, so only agreement is checked.

mod common;

use common::{Path, check, check_value};
use lrs_schema::{XapiVersion, parse_statements, parse_statements_fast};
use proptest::prelude::*;
use serde_json::{Value, json};

const VERSIONS: [XapiVersion; 2] = [XapiVersion::V1_0_3, XapiVersion::V2_0_0];

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn japanese() -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&fixture_bytes("japan-statements.json")).unwrap()
}

fn spec_examples() -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&fixture_bytes("spec-examples.json"))
        .unwrap()
        .into_iter()
        .map(|e| e["statement"].clone())
        .collect()
}

/// Statements that exercise what the splice edits: no id, single context Activities (here and
/// in a SubStatement), a version, extensions with every kind of number, Groups, 2.0 context
/// agents.
fn hand_made() -> Vec<Value> {
    let actor = json!({"objectType": "Agent", "name": "山田 太郎", "account": {"homePage": "https://eportal.example.jp", "name": "s-001"}});
    let verb = json!({"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"ja-JP": "完了した", "en": "completed"}});
    let activity = json!({"id": "https://drill.example.jp/items/1", "definition": {"name": {"ja": "問1"}, "type": "http://adlnet.gov/expapi/activities/assessment"}});
    let single_context = json!({"contextActivities": {"parent": {"id": "https://drill.example.jp/units/1"}, "grouping": [{"id": "https://drill.example.jp/courses/sci"}], "category": {"id": "https://w3id.org/xapi/jp/subject/science", "objectType": "Activity"}}, "platform": "ドリル", "language": "ja-JP"});
    vec![
        json!({"actor": actor, "verb": verb, "object": activity}),
        json!({"actor": actor, "verb": verb, "object": activity, "context": single_context}),
        json!({"version": "1.0.3", "id": "6F1C2A4E-8B3D-4E7A-9C10-2D5F7A8B9C01", "actor": actor, "verb": verb, "object": activity, "context": single_context, "timestamp": "2025-10-14T10:12:45.123+09:00"}),
        json!({"actor": actor, "verb": verb, "object": {"objectType": "SubStatement", "actor": actor, "verb": verb, "object": activity, "context": single_context}, "context": {"contextActivities": {"other": {"id": "https://example.jp/other"}}}}),
        json!({"actor": actor, "verb": verb, "object": activity, "result": {"score": {"scaled": 0.8, "raw": 8, "min": 0, "max": 10}, "success": true, "completion": false, "response": "b", "duration": "PT1M30.5S", "extensions": {"https://example.jp/x/n": [0, -1, 1.5, -0.0, 1e300, 18446744073709551615u64, -9223372036854775808i64, null, {"a": [true]}], "https://example.jp/x/s": "あ"}}}),
        json!({"actor": {"objectType": "Group", "name": "3年1組", "member": [{"mbox": "mailto:a@example.jp"}, {"mbox_sha1sum": "ABCDEF0123456789abcdef0123456789abcdef01"}]}, "verb": verb, "object": {"objectType": "Agent", "openid": "https://id.example.jp/u/1"}, "context": {"instructor": {"mbox": "mailto:T@Example.JP"}, "team": {"objectType": "Group", "mbox": "mailto:team@example.jp"}, "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}}),
        json!({"actor": actor, "verb": verb, "object": activity, "context": {"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:p@example.jp"}, "relevantTypes": ["https://example.jp/t/parent"]}], "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [{"mbox": "mailto:q@example.jp"}]}}]}}),
        json!({"actor": actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}, "object": {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}}),
        json!({"actor": actor, "verb": verb, "object": {"id": "https://drill.example.jp/items/2", "definition": {"interactionType": "choice", "correctResponsesPattern": ["a[,]b"], "choices": [{"id": "a", "description": {"ja-JP": "西"}}, {"id": "b"}]}}}),
    ]
}

fn corpus() -> Vec<Value> {
    let mut all = japanese();
    all.extend(spec_examples());
    all.extend(hand_made());
    all
}

#[test]
fn the_shared_japanese_statements_take_the_fast_path_and_agree_alone_and_as_a_batch() {
    let body = fixture_bytes("japan-statements.json");
    for version in VERSIONS {
        // The file as it is: pretty-printed, raw UTF-8.
        assert_eq!(check(&body, version, true), Path::Fast, "{version:?}");
        for statement in japanese() {
            assert_eq!(check_value(&statement, version), Path::Fast);
        }
    }
}

#[test]
fn a_batch_of_a_hundred_takes_the_fast_path_and_agrees() {
    let statements = japanese();
    let batch: Vec<Value> = (0..100)
        .map(|i| {
            let mut s = statements[i % statements.len()].clone();
            if i % 2 == 0 {
                s.as_object_mut().unwrap().remove("id");
            } else {
                s["id"] = json!(uuid::Uuid::from_u128(i as u128 + 1).to_string());
            }
            s
        })
        .collect();
    for version in VERSIONS {
        assert_eq!(
            check_value(&Value::Array(batch.clone()), version),
            Path::Fast
        );
    }
}

#[test]
fn every_spec_example_and_hand_made_statement_agrees_and_the_plain_ones_take_the_fast_path() {
    for statement in spec_examples().iter().chain(&hand_made()) {
        for version in VERSIONS {
            let path = check_value(statement, version);
            let accepted =
                parse_statements(&serde_json::to_vec(statement).unwrap(), version).is_ok();
            // Declined only for what the fast path leaves to today's path.
            let leaves = ["authority", "stored", "attachments"]
                .iter()
                .any(|k| statement.get(k).is_some() || statement["object"].get(k).is_some());
            if accepted && !leaves {
                assert_eq!(path, Path::Fast, "{version:?}: {statement}");
            }
        }
    }
}

/// Every JSON pointer in `value` (the root excluded).
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

fn remove_at(value: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.shift_remove(&last);
        }
        Value::Array(items) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        _ => unreachable!(),
    }
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(18446744073709551615u64),
        json!(""),
        json!("x"),
        json!("mailto:a@example.jp"),
        json!("https://example.jp/あ"),
        json!("2025-10-14T10:12:45+09:00"),
        json!("6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01"),
        json!("\u{0}\u{1f}\"\\🍣"),
        json!([]),
        json!({}),
        json!([{"id": "https://example.jp/a"}]),
        json!({"ja-JP": "日本語", "en": "English"}),
        json!({"id": "https://example.jp/a", "objectType": "Activity"}),
        json!({"mbox": "mailto:a@example.jp"}),
    ]
}

#[test]
fn removing_or_retyping_any_property_of_any_corpus_statement_never_makes_the_paths_disagree() {
    let mut fast = 0;
    let mut declined = 0;
    for base in corpus() {
        let mut all = Vec::new();
        pointers(&base, String::new(), &mut all);
        for pointer in &all {
            let mut removed = base.clone();
            remove_at(&mut removed, pointer);
            let mut variants = vec![removed];
            for replacement in replacements() {
                let mut changed = base.clone();
                *changed.pointer_mut(pointer).unwrap() = replacement;
                variants.push(changed);
            }
            for variant in &variants {
                for version in VERSIONS {
                    match check(&serde_json::to_vec(variant).unwrap(), version, true) {
                        Path::Fast => fast += 1,
                        Path::Declined => declined += 1,
                    }
                }
            }
        }
    }
    // Both answers occur: the corpus reaches valid and invalid statements alike.
    assert!(
        fast > 1000 && declined > 1000,
        "fast {fast}, declined {declined}"
    );
}

/// Textual variants of a compact body that a `Value` cannot produce: each is checked against
/// today's path, and none may be accepted differently.
fn textual_variants(compact: &str) -> Vec<String> {
    let inner = &compact[1..compact.len() - 1];
    let first_member_end = {
        // The first top-level member: `"actor":{…}` or `"id":"…"`.
        let mut depth = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut end = inner.len();
        for (i, c) in inner.char_indices() {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        end
    };
    let first = &inner[..first_member_end];
    vec![
        // A duplicate key, with the same and with another value; and one nested.
        format!("{{{first},{inner}}}"),
        format!("{{{inner},{first}}}"),
        compact.replacen(
            "\"verb\":{",
            "\"verb\":{\"id\":\"http://example.com/other\",",
            1,
        ),
        compact.replacen(
            "\"actor\":{",
            "\"actor\":{\"name\":\"a\",\"name\":\"b\",",
            1,
        ),
        // Escaped keys and values.
        compact.replacen("\"actor\"", "\"\\u0061ctor\"", 1),
        compact.replacen("\"verb\"", "\"ver\\u0062\"", 1),
        compact.replacen("\"id\"", "\"\\u0069d\"", 1),
        compact.replacen("\"contextActivities\"", "\"context\\u0041ctivities\"", 1),
        compact.replacen("\"parent\"", "\"p\\u0061rent\"", 1),
        compact.replacen("https:", "https:\\/\\/", 1),
        compact.replacen("\"ja-JP\":\"", "\"ja-JP\":\"\\u3042\\n\\t\\\"", 1),
        compact.replacen("\"ja-JP\":\"", "\"ja-JP\":\"\\ud83c\\udf63", 1),
        compact.replacen("\"ja-JP\":\"", "\"ja-JP\":\"\\ud83c", 1),
        compact.replacen("\"ja-JP\":\"", "\"ja-JP\":\"\\udf63\\ud83c", 1),
        compact.replacen("\"ja-JP\":\"", "\"ja-JP\":\"\u{2028}\u{feff}\u{10ffff}", 1),
        compact.replacen("\"mailto:", "\"\\u006dailto:", 1),
        compact.replacen("\"name\":\"", "\"name\":\"\\u0000", 1),
        // Numbers spelled otherwise.
        compact.replacen(":0.8", ":8e-1", 1),
        compact.replacen(":0.8", ":0.80", 1),
        compact.replacen(":0.8", ":8E-1", 1),
        compact.replacen(":10", ":1e1", 1),
        compact.replacen(":10", ":10.0", 1),
        compact.replacen(":0,", ":-0,", 1),
        compact.replacen(":0,", ":-0.0,", 1),
        compact.replacen(":0,", ":1e400,", 1),
        compact.replacen(":0,", ":01,", 1),
        // simd-json reads a malformed number after 19 digits (today's path accepts these).
        compact.replacen(":10", ":1234567890123456789n", 1),
        compact.replacen(":10", ":-922337203685477580n8", 1),
        compact.replacen(":10", ":1.2345678901234567890123x", 1),
        // Whitespace everywhere JSON allows it, and where it does not.
        compact.replace(',', " ,\r\n\t").replace(':', "\t: "),
        format!(" \n{compact}\r\n "),
        format!("\u{feff}{compact}"),
        format!("{compact} x"),
        format!("{compact},"),
        format!("[{compact}"),
        format!("[{compact},]"),
        format!("[ {compact} , {compact} ]"),
        format!("[{compact}]"),
        format!("{{{inner}"),
        // Statement-level properties the fast path leaves to today's path.
        format!("{{\"authority\":{{\"mbox\":\"mailto:x@example.jp\"}},{inner}}}"),
        format!("{{{inner},\"stored\":\"2025-10-14T10:12:45Z\"}}"),
        format!("{{{inner},\"version\":\"1.0.9\"}}"),
        format!("{{{inner},\"version\":\"2.0.0\"}}"),
        format!("{{{inner},\"version\":\"1.0\"}}"),
        format!("{{{inner},\"version\":\"0.9\"}}"),
        format!("{{{inner},\"version\":null}}"),
    ]
}

#[test]
fn duplicate_keys_escapes_odd_numbers_unicode_and_whitespace_never_make_the_paths_disagree() {
    let mut fast = 0;
    for base in corpus() {
        let compact = serde_json::to_string(&base).unwrap();
        for variant in textual_variants(&compact) {
            for version in VERSIONS {
                if check(variant.as_bytes(), version, false) == Path::Fast {
                    fast += 1;
                }
            }
        }
    }
    assert!(fast > 100, "fast {fast}");
}

#[test]
fn bodies_a_value_holds_differently_from_the_tape_are_declined() {
    let base = serde_json::to_string(&japanese()[0]).unwrap();
    let inner = &base[1..base.len() - 1];
    for body in [
        // Duplicate keys: a Value keeps the last, in the first one's place.
        format!("{{{inner},\"verb\":{{\"id\":\"http://example.com/v\"}}}}"),
        // Surrogate escapes go to serde_json today.
        base.replacen("\"ja-JP\":\"", "\"ja-JP\":\"\\ud83c\\udf63", 1),
        // An escaped key: its raw bytes are not its name.
        base.replacen("\"id\"", "\"\\u0069d\"", 1),
        // A client authority or stored, and attachments.
        format!("{{\"authority\":{{\"mbox\":\"mailto:x@example.jp\"}},{inner}}}"),
        format!("{{{inner},\"stored\":\"2025-10-14T10:12:45Z\"}}"),
        "[]".to_owned(),
    ] {
        assert!(
            parse_statements_fast(body.as_bytes(), XapiVersion::V1_0_3).is_none(),
            "{body}"
        );
    }
}

proptest! {
    // FAST_PATH_CASES=100000 for a longer run (docs/performance.md, issue 12).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FAST_PATH_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(3000),
        ..ProptestConfig::default()
    })]

    /// Random byte edits of a valid body (mostly invalid JSON, sometimes another valid body).
    #[test]
    fn random_byte_edits_of_a_valid_body_never_make_the_paths_disagree(
        which in 0usize..32,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
        pretty in any::<bool>(),
    ) {
        let all = corpus();
        let base = &all[which % all.len()];
        let mut body = if pretty {
            serde_json::to_vec_pretty(base).unwrap()
        } else {
            serde_json::to_vec(base).unwrap()
        };
        for (at, kind, byte) in edits {
            let at = at.index(body.len());
            let byte = b"{}[]\":,\\ u0123456789eE.-+tfnalx"[byte as usize % 31];
            match kind {
                0 => body[at] = byte,
                1 => body.insert(at, byte),
                _ => { body.remove(at); }
            }
        }
        for version in VERSIONS {
            check(&body, version, false);
        }
    }
}
