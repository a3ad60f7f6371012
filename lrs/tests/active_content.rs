//! Stored client content is never served as the LRS's own active content (issue 16, defect 8):
//! documents and attachment answers carry `nosniff`, `Content-Security-Policy: sandbox` and,
//! for active types, `Content-Disposition: attachment`; every response carries `nosniff`.

mod common;

use common::TestLrs;
use common::attachments::{attachment_for, request_body};
use common::documents::*;
use reqwest::{Method, Response};

fn value(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn assert_sandboxed(response: &Response, what: &str) {
    assert_eq!(
        value(response, "X-Content-Type-Options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        value(response, "Content-Security-Policy").as_deref(),
        Some("sandbox"),
        "{what}"
    );
}

#[tokio::test]
async fn documents_of_active_types_are_served_sandboxed_as_downloads_and_passive_ones_sandboxed() {
    let lrs = TestLrs::start();
    let client = Client::new(&lrs, "2.0.0");
    let documents: [(&str, &str, bool); 6] = [
        ("text/html", "<script>alert(document.cookie)</script>", true),
        (
            "image/svg+xml",
            "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            true,
        ),
        ("application/javascript; charset=utf-8", "alert(1)", true),
        ("Text/XML", "<a/>", true),
        ("application/json", "{\"page\": 12}", false),
        ("image/png", "\u{89}PNG", false),
    ];
    let resources = [
        (STATE, state_params as fn(&str) -> Params),
        (ACTIVITY_PROFILE, activity_profile_params),
        (AGENT_PROFILE, agent_profile_params),
    ];
    for (path, params) in resources {
        for (i, (content_type, body, active)) in documents.iter().enumerate() {
            let params = params(&format!("doc-{i}"));
            let put = client
                .send(
                    Method::PUT,
                    path,
                    &params,
                    &[("If-None-Match", "*")],
                    Some((content_type, body.as_bytes().to_vec())),
                )
                .await;
            assert_eq!(put.status(), 204, "{path} {content_type}");
            for method in [Method::GET, Method::HEAD] {
                let what = format!("{method} {path} {content_type}");
                let got = client.send(method, path, &params, &[], None).await;
                assert_eq!(got.status(), 200, "{what}");
                assert_eq!(value(&got, "Content-Type").as_deref(), Some(*content_type));
                assert_sandboxed(&got, &what);
                let disposition = value(&got, "Content-Disposition");
                if *active {
                    assert_eq!(disposition.as_deref(), Some("attachment"), "{what}");
                } else {
                    assert_eq!(disposition, None, "{what}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_multipart_answer_with_attachment_data_is_sandboxed_and_a_download() {
    let lrs = TestLrs::start();
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let mut statement = common::statement_for("att", "completed", "https://eportal.example.jp/a");
    statement["attachments"] = serde_json::json!([attachment_for(&html, "text/html")]);
    let body = request_body(&statement, &[(&html, "text/html")]);
    let posted = lrs.send_multipart(Method::POST, "/statements", body).await;
    assert_eq!(posted.status(), 200);
    let ids: Vec<String> = posted.json().await.unwrap();
    let got = lrs
        .request(
            Method::GET,
            &format!("/statements?statementId={}&attachments=true", ids[0]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(
        value(&got, "Content-Type")
            .unwrap()
            .starts_with("multipart/mixed")
    );
    assert_sandboxed(&got, "attachments=true");
    assert_eq!(
        value(&got, "Content-Disposition").as_deref(),
        Some("attachment")
    );
}

#[tokio::test]
async fn every_response_carries_nosniff_and_sandbox() {
    let lrs = TestLrs::start();
    let root = lrs.endpoint.trim_end_matches("/xapi").to_owned();
    let anonymous = lrs
        .client
        .get(format!("{root}/xapi/statements"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 400, "no version header");
    assert_sandboxed(&anonymous, "a 400");
    for path in ["/xapi/about", "/health", "/ready", "/metrics", "/nothing"] {
        let response = lrs
            .client
            .get(format!("{root}{path}"))
            .send()
            .await
            .unwrap();
        assert_sandboxed(&response, path);
    }
    let statements = lrs
        .request(Method::GET, "/statements")
        .send()
        .await
        .unwrap();
    assert_eq!(statements.status(), 200);
    assert_sandboxed(&statements, "GET /statements");
    assert_eq!(value(&statements, "Content-Disposition"), None);
}
