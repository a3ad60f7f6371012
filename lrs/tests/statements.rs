//! The Statement Resource against the real server on port 0 with a real embedded store.

mod common;

use common::{TestLrs, japan_statements, statement_for, voiding_statement};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn a_posted_statement_can_be_read_back_with_stored_authority_and_version() {
    let lrs = TestLrs::start();
    let statement = statement_for("learner-1", "answered", "https://drill.example.jp/items/1");
    let response = lrs.post_statements(&statement).await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = response.json().await.unwrap();
    assert_eq!(ids.len(), 1);
    Uuid::parse_str(&ids[0]).expect("the LRS assigns a UUID");

    let (status, got) = lrs
        .get_json(&format!("/statements?statementId={}", ids[0]))
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["id"], ids[0].as_str());
    assert_eq!(got["actor"], statement["actor"]);
    assert_eq!(got["verb"], statement["verb"]);
    assert!(got["stored"].is_string(), "stored is set: {got}");
    assert_eq!(got["authority"]["account"]["name"], lrs.key.as_str());
    assert_eq!(got["version"], "2.0.0");
    let mut untimed = statement.clone();
    untimed.as_object_mut().unwrap().remove("timestamp");
    let ids: Vec<String> = lrs.post_statements(&untimed).await.json().await.unwrap();
    let (_, got) = lrs
        .get_json(&format!("/statements?statementId={}", ids[0]))
        .await;
    assert!(
        got["timestamp"].is_string(),
        "the LRS fills in a missing timestamp: {got}"
    );
}

#[tokio::test]
async fn the_japanese_example_statements_are_accepted_and_queryable_in_both_versions() {
    let lrs = TestLrs::start();
    for version in ["1.0.3", "2.0.0"] {
        let mut statements = japan_statements();
        for s in &mut statements {
            s["id"] = json!(Uuid::new_v4().to_string());
        }
        let response = lrs
            .request_as(Method::POST, "/statements", &lrs.key, &lrs.secret, version)
            .json(&statements)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "{version}: {}",
            response.text().await.unwrap()
        );
        assert_eq!(response.headers()["X-Experience-API-Version"], version);
    }
    let first = &japan_statements()[0];
    let agent = serde_json::to_string(&first["actor"]).unwrap();
    let path = format!(
        "/statements?agent={}&verb={}",
        urlencode(&agent),
        urlencode(first["verb"]["id"].as_str().unwrap())
    );
    let found = lrs.get_all(&path).await;
    assert_eq!(found.len(), 2, "one per version");
    for s in &found {
        assert_eq!(s["actor"], first["actor"]);
        assert_eq!(s["verb"]["id"], first["verb"]["id"]);
    }
}

#[tokio::test]
async fn a_batch_with_one_invalid_statement_stores_nothing() {
    let lrs = TestLrs::start();
    let good = statement_for("learner-2", "completed", "https://drill.example.jp/sets/a");
    let mut bad = good.clone();
    bad["result"] = json!({"score": {"scaled": 1.5}});
    let id = Uuid::new_v4().to_string();
    let mut good_with_id = good.clone();
    good_with_id["id"] = json!(id);
    let response = lrs.post_statements(&json!([good_with_id, bad])).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error["path"].as_str().unwrap().get(..4),
        Some("$[1]"),
        "{error}"
    );
    assert!(!error["rule"].as_str().unwrap().is_empty());
    let (status, _) = lrs.get_json(&format!("/statements?statementId={id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn put_with_an_existing_id_is_204_when_equivalent_and_409_when_not() {
    let lrs = TestLrs::start();
    let id = Uuid::new_v4();
    let statement = statement_for("learner-3", "attempted", "https://cbt.example.jp/tests/1");
    let put = |body: Value| {
        lrs.request(Method::PUT, &format!("/statements?statementId={id}"))
            .json(&body)
            .send()
    };
    assert_eq!(put(statement.clone()).await.unwrap().status(), 204);
    assert_eq!(put(statement.clone()).await.unwrap().status(), 204);
    let mut different = statement.clone();
    different["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/completed");
    assert_eq!(put(different.clone()).await.unwrap().status(), 409);
    // And once ingest has applied it, the check comes from the store.
    let (status, got) = lrs.get_json(&format!("/statements?statementId={id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        got["verb"]["id"],
        "http://adlnet.gov/expapi/verbs/attempted"
    );
    assert_eq!(put(different).await.unwrap().status(), 409);
    let mut posted = statement.clone();
    posted["id"] = json!(id.to_string());
    assert_eq!(lrs.post_statements(&posted).await.status(), 200);
}

#[tokio::test]
async fn put_without_statement_id_or_with_a_mismatched_id_is_400() {
    let lrs = TestLrs::start();
    let statement = statement_for("learner-4", "attempted", "https://cbt.example.jp/tests/2");
    let response = lrs
        .request(Method::PUT, "/statements")
        .json(&statement)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let mut with_id = statement.clone();
    with_id["id"] = json!(Uuid::new_v4().to_string());
    let response = lrs
        .request(
            Method::PUT,
            &format!("/statements?statementId={}", Uuid::new_v4()),
        )
        .json(&with_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_voided_statement_is_only_reachable_through_voided_statement_id() {
    let lrs = TestLrs::start();
    let target = Uuid::new_v4();
    let voider = voiding_statement("mailto:teacher@school.example.jp", &target.to_string());
    // The voiding statement arrives before its target.
    assert_eq!(lrs.post_statements(&voider).await.status(), 200);
    let mut statement = statement_for("learner-5", "answered", "https://drill.example.jp/items/9");
    statement["id"] = json!(target.to_string());
    assert_eq!(lrs.post_statements(&statement).await.status(), 200);

    let (status, _) = lrs
        .get_json(&format!("/statements?statementId={target}"))
        .await;
    assert_eq!(status, 404);
    let (status, got) = lrs
        .get_json(&format!("/statements?voidedStatementId={target}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], target.to_string());
    let all = lrs.get_all("/statements").await;
    assert!(
        all.iter().all(|s| s["id"] != target.to_string()),
        "voided statements are not in queries"
    );
    let voider_id = all
        .iter()
        .find(|s| s["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided")
        .expect("the voiding statement is in queries")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Data §2.3.2: a voiding statement cannot itself be voided; it stays readable.
    let void_the_voider = voiding_statement("mailto:teacher@school.example.jp", &voider_id);
    assert_eq!(lrs.post_statements(&void_the_voider).await.status(), 200);
    let (status, _) = lrs
        .get_json(&format!("/statements?statementId={voider_id}"))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn more_links_page_through_every_statement_once_even_while_new_ones_arrive() {
    let lrs = TestLrs::start();
    let batch: Vec<Value> = (0..250)
        .map(|i| {
            statement_for(
                &format!("learner-{i}"),
                "answered",
                "https://drill.example.jp/items/p",
            )
        })
        .collect();
    let response = lrs.post_statements(&Value::Array(batch)).await;
    let ids: Vec<String> = response.json().await.unwrap();
    let (status, first) = lrs.get_json("/statements?limit=100").await;
    assert_eq!(status, 200);
    assert_eq!(first["statements"].as_array().unwrap().len(), 100);
    // New statements after the first page must not shift later pages.
    let late: Vec<Value> = (0..20)
        .map(|i| {
            statement_for(
                &format!("late-{i}"),
                "answered",
                "https://drill.example.jp/items/p",
            )
        })
        .collect();
    assert_eq!(lrs.post_statements(&Value::Array(late)).await.status(), 200);
    let mut seen: Vec<String> = first["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let more = first["more"].as_str().unwrap();
    assert!(more.starts_with("/xapi/statements?more="), "{more}");
    let base_path = reqwest::Url::parse(&lrs.endpoint)
        .unwrap()
        .path()
        .to_owned();
    let rest = lrs.get_all(more.strip_prefix(&base_path).unwrap()).await;
    seen.extend(rest.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
    let mut sorted = seen.clone();
    sorted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        sorted, expected,
        "each statement of the query exactly once, no late arrivals"
    );
}

#[tokio::test]
async fn ascending_since_and_until_filter_by_stored_time() {
    let lrs = TestLrs::start();
    let mut stored = Vec::new();
    for i in 0..3 {
        let response = lrs
            .post_statements(&statement_for(
                &format!("t-{i}"),
                "answered",
                "https://drill.example.jp/items/t",
            ))
            .await;
        let ids: Vec<String> = response.json().await.unwrap();
        let (_, got) = lrs
            .get_json(&format!("/statements?statementId={}", ids[0]))
            .await;
        stored.push((ids[0].clone(), got["stored"].as_str().unwrap().to_owned()));
    }
    let (_, page) = lrs.get_json("/statements?ascending=true").await;
    let order: Vec<&str> = page["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        stored.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()
    );
    let (_, page) = lrs
        .get_json(&format!(
            "/statements?since={}&until={}",
            urlencode(&stored[0].1),
            urlencode(&stored[2].1)
        ))
        .await;
    let got: Vec<&str> = page["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        vec![stored[2].0.as_str(), stored[1].0.as_str()],
        "since is exclusive, until inclusive"
    );
}

#[tokio::test]
async fn every_get_carries_consistent_through_and_last_modified() {
    let lrs = TestLrs::start();
    lrs.post_statements(&statement_for(
        "h-1",
        "answered",
        "https://drill.example.jp/items/h",
    ))
    .await;
    let response = lrs
        .request(Method::GET, "/statements")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let through = response.headers()["X-Experience-API-Consistent-Through"]
        .to_str()
        .unwrap()
        .to_owned();
    lrs_schema::parse_timestamp(&through).expect("an ISO 8601 timestamp");
    assert!(response.headers().contains_key("Last-Modified"));
    let head = lrs
        .request(Method::HEAD, "/statements")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(
        head.headers()
            .contains_key("X-Experience-API-Consistent-Through")
    );
    assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");
}

#[tokio::test]
async fn a_missing_or_unsupported_version_header_is_400_and_answers_are_in_the_requested_family() {
    let lrs = TestLrs::start();
    let no_version = lrs
        .client
        .get(lrs.url("/statements"))
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 400);
    let unserved = lrs
        .client
        .get(lrs.url("/activities/state"))
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unserved.status(),
        400,
        "the version is checked before routing"
    );
    for bad in ["3.0.0", "0.95", "banana"] {
        let response = lrs
            .request_as(Method::GET, "/statements", &lrs.key, &lrs.secret, bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    for (asked, answered) in [
        ("1.0", "1.0.3"),
        ("1.0.1", "1.0.3"),
        ("1.0.3", "1.0.3"),
        ("2.0.0", "2.0.0"),
    ] {
        let response = lrs
            .request_as(Method::GET, "/statements", &lrs.key, &lrs.secret, asked)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asked}");
        assert_eq!(
            response.headers()["X-Experience-API-Version"],
            answered,
            "{asked}"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_json_400_naming_the_rule_and_path() {
    let lrs = TestLrs::start();
    let cases: Vec<(&str, String)> = vec![
        ("malformed JSON", "{\"actor\": ".into()),
        ("unknown property", statement_with("colour", json!("red"))),
        ("invalid mbox", json!({"actor": {"mbox": "teacher@example.jp"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}, "object": {"id": "https://a.example.jp/x"}}).to_string()),
        ("invalid UUID", statement_with("id", json!("not-a-uuid"))),
        ("invalid timestamp", statement_with("timestamp", json!("yesterday"))),
        ("wrong type", statement_with("verb", json!("answered"))),
    ];
    for (what, body) in cases {
        let response = lrs
            .request(Method::POST, "/statements")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{what}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["rule"].is_string() && error["path"].is_string(),
            "{what}: {error}"
        );
    }
    let wrong_type = lrs
        .request(Method::POST, "/statements")
        .header("Content-Type", "text/plain")
        .body(statement_for("x", "answered", "https://a.example.jp/x").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let lrs = TestLrs::start_with(&[]);
    let big = "x".repeat(17 * 1024 * 1024);
    let response = lrs
        .request(Method::POST, "/statements")
        .header("Content-Type", "application/json")
        .body(format!("[\"{big}\"]"))
        .send()
        .await;
    // The server may close the connection once it has answered 413.
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

#[tokio::test]
async fn bad_credentials_are_401_with_www_authenticate_and_missing_scope_is_403() {
    let lrs = TestLrs::start();
    let anonymous = lrs
        .client
        .get(lrs.url("/statements"))
        .header("X-Experience-API-Version", "2.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("WWW-Authenticate"));
    let wrong = lrs
        .request_as(
            Method::GET,
            "/statements",
            &lrs.key,
            "wrong-secret",
            "2.0.0",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let (writer, secret) =
        common::create_credential(&lrs.data_dir(), "board-a", "statements/write");
    let forbidden = lrs
        .request_as(Method::GET, "/statements", &writer, &secret, "2.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
}

#[tokio::test]
async fn read_mine_sees_only_statements_written_with_its_own_credential() {
    let lrs = TestLrs::start();
    let (tool, secret) = common::create_credential(
        &lrs.data_dir(),
        "board-a",
        "statements/write,statements/read/mine",
    );
    lrs.post_statements(&statement_for(
        "other",
        "answered",
        "https://a.example.jp/o",
    ))
    .await;
    let mine = lrs
        .request_as(Method::POST, "/statements", &tool, &secret, "2.0.0")
        .json(&statement_for("mine", "answered", "https://a.example.jp/m"))
        .send()
        .await
        .unwrap();
    let mine_ids: Vec<String> = mine.json().await.unwrap();
    let (_, page) = lrs.get_json_as("/statements", &tool, &secret).await;
    assert_eq!(common::ids(&page), vec![mine_ids[0].as_str()]);
}

#[tokio::test]
async fn one_tenant_cannot_read_void_or_detect_another_tenants_statements() {
    let lrs = TestLrs::start();
    let (other, other_secret) = common::create_credential(&lrs.data_dir(), "board-b", "all");
    let id = Uuid::new_v4();
    let mut statement = statement_for("learner-a", "answered", "https://a.example.jp/secret");
    statement["id"] = json!(id.to_string());
    assert_eq!(lrs.post_statements(&statement).await.status(), 200);

    let as_b = |method: Method, path: String| {
        lrs.request_as(method, &path, &other, &other_secret, "2.0.0")
    };
    let by_id = as_b(Method::GET, format!("/statements?statementId={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.status(), 404, "B cannot read A's statement by id");
    let (_, page) = lrs.get_json_as("/statements", &other, &other_secret).await;
    assert!(
        page["statements"].as_array().unwrap().is_empty(),
        "B's queries see nothing of A"
    );
    let agent = urlencode(&statement["actor"].to_string());
    let page: Value = as_b(Method::GET, format!("/statements?agent={agent}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["statements"].as_array().unwrap().is_empty());
    // A different statement with A's id is not a conflict for B: ids are per tenant, so B learns nothing.
    let mut different = statement_for("learner-b", "completed", "https://b.example.jp/x");
    different["id"] = json!(id.to_string());
    let put = as_b(Method::PUT, format!("/statements?statementId={id}"))
        .json(&different)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    // B voiding the id voids only B's statement.
    let voider = voiding_statement("mailto:admin@b.example.jp", &id.to_string());
    assert_eq!(
        as_b(Method::POST, "/statements".into())
            .json(&voider)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, got) = lrs.get_json(&format!("/statements?statementId={id}")).await;
    assert_eq!(status, 200, "A's statement is not voided by B");
    assert_eq!(got["actor"], statement["actor"]);
}

#[tokio::test]
async fn formats_ids_and_canonical_reduce_the_statement() {
    let lrs = TestLrs::start();
    let statement = japan_statements()[0].clone();
    let id = statement["id"].as_str().unwrap().to_owned();
    assert_eq!(lrs.post_statements(&statement).await.status(), 200);
    let (_, ids) = lrs
        .get_json(&format!("/statements?statementId={id}&format=ids"))
        .await;
    assert!(ids["verb"].get("display").is_none(), "{ids}");
    assert!(ids["object"].get("definition").is_none(), "{ids}");
    let canonical: Value = lrs
        .request(
            Method::GET,
            &format!("/statements?statementId={id}&format=canonical"),
        )
        .header("Accept-Language", "ja-JP")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let display = canonical["verb"]["display"].as_object().unwrap();
    assert_eq!(display.len(), 1);
    assert!(display.contains_key("ja-JP"), "{canonical}");
}

#[tokio::test]
async fn about_answers_without_credentials_or_version_header() {
    let lrs = TestLrs::start();
    let about: Value = lrs
        .client
        .get(lrs.url("/about"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let versions: Vec<&str> = about["version"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(versions.contains(&"1.0.3") && versions.contains(&"2.0.0"));
}

#[tokio::test]
async fn health_and_ready_answer() {
    let lrs = TestLrs::start();
    let base = lrs.endpoint.trim_end_matches("/xapi");
    assert_eq!(
        lrs.client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        lrs.client
            .get(format!("{base}/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

fn statement_with(field: &str, value: Value) -> String {
    let mut statement = statement_for("x", "answered", "https://a.example.jp/x");
    statement[field] = value;
    statement.to_string()
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[tokio::test]
async fn a_request_without_a_version_is_answered_in_the_configured_default_family() {
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("lrs.toml");
    std::fs::write(&config, "[server]\ndefault_xapi_version = \"1.0.3\"\n").unwrap();
    let lrs = TestLrs::start_with(&["--config", config.to_str().unwrap()]);
    let response = lrs
        .client
        .get(lrs.url("/statements"))
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["X-Experience-API-Version"], "1.0.3");
}

#[tokio::test]
async fn statements_targeting_a_matching_statement_are_returned_by_its_filters() {
    // xAPI Communication §2.1.3 "Filter Conditions for StatementRefs" (ADL suite XAPI-00162).
    let lrs = TestLrs::start();
    let verb = format!(
        "http://adlnet.gov/expapi/test/voided/target/{}",
        Uuid::new_v4()
    );
    let target = Uuid::new_v4();
    let mut voided = statement_for(
        "ref-learner",
        "answered",
        "https://drill.example.jp/items/r",
    );
    voided["id"] = json!(target.to_string());
    voided["verb"]["id"] = json!(verb);
    assert_eq!(lrs.post_statements(&voided).await.status(), 200);
    let voiding_id = Uuid::new_v4();
    let mut voiding = voiding_statement("mailto:teacher@school.example.jp", &target.to_string());
    voiding["id"] = json!(voiding_id.to_string());
    assert_eq!(lrs.post_statements(&voiding).await.status(), 200);
    let reference_id = Uuid::new_v4();
    let reference = json!({
        "id": reference_id.to_string(),
        "actor": {"mbox": "mailto:teacher@school.example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"objectType": "StatementRef", "id": target.to_string()}
    });
    assert_eq!(lrs.post_statements(&reference).await.status(), 200);
    let (status, page) = lrs
        .get_json(&format!("/statements?verb={}", urlencode(&verb)))
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![reference_id.to_string(), voiding_id.to_string()],
        "the voided target itself is hidden"
    );
    let agent = urlencode(&voided["actor"].to_string());
    let (_, page) = lrs.get_json(&format!("/statements?agent={agent}")).await;
    assert_eq!(page["statements"].as_array().unwrap().len(), 2, "{page}");
}
