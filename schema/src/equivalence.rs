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

/// Group members as a multiset (xAPI 1.0.3 Data §2.3.1.b5).
fn same_members(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter().all(|m| {
        let found = b
            .iter()
            .enumerate()
            .find(|(i, n)| !used[*i] && actor_eq(m, n));
        found.map(|(i, _)| used[i] = true).is_some()
    })
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
