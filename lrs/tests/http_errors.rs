//! Errors the HTTP layer produces before any handler: every method a resource does not serve is
//! a 405 with the JSON error body and `Allow`, every unknown path a JSON 404 (issue 16, defect 7).

mod common;

use common::TestLrs;
use reqwest::Method;
use serde_json::Value;

/// Every method tried on every resource.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "TRACE", "OPTIONS", "PROPFIND",
];

/// Every resource and the methods it serves (with CORS on, as by default, `OPTIONS` on every
/// xAPI path).
const RESOURCES: [(&str, &[&str]); 10] = [
    (
        "/xapi/statements",
        &["PUT", "POST", "GET", "HEAD", "OPTIONS"],
    ),
    ("/xapi/about", &["GET", "HEAD", "OPTIONS"]),
    (
        "/xapi/activities/state",
        &["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
    ),
    (
        "/xapi/activities/profile",
        &["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
    ),
    (
        "/xapi/agents/profile",
        &["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
    ),
    ("/xapi/agents", &["GET", "HEAD", "OPTIONS"]),
    ("/xapi/activities", &["GET", "HEAD", "OPTIONS"]),
    ("/health", &["GET", "HEAD"]),
    ("/ready", &["GET", "HEAD"]),
    ("/metrics", &["GET", "HEAD"]),
];

/// The server's root, e.g. `http://127.0.0.1:41234`.
fn root(lrs: &TestLrs) -> String {
    lrs.endpoint.trim_end_matches("/xapi").to_owned()
}

async fn send(lrs: &TestLrs, method: &str, path: &str) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    lrs.client
        .request(method, format!("{}{path}", root(lrs)))
        .basic_auth(&lrs.key, Some(&lrs.secret))
        .header("X-Experience-API-Version", "2.0.0")
        .send()
        .await
        .unwrap()
}

/// The JSON error body of `response`, checked to be one.
async fn json_error(response: reqwest::Response, what: &str) -> Value {
    let content_type = response.headers()["Content-Type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    body
}

fn allow_list(response: &reqwest::Response, what: &str) -> Vec<String> {
    let allow = response
        .headers()
        .get("Allow")
        .unwrap_or_else(|| panic!("{what}: a 405 without Allow"));
    let mut methods: Vec<String> = allow
        .to_str()
        .unwrap()
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    methods.sort();
    methods
}

fn sorted(methods: &[&str]) -> Vec<String> {
    let mut methods: Vec<String> = methods.iter().map(|m| (*m).to_owned()).collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn every_method_a_resource_does_not_serve_is_a_405_with_a_json_error_and_its_allow_list() {
    let lrs = TestLrs::start();
    for (path, served) in RESOURCES {
        for method in METHODS {
            let what = format!("{method} {path}");
            let response = send(&lrs, method, path).await;
            if served.contains(&method) {
                assert_ne!(response.status(), 405, "{what}");
                continue;
            }
            assert_eq!(response.status(), 405, "{what}");
            assert_eq!(allow_list(&response, &what), sorted(served), "{what}");
            let body = json_error(response, &what).await;
            assert_eq!(body["error"], "method_not_allowed", "{what}");
            assert!(body["rule"].as_str().unwrap().contains("Allow"), "{what}");
        }
    }
}

#[tokio::test]
async fn with_cors_off_options_is_a_405_and_not_in_the_allow_list() {
    let lrs = TestLrs::start_with_env(&[], &[("LRS__CORS__ALLOWED_ORIGINS", "")]);
    let response = send(&lrs, "OPTIONS", "/xapi/statements").await;
    assert_eq!(response.status(), 405);
    assert_eq!(
        allow_list(&response, "OPTIONS"),
        sorted(&["PUT", "POST", "GET", "HEAD"])
    );
    json_error(response, "OPTIONS").await;
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404_whatever_the_method() {
    let lrs = TestLrs::start();
    for path in [
        "/",
        "/nothing",
        "/xapi/nothing",
        "/xapi/statements/extra",
        "/xapi",
    ] {
        for method in ["GET", "POST", "PATCH"] {
            let what = format!("{method} {path}");
            let response = send(&lrs, method, path).await;
            assert_eq!(response.status(), 404, "{what}");
            let body = json_error(response, &what).await;
            assert_eq!(body["error"], "not_found", "{what}");
        }
    }
}
