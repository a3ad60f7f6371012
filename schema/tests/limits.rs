//! The LRS's own limits (`lrs_schema::limits`): what they admit, and the 400 above them.

use lrs_schema::limits::{
    MAX_DOCUMENT_ADDRESS_BYTES, MAX_INTERACTION_COMPONENTS, MAX_IRI_BYTES, MAX_JSON_DEPTH,
};
use lrs_schema::{DocumentMethod, DocumentParams, DocumentResource, XapiVersion, parse_statements};
use serde_json::{Value, json};

fn statement(object: Value) -> Value {
    json!({
        "actor": {"mbox": "mailto:learner@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": object
    })
}

/// `levels` arrays inside one another around a number.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

/// Every place an extension can appear, as a statement in a batch holding the extension value
/// `value`: result, context, an Activity Definition as object or context activity, and the same
/// inside a SubStatement.
fn extension_positions(value: &Value) -> Vec<(&'static str, Value)> {
    let ext = json!({"https://ext.example.jp/x": value});
    let activity = json!({"id": "https://drill.example.jp/a", "definition": {"extensions": ext}});
    let with_context = json!({"contextActivities": {"parent": [activity]}});
    let sub = |extra: (&str, Value)| {
        let mut sub = json!({
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:teacher@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": "https://drill.example.jp/b"}
        });
        sub[extra.0] = extra.1;
        sub
    };
    let mut result = statement(json!({"id": "https://drill.example.jp/b"}));
    result["result"] = json!({"extensions": ext});
    let mut context = statement(json!({"id": "https://drill.example.jp/b"}));
    context["context"] = json!({"extensions": ext});
    let mut context_activity = statement(json!({"id": "https://drill.example.jp/b"}));
    context_activity["context"] = with_context.clone();
    vec![
        ("result", result),
        ("context", context),
        ("object definition", statement(activity.clone())),
        ("context activity definition", context_activity),
        (
            "SubStatement result",
            statement(sub(("result", json!({"extensions": ext})))),
        ),
        (
            "SubStatement object definition",
            statement(sub(("object", activity))),
        ),
        (
            "SubStatement context activity definition",
            statement(sub(("context", with_context))),
        ),
    ]
}

fn batch_body(statement: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!([statement])).unwrap()
}

#[test]
fn extension_values_nest_at_least_64_levels_wherever_extensions_appear() {
    for version in [XapiVersion::V1_0_3, XapiVersion::V2_0_0] {
        for (place, statement) in extension_positions(&nested(64)) {
            parse_statements(&batch_body(&statement), version)
                .unwrap_or_else(|e| panic!("{place} ({version:?}): {e}"));
        }
    }
}

#[test]
fn a_body_nesting_one_level_deeper_than_the_limit_is_refused_naming_the_limit() {
    for (place, statement) in extension_positions(&nested(MAX_JSON_DEPTH)) {
        let err = parse_statements(&batch_body(&statement), XapiVersion::V2_0_0).unwrap_err();
        assert!(
            err.rule().starts_with("LRS limit: JSON nesting depth"),
            "{place}: {err}"
        );
        assert_eq!(err.path(), "$");
    }
    let exactly = format!(
        "[{}{}]",
        "[".repeat(MAX_JSON_DEPTH - 1),
        "]".repeat(MAX_JSON_DEPTH - 1)
    );
    let err = parse_statements(exactly.as_bytes(), XapiVersion::V2_0_0).unwrap_err();
    assert!(
        !err.rule().contains("nesting"),
        "{err}: depth {MAX_JSON_DEPTH} is allowed"
    );
}

#[test]
fn thousands_of_levels_are_refused_without_recursion() {
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let body = format!(
        r#"{{"actor":{{"mbox":"mailto:a@example.jp"}},"verb":{{"id":"http://x.jp/v"}},"object":{{"id":"http://x.jp/a","definition":{{"extensions":{{"http://x.jp/e":{deep}}}}}}}}}"#
    );
    let err = parse_statements(body.as_bytes(), XapiVersion::V1_0_3).unwrap_err();
    assert!(err.rule().contains("nesting depth"), "{err}");
}

fn long_iri(length: usize) -> String {
    let prefix = "https://drill.example.jp/";
    format!("{prefix}{}", "x".repeat(length - prefix.len()))
}

#[test]
fn activity_ids_up_to_the_iri_limit_are_accepted_in_every_position() {
    let id = long_iri(MAX_IRI_BYTES);
    let definition = json!({"name": {"ja-JP": "長い"}});
    let mut in_context = statement(json!({"id": "https://drill.example.jp/b"}));
    in_context["context"] =
        json!({"contextActivities": {"grouping": [{"id": id, "definition": definition}]}});
    let body = serde_json::to_vec(&json!([
        statement(json!({"id": id, "definition": definition})),
        in_context,
    ]))
    .unwrap();
    parse_statements(&body, XapiVersion::V2_0_0).expect("ids of the limit are accepted");
}

#[test]
fn an_iri_one_byte_over_the_limit_is_refused_wherever_it_is() {
    let id = long_iri(MAX_IRI_BYTES + 1);
    let definition = json!({"name": {"ja-JP": "長い"}});
    let mut in_context = statement(json!({"id": "https://drill.example.jp/b"}));
    in_context["context"] =
        json!({"contextActivities": {"parent": [{"id": id, "definition": definition}]}});
    let sub = statement(json!({
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:teacher@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": id, "definition": definition}
    }));
    let mut verb = statement(json!({"id": "https://drill.example.jp/b"}));
    verb["verb"]["id"] = json!(id);
    let mut extension = statement(json!({"id": "https://drill.example.jp/b"}));
    extension["result"] = json!({"extensions": {id.clone(): 1}});
    for (statement, path) in [
        (
            statement(json!({"id": id, "definition": definition})),
            "$.object.id",
        ),
        (in_context, "$.context.contextActivities.parent[0].id"),
        (sub, "$.object.object.id"),
        (verb, "$.verb.id"),
    ] {
        let err = parse_statements(
            &serde_json::to_vec(&statement).unwrap(),
            XapiVersion::V2_0_0,
        )
        .unwrap_err();
        assert!(err.rule().starts_with("LRS limit: an IRI"), "{path}: {err}");
        assert_eq!(err.path(), path);
    }
    let err = parse_statements(
        &serde_json::to_vec(&extension).unwrap(),
        XapiVersion::V2_0_0,
    )
    .unwrap_err();
    assert!(err.rule().starts_with("LRS limit: an IRI"), "{err}");
}

fn choice_statement(ids: impl Iterator<Item = String>) -> Vec<u8> {
    let choices: Vec<Value> = ids.map(|id| json!({"id": id})).collect();
    serde_json::to_vec(&statement(json!({
        "id": "https://drill.example.jp/q",
        "definition": {"interactionType": "choice", "choices": choices}
    })))
    .unwrap()
}

#[test]
fn a_component_list_may_hold_the_limit_and_no_more() {
    let full = choice_statement((0..MAX_INTERACTION_COMPONENTS).map(|i| format!("c{i}")));
    parse_statements(&full, XapiVersion::V1_0_3).expect("the limit is accepted");
    let over = choice_statement((0..=MAX_INTERACTION_COMPONENTS).map(|i| format!("c{i}")));
    let err = parse_statements(&over, XapiVersion::V1_0_3).unwrap_err();
    assert!(
        err.rule()
            .starts_with("LRS limit: an interaction component list"),
        "{err}"
    );
    assert_eq!(err.path(), "$.object.definition.choices");
}

#[test]
fn a_duplicate_component_id_is_found_however_far_apart_the_two_are() {
    let last = MAX_INTERACTION_COMPONENTS - 1;
    let ids = (0..MAX_INTERACTION_COMPONENTS).map(|i| {
        if i == last {
            "c0".to_owned()
        } else {
            format!("c{i}")
        }
    });
    let err = parse_statements(&choice_statement(ids), XapiVersion::V2_0_0).unwrap_err();
    assert!(err.rule().contains("§2.4.4.1.s16.b1"), "{err}");
    assert_eq!(
        err.path(),
        format!("$.object.definition.choices[{last}].id")
    );
    let distinct = (0..100).map(|i| format!("c{i}")).chain(["C0".to_owned()]);
    parse_statements(&choice_statement(distinct), XapiVersion::V2_0_0)
        .expect("ids are case-sensitive");
}

fn state_params(
    activity: &str,
    state_id: &str,
) -> Result<DocumentParams, lrs_schema::ValidationError> {
    let pairs = [
        ("activityId", activity),
        ("agent", r#"{"mbox":"mailto:learner@example.jp"}"#),
        ("stateId", state_id),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    DocumentParams::from_params(
        DocumentResource::State,
        DocumentMethod::Write,
        &pairs,
        XapiVersion::V2_0_0,
    )
}

#[test]
fn a_document_address_may_reach_the_limit_and_no_further() {
    let activity = long_iri(MAX_IRI_BYTES);
    let agent_len = "mbox::mailto:learner@example.jp".len();
    let room = MAX_DOCUMENT_ADDRESS_BYTES - MAX_IRI_BYTES - agent_len;
    let params = state_params(&activity, &"s".repeat(room)).expect("the limit is accepted");
    assert_eq!(params.address_len(), MAX_DOCUMENT_ADDRESS_BYTES);
    let err = state_params(&activity, &"s".repeat(room + 1)).unwrap_err();
    assert!(
        err.rule().starts_with("LRS limit: a document's address"),
        "{err}"
    );
    assert_eq!(err.path(), "?stateId");
}

#[test]
fn the_agent_parameter_is_checked_for_depth_before_it_is_parsed() {
    let deep = format!(
        r#"{{"mbox":{}}}"#,
        serde_json::to_string(&nested(500)).unwrap()
    );
    let pairs = [
        ("activityId", "https://drill.example.jp/a"),
        ("agent", deep.as_str()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let err = DocumentParams::from_params(
        DocumentResource::State,
        DocumentMethod::Read,
        &pairs,
        XapiVersion::V2_0_0,
    )
    .unwrap_err();
    assert!(err.rule().contains("nesting depth"), "{err}");
    assert_eq!(err.path(), "?agent");
    let query = [("agent".to_owned(), deep)];
    let err = lrs_schema::StatementQuery::from_params(&query, XapiVersion::V2_0_0).unwrap_err();
    assert!(err.rule().contains("nesting depth"), "{err}");
}

mod common;

#[test]
fn the_fast_write_path_agrees_at_and_beyond_every_limit() {
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for depth in [64, MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH] {
        for (_, statement) in extension_positions(&nested(depth)) {
            bodies.push(batch_body(&statement));
        }
    }
    bodies.push(choice_statement(
        (0..MAX_INTERACTION_COMPONENTS).map(|i| format!("c{i}")),
    ));
    bodies.push(choice_statement(
        (0..=MAX_INTERACTION_COMPONENTS).map(|i| format!("c{i}")),
    ));
    bodies.push(
        statement(json!({"id": long_iri(MAX_IRI_BYTES)}))
            .to_string()
            .into_bytes(),
    );
    bodies.push(
        statement(json!({"id": long_iri(MAX_IRI_BYTES + 1)}))
            .to_string()
            .into_bytes(),
    );
    for body in &bodies {
        for version in [XapiVersion::V1_0_3, XapiVersion::V2_0_0] {
            common::check(body, version, true);
        }
    }
}
