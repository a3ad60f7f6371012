//! The LRS's own limits (README "Limits"), against the real server on port 0: a request over a
//! limit gets a 400 naming it, before anything is acknowledged, and the server keeps answering
//! (issue 16: one request must never take the LRS down or stall its ingest).

mod common;

use common::attachments::{RawPart, body};
use common::documents::{Client, STATE, learner};
use common::{TestLrs, statement_for};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// Far deeper than any stack allows a recursive parser to go: before the depth limit, one such
/// request aborted the whole server ("has overflowed its stack").
const HOSTILE_DEPTH: usize = 100_000;

/// A statement whose extension value is `levels` arrays inside one another, as JSON text (a
/// `serde_json::Value` that deep could not even be serialized here).
fn deep_statement(levels: usize) -> String {
    format!(
        r#"{{"actor":{{"mbox":"mailto:learner@example.jp"}},"verb":{{"id":"http://adlnet.gov/expapi/verbs/answered"}},"object":{{"id":"https://drill.example.jp/items/1","definition":{{"extensions":{{"https://drill.example.jp/ext":{}{}}}}}}}}}"#,
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

async fn error_body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_refused_by(limit: &str, (status, body): &(StatusCode, Value)) {
    assert_eq!(*status, 400, "{body}");
    let rule = body["rule"].as_str().unwrap_or_default();
    assert!(rule.starts_with(limit), "rule {rule:?} in {body}");
}

const DEPTH_RULE: &str = "LRS limit: JSON nesting depth";
const IRI_RULE: &str = "LRS limit: an IRI";

/// The server still takes and serves statements.
async fn assert_still_serving(lrs: &TestLrs) {
    let statement = statement_for("after", "answered", "https://drill.example.jp/items/after");
    let response = lrs.post_statements(&statement).await;
    assert_eq!(response.status(), 200, "the server still answers");
    let ids: Vec<String> = response.json().await.unwrap();
    let (status, got) = lrs
        .get_json(&format!("/statements?statementId={}", ids[0]))
        .await;
    assert_eq!(status, 200, "{got}");
}

#[tokio::test]
async fn a_deeply_nested_statement_posted_as_json_is_refused_and_the_server_keeps_answering() {
    let lrs = TestLrs::start();
    let response = lrs
        .request(Method::POST, "/statements")
        .header("Content-Type", "application/json")
        .body(deep_statement(HOSTILE_DEPTH))
        .send()
        .await
        .unwrap();
    assert_refused_by(DEPTH_RULE, &error_body(response).await);
    assert_still_serving(&lrs).await;
}

#[tokio::test]
async fn a_deeply_nested_statement_put_is_refused_and_the_server_keeps_answering() {
    let lrs = TestLrs::start();
    let response = lrs
        .request(
            Method::PUT,
            &format!("/statements?statementId={}", Uuid::new_v4()),
        )
        .header("Content-Type", "application/json")
        .body(deep_statement(HOSTILE_DEPTH))
        .send()
        .await
        .unwrap();
    assert_refused_by(DEPTH_RULE, &error_body(response).await);
    assert_still_serving(&lrs).await;
}

#[tokio::test]
async fn a_deeply_nested_multipart_statement_part_is_refused_and_the_server_keeps_answering() {
    let lrs = TestLrs::start();
    let parts = [RawPart {
        headers: vec!["Content-Type: application/json".into()],
        data: deep_statement(HOSTILE_DEPTH).into_bytes(),
    }];
    let response = lrs
        .send_multipart(Method::POST, "/statements", body(&parts))
        .await;
    assert_refused_by(DEPTH_RULE, &error_body(response).await);
    assert_still_serving(&lrs).await;
}

// xAPI 1.0.3 Communication §1.3: the form's `content` is the body of the request it stands for.
#[tokio::test]
async fn a_deeply_nested_alternate_syntax_content_is_refused_and_the_server_keeps_answering() {
    let lrs = TestLrs::start();
    let authorization = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", lrs.key, lrs.secret)
        )
    );
    let response = lrs
        .client
        .post(lrs.url("/statements?method=PUT"))
        .form(&[
            ("statementId", Uuid::new_v4().to_string().as_str()),
            ("content", &deep_statement(HOSTILE_DEPTH)),
            ("Authorization", &authorization),
            ("X-Experience-API-Version", "1.0.3"),
            ("Content-Type", "application/json"),
        ])
        .send()
        .await
        .unwrap();
    assert_refused_by(DEPTH_RULE, &error_body(response).await);
    assert_still_serving(&lrs).await;
}

#[tokio::test]
async fn a_deeply_nested_json_document_is_refused_by_post_and_put() {
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let params = common::documents::state_params("bookmark");
    let deep = format!(
        r#"{{"bookmark":{}{}}}"#,
        "[".repeat(HOSTILE_DEPTH),
        "]".repeat(HOSTILE_DEPTH)
    );
    for method in [Method::POST, Method::PUT] {
        let response = client
            .send(
                method.clone(),
                STATE,
                &params,
                &[],
                Some(("application/json", deep.clone().into_bytes())),
            )
            .await;
        assert_refused_by(DEPTH_RULE, &error_body(response).await);
    }
    let response = client.get(STATE, &params).await;
    assert_eq!(response.status(), 404, "nothing was stored");
    // Nesting within the limit is stored and merged as usual.
    let within = json!({"bookmark": (0..90).fold(json!(1), |v, _| json!([v]))});
    let response = client
        .json(Method::POST, STATE, &params, &[], &within)
        .await;
    assert_eq!(response.status(), 204);
    assert_still_serving(&lrs).await;
}

#[tokio::test]
async fn deeply_nested_agent_parameters_and_more_cursors_are_refused() {
    let lrs = TestLrs::start();
    let deep_agent = format!(
        r#"{{"mbox":{}{}}}"#,
        "[".repeat(HOSTILE_DEPTH / 20),
        "]".repeat(HOSTILE_DEPTH / 20)
    );
    for path in ["/statements", "/agents"] {
        let response = lrs
            .request(Method::GET, path)
            .query(&[("agent", deep_agent.as_str())])
            .send()
            .await
            .unwrap();
        assert_refused_by(DEPTH_RULE, &error_body(response).await);
    }
    let response = lrs
        .request(Method::GET, STATE)
        .query(&[
            ("activityId", "https://drill.example.jp/a"),
            ("agent", deep_agent.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_refused_by(DEPTH_RULE, &error_body(response).await);
    let cursor = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        format!(r#"{{"p":{}{}}}"#, "[".repeat(5_000), "]".repeat(5_000)),
    );
    let response = lrs
        .request(Method::GET, &format!("/statements?more={cursor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_still_serving(&lrs).await;
}

fn long_iri(length: usize) -> String {
    let prefix = "https://drill.example.jp/items/";
    format!("{prefix}{}", "x".repeat(length - prefix.len()))
}

fn defined(id: &str) -> Value {
    json!({"id": id, "definition": {"name": {"ja-JP": "長いID"}}})
}

fn with_object(object: Value) -> Value {
    json!({
        "actor": {"mbox": "mailto:learner@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": object
    })
}

// Issue 16: such an id was acknowledged, then panicked the store in ingest (fjall keys hold
// 65,535 bytes) and stalled every later write of the LRS.
#[tokio::test]
async fn an_activity_id_over_the_iri_limit_with_a_definition_is_refused_wherever_it_is() {
    let lrs = TestLrs::start();
    for length in [65_536, 2_049] {
        let id = long_iri(length);
        let mut in_context = with_object(json!({"id": "https://drill.example.jp/items/1"}));
        in_context["context"] = json!({"contextActivities": {"parent": [defined(&id)]}});
        let sub_statement = with_object(json!({
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:teacher@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": defined(&id)
        }));
        for statement in [with_object(defined(&id)), in_context, sub_statement] {
            let response = lrs.post_statements(&statement).await;
            assert_refused_by(IRI_RULE, &error_body(response).await);
        }
    }
    assert_still_serving(&lrs).await;
}

#[tokio::test]
async fn an_activity_id_at_the_iri_limit_is_stored_and_its_definition_learned() {
    let lrs = TestLrs::start();
    let id = long_iri(2_048);
    let response = lrs.post_statements(&with_object(defined(&id))).await;
    assert_eq!(response.status(), 200);
    let response = lrs
        .request(Method::GET, "/activities")
        .query(&[("activityId", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let activity: Value = response.json().await.unwrap();
    assert_eq!(activity["definition"]["name"]["ja-JP"], "長いID");
    // Ingest moved on: a later statement is applied too.
    assert_still_serving(&lrs).await;
    let response = lrs
        .request(Method::GET, "/activities")
        .query(&[("activityId", long_iri(2_049).as_str())])
        .send()
        .await
        .unwrap();
    assert_refused_by(IRI_RULE, &error_body(response).await);
}

#[tokio::test]
async fn a_document_address_over_the_limit_is_refused_and_one_at_the_limit_is_stored() {
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let activity = long_iri(2_048);
    let agent_len = "account::https://eportal.example.jp::生徒-0001".len();
    let room = 2_400 - activity.len() - agent_len;
    let params = |state_id: &str| {
        vec![
            ("activityId", activity.clone()),
            ("agent", learner()),
            ("registration", common::documents::REGISTRATION.to_owned()),
            ("stateId", state_id.to_owned()),
        ]
    };
    let longest = "s".repeat(room);
    let response = client
        .json(Method::PUT, STATE, &params(&longest), &[], &json!({"p": 1}))
        .await;
    assert_eq!(response.status(), 204, "{:?}", response.text().await);
    let got = client.get_json(STATE, &params(&longest)).await;
    assert_eq!(got, json!({"p": 1}));
    let listed = client
        .get_json(STATE, &common::documents::without(&params(""), "stateId"))
        .await;
    assert_eq!(listed, json!([longest]));

    let over = "s".repeat(room + 1);
    for method in [Method::PUT, Method::POST, Method::GET, Method::DELETE] {
        let response = client
            .send(
                method.clone(),
                STATE,
                &params(&over),
                &[],
                Some(("application/json", b"{}".to_vec())),
            )
            .await;
        let (status, body) = error_body(response).await;
        assert_eq!(status, 400, "{method}: {body}");
        assert!(
            body["rule"]
                .as_str()
                .unwrap_or_default()
                .starts_with("LRS limit: a document's address"),
            "{body}"
        );
        assert_eq!(body["path"], "?stateId");
    }
}

#[tokio::test]
async fn an_interaction_with_more_components_than_the_limit_is_refused() {
    let lrs = TestLrs::start();
    let choices =
        |n: usize| -> Vec<Value> { (0..n).map(|i| json!({"id": format!("c{i}")})).collect() };
    let question = |n: usize| {
        with_object(
            json!({"id": "https://drill.example.jp/items/q", "definition": {
                "interactionType": "choice", "choices": choices(n)
            }}),
        )
    };
    let response = lrs.post_statements(&question(10_001)).await;
    let (status, body) = error_body(response).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["rule"]
            .as_str()
            .unwrap_or_default()
            .starts_with("LRS limit: an interaction component list"),
        "{body}"
    );
    assert_eq!(body["path"], "$.object.definition.choices");
    let response = lrs.post_statements(&question(10_000)).await;
    assert_eq!(response.status(), 200);
}
