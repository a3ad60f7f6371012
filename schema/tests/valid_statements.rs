//! Statements the spec and our users send are accepted, under both versions.

use lrs_schema::{Statement, XapiVersion, parse_statements};
use serde_json::{Value, json};

const VERSIONS: [XapiVersion; 2] = [XapiVersion::V1_0_3, XapiVersion::V2_0_0];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_example_statement_of_the_spec_text_is_accepted_under_both_versions() {
    let examples = fixture("spec-examples.json");
    for example in examples.as_array().unwrap() {
        for version in VERSIONS {
            if let Err(e) = Statement::from_json(&example["statement"], version, "$") {
                panic!("{} rejected under {version:?}: {e}", example["source"]);
            }
        }
    }
}

#[test]
fn the_shared_japanese_statements_are_accepted_under_both_versions() {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/japan-statements.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for version in VERSIONS {
        let parsed =
            parse_statements(&body, version).unwrap_or_else(|e| panic!("{version:?}: {e}"));
        assert_eq!(parsed.len(), 5);
    }
}

#[test]
fn a_single_statement_body_gives_one_statement_and_an_empty_array_gives_none() {
    let one = br#"{"actor":{"mbox":"mailto:a@example.com"},"verb":{"id":"http://example.com/v"},"object":{"id":"http://example.com/a"}}"#;
    assert_eq!(parse_statements(one, XapiVersion::V1_0_3).unwrap().len(), 1);
    assert!(
        parse_statements(b"[]", XapiVersion::V2_0_0)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn every_interaction_type_with_its_own_component_lists_is_accepted() {
    let component = json!([{"id": "a", "description": {"en": "A"}}, {"id": "b"}]);
    let cases = [
        ("true-false", vec![]),
        ("choice", vec!["choices"]),
        ("sequencing", vec!["choices"]),
        ("fill-in", vec![]),
        ("long-fill-in", vec![]),
        ("matching", vec!["source", "target"]),
        ("performance", vec!["steps"]),
        ("likert", vec!["scale"]),
        ("numeric", vec![]),
        ("other", vec![]),
    ];
    for (interaction_type, lists) in cases {
        let mut definition =
            json!({"interactionType": interaction_type, "correctResponsesPattern": ["a"]});
        for list in lists {
            definition[list] = component.clone();
        }
        let statement = json!({
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "http://example.com/q", "definition": definition}
        });
        Statement::from_json(&statement, XapiVersion::V1_0_3, "$")
            .unwrap_or_else(|e| panic!("{interaction_type}: {e}"));
    }
}

#[test]
fn context_agents_and_groups_are_accepted_in_xapi_2_0() {
    let statement = json!({
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"id": "http://example.com/meeting"},
        "timestamp": "2025-10-14T10:12:45.123+09:00",
        "context": {
            "contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:t@example.com"}, "relevantTypes": ["https://example.com/teacher"]}],
            "contextGroups": [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": [{"mbox": "mailto:s@example.com"}]}}]
        }
    });
    let parsed = Statement::from_json(&statement, XapiVersion::V2_0_0, "$").unwrap();
    let terms = parsed.index_terms();
    assert!(
        terms
            .related_agents
            .contains(&"mbox::mailto:t@example.com".to_owned())
    );
    assert!(
        terms
            .related_agents
            .contains(&"mbox::mailto:s@example.com".to_owned())
    );
    assert_eq!(terms.direct_agents, vec!["mbox::mailto:a@example.com"]);
}

#[test]
fn a_voiding_statement_names_its_target() {
    let statement = json!({
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": "E05AA883-ACAF-40AD-BF54-02C8CE485FB0"}
    });
    let parsed = Statement::from_json(&statement, XapiVersion::V1_0_3, "$").unwrap();
    assert_eq!(
        parsed.voided_target().unwrap().to_string(),
        "e05aa883-acaf-40ad-bf54-02c8ce485fb0"
    );
    assert_eq!(parsed.index_terms().voids, parsed.voided_target());
}

#[test]
fn index_terms_of_a_japanese_statement_cover_actor_object_and_context_activities() {
    let statements = fixture("japan-statements.json");
    let parsed = Statement::from_json(&statements[0], XapiVersion::V1_0_3, "$").unwrap();
    let terms = parsed.index_terms();
    assert_eq!(terms.verb, "http://adlnet.gov/expapi/verbs/answered");
    assert_eq!(
        terms.direct_agents,
        vec!["account::https://eportal.example.jp::3f0c9a7e-1b2d-4c5e-8f90-0a1b2c3d4e5f"]
    );
    assert_eq!(
        terms.direct_activities,
        vec!["https://drill.example.jp/items/sci-p4-moon-003"]
    );
    assert!(
        terms
            .related_activities
            .contains(&"https://drill.example.jp/sets/sci-p4-moon".to_owned())
    );
    assert_eq!(terms.related_activities[0], terms.direct_activities[0]);
    assert_eq!(
        terms.registration.unwrap().to_string(),
        "a7d3e1f0-5c2b-4b8e-9f61-7e2d4c9a0b13"
    );
    assert!(terms.authority.is_empty());
    assert_eq!(
        parsed.id().unwrap().to_string(),
        "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01"
    );
}

#[test]
fn a_group_actor_is_indexed_by_its_own_identifier_and_its_members() {
    let statement = json!({
        "actor": {"objectType": "Group", "account": {"homePage": "https://school.example.jp", "name": "4-2"},
                  "member": [{"mbox": "mailto:a@Example.JP"}, {"openid": "https://id.example.jp/b"}]},
        "verb": {"id": "http://example.com/v"},
        "object": {"objectType": "SubStatement",
                   "actor": {"mbox_sha1sum": "AD3E8F8A4C43A1F5A7F9B3E3B0C1D2E3F4A5B6C7"},
                   "verb": {"id": "http://example.com/w"},
                   "object": {"id": "http://example.com/inner"},
                   "context": {"instructor": {"mbox": "mailto:t@example.jp"},
                               "contextActivities": {"parent": {"id": "http://example.com/parent"}}}}
    });
    let terms = Statement::from_json(&statement, XapiVersion::V1_0_3, "$")
        .unwrap()
        .index_terms();
    assert_eq!(
        terms.direct_agents,
        vec![
            "account::https://school.example.jp::4-2",
            "mbox::mailto:a@example.jp",
            "openid::https://id.example.jp/b"
        ]
    );
    assert!(terms.direct_activities.is_empty());
    for related in [
        "mbox_sha1sum::ad3e8f8a4c43a1f5a7f9b3e3b0c1d2e3f4a5b6c7",
        "mbox::mailto:t@example.jp",
    ] {
        assert!(
            terms.related_agents.contains(&related.to_owned()),
            "{related}"
        );
    }
    assert_eq!(
        terms.related_activities,
        vec!["http://example.com/inner", "http://example.com/parent"]
    );
}

#[test]
#[ignore = "timing; run with --release --ignored"]
fn parsing_takes_a_few_microseconds_per_statement() {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/japan-statements.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let values: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let rounds = 20_000;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for value in &values {
            std::hint::black_box(
                Statement::from_json(value, XapiVersion::V1_0_3, "$")
                    .unwrap()
                    .index_terms(),
            );
        }
    }
    let per = start.elapsed() / (rounds * values.len() as u32);
    println!("validate + index_terms: {per:?} per statement");
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for value in &values {
            std::hint::black_box(Statement::from_json(value, XapiVersion::V1_0_3, "$").unwrap());
        }
    }
    let per = start.elapsed() / (rounds * values.len() as u32);
    println!("validate only: {per:?} per statement");
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(serde_json::from_slice::<Value>(&body).unwrap());
    }
    let per = start.elapsed() / (rounds * values.len() as u32);
    println!("serde_json parse only: {per:?} per statement");
}

mod common;

#[test]
fn every_spec_example_takes_the_fast_write_path_or_today_s_with_the_same_answer() {
    for example in fixture("spec-examples.json").as_array().unwrap() {
        for version in VERSIONS {
            common::check_value(&example["statement"], version);
        }
    }
}
