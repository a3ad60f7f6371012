//! `GET /statements?format=canonical` against the real server on port 0: Activities come back
//! with the LRS's canonical definition, language filtered.

mod common;

use common::TestLrs;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn statement(id: &str, activity: &str, definition: Value, parent: Option<&str>) -> Value {
    let mut statement = json!({
        "id": id,
        "actor": {"mbox": "mailto:hanako@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"ja-JP": "体験した", "en-US": "experienced"}},
        "object": {"objectType": "Activity", "id": activity, "definition": definition}
    });
    if let Some(parent) = parent {
        statement["context"] = json!({"contextActivities": {"parent": [{"id": parent}]}});
    }
    statement
}

async fn get(lrs: &TestLrs, query: &[(&str, &str)], language: &str) -> Value {
    let response = lrs
        .request(Method::GET, "/statements")
        .query(query)
        .header("Accept-Language", language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

// xAPI 1.0.3 Communication §2.1.3 `format` (2.0.0 §4.1.6.1): "canonical: Return Activity Objects
// and Verbs populated with the canonical definition of the Activity Objects and Display of the
// Verbs as determined by the LRS, after applying the language filtering process". The canonical
// definition combines what every statement said (xAPI 1.0.3 Data §2.4.4.1.s4).
#[tokio::test]
async fn canonical_format_answers_the_lrs_definition_learned_from_a_later_statement() {
    let lrs = TestLrs::start();
    let activity = format!("http://www.example.jp/courses/{}", Uuid::new_v4());
    let (a, b) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let first = statement(&a, &activity, json!({"name": {"ja-JP": "安全講習"}}), None);
    let second = statement(
        &b,
        &activity,
        json!({"name": {"en-US": "safety training"}}),
        None,
    );
    assert_eq!(lrs.post_statements(&first).await.status(), 200);
    assert_eq!(lrs.post_statements(&second).await.status(), 200);

    let got = get(
        &lrs,
        &[("statementId", &a), ("format", "canonical")],
        "en-US",
    )
    .await;
    assert_eq!(
        got["object"]["definition"],
        json!({"name": {"en-US": "safety training"}})
    );
    assert_eq!(got["verb"]["display"], json!({"en-US": "experienced"}));

    let got = get(
        &lrs,
        &[("statementId", &a), ("format", "canonical")],
        "ja-JP",
    )
    .await;
    assert_eq!(
        got["object"]["definition"],
        json!({"name": {"ja-JP": "安全講習"}})
    );

    let exact = get(&lrs, &[("statementId", &a), ("format", "exact")], "en-US").await;
    assert_eq!(
        exact["object"]["definition"], first["object"]["definition"],
        "exact keeps the statement's own definition"
    );
}

// xAPI 1.0.3 Communication §2.1.3 `format` (2.0.0 §4.1.6.1): every Activity of every statement of a
// page is populated, context activities included; an Activity the LRS has no definition for keeps
// its own.
#[tokio::test]
async fn a_canonical_page_populates_objects_and_context_activities_of_every_statement() {
    let lrs = TestLrs::start();
    let course = format!("http://www.example.jp/courses/{}", Uuid::new_v4());
    let lesson = format!("http://www.example.jp/lessons/{}", Uuid::new_v4());
    let bare = format!("http://www.example.jp/bare/{}", Uuid::new_v4());
    let statements = json!([
        statement(
            &Uuid::new_v4().to_string(),
            &lesson,
            json!({"name": {"ja-JP": "第1課"}}),
            Some(&course)
        ),
        statement(
            &Uuid::new_v4().to_string(),
            &course,
            json!({"name": {"ja-JP": "講座", "en-US": "course"}}),
            None
        ),
        statement(
            &Uuid::new_v4().to_string(),
            &lesson,
            json!({"name": {"en-US": "lesson 1"}}),
            Some(&bare)
        ),
    ]);
    assert_eq!(lrs.post_statements(&statements).await.status(), 200);

    let page = get(
        &lrs,
        &[
            ("activity", course.as_str()),
            ("related_activities", "true"),
            ("format", "canonical"),
        ],
        "en-US",
    )
    .await;
    let got = page["statements"].as_array().unwrap();
    assert_eq!(got.len(), 2, "{page}");
    for statement in got {
        let object = &statement["object"];
        let expected = if object["id"] == course.as_str() {
            json!({"name": {"en-US": "course"}})
        } else {
            json!({"name": {"en-US": "lesson 1"}})
        };
        assert_eq!(object["definition"], expected, "{statement}");
    }
    let with_parent = got
        .iter()
        .find(|s| s["object"]["id"] == lesson.as_str())
        .unwrap();
    assert_eq!(
        with_parent["context"]["contextActivities"]["parent"],
        json!([{"id": course, "definition": {"name": {"en-US": "course"}}}])
    );

    let page = get(
        &lrs,
        &[
            ("activity", bare.as_str()),
            ("related_activities", "true"),
            ("format", "canonical"),
        ],
        "en-US",
    )
    .await;
    assert_eq!(
        page["statements"][0]["context"]["contextActivities"]["parent"],
        json!([{"id": bare}]),
        "no statement defined it"
    );
}
