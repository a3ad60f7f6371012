//! The Agents, Activities and About resources, the alternate request syntax and CORS, against
//! the real server on port 0.

mod common;

use common::{TestLrs, create_credential, statement_for};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const MEETING: &str = "http://www.example.com/meetings/occurances/34534";

async fn get_with(lrs: &TestLrs, path: &str, query: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = lrs
        .request(Method::GET, path)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn meeting_statement(definition: Value) -> Value {
    json!({
        "actor": {"mbox": "mailto:taro@example.jp", "name": "山田太郎"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"objectType": "Activity", "id": MEETING, "definition": definition}
    })
}

// xAPI 1.0.3 Communication §2.4 / 2.0.0 §4.1.6.3: a Person object with array properties, holding
// at least what the request said about the Agent.
#[tokio::test]
async fn the_agents_resource_answers_a_person_made_of_the_agents_identifier_and_name() {
    let lrs = TestLrs::start();
    let cases = [
        (
            json!({"objectType": "Agent", "name": "山田太郎", "mbox": "mailto:taro@example.jp"}),
            json!({"objectType": "Person", "name": ["山田太郎"], "mbox": ["mailto:taro@example.jp"]}),
        ),
        (
            json!({"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"}),
            json!({"objectType": "Person", "mbox_sha1sum": ["cd9b00a5611f94eaa7b1661edab976068e364975"]}),
        ),
        (
            json!({"openid": "http://openid.example.org/12345"}),
            json!({"objectType": "Person", "openid": ["http://openid.example.org/12345"]}),
        ),
        (
            json!({"name": "学習者", "account": {"homePage": "https://eportal.example.jp", "name": "3f0c9a7e"}}),
            json!({"objectType": "Person", "name": ["学習者"],
                   "account": [{"homePage": "https://eportal.example.jp", "name": "3f0c9a7e"}]}),
        ),
    ];
    for (agent, person) in cases {
        let (status, got) = get_with(&lrs, "/agents", &[("agent", &agent.to_string())]).await;
        assert_eq!(status, 200, "{agent}: {got}");
        assert_eq!(got, person);
    }
}

// xAPI 1.0.3 Communication §2.4.s2: "agent" is required and is an Agent with one identifier, not a
// Group (conformance XAPI-00243, XAPI-00249).
#[tokio::test]
async fn the_agents_resource_rejects_a_missing_or_invalid_agent_with_400() {
    let lrs = TestLrs::start();
    let (status, _) = get_with(&lrs, "/agents", &[]).await;
    assert_eq!(status, 400, "no agent");
    for bad in [
        r#"{"objectType": "Agent"}"#,
        r#"{"objectType": "Group", "mbox": "mailto:class@example.jp"}"#,
        r#"{"mbox": "taro@example.jp"}"#,
        r#"{"mbox": "mailto:a@example.jp", "openid": "http://openid.example.org/1"}"#,
        "not json",
    ] {
        let (status, got) = get_with(&lrs, "/agents", &[("agent", bad)]).await;
        assert_eq!(status, 400, "{bad}: {got}");
        assert!(got["rule"].as_str().unwrap().contains("xAPI"), "{got}");
    }
    let agent = r#"{"mbox": "mailto:a@example.jp"}"#;
    let (status, _) = get_with(&lrs, "/agents", &[("agent", agent), ("Agent", agent)]).await;
    assert_eq!(status, 400, "an unknown parameter");
}

// xAPI 1.0.3 Communication §2.5 / 2.0.0 §4.1.6.4: the complete Activity object, with the
// definition statements gave it, readable right after the POST that carried it.
#[tokio::test]
async fn the_activities_resource_answers_the_definition_learned_from_a_statement_posted_just_before()
 {
    let lrs = TestLrs::start();
    let definition = json!({
        "type": "http://adlnet.gov/expapi/activities/meeting",
        "name": {"en-US": "example meeting", "ja-JP": "会議の例"},
        "moreInfo": "http://virtualmeeting.example.com/345256",
        "extensions": {"http://example.com/profiles/meetings/extension/location": "X:\\meetings"}
    });
    let statement = meeting_statement(definition.clone());
    assert_eq!(lrs.post_statements(&statement).await.status(), 200);
    let (status, got) = get_with(&lrs, "/activities", &[("activityId", MEETING)]).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, statement["object"]);

    let head = lrs
        .request(Method::HEAD, "/activities")
        .query(&[("activityId", MEETING)])
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");
}

// xAPI 1.0.3 Communication §2.5.s2.b1: without a canonical definition the LRS still answers an
// Activity object (2.0.0 conformance: with its id and objectType); "activityId" is a required IRI.
#[tokio::test]
async fn an_unknown_activity_is_answered_with_its_id_and_a_bad_activity_id_with_400() {
    let lrs = TestLrs::start();
    let id = format!("http://www.example.com/never-seen/{}", Uuid::new_v4());
    let (status, got) = get_with(&lrs, "/activities", &[("activityId", &id)]).await;
    assert_eq!(status, 200);
    assert_eq!(got, json!({"objectType": "Activity", "id": id}));
    let (status, _) = get_with(&lrs, "/activities", &[]).await;
    assert_eq!(status, 400, "no activityId");
    let (status, _) = get_with(&lrs, "/activities", &[("activityId", "not an iri")]).await;
    assert_eq!(status, 400, "not an IRI");
}

// xAPI 1.0.3 Data §2.4.4.1.s4 and conformance XAPI-00254: the Activity object holds what every
// statement said about it: languages combine (the latest text wins per language), and
// definitions in context activities and SubStatements count too.
#[tokio::test]
async fn definitions_from_several_statements_are_merged_per_language() {
    let lrs = TestLrs::start();
    let first = meeting_statement(json!({"name": {"en-US": "meeting", "ja-JP": "会議"}}));
    let second =
        meeting_statement(json!({"name": {"fr-FR": "réunion", "en-US": "weekly meeting"}}));
    assert_eq!(
        lrs.post_statements(&json!([first, second])).await.status(),
        200
    );
    let parent = "https://school.example.jp/courses/math-4";
    let inner = "https://drill.example.jp/items/sub-1";
    let third = json!({
        "actor": {"mbox": "mailto:taro@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/planned"},
        "object": {
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:taro@example.jp"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": inner, "definition": {"name": {"ja-JP": "小問1"}}}
        },
        "context": {"contextActivities": {
            "parent": [{"id": parent, "definition": {"name": {"ja-JP": "算数4年"}}}],
            "grouping": [{"id": MEETING, "definition": {"description": {"ja-JP": "毎週の会議"}}}]
        }}
    });
    assert_eq!(lrs.post_statements(&third).await.status(), 200);

    let (_, meeting) = get_with(&lrs, "/activities", &[("activityId", MEETING)]).await;
    assert_eq!(
        meeting["definition"],
        json!({
            "name": {"en-US": "weekly meeting", "ja-JP": "会議", "fr-FR": "réunion"},
            "description": {"ja-JP": "毎週の会議"}
        })
    );
    let (_, got) = get_with(&lrs, "/activities", &[("activityId", parent)]).await;
    assert_eq!(got["definition"], json!({"name": {"ja-JP": "算数4年"}}));
    let (_, got) = get_with(&lrs, "/activities", &[("activityId", inner)]).await;
    assert_eq!(got["definition"], json!({"name": {"ja-JP": "小問1"}}));
}

// Tenancy: one board of education never sees another's activity definitions.
#[tokio::test]
async fn activity_definitions_are_isolated_between_tenants() {
    let lrs = TestLrs::start();
    let activity = "https://drill.example.jp/items/shared-1";
    let statement = statement_for("learner-1", "answered", activity);
    assert_eq!(lrs.post_statements(&statement).await.status(), 200);
    let (key, secret) = create_credential(&lrs.data_dir(), "board-b", "all");
    let response = lrs
        .request_as(Method::GET, "/activities", &key, &secret, "2.0.0")
        .query(&[("activityId", activity)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let got: Value = response.json().await.unwrap();
    assert_eq!(got, json!({"objectType": "Activity", "id": activity}));
    let (_, own) = get_with(&lrs, "/activities", &[("activityId", activity)]).await;
    assert_eq!(own["definition"], statement["object"]["definition"]);
}

// xAPI 1.0.3 Communication §2.8 / 2.0.0 §4.1.6.7: About needs no version header and lists both.
#[tokio::test]
async fn about_lists_both_versions_without_a_version_header() {
    let lrs = TestLrs::start();
    let response = lrs.client.get(lrs.url("/about")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let about: Value = response.json().await.unwrap();
    let versions = about["version"].as_array().unwrap();
    assert!(versions.contains(&json!("1.0.3")) && versions.contains(&json!("2.0.0")));
    assert!(about["extensions"].is_object());
}

fn basic(lrs: &TestLrs) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", lrs.key, lrs.secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

// xAPI 1.0.3 Communication §1.3: a POST with ?method= and a form carrying the headers, the
// content and the parameters is the request it stands for (here a PUT, then a GET).
#[tokio::test]
async fn a_form_post_performs_a_put_of_a_statement_and_a_get_of_statements() {
    let lrs = TestLrs::start();
    let id = Uuid::new_v4().to_string();
    let statement = statement_for("learner-9", "answered", "https://drill.example.jp/items/9");
    let response = lrs
        .client
        .post(lrs.url("/statements?method=PUT"))
        .form(&[
            ("statementId", id.as_str()),
            ("content", &statement.to_string()),
            ("Authorization", &basic(&lrs)),
            ("X-Experience-API-Version", "1.0.3"),
            ("Content-Type", "application/json"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());

    let response = lrs
        .client
        .post(lrs.url("/statements?method=GET"))
        .header("X-Experience-API-Version", "1.0.3")
        .form(&[
            ("statementId", id.as_str()),
            ("Authorization", &basic(&lrs)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["X-Experience-API-Version"], "1.0.3");
    let got: Value = response.json().await.unwrap();
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["object"], statement["object"]);
}

// xAPI 1.0.3 Communication §1.3.s3.b1–b3: only POST, only "method" in the query string, a form
// body; xAPI 2.0.0 removed the syntax. Every rejected request stores nothing.
#[tokio::test]
async fn malformed_alternate_syntax_requests_and_any_in_2_0_are_rejected_with_400() {
    let lrs = TestLrs::start();
    let id = Uuid::new_v4().to_string();
    let content = statement_for("learner-8", "answered", "https://drill.example.jp/items/8");
    let form = [
        ("content", content.to_string()),
        ("Authorization", basic(&lrs)),
        ("X-Experience-API-Version", "1.0.3".to_owned()),
    ];
    let cases = [
        (
            Method::POST,
            format!("/statements?method=PUT&statementId={id}"),
        ),
        (
            Method::PUT,
            format!("/statements?method=PUT&statementId={id}"),
        ),
        (Method::POST, "/statements?method=PATCH".to_owned()),
    ];
    for (method, path) in cases {
        let response = lrs
            .client
            .request(method.clone(), lrs.url(&path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{method} {path}");
    }
    let json_body = lrs
        .client
        .post(lrs.url("/statements?method=PUT"))
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&content)
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400, "a JSON body is not a form");
    let mut form_2_0 = form.to_vec();
    form_2_0.push(("statementId", id.clone()));
    form_2_0[2].1 = "2.0.0".into();
    let response = lrs
        .client
        .post(lrs.url("/statements?method=PUT"))
        .form(&form_2_0)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "2.0.0 has no alternate syntax");
    let response = lrs
        .request_as(
            Method::POST,
            "/statements?method=GET",
            &lrs.key,
            &lrs.secret,
            "2.0.0",
        )
        .form(&[("limit", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "2.0.0 header");

    let (status, _) = lrs.get_json(&format!("/statements?statementId={id}")).await;
    assert_eq!(status, 404, "nothing was stored");
}

// CORS (Fetch standard; xAPI 1.0.3 Communication §1.3.s1 assumes browsers use it): every xAPI
// path answers a preflight without credentials, and answers expose the xAPI headers.
#[tokio::test]
async fn preflights_are_answered_on_every_xapi_path_and_answers_expose_the_xapi_headers() {
    let lrs = TestLrs::start();
    for path in [
        "/statements",
        "/activities",
        "/agents",
        "/activities/state",
        "/about",
    ] {
        let response = lrs
            .client
            .request(Method::OPTIONS, lrs.url(path))
            .header("Origin", "https://tool.example.jp")
            .header("Access-Control-Request-Method", "PUT")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, x-experience-api-version",
            )
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let headers = response.headers();
        assert_eq!(headers["Access-Control-Allow-Origin"], "*", "{path}");
        let allowed = headers["Access-Control-Allow-Headers"].to_str().unwrap();
        for needed in [
            "Authorization",
            "Content-Type",
            "X-Experience-API-Version",
            "If-Match",
            "If-None-Match",
        ] {
            assert!(allowed.contains(needed), "{path}: {allowed}");
        }
        assert!(
            headers["Access-Control-Allow-Methods"]
                .to_str()
                .unwrap()
                .contains("PUT")
        );
    }
    let response = lrs
        .request(Method::GET, "/statements")
        .header("Origin", "https://tool.example.jp")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["Access-Control-Allow-Origin"], "*");
    let exposed = response.headers()["Access-Control-Expose-Headers"]
        .to_str()
        .unwrap();
    for needed in [
        "X-Experience-API-Consistent-Through",
        "X-Experience-API-Version",
        "ETag",
        "Last-Modified",
    ] {
        assert!(exposed.contains(needed), "{exposed}");
    }
}

// `cors.allowed_origins`: a configured list echoes allowed origins and ignores the others.
#[tokio::test]
async fn only_configured_origins_are_allowed_when_a_list_is_configured() {
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("lrs.toml");
    std::fs::write(
        &config,
        "[cors]\nallowed_origins = [\"https://eportal.example.jp\"]\n",
    )
    .unwrap();
    let lrs = TestLrs::start_with(&["--config", config.to_str().unwrap()]);
    let preflight = |origin: &'static str| {
        lrs.client
            .request(Method::OPTIONS, lrs.url("/statements"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };
    let allowed = preflight("https://eportal.example.jp").await.unwrap();
    assert_eq!(
        allowed.headers()["Access-Control-Allow-Origin"],
        "https://eportal.example.jp"
    );
    assert_eq!(allowed.headers()["Vary"], "Origin");
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("Access-Control-Allow-Origin").is_none());
    let response = lrs
        .request(Method::GET, "/statements")
        .header("Origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("Access-Control-Allow-Origin")
            .is_none()
    );
}
