//! The `format` parameter of GET /statements: exact, ids, canonical.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::DefinitionJson;
use crate::context::CONTEXT_ACTIVITY_KEYS;
use crate::ifi::IFI_KEYS;
use crate::interaction::COMPONENT_LISTS;
use crate::limits::{MAX_LANGUAGE_RANGE_BYTES, MAX_LANGUAGE_RANGES};

/// xAPI 1.0.3 Communication §2.1.3, `format`: `exact` (default), `ids` or `canonical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatementFormat {
    #[default]
    Exact,
    Ids,
    Canonical,
}

impl StatementFormat {
    /// The parameter value, exactly (enumerated values are case-sensitive, xAPI 1.0.3 Data
    /// §2.2.s4.b1.b6).
    pub fn parse(value: &str) -> Option<StatementFormat> {
        match value {
            "exact" => Some(StatementFormat::Exact),
            "ids" => Some(StatementFormat::Ids),
            "canonical" => Some(StatementFormat::Canonical),
            _ => None,
        }
    }
}

/// Renders a stored statement in a format. `languages` is the parsed Accept-Language list,
/// best first.
///
/// xAPI 1.0.3 Communication §2.1.3 `format`: "If ids, only include minimum information
/// necessary in Agent, Activity, Verb and Group Objects to identify them. For Anonymous Groups
/// this means including the minimum information needed to identify each member." "If
/// canonical, return Activity Objects and Verbs populated with the canonical definition …
/// after applying the language filtering process" and Agents and Groups as in exact.
/// Canonical here only reduces every language map to one language, with no canonical
/// definitions to substitute: readers holding them call [`canonical_statement`].
pub fn format_statement(value: &Value, format: StatementFormat, languages: &[String]) -> Value {
    let mut out = value.clone();
    match format {
        StatementFormat::Exact => {}
        StatementFormat::Ids => ids_statement(&mut out),
        StatementFormat::Canonical => canonical_statement(&mut out, &HashMap::new(), languages),
    }
    out
}

/// Canonical Activity Definitions by activity id, as the LRS holds them.
pub type CanonicalDefinitions = HashMap<String, DefinitionJson>;

/// Pushes the id of every Activity in a statement, in document order and possibly repeated: the
/// object when it is an Activity, the context activities, and the same inside a SubStatement
/// object. These are the activities [`canonical_statement`] populates.
pub fn statement_activity_ids<'a>(statement: &'a Value, out: &mut Vec<&'a str>) {
    let mut push = |activity: &'a Value| {
        if let Some(id) = activity.get("id").and_then(Value::as_str) {
            out.push(id);
        }
    };
    let mut statements = vec![statement];
    while let Some(statement) = statements.pop() {
        if let Some(object) = statement.get("object") {
            match object.get("objectType").and_then(Value::as_str) {
                None | Some("Activity") => push(object),
                Some("SubStatement") => statements.push(object),
                _ => {}
            }
        }
        if let Some(activities) = statement
            .get("context")
            .and_then(|c| c.get("contextActivities"))
        {
            for key in CONTEXT_ACTIVITY_KEYS {
                match activities.get(key) {
                    Some(Value::Array(items)) => items.iter().for_each(&mut push),
                    Some(single) => push(single),
                    None => {}
                }
            }
        }
    }
}

fn ids_statement(statement: &mut Value) {
    let Some(map) = statement.as_object_mut() else {
        return;
    };
    for key in ["actor", "authority"] {
        if let Some(actor) = map.get_mut(key) {
            *actor = actor_ids(actor);
        }
    }
    if let Some(verb) = map.get_mut("verb") {
        *verb = keep(verb, &["id"]);
    }
    if let Some(object) = map.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => *object = activity_ids(object),
            Some("Agent") | Some("Group") => *object = actor_ids(object),
            Some("SubStatement") => ids_statement(object),
            _ => {}
        }
    }
    if let Some(context) = map.get_mut("context").and_then(Value::as_object_mut) {
        for key in ["instructor", "team"] {
            if let Some(actor) = context.get_mut(key) {
                *actor = actor_ids(actor);
            }
        }
        if let Some(activities) = context
            .get_mut("contextActivities")
            .and_then(Value::as_object_mut)
        {
            for (_, list) in activities.iter_mut() {
                match list {
                    Value::Array(items) => items.iter_mut().for_each(|a| *a = activity_ids(a)),
                    single => *single = activity_ids(single),
                }
            }
        }
        for (list_key, actor_key) in [("contextAgents", "agent"), ("contextGroups", "group")] {
            if let Some(Value::Array(items)) = context.get_mut(list_key) {
                for item in items {
                    if let Some(actor) = item.get_mut(actor_key) {
                        *actor = actor_ids(actor);
                    }
                }
            }
        }
    }
}

fn keep(value: &Value, keys: &[&str]) -> Value {
    let Some(map) = value.as_object() else {
        return value.clone();
    };
    Value::Object(
        keys.iter()
            .filter_map(|k| map.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
    )
}

/// An Activity as its id alone (xAPI Communication §2.1.3 `format=ids`: "only include
/// identifiers"; `objectType` defaults to Activity, and the ADL suite expects the id alone).
fn activity_ids(activity: &Value) -> Value {
    let mut out = Map::new();
    if let Some(id) = activity.get("id") {
        out.insert("id".into(), id.clone());
    }
    Value::Object(out)
}

/// An Agent or Identified Group as objectType + IFI; an Anonymous Group as objectType + its
/// members reduced likewise.
fn actor_ids(actor: &Value) -> Value {
    let Some(map) = actor.as_object() else {
        return actor.clone();
    };
    let object_type = map
        .get("objectType")
        .and_then(Value::as_str)
        .unwrap_or("Agent");
    let mut out = Map::new();
    out.insert("objectType".into(), Value::String(object_type.to_owned()));
    let mut identified = false;
    for key in IFI_KEYS {
        if let Some(ifi) = map.get(key) {
            out.insert(key.to_owned(), ifi.clone());
            identified = true;
        }
    }
    if !identified && let Some(Value::Array(members)) = map.get("member") {
        out.insert(
            "member".into(),
            Value::Array(members.iter().map(actor_ids).collect()),
        );
    }
    Value::Object(out)
}

/// The canonical format of one statement: every Activity (see [`statement_activity_ids`]) gets
/// the LRS's canonical definition from `definitions` when it holds one (else keeps its own),
/// then every language map of Verbs, Activity Definitions (with their interaction components)
/// and attachments is reduced to one language. Agents and Groups are left as in exact.
///
/// xAPI 1.0.3 Communication §2.1.3 `format` (2.0.0 §4.1.6.1): "canonical: Return Activity
/// Objects and Verbs populated with the canonical definition of the Activity Objects and Display
/// of the Verbs as determined by the LRS, after applying the language filtering process".
pub fn canonical_statement(
    statement: &mut Value,
    definitions: &CanonicalDefinitions,
    languages: &[String],
) {
    let Some(map) = statement.as_object_mut() else {
        return;
    };
    if let Some(display) = map.get_mut("verb").and_then(|v| v.get_mut("display")) {
        reduce_language_map(display, languages);
    }
    if let Some(object) = map.get_mut("object") {
        match object.get("objectType").and_then(Value::as_str) {
            None | Some("Activity") => canonical_activity(object, definitions, languages),
            Some("SubStatement") => canonical_statement(object, definitions, languages),
            _ => {}
        }
    }
    if let Some(activities) = map
        .get_mut("context")
        .and_then(|c| c.get_mut("contextActivities"))
        .and_then(Value::as_object_mut)
    {
        for key in CONTEXT_ACTIVITY_KEYS {
            match activities.get_mut(key) {
                Some(Value::Array(items)) => items
                    .iter_mut()
                    .for_each(|a| canonical_activity(a, definitions, languages)),
                Some(single) => canonical_activity(single, definitions, languages),
                None => {}
            }
        }
    }
    if let Some(Value::Array(attachments)) = map.get_mut("attachments") {
        for attachment in attachments {
            for key in ["display", "description"] {
                if let Some(lang_map) = attachment.get_mut(key) {
                    reduce_language_map(lang_map, languages);
                }
            }
        }
    }
}

fn canonical_activity(
    activity: &mut Value,
    definitions: &CanonicalDefinitions,
    languages: &[String],
) {
    let canonical = activity
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| definitions.get(id));
    if let (Some(canonical), Some(activity)) = (canonical, activity.as_object_mut()) {
        activity.insert(
            "definition".into(),
            Value::Object(canonical.as_map().clone()),
        );
    }
    let Some(definition) = activity
        .get_mut("definition")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for key in ["name", "description"] {
        if let Some(lang_map) = definition.get_mut(key) {
            reduce_language_map(lang_map, languages);
        }
    }
    for list in COMPONENT_LISTS {
        if let Some(Value::Array(components)) = definition.get_mut(list) {
            for component in components {
                if let Some(lang_map) = component.get_mut("description") {
                    reduce_language_map(lang_map, languages);
                }
            }
        }
    }
}

/// Keeps the one entry of a language map that best fits `languages` (xAPI 1.0.3 Communication
/// §2.1.3 language filtering: "The LRS MUST return only one language within each of these
/// maps"), falling back to the first entry.
fn reduce_language_map(lang_map: &mut Value, languages: &[String]) {
    let Some(map) = lang_map.as_object() else {
        return;
    };
    if map.len() <= 1 {
        return;
    }
    let key = best_language(map.keys().map(String::as_str), languages)
        .or_else(|| map.keys().next().map(String::as_str))
        .map(str::to_owned);
    if let Some(key) = key {
        let text = map[&key].clone();
        let mut single = Map::new();
        single.insert(key, text);
        *lang_map = Value::Object(single);
    }
}

/// RFC 4647 §3.4 lookup, per requested range in order: an exact (case-insensitive) tag, then a
/// tag the range is a prefix of, then the range truncated subtag by subtag; `*` takes any. Where
/// several tags fit, the first in map order wins.
///
/// Linear in the map: exact and truncated lookups go through one index of the tags, only the
/// prefix lookup walks them, once per range ([`parse_accept_language`] keeps at most
/// [`MAX_LANGUAGE_RANGES`]).
pub(crate) fn best_language<'a>(
    available: impl Iterator<Item = &'a str> + Clone,
    languages: &[String],
) -> Option<&'a str> {
    if languages.is_empty() {
        return None;
    }
    let mut by_lowercase: HashMap<String, &'a str> = HashMap::new();
    for tag in available.clone() {
        by_lowercase.entry(tag.to_ascii_lowercase()).or_insert(tag);
    }
    for range in languages {
        if range == "*" {
            return available.clone().next();
        }
        let range = range.to_ascii_lowercase();
        if let Some(tag) = by_lowercase.get(&range) {
            return Some(tag);
        }
        if let Some(tag) = available.clone().find(|t| {
            t.len() > range.len()
                && t.as_bytes()[range.len()] == b'-'
                && t[..range.len()].eq_ignore_ascii_case(&range)
        }) {
            return Some(tag);
        }
        let mut truncated = range.as_str();
        while let Some(dash) = truncated.rfind('-') {
            truncated = &truncated[..dash];
            if let Some(tag) = by_lowercase.get(truncated) {
                return Some(tag);
            }
        }
    }
    None
}

/// Parses an Accept-Language header (RFC 9110 §12.5.4) into language ranges, best first: by
/// `q` descending, in header order for equal `q`; ranges with `q=0` or a malformed `q` are left out.
/// LRS limit: the best [`MAX_LANGUAGE_RANGES`] are kept, and ranges longer than
/// [`MAX_LANGUAGE_RANGE_BYTES`] are skipped (every range is looked up in every language map of
/// the answer).
pub fn parse_accept_language(header: &str) -> Vec<String> {
    let mut ranges: Vec<(u32, usize, String)> = Vec::new();
    for (position, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        if range.is_empty() || range.len() > MAX_LANGUAGE_RANGE_BYTES {
            continue;
        }
        let mut quality = Some(1000);
        for param in parts {
            let param = param.trim();
            if let Some(q) = param
                .strip_prefix("q=")
                .or_else(|| param.strip_prefix("Q="))
            {
                quality = parse_quality(q.trim());
            }
        }
        if let Some(q) = quality.filter(|q| *q > 0) {
            ranges.push((q, position, range.to_owned()));
        }
    }
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.truncate(MAX_LANGUAGE_RANGES);
    ranges.into_iter().map(|(_, _, range)| range).collect()
}

/// `q` in thousandths: `0`, `0.5`, `1`, `1.000`.
fn parse_quality(q: &str) -> Option<u32> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if whole.len() != 1 || fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let mut thousandths = whole * 1000;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u32::from(digit - b'0') * [100, 10, 1][i];
    }
    (thousandths <= 1000).then_some(thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_substitutes_the_lrs_definitions_everywhere_then_filters_languages() {
        let mut statement = serde_json::json!({
            "verb": {"id": "http://x.jp/v", "display": {"ja-JP": "した", "en-US": "did"}},
            "object": {
                "objectType": "SubStatement",
                "object": {"id": "http://x.jp/inner"},
                "context": {"contextActivities": {"parent": {"id": "http://x.jp/a"}}}
            },
            "context": {"contextActivities": {"grouping": [
                {"id": "http://x.jp/a", "definition": {"name": {"ja-JP": "え"}}},
                {"id": "http://x.jp/own", "definition": {"name": {"ja-JP": "自分", "en-US": "own"}}}
            ]}}
        });
        let mut ids = Vec::new();
        statement_activity_ids(&statement, &mut ids);
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "http://x.jp/a",
                "http://x.jp/a",
                "http://x.jp/inner",
                "http://x.jp/own"
            ]
        );
        let definition = |value: Value| match value {
            Value::Object(map) => DefinitionJson::from_map(map),
            _ => unreachable!(),
        };
        let definitions: CanonicalDefinitions = [
            (
                "http://x.jp/a".to_owned(),
                definition(serde_json::json!({"name": {"ja-JP": "え", "en-US": "A"}})),
            ),
            (
                "http://x.jp/inner".to_owned(),
                definition(serde_json::json!({"type": "http://x.jp/t"})),
            ),
        ]
        .into();
        canonical_statement(&mut statement, &definitions, &["en-US".into()]);
        assert_eq!(
            statement,
            serde_json::json!({
                "verb": {"id": "http://x.jp/v", "display": {"en-US": "did"}},
                "object": {
                    "objectType": "SubStatement",
                    "object": {"id": "http://x.jp/inner", "definition": {"type": "http://x.jp/t"}},
                    "context": {"contextActivities": {"parent": {"id": "http://x.jp/a", "definition": {"name": {"en-US": "A"}}}}}
                },
                "context": {"contextActivities": {"grouping": [
                    {"id": "http://x.jp/a", "definition": {"name": {"en-US": "A"}}},
                    {"id": "http://x.jp/own", "definition": {"name": {"en-US": "own"}}}
                ]}}
            })
        );
    }

    #[test]
    fn accept_language_is_ordered_by_quality() {
        assert_eq!(
            parse_accept_language("en;q=0.5, ja-JP, ja;q=0.9, fr;q=0, *;q=0.1"),
            vec!["ja-JP", "ja", "en", "*"]
        );
        assert!(parse_accept_language("").is_empty());
    }

    #[test]
    fn only_the_best_ranges_of_a_long_accept_language_header_are_kept() {
        let mut header: Vec<String> = (0..100).map(|i| format!("x-r{i};q=0.5")).collect();
        header.push("ja-JP".into());
        header.push(format!("x-{}", "a-".repeat(40)));
        let ranges = parse_accept_language(&header.join(","));
        assert_eq!(ranges.len(), MAX_LANGUAGE_RANGES);
        assert_eq!(ranges[0], "ja-JP", "the best range survives wherever it is");
        assert_eq!(ranges[1], "x-r0");
        assert!(ranges.iter().all(|r| r.len() <= MAX_LANGUAGE_RANGE_BYTES));
    }

    #[test]
    fn lookup_takes_the_first_tag_in_map_order_among_those_that_fit() {
        let tags = ["EN-us", "en-US", "en-GB", "ja"];
        assert_eq!(
            best_language(tags.iter().copied(), &["en-us".into()]),
            Some("EN-us")
        );
        assert_eq!(
            best_language(tags.iter().copied(), &["EN".into()]),
            Some("EN-us")
        );
        assert_eq!(
            best_language(tags.iter().copied(), &["JA-jp-x-y".into()]),
            Some("ja")
        );
        assert_eq!(best_language(tags.iter().copied(), &[]), None);
    }

    #[test]
    fn lookup_falls_back_from_region_to_language_and_from_language_to_region() {
        let tags = ["en-US", "ja"];
        assert_eq!(
            best_language(tags.iter().copied(), &["ja-JP".into()]),
            Some("ja")
        );
        assert_eq!(
            best_language(tags.iter().copied(), &["en".into()]),
            Some("en-US")
        );
        assert_eq!(best_language(tags.iter().copied(), &["fr".into()]), None);
        assert_eq!(
            best_language(tags.iter().copied(), &["fr".into(), "*".into()]),
            Some("en-US")
        );
    }
}
