//! Statement comparison, for a statement id that arrives twice.
//!
//! xAPI 1.0.3 Data §2.3.1.s9 (Statement Comparison Requirements): "Differences which could have
//! been caused by exceptions to Statement immutability MUST be ignored"; other differences MUST
//! NOT be. The exceptions (§2.3.1.b1–b7; 2.0 keeps the same list) and how each is applied here:
//!
//! * b1, properties the LRS assigns: `authority`, `stored` and `version` are ignored; `id` and
//!   `timestamp` are ignored when only one side has them (the LRS could have set them);
//! * b2, Activity Definitions are not part of the statement: Activities compare by `id` only;
//! * b3, a Verb's `display` is not part of the statement: Verbs compare by `id` only;
//! * b4, timestamps may come back in another time zone: they compare as instants;
//! * b5, a Group's `member` list is unordered: members compare as a multiset;
//! * b6, attachments are not part of the statement: `attachments` is ignored;
//! * b7, case-insensitive values: UUIDs, the `mailto:` scheme and the email domain, SHA1 hex
//!   and language tags compare regardless of case.
//!
//! Also: a single context Activity equals an array of one (the LRS MUST return arrays,
//! §2.4.6.2.s4.b3); a duration is compared as a string (§2.3.1.b8) to 0.01 s (§4.6.s1.b5);
//! numbers compare by value (`1` equals `1.0`); object key order never matters.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::context::CONTEXT_ACTIVITY_KEYS;
use crate::duration::comparison_key;
use crate::ifi::canonical_mbox;
use crate::timestamp::parse_timestamp;

const IGNORED: [&str; 4] = ["stored", "authority", "version", "attachments"];

/// Whether two statements are the same statement under xAPI's comparison rules.
pub fn statements_equivalent(a: &Value, b: &Value) -> bool {
    statement_eq(a, b, false)
}

fn union_keys<'a>(
    a: &'a Map<String, Value>,
    b: &'a Map<String, Value>,
) -> impl Iterator<Item = &'a String> {
    a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)))
}

fn statement_eq(a: &Value, b: &Value, sub_statement: bool) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return json_eq(a, b);
    };
    union_keys(a, b).all(|key| {
        if IGNORED.contains(&key.as_str()) {
            return true;
        }
        match (key.as_str(), a.get(key), b.get(key)) {
            ("id", Some(x), Some(y)) => uuid_eq(x, y),
            ("id", _, _) if !sub_statement => true,
            ("timestamp", Some(x), Some(y)) => timestamp_eq(x, y),
            ("timestamp", _, _) => !sub_statement,
            (_, Some(x), Some(y)) => property_eq(key, x, y),
            _ => false,
        }
    })
}

fn property_eq(key: &str, x: &Value, y: &Value) -> bool {
    match key {
        "actor" => actor_eq(x, y),
        "verb" => json_eq_opt(x.get("id"), y.get("id")),
        "object" => object_eq(x, y),
        "result" => result_eq(x, y),
        "context" => context_eq(x, y),
        _ => json_eq(x, y),
    }
}

fn object_type<'a>(value: &'a Value, default: &'static str) -> Option<&'a str> {
    match value.get("objectType") {
        None => Some(default),
        Some(t) => t.as_str(),
    }
}

fn object_eq(x: &Value, y: &Value) -> bool {
    let kind = object_type(x, "Activity");
    if kind != object_type(y, "Activity") {
        return false;
    }
    match kind {
        Some("Activity") => activity_eq(x, y),
        Some("Agent") | Some("Group") => actor_eq(x, y),
        Some("StatementRef") => match (x.get("id"), y.get("id")) {
            (Some(a), Some(b)) => uuid_eq(a, b),
            (a, b) => json_eq_opt(a, b),
        },
        Some("SubStatement") => statement_eq(x, y, true),
        _ => json_eq(x, y),
    }
}

fn activity_eq(x: &Value, y: &Value) -> bool {
    object_type(x, "Activity") == object_type(y, "Activity")
        && json_eq_opt(x.get("id"), y.get("id"))
}

fn actor_eq(x: &Value, y: &Value) -> bool {
    let (Some(a), Some(b)) = (x.as_object(), y.as_object()) else {
        return json_eq(x, y);
    };
    if object_type(x, "Agent") != object_type(y, "Agent") {
        return false;
    }
    union_keys(a, b).all(|key| match (key.as_str(), a.get(key), b.get(key)) {
        ("objectType", _, _) => true,
        ("mbox", Some(Value::String(m)), Some(Value::String(n))) => {
            canonical_mbox(m) == canonical_mbox(n)
        }
        ("mbox_sha1sum", Some(Value::String(m)), Some(Value::String(n))) => {
            m.eq_ignore_ascii_case(n)
        }
        ("member", Some(Value::Array(m)), Some(Value::Array(n))) => same_members(m, n),
        (_, Some(m), Some(n)) => json_eq(m, n),
        _ => false,
    })
}

/// Group members as a multiset (xAPI 1.0.3 Data §2.3.1.b5), in linear time: each member is
/// reduced to its [`actor_key`], and the two lists must hold the same keys as often.
fn same_members(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut counts: HashMap<String, isize> = HashMap::with_capacity(a.len());
    for member in a {
        *counts.entry(actor_key(member)).or_default() += 1;
    }
    for member in b {
        match counts.get_mut(&actor_key(member)) {
            Some(count) if *count > 0 => *count -= 1,
            _ => return false,
        }
    }
    true
}

/// A string equal for two actors exactly when [`actor_eq`] holds: the same keys, with `mbox`
/// and `mbox_sha1sum` in canonical case, `member` as a sorted list of member keys, `objectType`
/// defaulted, every other value by [`json_key`].
fn actor_key(actor: &Value) -> String {
    let Some(map) = actor.as_object() else {
        return format!("j{}", json_key(actor));
    };
    let mut out = String::from("a");
    match object_type(actor, "Agent") {
        Some(kind) => out.push_str(&json_key(&Value::from(kind))),
        None => out.push('-'),
    }
    let mut keys: Vec<&String> = map.keys().filter(|k| *k != "objectType").collect();
    keys.sort_unstable();
    for key in keys {
        out.push_str(&json_key(&Value::from(key.as_str())));
        match (key.as_str(), &map[key]) {
            ("mbox", Value::String(m)) => {
                out.push('m');
                out.push_str(&json_key(&Value::from(canonical_mbox(m))));
            }
            ("mbox_sha1sum", Value::String(m)) => {
                out.push('m');
                out.push_str(&json_key(&Value::from(m.to_ascii_lowercase())));
            }
            ("member", Value::Array(members)) => {
                let mut keys: Vec<String> = members.iter().map(actor_key).collect();
                keys.sort_unstable();
                out.push_str(&format!("g{}", json_key(&Value::from(keys))));
            }
            (_, value) => out.push_str(&json_key(value)),
        }
    }
    out
}

/// A string equal for two values exactly when [`json_eq`] holds: keys sorted, numbers by their
/// `f64` value (`1` and `1.0` alike; serde_json numbers always have one).
fn json_key(value: &Value) -> String {
    let mut out = String::new();
    write_json_key(value, &mut out);
    out
}

fn write_json_key(value: &Value, out: &mut String) {
    match value {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // 0.0 == -0.0 as numbers.
            let f = if f == 0.0 { 0.0 } else { f };
            out.push_str(&format!("n{f:?}"));
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_json_key(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by_key(|(k, _)| *k);
            out.push('{');
            for (k, v) in entries {
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                write_json_key(v, out);
                out.push(',');
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn result_eq(x: &Value, y: &Value) -> bool {
    let (Some(a), Some(b)) = (x.as_object(), y.as_object()) else {
        return json_eq(x, y);
    };
    union_keys(a, b).all(|key| match (key.as_str(), a.get(key), b.get(key)) {
        ("duration", Some(Value::String(m)), Some(Value::String(n))) => {
            comparison_key(m) == comparison_key(n)
        }
        (_, Some(m), Some(n)) => json_eq(m, n),
        _ => false,
    })
}

fn context_eq(x: &Value, y: &Value) -> bool {
    let (Some(a), Some(b)) = (x.as_object(), y.as_object()) else {
        return json_eq(x, y);
    };
    union_keys(a, b).all(|key| match (key.as_str(), a.get(key), b.get(key)) {
        ("registration", Some(m), Some(n)) => uuid_eq(m, n),
        ("instructor" | "team", Some(m), Some(n)) => actor_eq(m, n),
        ("contextActivities", Some(m), Some(n)) => context_activities_eq(m, n),
        ("language", Some(Value::String(m)), Some(Value::String(n))) => m.eq_ignore_ascii_case(n),
        ("statement", Some(m), Some(n)) => object_eq(m, n),
        ("contextAgents", Some(Value::Array(m)), Some(Value::Array(n))) => {
            m.len() == n.len()
                && m.iter()
                    .zip(n)
                    .all(|(p, q)| wrapped_actor_eq(p, q, "agent"))
        }
        ("contextGroups", Some(Value::Array(m)), Some(Value::Array(n))) => {
            m.len() == n.len()
                && m.iter()
                    .zip(n)
                    .all(|(p, q)| wrapped_actor_eq(p, q, "group"))
        }
        (_, Some(m), Some(n)) => json_eq(m, n),
        _ => false,
    })
}

/// A contextAgent / contextGroup: the wrapped actor by actor rules, the rest exactly.
fn wrapped_actor_eq(x: &Value, y: &Value, actor_key: &str) -> bool {
    let (Some(a), Some(b)) = (x.as_object(), y.as_object()) else {
        return json_eq(x, y);
    };
    union_keys(a, b).all(|key| match (a.get(key), b.get(key)) {
        (Some(m), Some(n)) if key == actor_key => actor_eq(m, n),
        (Some(m), Some(n)) => json_eq(m, n),
        _ => false,
    })
}

fn context_activities_eq(x: &Value, y: &Value) -> bool {
    let (Some(a), Some(b)) = (x.as_object(), y.as_object()) else {
        return json_eq(x, y);
    };
    let as_list = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        }
    };
    union_keys(a, b).all(|key| match (a.get(key), b.get(key)) {
        (Some(m), Some(n)) if CONTEXT_ACTIVITY_KEYS.contains(&key.as_str()) => {
            let (m, n) = (as_list(m), as_list(n));
            m.len() == n.len() && m.iter().zip(&n).all(|(p, q)| activity_eq(p, q))
        }
        (Some(m), Some(n)) => json_eq(m, n),
        _ => false,
    })
}

fn uuid_eq(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::String(a), Value::String(b)) => crate::uuid_text::same_uuid(a, b),
        _ => json_eq(x, y),
    }
}

fn timestamp_eq(x: &Value, y: &Value) -> bool {
    match (
        x.as_str().map(parse_timestamp),
        y.as_str().map(parse_timestamp),
    ) {
        (Some(Ok(a)), Some(Ok(b))) => a == b,
        _ => json_eq(x, y),
    }
}

fn json_eq_opt(x: Option<&Value>, y: Option<&Value>) -> bool {
    match (x, y) {
        (Some(a), Some(b)) => json_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Structural JSON equality where numbers compare by value and key order is irrelevant.
pub(crate) fn json_eq(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            _ if a == b => true,
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => x == y,
    }
}

/// [`statements_equivalent`] on two stored statement bodies (JSON bytes): identical bytes are
/// equivalent without parsing; a body that does not parse is equivalent to nothing.
pub fn bodies_equivalent(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => statements_equivalent(&a, &b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// The multiset comparison as the specification states it: every member of one list pairs
    /// off with an equal member of the other (quadratic; the model the linear one must match).
    fn members_pair_off(a: &[Value], b: &[Value]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut used = vec![false; b.len()];
        a.iter().all(|m| {
            let found = (0..b.len()).find(|&i| !used[i] && actor_eq(m, &b[i]));
            found.map(|i| used[i] = true).is_some()
        })
    }

    /// Members that are equal under xAPI's rules in many spellings, and some that are not.
    fn member() -> impl Strategy<Value = Value> {
        prop_oneof![
            (0..3usize, any::<bool>(), any::<bool>()).prop_map(|(who, upper, typed)| {
                let domain = if upper { "EXAMPLE.jp" } else { "example.jp" };
                let mut agent = json!({"mbox": format!("mailto:u{who}@{domain}")});
                if typed {
                    agent["objectType"] = json!("Agent");
                }
                agent
            }),
            (0..2usize, any::<bool>()).prop_map(|(who, upper)| {
                let hex = format!("{who}a{}", "b".repeat(38));
                json!({"mbox_sha1sum": if upper { hex.to_ascii_uppercase() } else { hex }})
            }),
            (
                0..2usize,
                any::<bool>(),
                prop_oneof![Just(json!(1)), Just(json!(1.0)), Just(json!(2))]
            )
                .prop_map(|(who, name_first, extra)| {
                    let account = if name_first {
                        json!({"name": format!("n{who}"), "homePage": "https://h.example.jp"})
                    } else {
                        json!({"homePage": "https://h.example.jp", "name": format!("n{who}")})
                    };
                    json!({"account": account, "x": extra})
                }),
            Just(json!({"objectType": "Group", "mbox": "mailto:u0@example.jp"})),
            Just(json!({"objectType": 7, "mbox": "mailto:u0@example.jp"})),
            Just(json!("not an object")),
            Just(json!({"mbox": 3})),
            Just(
                json!({"objectType": "Group", "member": [{"mbox": "mailto:u1@example.jp"}, {"mbox": "mailto:u0@example.jp"}]})
            ),
            Just(
                json!({"objectType": "Group", "member": [{"mbox": "mailto:U0@EXAMPLE.JP"}, {"objectType": "Agent", "mbox": "mailto:u1@example.jp"}]})
            ),
        ]
    }

    proptest! {
        #[test]
        fn linear_member_comparison_agrees_with_pairing_members_off(
            a in proptest::collection::vec(member(), 0..6),
            shuffle in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            other in proptest::collection::vec(member(), 0..6),
        ) {
            let mut permuted = a.clone();
            for (i, index) in shuffle.iter().enumerate().take(permuted.len()) {
                let j = index.index(permuted.len());
                permuted.swap(i, j);
            }
            prop_assert!(same_members(&a, &permuted));
            prop_assert_eq!(same_members(&a, &other), members_pair_off(&a, &other));
        }
    }

    #[test]
    fn numbers_compare_by_value_in_keys_as_in_json_eq() {
        for (x, y) in [
            (json!(1), json!(1.0)),
            (json!(0), json!(-0.0)),
            (json!({"a": [1, {"b": 2}]}), json!({"a": [1.0, {"b": 2e0}]})),
        ] {
            assert!(json_eq(&x, &y));
            assert_eq!(json_key(&x), json_key(&y));
        }
        for (x, y) in [
            (json!(1), json!("1")),
            (json!(null), json!("null")),
            (json!([1, 2]), json!([2, 1])),
            (json!({"a": 1}), json!({"a": 1, "b": 1})),
        ] {
            assert!(!json_eq(&x, &y));
            assert_ne!(json_key(&x), json_key(&y));
        }
    }
}
