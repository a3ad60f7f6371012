//! Canonical Activity Definitions: what the LRS learns about an activity from the statements
//! that carry its definition, answered by the Activities Resource.
//!
//! xAPI 1.0.3 Data §2.4.4.1.s4 (2.0.0 §4.2.2.3 Activity Definition) leaves the canonical
//! definition to the LRS: it "SHOULD update the stored Activity Definition" when a Learning Record
//! Provider sends a different one, "MAY make small corrections" and "SHOULD NOT make significant
//! changes … e.g. changes to correct responses". This LRS merges, in the order statements were
//! stored (see [`DefinitionJson::merge`]):
//!
//! * `name`, `description` and each interaction component's `description`: per language, the
//!   latest text wins (language tags compare case-insensitively, BCP 47), so two statements
//!   describing one activity in two languages give a definition with both (xAPI 1.0.3
//!   Communication §2.5, conformance requirement XAPI-00254);
//! * `type`, `moreInfo`: the latest value wins;
//! * `extensions`: per extension IRI, the latest value wins;
//! * the interaction (`interactionType`, `correctResponsesPattern`, `choices`, `scale`, `source`,
//!   `target`, `steps`): fixed by the first definition that has an `interactionType`; later ones
//!   may only add languages to the descriptions of components already known (by `id`).
//!
//! Every tenant's statement authority is trusted to define activities (§2.4.4.1.s4.b3): there is
//! one canonical definition per (tenant, activity id).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::interaction::COMPONENT_LISTS;

/// The definition keys that make up the interaction of an interaction activity.
const INTERACTION_KEYS: [&str; 2] = ["interactionType", "correctResponsesPattern"];

/// An Activity Definition as a JSON object, as validated statements carry it; merged, the
/// canonical definition of one activity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DefinitionJson(Map<String, Value>);

impl DefinitionJson {
    /// A definition from a JSON object (the statement's `definition` property).
    pub fn from_map(map: Map<String, Value>) -> DefinitionJson {
        DefinitionJson(map)
    }

    /// Parses the bytes written by [`DefinitionJson::to_vec`]; `None` unless they are a JSON object.
    pub fn from_slice(bytes: &[u8]) -> Option<DefinitionJson> {
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Some(DefinitionJson(map)),
            _ => None,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap_or_else(|_| b"{}".to_vec())
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Merges a later definition of the same activity into this one (rules in the module
    /// documentation). Returns whether anything changed. Merging the same definitions again, in
    /// the same order, changes nothing: a replayed ingest batch is harmless.
    pub fn merge(&mut self, later: &DefinitionJson) -> bool {
        let before = self.0.clone();
        let interaction_fixed = self.0.contains_key("interactionType");
        for (key, value) in &later.0 {
            let key = key.as_str();
            match key {
                "name" | "description" => merge_language_map(self.slot(key), value),
                "extensions" => merge_by_key(self.slot(key), value),
                _ if INTERACTION_KEYS.contains(&key) || COMPONENT_LISTS.contains(&key) => {
                    if !interaction_fixed {
                        self.0.insert(key.to_owned(), value.clone());
                    } else if COMPONENT_LISTS.contains(&key)
                        && let Some(known) = self.0.get_mut(key)
                    {
                        merge_component_descriptions(known, value);
                    }
                }
                _ => {
                    self.0.insert(key.to_owned(), value.clone());
                }
            }
        }
        self.0 != before
    }

    /// The value under `key`, created as an empty object when absent.
    fn slot(&mut self, key: &str) -> &mut Value {
        self.0
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
    }
}

/// Per language tag, the later text wins; a tag differing only in case replaces the earlier one.
/// Linear: the earlier tags are indexed by their lowercase form once.
fn merge_language_map(earlier: &mut Value, later: &Value) {
    let (Some(earlier), Some(later)) = (earlier.as_object_mut(), later.as_object()) else {
        return;
    };
    let mut by_lowercase: HashMap<String, Vec<String>> = HashMap::new();
    for known in earlier.keys() {
        by_lowercase
            .entry(known.to_ascii_lowercase())
            .or_default()
            .push(known.clone());
    }
    for (tag, text) in later {
        let same_language = by_lowercase.entry(tag.to_ascii_lowercase()).or_default();
        for known in same_language.drain(..) {
            if known != *tag {
                earlier.remove(&known);
            }
        }
        same_language.push(tag.clone());
        earlier.insert(tag.clone(), text.clone());
    }
}

/// Per key (an extension IRI), the later value wins.
fn merge_by_key(earlier: &mut Value, later: &Value) {
    let (Some(earlier), Some(later)) = (earlier.as_object_mut(), later.as_object()) else {
        return;
    };
    for (key, value) in later {
        earlier.insert(key.clone(), value.clone());
    }
}

/// Adds the later descriptions' languages to components already known, matched by `id` (the
/// first known component with that id). Linear: the known ids are indexed once.
fn merge_component_descriptions(known: &mut Value, later: &Value) {
    let (Some(known), Some(later)) = (known.as_array_mut(), later.as_array()) else {
        return;
    };
    let mut by_id: HashMap<String, usize> = HashMap::with_capacity(known.len());
    for (index, component) in known.iter().enumerate() {
        if let Some(id) = component.get("id").and_then(Value::as_str) {
            by_id.entry(id.to_owned()).or_insert(index);
        }
    }
    for component in later {
        let (Some(id), Some(description)) = (
            component.get("id").and_then(Value::as_str),
            component.get("description"),
        ) else {
            continue;
        };
        let Some(target) = by_id
            .get(id)
            .and_then(|index| known[*index].as_object_mut())
        else {
            continue;
        };
        let slot = target
            .entry("description")
            .or_insert_with(|| Value::Object(Map::new()));
        merge_language_map(slot, description);
    }
}

/// One Activity Definition found in a statement body, not parsed yet: its JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDefinition<'a> {
    pub activity_id: &'a str,
    pub json: &'a str,
}

impl FoundDefinition<'_> {
    /// The definition, unless it is empty (or, which validation rules out, not an object).
    pub fn parse(&self) -> Option<DefinitionJson> {
        DefinitionJson::from_slice(self.json.as_bytes()).filter(|d| !d.is_empty())
    }
}

/// The Activity Definitions a stored statement body carries, in document order: the object when
/// it is an Activity, the context activities, and the same inside a SubStatement object.
/// Activities without a definition are skipped; a body that does not parse carries none.
///
/// Only the parts that can hold activities are decoded, definitions are returned as borrowed JSON
/// text (callers parse the ones they need), and a body without the text `"definition"` is not
/// parsed at all: ingest calls this for every statement it writes.
pub fn statement_definitions(body: &[u8]) -> Vec<FoundDefinition<'_>> {
    const NEEDLE: &[u8] = b"\"definition\"";
    if !body.windows(NEEDLE.len()).any(|w| w == NEEDLE) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Ok(statement) = serde_json::from_slice::<StatementProbe<'_>>(body) {
        statement.collect(&mut out);
    }
    out
}

/// The parts of a statement (or SubStatement) that may hold Activities.
#[derive(Deserialize)]
struct StatementProbe<'a> {
    #[serde(borrow, default)]
    object: Option<ObjectProbe<'a>>,
    #[serde(borrow, default)]
    context: Option<ContextProbe<'a>>,
}

#[derive(Deserialize)]
struct ObjectProbe<'a> {
    #[serde(borrow, default, rename = "objectType")]
    object_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    definition: Option<&'a RawValue>,
    /// A SubStatement's own object and context.
    #[serde(borrow, default)]
    object: Option<Box<ObjectProbe<'a>>>,
    #[serde(borrow, default)]
    context: Option<ContextProbe<'a>>,
}

#[derive(Deserialize)]
struct ContextProbe<'a> {
    #[serde(borrow, default, rename = "contextActivities")]
    context_activities: Option<ContextActivitiesProbe<'a>>,
}

/// Each list as raw JSON: xAPI 1.0.3 allows one Activity object or an array, 2.0 only arrays.
#[derive(Deserialize)]
struct ContextActivitiesProbe<'a> {
    #[serde(borrow, default)]
    parent: Option<&'a RawValue>,
    #[serde(borrow, default)]
    grouping: Option<&'a RawValue>,
    #[serde(borrow, default)]
    category: Option<&'a RawValue>,
    #[serde(borrow, default)]
    other: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ActivityProbe<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    definition: Option<&'a RawValue>,
}

/// The text of a JSON string, when it has no escapes (activity ids and `objectType` values are
/// IRIs and keywords; an id written with escapes is skipped rather than copied).
fn plain_str(raw: &RawValue) -> Option<&str> {
    raw.get()
        .strip_prefix('"')?
        .strip_suffix('"')
        .filter(|text| !text.contains('\\'))
}

fn push<'a>(
    id: Option<&'a RawValue>,
    definition: Option<&'a RawValue>,
    out: &mut Vec<FoundDefinition<'a>>,
) {
    if let (Some(activity_id), Some(definition)) = (id.and_then(plain_str), definition) {
        out.push(FoundDefinition {
            activity_id,
            json: definition.get(),
        });
    }
}

impl<'a> StatementProbe<'a> {
    fn collect(self, out: &mut Vec<FoundDefinition<'a>>) {
        if let Some(object) = self.object {
            object.collect(out);
        }
        if let Some(activities) = self.context.and_then(|c| c.context_activities) {
            activities.collect(out);
        }
    }
}

impl<'a> ObjectProbe<'a> {
    fn collect(self, out: &mut Vec<FoundDefinition<'a>>) {
        match self.object_type.map(plain_str) {
            None | Some(Some("Activity")) => push(self.id, self.definition, out),
            Some(Some("SubStatement")) => StatementProbe {
                object: self.object.map(|o| *o),
                context: self.context,
            }
            .collect(out),
            _ => {}
        }
    }
}

impl<'a> ContextActivitiesProbe<'a> {
    fn collect(self, out: &mut Vec<FoundDefinition<'a>>) {
        for list in [self.parent, self.grouping, self.category, self.other]
            .into_iter()
            .flatten()
        {
            let text = list.get();
            let activities: Vec<ActivityProbe<'a>> = if text.trim_start().starts_with('[') {
                serde_json::from_str(text).unwrap_or_default()
            } else {
                serde_json::from_str(text)
                    .map(|one| vec![one])
                    .unwrap_or_default()
            };
            for activity in activities {
                push(activity.id, activity.definition, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition(value: Value) -> DefinitionJson {
        match value {
            Value::Object(map) => DefinitionJson(map),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn languages_from_two_definitions_are_combined_and_the_latest_text_wins() {
        let mut canonical = definition(json!({
            "name": {"en-US": "meeting", "ja-JP": "会議"},
            "type": "http://adlnet.gov/expapi/activities/meeting"
        }));
        let changed = canonical.merge(&definition(json!({
            "name": {"fr-FR": "réunion", "JA-jp": "打ち合わせ"},
            "description": {"en-US": "weekly"},
            "moreInfo": "https://example.jp/m"
        })));
        assert!(changed);
        assert_eq!(
            Value::Object(canonical.0),
            json!({
                "name": {"en-US": "meeting", "fr-FR": "réunion", "JA-jp": "打ち合わせ"},
                "type": "http://adlnet.gov/expapi/activities/meeting",
                "description": {"en-US": "weekly"},
                "moreInfo": "https://example.jp/m"
            })
        );
    }

    #[test]
    fn the_first_interaction_is_kept_and_later_ones_only_add_component_languages() {
        let mut canonical = definition(json!({
            "interactionType": "choice",
            "correctResponsesPattern": ["a"],
            "choices": [{"id": "a", "description": {"en-US": "A"}}]
        }));
        canonical.merge(&definition(json!({
            "interactionType": "choice",
            "correctResponsesPattern": ["b"],
            "choices": [
                {"id": "a", "description": {"ja-JP": "あ"}},
                {"id": "b", "description": {"en-US": "B"}}
            ]
        })));
        assert_eq!(
            Value::Object(canonical.0),
            json!({
                "interactionType": "choice",
                "correctResponsesPattern": ["a"],
                "choices": [{"id": "a", "description": {"en-US": "A", "ja-JP": "あ"}}]
            })
        );
    }

    /// The language-map merge as first written (quadratic): the model for the linear one.
    fn merge_language_map_model(earlier: &mut Value, later: &Value) {
        let (Some(earlier), Some(later)) = (earlier.as_object_mut(), later.as_object()) else {
            return;
        };
        for (tag, text) in later {
            let same_language: Vec<String> = earlier
                .keys()
                .filter(|known| known.eq_ignore_ascii_case(tag) && *known != tag)
                .cloned()
                .collect();
            for known in same_language {
                earlier.remove(&known);
            }
            earlier.insert(tag.clone(), text.clone());
        }
    }

    fn language_map() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("en-US"),
                    Just("EN-us"),
                    Just("en-us"),
                    Just("ja"),
                    Just("JA"),
                    Just("fr")
                ],
                "[a-c]{1,2}",
            ),
            0..6,
        )
        .prop_map(|entries| {
            Value::Object(
                entries
                    .into_iter()
                    .map(|(tag, text)| (tag.to_owned(), Value::from(text)))
                    .collect(),
            )
        })
    }

    proptest::proptest! {
        #[test]
        fn the_linear_language_map_merge_matches_the_model(
            earlier in language_map(),
            later in language_map(),
        ) {
            let (mut linear, mut model) = (earlier.clone(), earlier);
            merge_language_map(&mut linear, &later);
            merge_language_map_model(&mut model, &later);
            // The same tags and texts (key order may differ where an earlier map held two
            // spellings of one tag: both remove them, in another order).
            proptest::prop_assert_eq!(linear, model);
        }
    }

    #[test]
    fn component_descriptions_merge_into_the_first_component_with_the_id() {
        let mut known = json!([
            {"id": "a", "description": {"en": "A"}},
            {"id": "b"},
            {"id": "a", "description": {"en": "second a"}},
            "not a component"
        ]);
        merge_component_descriptions(
            &mut known,
            &json!([
                {"id": "a", "description": {"ja": "あ"}},
                {"id": "b", "description": {"ja": "い"}},
                {"id": "z", "description": {"ja": "unknown"}},
                {"id": "a"}
            ]),
        );
        assert_eq!(
            known,
            json!([
                {"id": "a", "description": {"en": "A", "ja": "あ"}},
                {"id": "b", "description": {"ja": "い"}},
                {"id": "a", "description": {"en": "second a"}},
                "not a component"
            ])
        );
    }

    #[test]
    fn merging_the_same_definitions_again_in_order_changes_nothing() {
        let first = definition(json!({"name": {"en-US": "one"}, "extensions": {"http://x/a": 1}}));
        let second = definition(json!({"name": {"en-US": "two"}, "extensions": {"http://x/b": 2}}));
        let mut canonical = DefinitionJson::default();
        canonical.merge(&first);
        canonical.merge(&second);
        let settled = canonical.clone();
        canonical.merge(&first);
        canonical.merge(&second);
        assert_eq!(canonical, settled);
        assert!(!canonical.merge(&second));
    }

    #[test]
    fn definitions_are_found_in_the_object_context_and_sub_statement() {
        let body = json!({
            "actor": {"mbox": "mailto:a@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:a@example.jp"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                "object": {"id": "https://x.jp/inner", "definition": {"name": {"ja-JP": "内"}}},
                "context": {"contextActivities": {"parent": {"id": "https://x.jp/p", "definition": {"type": "https://x.jp/t"}}}}
            },
            "context": {"contextActivities": {
                "grouping": [{"id": "https://x.jp/g", "definition": {"name": {"en-US": "g"}}}, {"id": "https://x.jp/bare"}],
                "other": [{"id": "https://x.jp/empty", "definition": {}}]
            }}
        });
        let text = body.to_string();
        let found = statement_definitions(text.as_bytes());
        let ids: Vec<&str> = found.iter().map(|f| f.activity_id).collect();
        assert_eq!(
            ids,
            [
                "https://x.jp/inner",
                "https://x.jp/p",
                "https://x.jp/g",
                "https://x.jp/empty"
            ]
        );
        assert_eq!(
            found[0].parse(),
            Some(definition(json!({"name": {"ja-JP": "内"}})))
        );
        assert_eq!(
            found[3].parse(),
            None,
            "an empty definition teaches nothing"
        );
    }

    #[test]
    fn agents_statement_refs_escaped_ids_and_bodies_without_definitions_carry_none() {
        for body in [
            json!({"object": {"objectType": "Agent", "mbox": "mailto:a@example.jp"}}),
            json!({"object": {"objectType": "StatementRef", "id": "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01"}}),
            json!({"object": {"id": "https://x.jp/a"}}),
            json!({"object": {"id": "https://x.jp/\\u0061", "definition": {"name": {"en": "a"}}}}),
        ] {
            assert!(statement_definitions(body.to_string().as_bytes()).is_empty());
        }
        assert!(statement_definitions(b"{\"definition\": not json").is_empty());
    }
}
