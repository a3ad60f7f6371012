//! `GET /api/v1/aggregates` and `GET /api/v1/learners/inactive` through the real binary (issue
//! 11 §6–§7): the answers' shapes (JSON, CSV, Consistent-Through), the scopes, and access by
//! roster role — a teacher sees their class only, a prefecture credential boards and schools
//! only, with small cells suppressed. The numbers themselves are tested with the engine.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::TestLrs;
use common::roster::{bulk_roster, credential};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const PERIOD: &str = "since=2025-10-01&until=2025-11-01";

/// The roster, aliases (`drill-77` on the drill tool is l2), and statements on 2025-10-14 (JST):
/// two by l1 (k1), one by l2 and one by its alias (k2), none by l3 (k1).
async fn study_log() -> TestLrs {
    fill(TestLrs::start()).await
}

async fn fill(lrs: TestLrs) -> TestLrs {
    let (status, body) = lrs.import_roster(&bulk_roster()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = lrs
        .upload_aliases("homePage,name,userSourcedId\nhttps://drill.example.jp,drill-77,l2\n")
        .await;
    assert_eq!(status, 200, "{body}");
    let mut alias = common::statement_for("drill-77", "answered", "https://drill.example.jp/q/2");
    alias["actor"]["account"]["homePage"] = json!("https://drill.example.jp");
    let statements = json!([
        common::statement_for("l1", "answered", "https://drill.example.jp/q/1"),
        common::statement_for("l1", "completed", "https://drill.example.jp/q/1"),
        common::statement_for("l2", "answered", "https://drill.example.jp/q/1"),
        alias,
    ]);
    let response = lrs.post_statements(&statements).await;
    assert_eq!(response.status(), 200);
    // Other credentials read these: they do not wait for this credential's writes.
    lrs.wait_applied().await;
    lrs
}

fn bound(lrs: &TestLrs, user: &str) -> (String, String) {
    credential(
        &lrs.data_dir(),
        &[
            "--tenant",
            "board-a",
            "--scopes",
            "aggregates",
            "--user",
            user,
        ],
    )
}

fn row_values(rows: &Value, dimension: &str) -> Vec<String> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|row| row[dimension].as_str().unwrap_or("null").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_answer_json_rows_or_csv_with_consistent_through() {
    let lrs = study_log().await;
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    let query = format!("/aggregates?group_by=class&metrics=statements,active_learners&{PERIOD}");
    let response = lrs
        .api_as(reqwest::Method::GET, &query, &key, &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let through = response.headers()["X-Experience-API-Consistent-Through"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["consistent_through"], through.as_str(), "{body}");
    assert_eq!(
        body["rows"],
        json!([
            {"class": "k1", "statements": 2, "active_learners": 1},
            {"class": "k2", "statements": 2, "active_learners": 1},
        ]),
        "the alias's statement counts for l2 in k2"
    );

    let response = lrs
        .api_as(reqwest::Method::GET, &query, &key, &secret)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response
            .headers()
            .contains_key("X-Experience-API-Consistent-Through")
    );
    assert_eq!(
        response.text().await.unwrap(),
        "class,statements,active_learners\r\nk1,2,1\r\nk2,2,1\r\n"
    );

    let (status, error) = lrs
        .api_get_as("/aggregates?group_by=colour", &key, &secret)
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["rule"].as_str().unwrap().contains("group_by"),
        "{error}"
    );
}

/// The roster user a token is bound to, a query, the status, and the values of the rows'
/// `dimension` (unchecked when `None`).
type Case = (
    &'static str,
    String,
    u16,
    Option<(&'static str, Vec<&'static str>)>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_sees_their_class_and_is_refused_another_with_403() {
    let lrs = study_log().await;
    let by_class = format!("/aggregates?group_by=class&{PERIOD}");
    let cases: Vec<Case> = vec![
        ("t1", by_class.clone(), 200, Some(("class", vec!["k1"]))),
        (
            "t1",
            format!("/aggregates?group_by=learner&class=k1&{PERIOD}"),
            200,
            Some(("learner", vec!["l1"])),
        ),
        ("t1", format!("{by_class}&class=k2"), 403, None),
        ("t1", format!("{by_class}&school=s2"), 403, None),
        ("t1", format!("{by_class}&learner=l2"), 403, None),
        (
            "t1",
            "/learners/inactive?class=k2&days=5&date=2025-10-17".to_owned(),
            403,
            None,
        ),
        // A student sees themself; a user the roster does not know sees nothing.
        (
            "l2",
            format!("/aggregates?group_by=learner&{PERIOD}"),
            200,
            Some(("learner", vec!["l2"])),
        ),
        ("ghost", by_class.clone(), 200, Some(("class", vec![]))),
    ];
    for (user, query, expected, rows) in cases {
        let (key, secret) = bound(&lrs, user);
        let (status, body) = lrs.api_get_as(&query, &key, &secret).await;
        assert_eq!(status, expected, "{user} {query}: {body}");
        if expected == 403 {
            assert_eq!(body["error"], "forbidden", "{user} {query}");
        }
        if let Some((dimension, values)) = rows {
            assert_eq!(
                row_values(&body["rows"], dimension),
                values,
                "{user} {query}: {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefecture_credential_reads_boards_suppressed_and_is_refused_classes_and_learners() {
    let lrs = study_log().await;
    let (key, secret) = credential(
        &lrs.data_dir(),
        &["--all-tenants", "--scopes", "aggregates"],
    );
    let (status, body) = lrs
        .api_get_as(
            &format!("/aggregates?group_by=board&metrics=statements,active_learners&{PERIOD}"),
            &key,
            &secret,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["rows"],
        json!([{"board": "board-a", "statements": null, "active_learners": null,
                "suppressed": true}]),
        "two learners are fewer than studylog.min_cell_learners (10)"
    );
    let (status, body) = lrs
        .api_get_as(
            &format!("/aggregates?group_by=school&{PERIOD}"),
            &key,
            &secret,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for refused in [
        "group_by=class",
        "group_by=learner",
        "group_by=school&class=k1",
        "group_by=board&learner=l1",
    ] {
        let (status, body) = lrs
            .api_get_as(&format!("/aggregates?{refused}&{PERIOD}"), &key, &secret)
            .await;
        assert_eq!(status, 403, "{refused}: {body}");
    }
    let (status, _) = lrs
        .api_get_as("/learners/inactive?class=k1&days=5", &key, &secret)
        .await;
    assert_eq!(status, 403);
    let (status, _) = lrs.get_json_as("/statements", &key, &secret).await;
    assert_eq!(status, 403, "a prefecture credential reads no statements");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_aggregates_needs_the_aggregates_scope_all_or_all_read() {
    let lrs = study_log().await;
    let dir = lrs.data_dir();
    let query = format!("/aggregates?group_by=school&{PERIOD}");
    for (scopes, expected) in [
        ("statements/read", 403),
        ("roster", 403),
        ("admin", 403),
        ("aggregates", 200),
        ("all/read", 200),
        ("all", 200),
    ] {
        let (key, secret) = credential(&dir, &["--tenant", "board-a", "--scopes", scopes]);
        let (status, body) = lrs.api_get_as(&query, &key, &secret).await;
        assert_eq!(status, expected, "{scopes}: {body}");
        let (status, body) = lrs
            .api_get_as("/learners/inactive?class=k1&days=5", &key, &secret)
            .await;
        assert_eq!(status, expected, "{scopes} (inactive): {body}");
    }
    let (key, secret) = credential(&dir, &["--tenant", "board-a", "--scopes", "aggregates"]);
    let (status, _) = lrs.get_json_as("/statements", &key, &secret).await;
    assert_eq!(status, 403, "aggregates is not a statement scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inactive_list_names_the_class_learners_without_recent_statements() {
    let lrs = study_log().await;
    let (key, secret) = (lrs.key.clone(), lrs.secret.clone());
    let response = lrs
        .api_as(
            reqwest::Method::GET,
            "/learners/inactive?class=k1&days=5&date=2025-10-17",
            &key,
            &secret,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .contains_key("X-Experience-API-Consistent-Through")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["learners"],
        json!([{"learner": "l3", "last_active": null}])
    );
    assert_eq!(body["school_days"], 5);
    assert_eq!(body["date"], "2025-10-17");
    assert!(body["consistent_through"].is_string(), "{body}");

    // Two weeks later l1 is inactive too, last seen on the 14th.
    let (status, body) = lrs
        .api_get_as(
            "/learners/inactive?class=k1&days=5&date=2025-10-31",
            &key,
            &secret,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        row_values(&body["learners"], "learner"),
        ["l1", "l3"],
        "{body}"
    );
    assert!(
        body["learners"][0]["last_active"]
            .as_str()
            .is_some_and(|t| t.starts_with("2025-10-14T01:12:45")),
        "{body}"
    );

    for bad in [
        "class=k1",
        "days=5",
        "class=k1&days=0",
        "class=k1&days=5&date=17-10-2025",
    ] {
        let (status, body) = lrs
            .api_get_as(&format!("/learners/inactive?{bad}"), &key, &secret)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_bound_to_the_roster_user_its_configured_claim_names() {
    const SECRET: &str = "a-test-only-hs256-secret-of-at-least-32-bytes";
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("lrs.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nuser_claim = \"lrs_user\"\n[[auth.jwt]]\nissuer = \"https://eportal.example.jp\"\naudience = \"lrs\"\nalgorithm = \"HS256\"\nhs_secret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let lrs = fill(TestLrs::start_with(&["--config", config.to_str().unwrap()])).await;
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let token = |claims: Value| {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    let get = |token: String, query: String| {
        let request = lrs
            .client
            .get(format!("{}/api/v1/aggregates?{query}&{PERIOD}", lrs.root()))
            .bearer_auth(token);
        common::send_json(request)
    };
    let teacher = token(json!({"iss": "https://eportal.example.jp", "aud": "lrs",
        "sub": "portal-9", "lrs_user": "t1", "tenant": "board-a", "scope": "aggregates",
        "exp": exp}));
    let (status, body) = get(teacher.clone(), "group_by=class".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(row_values(&body["rows"], "class"), ["k1"], "{body}");
    let (status, body) = get(teacher, "group_by=class&class=k2".into()).await;
    assert_eq!(status, 403, "{body}");

    let unbound = token(json!({"iss": "https://eportal.example.jp", "aud": "lrs",
        "sub": "t1", "tenant": "board-a", "scope": "aggregates", "exp": exp}));
    let (status, body) = get(unbound, "group_by=class".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        row_values(&body["rows"], "class"),
        ["k1", "k2"],
        "without the claim the token sees its whole tenant, whatever its sub"
    );
}
