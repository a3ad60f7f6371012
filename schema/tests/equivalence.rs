//! Statement comparison for duplicate ids, and the stored and rendered forms.

use lrs_schema::{
    StatementFormat, XapiVersion, finalize_statement, format_statement, statements_equivalent,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn japanese() -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/japan-statements.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn reverse_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reverse_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reverse_keys).collect()),
        other => other.clone(),
    }
}

#[test]
fn the_lrs_assigned_properties_do_not_make_statements_differ() {
    let original = japanese()[0].clone();
    let mut stored = original.clone();
    finalize_statement(
        &mut stored,
        Uuid::parse_str("6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01").unwrap(),
        &json!({"mbox": "mailto:lrs@example.jp"}),
        XapiVersion::V1_0_3,
    );
    stored["stored"] = json!("2025-10-14T01:12:46.000Z");
    assert!(statements_equivalent(&original, &stored));
}

#[test]
fn case_time_zone_member_order_and_single_context_activities_are_not_differences() {
    let a = json!({
        "id": "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01",
        "actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@Example.JP"}, {"mbox_sha1sum": "AD3E8F8A4C43A1F5A7F9B3E3B0C1D2E3F4A5B6C7"}]},
        "verb": {"id": "http://example.com/v", "display": {"en": "did"}},
        "object": {"id": "http://example.com/a", "definition": {"name": {"en": "A"}}},
        "result": {"duration": "PT1.2345S", "score": {"raw": 1}},
        "context": {"registration": "A7D3E1F0-5C2B-4B8E-9F61-7E2D4C9A0B13", "language": "ja-JP",
                    "contextActivities": {"parent": {"id": "http://example.com/p"}}},
        "timestamp": "2025-10-14T10:12:45+09:00",
        "attachments": []
    });
    let b = json!({
        "id": "6F1C2A4E-8B3D-4E7A-9C10-2D5F7A8B9C01",
        "actor": {"objectType": "Group", "member": [{"mbox_sha1sum": "ad3e8f8a4c43a1f5a7f9b3e3b0c1d2e3f4a5b6c7"}, {"objectType": "Agent", "mbox": "mailto:a@example.jp"}]},
        "verb": {"id": "http://example.com/v"},
        "object": {"objectType": "Activity", "id": "http://example.com/a"},
        "result": {"duration": "PT1.23S", "score": {"raw": 1.0}},
        "context": {"registration": "a7d3e1f0-5c2b-4b8e-9f61-7e2d4c9a0b13", "language": "ja-jp",
                    "contextActivities": {"parent": [{"objectType": "Activity", "id": "http://example.com/p"}]}},
        "timestamp": "2025-10-14T01:12:45.000Z"
    });
    assert!(statements_equivalent(&a, &b));
}

#[test]
fn a_different_actor_verb_object_result_or_context_is_a_difference() {
    let original = japanese()[0].clone();
    let changes: [(&str, Value); 6] = [
        ("actor", json!({"mbox": "mailto:other@example.jp"})),
        (
            "verb",
            json!({"id": "http://adlnet.gov/expapi/verbs/passed"}),
        ),
        (
            "object",
            json!({"id": "https://drill.example.jp/items/other"}),
        ),
        ("result", json!({"success": false})),
        (
            "context",
            json!({"registration": "00000000-0000-4000-8000-000000000000"}),
        ),
        ("timestamp", json!("2025-10-14T10:12:46+09:00")),
    ];
    for (key, value) in changes {
        let mut changed = original.clone();
        changed[key] = value;
        assert!(!statements_equivalent(&original, &changed), "{key}");
    }
    let mut more = original.clone();
    more["result"]["response"] = json!("a");
    assert!(!statements_equivalent(&original, &more));
    let mut mbox_local_case = json!({"actor": {"mbox": "mailto:A@example.jp"}});
    assert!(!statements_equivalent(
        &json!({"actor": {"mbox": "mailto:a@example.jp"}}),
        &mbox_local_case
    ));
    mbox_local_case["actor"]["mbox"] = json!("MAILTO:a@EXAMPLE.jp");
    assert!(statements_equivalent(
        &json!({"actor": {"mbox": "mailto:a@example.jp"}}),
        &mbox_local_case
    ));
}

#[test]
fn finalize_sets_id_authority_and_version_and_removes_stored() {
    let id = Uuid::parse_str("0b9e7d5c-3a1f-4e2d-8c7b-6a5f4e3d2c10").unwrap();
    let authority = json!({"objectType": "Agent", "account": {"homePage": "https://lrs.example.jp", "name": "tool-a"}});
    let mut value = json!({"actor": {"mbox": "mailto:a@example.com"}, "stored": "2025-01-01T00:00:00Z", "authority": {"mbox": "mailto:fake@example.com"},
        "context": {"contextActivities": {"parent": {"id": "http://example.com/p"}}}});
    finalize_statement(&mut value, id, &authority, XapiVersion::V1_0_3);
    assert_eq!(value.as_object().unwrap().keys().next().unwrap(), "id");
    assert_eq!(value["id"], "0b9e7d5c-3a1f-4e2d-8c7b-6a5f4e3d2c10");
    assert_eq!(value["authority"], authority);
    assert_eq!(value["version"], "1.0.0");
    assert!(value.get("stored").is_none());
    assert_eq!(
        value["context"]["contextActivities"]["parent"],
        json!([{"id": "http://example.com/p"}])
    );

    let mut two = json!({"version": "2.0.0"});
    finalize_statement(&mut two, id, &authority, XapiVersion::V2_0_0);
    assert_eq!(two["version"], "2.0.0");
    let mut none = json!({});
    finalize_statement(&mut none, id, &authority, XapiVersion::V2_0_0);
    assert_eq!(none["version"], "2.0.0");
    let mut kept = json!({"version": "1.0.3"});
    finalize_statement(&mut kept, id, &authority, XapiVersion::V1_0_3);
    assert_eq!(kept["version"], "1.0.3");
}

#[test]
fn format_ids_keeps_only_identifiers() {
    let statement = json!({
        "actor": {"name": "太郎", "objectType": "Group", "member": [{"name": "花子", "mbox": "mailto:h@example.jp"}]},
        "verb": {"id": "http://example.com/v", "display": {"ja": "した"}},
        "object": {"id": "http://example.com/a", "definition": {"name": {"ja": "活動"}}},
        "authority": {"name": "LRS", "account": {"homePage": "https://lrs.example.jp", "name": "tool"}},
        "context": {"instructor": {"name": "先生", "mbox": "mailto:t@example.jp"},
                    "contextActivities": {"parent": [{"id": "http://example.com/p", "definition": {"name": {"ja": "親"}}}]}}
    });
    let ids = format_statement(&statement, StatementFormat::Ids, &[]);
    assert_eq!(
        ids["actor"],
        json!({"objectType": "Group", "member": [{"objectType": "Agent", "mbox": "mailto:h@example.jp"}]})
    );
    assert_eq!(ids["verb"], json!({"id": "http://example.com/v"}));
    assert_eq!(ids["object"], json!({"id": "http://example.com/a"}));
    assert_eq!(
        ids["authority"],
        json!({"objectType": "Agent", "account": {"homePage": "https://lrs.example.jp", "name": "tool"}})
    );
    assert_eq!(
        ids["context"]["instructor"],
        json!({"objectType": "Agent", "mbox": "mailto:t@example.jp"})
    );
    assert_eq!(
        ids["context"]["contextActivities"]["parent"],
        json!([{"id": "http://example.com/p"}])
    );
    assert_eq!(
        format_statement(&statement, StatementFormat::Exact, &[]),
        statement
    );
}

#[test]
fn format_canonical_keeps_the_best_language_of_each_map() {
    let statement = json!({
        "actor": {"name": "太郎", "mbox": "mailto:t@example.jp"},
        "verb": {"id": "http://example.com/v", "display": {"en-US": "answered", "ja-JP": "回答した"}},
        "object": {"id": "http://example.com/a", "definition": {"name": {"en": "Q1", "ja": "問1"}, "description": {"fr": "question"},
                   "interactionType": "choice", "choices": [{"id": "a", "description": {"en": "A", "ja": "あ"}}]}}
    });
    let langs = lrs_schema::parse_accept_language("ja-JP, en;q=0.5");
    let canonical = format_statement(&statement, StatementFormat::Canonical, &langs);
    assert_eq!(canonical["verb"]["display"], json!({"ja-JP": "回答した"}));
    assert_eq!(
        canonical["object"]["definition"]["name"],
        json!({"ja": "問1"})
    );
    assert_eq!(
        canonical["object"]["definition"]["description"],
        json!({"fr": "question"})
    );
    assert_eq!(
        canonical["object"]["definition"]["choices"][0]["description"],
        json!({"ja": "あ"})
    );
    assert_eq!(canonical["actor"], statement["actor"]);
}

proptest! {
    #[test]
    fn equivalence_is_reflexive_and_ignores_key_order(index in 0usize..5) {
        let statement = japanese()[index].clone();
        prop_assert!(statements_equivalent(&statement, &statement));
        prop_assert!(statements_equivalent(&statement, &reverse_keys(&statement)));
    }

    #[test]
    fn equivalence_ignores_stored_authority_and_version(
        index in 0usize..5,
        stored in "20[0-9]{2}-0[1-9]-1[0-9]T0[0-9]:[0-5][0-9]:[0-5][0-9]Z",
        name in "[a-z]{1,12}",
        patch in 0u8..10,
    ) {
        let statement = japanese()[index].clone();
        let mut other = statement.clone();
        other["stored"] = json!(stored);
        other["authority"] = json!({"account": {"homePage": "https://lrs.example.jp", "name": name}});
        other["version"] = json!(format!("1.0.{patch}"));
        prop_assert!(statements_equivalent(&statement, &other));
        prop_assert!(statements_equivalent(&other, &statement));
    }

    #[test]
    fn language_maps_compare_regardless_of_key_order(texts in proptest::collection::btree_map("[a-z]{2}(-[A-Z]{2})?", "[^\"]{0,8}", 1..6)) {
        let forward: Map<String, Value> = texts.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let backward: Map<String, Value> = texts.iter().rev().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut a = japanese()[0].clone();
        let mut b = a.clone();
        a["result"]["extensions"] = json!({"http://example.com/label": forward});
        b["result"]["extensions"] = json!({"http://example.com/label": backward});
        prop_assert!(statements_equivalent(&a, &b));
    }

    #[test]
    fn format_ids_is_idempotent_and_keeps_the_statement_equivalent(index in 0usize..5) {
        let statement = japanese()[index].clone();
        let once = format_statement(&statement, StatementFormat::Ids, &[]);
        let twice = format_statement(&once, StatementFormat::Ids, &[]);
        prop_assert_eq!(&once, &twice);
        prop_assert!(statements_equivalent(&statement, &once));
    }

    #[test]
    fn a_timestamp_in_another_offset_is_the_same_instant(hours in -12i32..=14) {
        let statement = japanese()[0].clone();
        // 2025-10-14T01:12:45Z written at offset `hours`.
        let utc_hour = 1i32;
        let local = utc_hour + hours;
        let (day, hour) = if local < 0 { (13, local + 24) } else if local >= 24 { (15, local - 24) } else { (14, local) };
        let sign = if hours < 0 { '-' } else { '+' };
        let offset = if hours == 0 { "Z".to_owned() } else { format!("{sign}{:02}:00", hours.abs()) };
        let mut other = statement.clone();
        other["timestamp"] = json!(format!("2025-10-{day:02}T{hour:02}:12:45{offset}"));
        prop_assert!(statements_equivalent(&statement, &other));
    }
}
