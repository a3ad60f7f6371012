//! A table of invalid statements, each rejected with the rule and the path of its fault.

use lrs_schema::{Statement, XapiVersion, parse_statements};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"ja-JP": "回答した"}},
        "object": {"id": "https://drill.example.jp/items/1", "definition": {"name": {"ja": "問1"}}}
    })
}

/// Sets `value` at a `/`-separated pointer in the base statement (creating objects on the way),
/// or removes it when `value` is `None`.
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut statement = base();
    let keys: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let (last, parents) = keys.split_last().unwrap();
    let mut node = &mut statement;
    for key in parents {
        node = node
            .as_object_mut()
            .unwrap()
            .entry(*key)
            .or_insert_with(|| json!({}));
    }
    match value {
        Some(v) => {
            node.as_object_mut().unwrap().insert((*last).to_owned(), v);
        }
        None => {
            node.as_object_mut().unwrap().remove(*last);
        }
    }
    statement
}

struct Case {
    name: &'static str,
    statement: Value,
    version: XapiVersion,
    path: &'static str,
    rule: &'static str,
}

fn case(
    name: &'static str,
    pointer: &str,
    value: Option<Value>,
    path: &'static str,
    rule: &'static str,
) -> Case {
    Case {
        name,
        statement: with(pointer, value),
        version: XapiVersion::V1_0_3,
        path,
        rule,
    }
}

fn cases() -> Vec<Case> {
    let sub = |inner: Value| json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:b@example.com"}, "verb": {"id": "http://example.com/v"}, "object": inner});
    let mut cases = vec![
        case(
            "a statement without an actor",
            "/actor",
            None,
            "$",
            "§2.2.s2.b3",
        ),
        case(
            "a statement without a verb",
            "/verb",
            None,
            "$",
            "§2.2.s2.b3",
        ),
        case(
            "a statement without an object",
            "/object",
            None,
            "$",
            "§2.2.s2.b3",
        ),
        case(
            "an unknown top-level property",
            "/extra",
            Some(json!(1)),
            "$.extra",
            "§2.2.s4.b1.b7",
        ),
        case(
            "a property with the wrong case",
            "/Actor",
            Some(json!({})),
            "$.Actor",
            "§2.2.s4.b1.b7",
        ),
        case(
            "a null result",
            "/result",
            Some(Value::Null),
            "$.result",
            "§2.2.s4.b1.b1",
        ),
        case(
            "an id that is not a UUID",
            "/id",
            Some(json!("not-a-uuid")),
            "$.id",
            "§4.4",
        ),
        case(
            "an id in simple form",
            "/id",
            Some(json!("6f1c2a4e8b3d4e7a9c102d5f7a8b9c01")),
            "$.id",
            "§4.4",
        ),
        case(
            "an agent with two identifiers",
            "/actor/openid",
            Some(json!("http://openid.example.com/a")),
            "$.actor.openid",
            "§2.4.2.1",
        ),
        case(
            "an agent without an identifier",
            "/actor",
            Some(json!({"name": "nobody"})),
            "$.actor",
            "§2.4.2.1",
        ),
        case(
            "an mbox without mailto",
            "/actor/mbox",
            Some(json!("a@example.com")),
            "$.actor.mbox",
            "mailto",
        ),
        case(
            "an mbox_sha1sum that is not 40 hex digits",
            "/actor",
            Some(json!({"mbox_sha1sum": "xyz"})),
            "$.actor.mbox_sha1sum",
            "SHA1",
        ),
        case(
            "an openid that is not a URI",
            "/actor",
            Some(json!({"openid": "not a uri"})),
            "$.actor.openid",
            "IRI",
        ),
        case(
            "an account without homePage",
            "/actor",
            Some(json!({"account": {"name": "x"}})),
            "$.actor.account",
            "§2.4.2.4",
        ),
        case(
            "an account homePage that is not an IRL",
            "/actor",
            Some(json!({"account": {"homePage": "example.com", "name": "x"}})),
            "$.actor.account.homePage",
            "IRI",
        ),
        case(
            "an account name that is a number",
            "/actor",
            Some(json!({"account": {"homePage": "http://example.com", "name": 7}})),
            "$.actor.account.name",
            "§2.2.s4.b1.b2",
        ),
        case(
            "an anonymous group without members",
            "/actor",
            Some(json!({"objectType": "Group"})),
            "$.actor",
            "§2.4.2.2.s4.b1",
        ),
        case(
            "a group inside a group",
            "/actor",
            Some(
                json!({"objectType": "Group", "member": [{"objectType": "Group", "member": [{"mbox": "mailto:x@example.com"}]}]}),
            ),
            "$.actor.member[0]",
            "MUST NOT contain Group",
        ),
        case(
            "a group member with two identifiers",
            "/actor",
            Some(
                json!({"objectType": "Group", "member": [{"mbox": "mailto:x@example.com", "openid": "http://o.example.com"}]}),
            ),
            "$.actor.member[0].openid",
            "§2.4.2.1",
        ),
        case(
            "an identified group with two identifiers",
            "/actor",
            Some(
                json!({"objectType": "Group", "mbox": "mailto:g@example.com", "openid": "http://o.example.com"}),
            ),
            "$.actor.openid",
            "§2.4.2.2.s5.b1",
        ),
        case(
            "an actor of objectType Person",
            "/actor/objectType",
            Some(json!("Person")),
            "$.actor.objectType",
            "§2.4.2",
        ),
        case(
            "an actor objectType in the wrong case",
            "/actor/objectType",
            Some(json!("agent")),
            "$.actor.objectType",
            "§2.4.2",
        ),
        case(
            "a verb id that is not an IRI",
            "/verb/id",
            Some(json!("answered")),
            "$.verb.id",
            "IRI",
        ),
        case(
            "a verb display that is a string",
            "/verb/display",
            Some(json!("answered")),
            "$.verb.display",
            "§2.2.s4.b1.b2",
        ),
        case(
            "a verb display key that is not a language tag",
            "/verb/display",
            Some(json!({"japanese_JP": "x"})),
            "$.verb.display.japanese_JP",
            "RFC 5646",
        ),
        case(
            "a verb display value that is a number",
            "/verb/display",
            Some(json!({"en": 1})),
            "$.verb.display.en",
            "§2.2.s4.b1.b2",
        ),
        case(
            "an activity without id",
            "/object",
            Some(json!({"objectType": "Activity"})),
            "$.object",
            "§2.4.4.1",
        ),
        case(
            "an activity id that is relative",
            "/object/id",
            Some(json!("/items/1")),
            "$.object.id",
            "IRI",
        ),
        case(
            "an unknown object type",
            "/object/objectType",
            Some(json!("Thing")),
            "$.object.objectType",
            "§2.4.4",
        ),
        case(
            "an activity definition with an unknown property",
            "/object/definition/color",
            Some(json!("red")),
            "$.object.definition.color",
            "§2.2.s4.b1.b7",
        ),
        case(
            "an activity type that is not an IRI",
            "/object/definition/type",
            Some(json!("assessment")),
            "$.object.definition.type",
            "IRI",
        ),
        case(
            "a moreInfo that is not an IRL",
            "/object/definition/moreInfo",
            Some(json!("www.example.com")),
            "$.object.definition.moreInfo",
            "IRI",
        ),
        case(
            "an unknown interactionType",
            "/object/definition/interactionType",
            Some(json!("essay")),
            "$.object.definition.interactionType",
            "§2.4.4.1.s13.b1",
        ),
        case(
            "interaction properties without an interactionType",
            "/object/definition/correctResponsesPattern",
            Some(json!(["a"])),
            "$.object.definition",
            "§2.4.4.1.s13.b1",
        ),
        case(
            "a correctResponsesPattern that is a string",
            "/object/definition",
            Some(json!({"interactionType": "choice", "correctResponsesPattern": "a"})),
            "$.object.definition.correctResponsesPattern",
            "§2.2.s4.b1.b2",
        ),
        case(
            "choices on a true-false interaction",
            "/object/definition",
            Some(json!({"interactionType": "true-false", "choices": [{"id": "a"}]})),
            "$.object.definition.choices",
            "§2.4.4.1.s13.b3",
        ),
        case(
            "a scale on a choice interaction",
            "/object/definition",
            Some(json!({"interactionType": "choice", "scale": [{"id": "a"}]})),
            "$.object.definition.scale",
            "§2.4.4.1.s13.b3",
        ),
        case(
            "duplicate choice ids",
            "/object/definition",
            Some(json!({"interactionType": "choice", "choices": [{"id": "a"}, {"id": "a"}]})),
            "$.object.definition.choices[1].id",
            "§2.4.4.1.s16.b1",
        ),
        case(
            "a choice without id",
            "/object/definition",
            Some(json!({"interactionType": "choice", "choices": [{"description": {"en": "A"}}]})),
            "$.object.definition.choices[0]",
            "§2.4.4.1.s15",
        ),
        case(
            "an extension key that is not an IRI",
            "/object/definition/extensions",
            Some(json!({"grade": "P4"})),
            "$.object.definition.extensions.grade",
            "IRI",
        ),
        case(
            "a StatementRef without id",
            "/object",
            Some(json!({"objectType": "StatementRef"})),
            "$.object",
            "§2.4.4.3.s4",
        ),
        case(
            "a StatementRef id that is not a UUID",
            "/object",
            Some(json!({"objectType": "StatementRef", "id": "12"})),
            "$.object.id",
            "§4.4",
        ),
        case(
            "a voiding statement whose object is an activity",
            "/verb",
            Some(json!({"id": "http://adlnet.gov/expapi/verbs/voided"})),
            "$.object",
            "§2.3.2",
        ),
        case(
            "a SubStatement with an id",
            "/object",
            Some(
                json!({"objectType": "SubStatement", "id": "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01", "actor": {"mbox": "mailto:b@example.com"}, "verb": {"id": "http://example.com/v"}, "object": {"id": "http://example.com/a"}}),
            ),
            "$.object.id",
            "§2.4.4.3.s8.b3",
        ),
        case(
            "a SubStatement inside a SubStatement",
            "/object",
            Some(sub(sub(json!({"id": "http://example.com/a"})))),
            "$.object.object.objectType",
            "§2.4.4.3.s8.b2",
        ),
        case(
            "a SubStatement without a verb",
            "/object",
            Some(
                json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:b@example.com"}, "object": {"id": "http://example.com/a"}}),
            ),
            "$.object",
            "§2.2.s2.b3",
        ),
        case(
            "a scaled score above 1",
            "/result/score/scaled",
            Some(json!(1.5)),
            "$.result.score.scaled",
            "§2.4.5.1",
        ),
        case(
            "a scaled score below -1",
            "/result/score/scaled",
            Some(json!(-1.01)),
            "$.result.score.scaled",
            "§2.4.5.1",
        ),
        case(
            "a raw score above max",
            "/result/score",
            Some(json!({"raw": 11, "min": 0, "max": 10})),
            "$.result.score.raw",
            "§2.4.5.1",
        ),
        case(
            "a raw score below min",
            "/result/score",
            Some(json!({"raw": -1, "min": 0})),
            "$.result.score.raw",
            "§2.4.5.1",
        ),
        case(
            "a min equal to max",
            "/result/score",
            Some(json!({"min": 5, "max": 5})),
            "$.result.score.min",
            "less than",
        ),
        case(
            "a score that is a string",
            "/result/score/raw",
            Some(json!("5")),
            "$.result.score.raw",
            "§2.2.s4.b1.b2",
        ),
        case(
            "a success that is a string",
            "/result/success",
            Some(json!("true")),
            "$.result.success",
            "§2.2.s4.b1.b2",
        ),
        case(
            "a completion that is a number",
            "/result/completion",
            Some(json!(1)),
            "$.result.completion",
            "§2.2.s4.b1.b2",
        ),
        case(
            "a response that is a number",
            "/result/response",
            Some(json!(3)),
            "$.result.response",
            "§2.2.s4.b1.b2",
        ),
        case(
            "a duration in the alternative format",
            "/result/duration",
            Some(json!("P0000-00-00T00:00:38")),
            "$.result.duration",
            "§4.6.s1.b1",
        ),
        case(
            "a duration without a designator",
            "/result/duration",
            Some(json!("38")),
            "$.result.duration",
            "§4.6.s1.b1",
        ),
        case(
            "an unknown result property",
            "/result/grade",
            Some(json!("A")),
            "$.result.grade",
            "§2.2.s4.b1.b7",
        ),
        case(
            "a registration that is not a UUID",
            "/context/registration",
            Some(json!("abc")),
            "$.context.registration",
            "§4.4",
        ),
        case(
            "an instructor without identifier",
            "/context/instructor",
            Some(json!({"name": "先生"})),
            "$.context.instructor",
            "§2.4.2.1",
        ),
        case(
            "a team that is an Agent",
            "/context/team",
            Some(json!({"mbox": "mailto:t@example.com"})),
            "$.context.team",
            "team",
        ),
        case(
            "an unknown contextActivities key",
            "/context/contextActivities/siblings",
            Some(json!([])),
            "$.context.contextActivities.siblings",
            "§2.2.s4.b1.b7",
        ),
        case(
            "a context activity that is a string",
            "/context/contextActivities/parent",
            Some(json!("http://example.com/p")),
            "$.context.contextActivities.parent",
            "§2.4.6.2.s4.b2",
        ),
        case(
            "a context activity without id",
            "/context/contextActivities/parent",
            Some(json!([{"id": "http://example.com/p"}, {"objectType": "Activity"}])),
            "$.context.contextActivities.parent[1]",
            "§2.4.4.1",
        ),
        case(
            "a context language that is not a tag",
            "/context/language",
            Some(json!("Japanese language")),
            "$.context.language",
            "RFC 5646",
        ),
        case(
            "a context statement that is not a StatementRef",
            "/context/statement",
            Some(json!({"id": "6f1c2a4e-8b3d-4e7a-9c10-2d5f7a8b9c01"})),
            "$.context.statement.objectType",
            "§2.4.4.3.s4",
        ),
        case(
            "contextAgents in a 1.0.3 statement",
            "/context/contextAgents",
            Some(json!([])),
            "$.context.contextAgents",
            "2.0",
        ),
        case(
            "a timestamp that is not ISO 8601",
            "/timestamp",
            Some(json!("14 Oct 2025")),
            "$.timestamp",
            "§4.5",
        ),
        case(
            "a timestamp that is a number",
            "/timestamp",
            Some(json!(1_760_404_365)),
            "$.timestamp",
            "§2.2.s4.b1.b2",
        ),
        case(
            "a stored that is not a timestamp",
            "/stored",
            Some(json!("yesterday")),
            "$.stored",
            "§4.5",
        ),
        case(
            "a version that is not 1.0.x",
            "/version",
            Some(json!("2.0.0")),
            "$.version",
            "§2.4.10",
        ),
        case(
            "a version of 1.1",
            "/version",
            Some(json!("1.1")),
            "$.version",
            "§2.4.10",
        ),
        case(
            "an authority that is an identified Group",
            "/authority",
            Some(
                json!({"objectType": "Group", "mbox": "mailto:g@example.jp", "member": [{"mbox": "mailto:a@example.jp"}, {"mbox": "mailto:b@example.jp"}]}),
            ),
            "$.authority",
            "§2.4.9",
        ),
        case(
            "an authority Group of three Agents",
            "/authority",
            Some(
                json!({"objectType": "Group", "member": [{"mbox": "mailto:a@example.jp"}, {"mbox": "mailto:b@example.jp"}, {"mbox": "mailto:c@example.jp"}]}),
            ),
            "$.authority",
            "§2.4.9",
        ),
        case(
            "an authority without identifier",
            "/authority",
            Some(json!({"objectType": "Agent"})),
            "$.authority",
            "§2.4.2.1",
        ),
        case(
            "attachments that are an object",
            "/attachments",
            Some(json!({})),
            "$.attachments",
            "§2.2.s4.b1.b2",
        ),
        case(
            "an attachment without sha2",
            "/attachments",
            Some(
                json!([{"usageType": "http://example.com/u", "display": {"en": "x"}, "contentType": "text/plain", "length": 3}]),
            ),
            "$.attachments[0]",
            "§2.4.11",
        ),
        case(
            "an attachment with a fractional length",
            "/attachments",
            Some(
                json!([{"usageType": "http://example.com/u", "display": {"en": "x"}, "contentType": "text/plain", "length": 3.5, "sha2": "ab"}]),
            ),
            "$.attachments[0].length",
            "§2.4.11",
        ),
        case(
            "an attachment usageType that is not an IRI",
            "/attachments",
            Some(
                json!([{"usageType": "signature", "display": {"en": "x"}, "contentType": "text/plain", "length": 3, "sha2": "ab"}]),
            ),
            "$.attachments[0].usageType",
            "IRI",
        ),
    ];
    let revision = with(
        "/object",
        Some(json!({"objectType": "Agent", "mbox": "mailto:o@example.com"})),
    );
    let mut revision_case = revision.clone();
    revision_case["context"] = json!({"revision": "2"});
    cases.push(Case {
        name: "a revision when the object is not an Activity",
        statement: revision_case,
        version: XapiVersion::V1_0_3,
        path: "$.context.revision",
        rule: "§2.4.6.s4.b1",
    });
    let mut platform_case = revision;
    platform_case["context"] = json!({"platform": "x"});
    cases.push(Case {
        name: "a platform when the object is not an Activity",
        statement: platform_case,
        version: XapiVersion::V1_0_3,
        path: "$.context.platform",
        rule: "§2.4.6.s4.b2",
    });
    let two = |pointer: &str,
               value: Value,
               path: &'static str,
               rule: &'static str,
               name: &'static str| Case {
        name,
        statement: with(pointer, Some(value)),
        version: XapiVersion::V2_0_0,
        path,
        rule,
    };
    cases.extend([
        two("/timestamp", json!("2025-10-14T10:12:45"), "$.timestamp", "RFC 3339", "a 2.0 timestamp without an offset"),
        two("/version", json!("3.0.0"), "$.version", "2.0", "a 2.0 statement of version 3.0.0"),
        two("/context/contextAgents", json!([{"agent": {"mbox": "mailto:t@example.com"}}]), "$.context.contextAgents[0]", "contextAgent", "a contextAgent without objectType"),
        two("/context/contextAgents", json!([{"objectType": "contextAgent", "agent": {"mbox": "mailto:t@example.com"}, "relevantTypes": []}]), "$.context.contextAgents[0].relevantTypes", "relevantTypes", "empty relevantTypes"),
        two("/context/contextAgents", json!([{"objectType": "contextAgent", "agent": {"mbox": "mailto:t@example.com"}, "relevantTypes": ["teacher"]}]), "$.context.contextAgents[0].relevantTypes[0]", "IRI", "a relevantType that is not an IRI"),
        two("/context/contextGroups", json!([{"objectType": "contextGroup", "group": {"mbox": "mailto:t@example.com"}}]), "$.context.contextGroups[0].group", "contextGroup", "a contextGroup whose group is an Agent"),
    ]);
    cases
}

#[test]
fn every_invalid_statement_is_rejected_with_its_rule_and_path() {
    let mut failures = Vec::new();
    for case in cases() {
        match Statement::from_json(&case.statement, case.version, "$") {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(e) if e.path() != case.path || !e.rule().contains(case.rule) => {
                failures.push(format!(
                    "{}: got {} at {} ({})",
                    case.name,
                    e.message(),
                    e.path(),
                    e.rule()
                ))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_error_in_a_batch_names_the_index_of_the_statement() {
    let mut bad = base();
    bad["actor"]["mbox"] = json!("nobody");
    let body = serde_json::to_vec(&json!([base(), base(), bad])).unwrap();
    let err = parse_statements(&body, XapiVersion::V1_0_3).unwrap_err();
    assert_eq!(err.path(), "$[2].actor.mbox");
}

#[test]
fn malformed_json_and_non_statement_bodies_are_rejected() {
    let err = parse_statements(b"{\"actor\":", XapiVersion::V1_0_3).unwrap_err();
    assert!(err.rule().contains("JSON"), "{err}");
    let err = parse_statements(b"\"statement\"", XapiVersion::V1_0_3).unwrap_err();
    assert_eq!(err.path(), "$");
    let err = parse_statements(b"[1]", XapiVersion::V1_0_3).unwrap_err();
    assert_eq!(err.path(), "$[0]");
}

#[test]
fn a_null_inside_extensions_is_accepted_but_a_null_elsewhere_is_not() {
    let ok = with(
        "/result/extensions",
        Some(json!({"http://example.com/x": null, "http://example.com/y": {"z": null}})),
    );
    assert!(Statement::from_json(&ok, XapiVersion::V1_0_3, "$").is_ok());
    let bad = with("/verb/display", Some(json!({"en": null})));
    assert_eq!(
        Statement::from_json(&bad, XapiVersion::V1_0_3, "$")
            .unwrap_err()
            .path(),
        "$.verb.display.en"
    );
}

mod common;

#[test]
fn the_fast_write_path_accepts_no_invalid_statement_alone_or_in_a_batch() {
    for case in cases() {
        for body in [
            serde_json::to_vec(&case.statement).unwrap(),
            serde_json::to_vec_pretty(&json!([base(), case.statement])).unwrap(),
        ] {
            // `check` panics if the fast path answers where today's path refuses.
            common::check(&body, case.version, true);
            assert!(
                lrs_schema::parse_statements_fast(&body, case.version).is_none(),
                "{}: the fast path accepted it",
                case.name
            );
        }
    }
}
