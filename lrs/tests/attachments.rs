//! Attachments over HTTP against the real binary: `multipart/mixed` statement requests and
//! `attachments=true` answers (xAPI 1.0.3 Communication §1.5.2, §2.1.3 and Data §2.4.11; xAPI 2.0
//! keeps the same sections).

mod common;

use common::TestLrs;
use common::attachments::{RawPart, attachment_for, body, content_type, request_body, sha256_hex};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

fn statement(activity: &str) -> Value {
    common::statement_for("att-learner", "completed", activity)
}

/// Data that is not UTF-8 and holds CR, LF and dashes, as a real binary attachment can.
fn binary_data() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    data.extend_from_slice(b"\r\n--abcABC0123\r\n\xff\xfe");
    data
}

/// Whether the server holds data for `sha2`: a statement referencing it by fileUrl only is
/// answered with a data part exactly when the data was stored by an earlier request.
async fn holds_data(lrs: &TestLrs, data: &[u8]) -> bool {
    let id = Uuid::new_v4().to_string();
    let mut probe = statement("https://eportal.example.jp/probe");
    probe["id"] = json!(id);
    let mut attachment = attachment_for(data, "application/octet-stream");
    attachment["fileUrl"] = json!("https://files.example.jp/probe");
    probe["attachments"] = json!([attachment]);
    assert_eq!(lrs.post_statements(&probe).await.status(), 200);
    let (_, parts) = lrs
        .get_parts(&format!("/statements?statementId={id}&attachments=true"))
        .await;
    parts.len() == 2
}

#[tokio::test]
async fn a_multipart_post_stores_binary_data_that_get_returns_byte_for_byte() {
    // Communication §1.5.2.s3.b4: multipart batches with attachments MUST be accepted;
    // §1.5.2.s3.b1 and §2.1.3: attachments=true answers them in the same format.
    let lrs = TestLrs::start();
    let binary = binary_data();
    let text = "ここに簡単な添付があります".as_bytes().to_vec();
    let mut s = statement("https://eportal.example.jp/essay");
    s["attachments"] = json!([
        attachment_for(&binary, "image/png"),
        attachment_for(&text, "text/plain; charset=utf-8"),
    ]);
    let body = request_body(
        &s,
        &[(&binary, "image/png"), (&text, "text/plain; charset=utf-8")],
    );
    let response = lrs.send_multipart(Method::POST, "/statements", body).await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = response.json().await.unwrap();

    let (status, parts) = lrs
        .get_parts(&format!(
            "/statements?statementId={}&attachments=true",
            ids[0]
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0].headers["content-type"], "application/json");
    assert_eq!(parts[0].json()["id"], ids[0].as_str());
    for (part, data, media) in [
        (&parts[1], &binary, "image/png"),
        (&parts[2], &text, "text/plain; charset=utf-8"),
    ] {
        assert_eq!(&part.data, data);
        assert_eq!(part.headers["content-type"], media);
        assert_eq!(part.headers["content-transfer-encoding"], "binary");
        assert_eq!(part.headers["x-experience-api-hash"], sha256_hex(data));
    }

    // §2.1.3.s1.b1: without attachments=true the answer is plain JSON.
    for query in ["", "&attachments=false"] {
        let response = lrs
            .request(
                Method::GET,
                &format!("/statements?statementId={}{query}", ids[0]),
            )
            .send()
            .await
            .unwrap();
        let media = response.headers()["content-type"].to_str().unwrap();
        assert!(media.starts_with("application/json"), "{media}");
    }
}

#[tokio::test]
async fn a_multipart_put_stores_its_attachment_data_in_both_versions() {
    // Communication §2.1.1 with §1.5.2: PUT takes the same multipart format as POST.
    let lrs = TestLrs::start();
    for version in ["1.0.3", "2.0.0"] {
        let data = format!("certificate for {version}").into_bytes();
        let id = Uuid::new_v4();
        let mut s = statement("https://eportal.example.jp/certificate");
        s["attachments"] = json!([attachment_for(&data, "text/plain")]);
        let response = lrs
            .request_as(
                Method::PUT,
                &format!("/statements?statementId={id}"),
                &lrs.key,
                &lrs.secret,
                version,
            )
            .header("Content-Type", content_type())
            .body(request_body(&s, &[(&data, "text/plain")]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{version}");
        let (_, parts) = lrs
            .get_parts(&format!("/statements?statementId={id}&attachments=true"))
            .await;
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].data, data);
    }
}

#[tokio::test]
async fn filtered_and_voided_queries_answer_one_part_per_distinct_hash() {
    // Communication §1.5.2.s2.b2.b5: one copy of data shared by statements sent together;
    // the answer, too, carries each attachment's data once.
    let lrs = TestLrs::start();
    let shared = b"shared rubric".to_vec();
    let own = binary_data();
    let activity = "https://eportal.example.jp/shared-rubric";
    let mut first = statement(activity);
    first["attachments"] = json!([attachment_for(&shared, "text/plain")]);
    let mut second = statement(activity);
    second["attachments"] = json!([
        attachment_for(&shared, "text/plain"),
        attachment_for(&own, "application/octet-stream"),
    ]);
    let body = request_body(
        &json!([first, second]),
        &[(&shared, "text/plain"), (&own, "application/octet-stream")],
    );
    let response = lrs.send_multipart(Method::POST, "/statements", body).await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = response.json().await.unwrap();

    // The same data again in a later request is accepted and kept once.
    let mut third = statement(activity);
    third["attachments"] = json!([attachment_for(&shared, "text/plain")]);
    let body = request_body(&third, &[(&shared, "text/plain")]);
    let response = lrs.send_multipart(Method::POST, "/statements", body).await;
    assert_eq!(response.status(), 200);

    let (status, parts) = lrs
        .get_parts(&format!("/statements?activity={activity}&attachments=true"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(parts[0].json()["statements"].as_array().unwrap().len(), 3);
    let data: Vec<&Vec<u8>> = parts[1..].iter().map(|p| &p.data).collect();
    assert_eq!(data.len(), 2, "one part per distinct hash");
    assert!(data.contains(&&shared) && data.contains(&&own));

    // Communication §2.1.3: voidedStatementId may be combined with attachments.
    let voiding = common::voiding_statement("mailto:teacher@example.jp", &ids[1]);
    assert_eq!(lrs.post_statements(&voiding).await.status(), 200);
    let (status, parts) = lrs
        .get_parts(&format!(
            "/statements?voidedStatementId={}&attachments=true",
            ids[1]
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(parts[0].json()["id"], ids[1].as_str());
    assert_eq!(parts.len(), 3);
}

#[tokio::test]
async fn file_url_attachments_are_accepted_as_json_and_as_multipart_without_parts() {
    // Communication §1.5.1.s1.b2 and §1.5.2.s3.b8–b9.
    let lrs = TestLrs::start();
    let mut s = statement("https://eportal.example.jp/linked");
    let mut linked = attachment_for(b"hosted elsewhere", "text/plain");
    linked["fileUrl"] = json!("https://files.example.jp/report.txt");
    s["attachments"] = json!([linked]);
    assert_eq!(lrs.post_statements(&s).await.status(), 200);
    let response = lrs
        .send_multipart(Method::POST, "/statements", request_body(&s, &[]))
        .await;
    assert_eq!(response.status(), 200);
    let ids: Vec<String> = response.json().await.unwrap();
    let plain = statement("https://eportal.example.jp/plain");
    let response = lrs
        .send_multipart(Method::POST, "/statements", request_body(&plain, &[]))
        .await;
    assert_eq!(response.status(), 200);

    let (status, parts) = lrs
        .get_parts(&format!(
            "/statements?statementId={}&attachments=true",
            ids[0]
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        parts.len(),
        1,
        "no data is held for a fileUrl-only attachment"
    );
}

#[tokio::test]
async fn json_with_an_attachment_lacking_file_url_is_400_and_stores_nothing() {
    // Communication §1.5.2.s2.b1: application/json needs a fileUrl for every Attachment.
    let lrs = TestLrs::start();
    let id = Uuid::new_v4();
    let mut s = statement("https://eportal.example.jp/no-url");
    s["id"] = json!(id);
    s["attachments"] = json!([attachment_for(b"data", "text/plain")]);
    let response = lrs.post_statements(&s).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(error["rule"].as_str().unwrap().contains("§1.5.2.s2.b1"));
    let (status, _) = lrs.get_json(&format!("/statements?statementId={id}")).await;
    assert_eq!(status, 404);
}

/// A statement with one attachment for `data` and a fresh id.
fn one_attachment(data: &[u8]) -> (Uuid, Value) {
    let id = Uuid::new_v4();
    let mut s = statement("https://eportal.example.jp/mismatch");
    s["id"] = json!(id);
    s["attachments"] = json!([attachment_for(data, "text/plain")]);
    (id, s)
}

#[tokio::test]
async fn every_multipart_mismatch_is_400_naming_the_rule_and_stores_nothing() {
    let lrs = TestLrs::start();
    let data = b"the real attachment data".to_vec();
    let good = || RawPart::attachment(&data, "text/plain");
    let with_headers = |headers: &[&str]| RawPart {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        data: data.clone(),
    };
    let hash = format!("X-Experience-API-Hash: {}", sha256_hex(&data));
    // (what is wrong, the rule's section, content type, body builder from the statement)
    type Build<'a> = Box<dyn Fn(&Value) -> Vec<u8> + 'a>;
    let cases: Vec<(&str, &str, String, Build)> = vec![
        (
            "no part for an attachment without fileUrl",
            "§1.5.2.s3.b5",
            content_type(),
            Box::new(|s| request_body(s, &[])),
        ),
        (
            "a part no attachment references",
            "§1.5.2.s2.b2.b3",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    good(),
                    RawPart::attachment(b"extra", "text/plain"),
                ])
            }),
        ),
        (
            "a part without X-Experience-API-Hash",
            "§1.5.2.s2.b2.b3",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    with_headers(&[
                        "Content-Type: text/plain",
                        "Content-Transfer-Encoding: binary",
                    ]),
                ])
            }),
        ),
        (
            "a hash no attachment declares",
            "§1.5.2.s2.b2.b3",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    good(),
                    RawPart::attachment(b"other data", "text/plain"),
                ])
            }),
        ),
        (
            "data that does not hash to its header",
            "§1.5.2.s1.b4",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    RawPart {
                        headers: good().headers,
                        data: b"tampered".to_vec(),
                    },
                ])
            }),
        ),
        (
            "Content-Transfer-Encoding base64",
            "§1.5.2.s2.b2.b4",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    with_headers(&["Content-Transfer-Encoding: base64", &hash]),
                ])
            }),
        ),
        (
            "no Content-Transfer-Encoding",
            "§1.5.2.s2.b2.b4",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    with_headers(&["Content-Type: text/plain", &hash]),
                ])
            }),
        ),
        (
            "a part Content-Type unlike the contentType",
            "§1.5.2.s2.b2.b7",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart::statements(s),
                    RawPart::attachment(&data, "image/png"),
                ])
            }),
        ),
        (
            "a first part that is not application/json",
            "§1.5.2.s2.b2.b1",
            content_type(),
            Box::new(|s| {
                body(&[
                    RawPart {
                        headers: vec!["Content-Type: text/plain".into()],
                        data: s.to_string().into_bytes(),
                    },
                    good(),
                ])
            }),
        ),
        (
            "statements split over two parts",
            "§1.5.2.s2.b2.b3",
            content_type(),
            Box::new(|s| body(&[RawPart::statements(s), RawPart::statements(s), good()])),
        ),
        (
            "no boundary in the Content-Type",
            "RFC 2046",
            "multipart/mixed;".into(),
            Box::new(|s| request_body(s, &[(&data, "text/plain")])),
        ),
        (
            "no delimiter in the body",
            "RFC 2046",
            content_type(),
            Box::new(|s| s.to_string().into_bytes()),
        ),
        (
            "no close delimiter",
            "RFC 2046",
            content_type(),
            Box::new(|s| {
                let mut b = request_body(s, &[(&data, "text/plain")]);
                b.truncate(b.len() - 30);
                b
            }),
        ),
        (
            "multipart/form-data",
            "§1.5",
            "multipart/form-data; boundary=x".into(),
            Box::new(|s| request_body(s, &[(&data, "text/plain")])),
        ),
    ];
    for (what, section, media, build) in cases {
        let (id, s) = one_attachment(&data);
        let response = lrs
            .request(Method::POST, "/statements")
            .header("Content-Type", media)
            .body(build(&s))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{what}");
        let error: Value = response.json().await.unwrap();
        let rule = error["rule"].as_str().unwrap_or_default();
        assert!(rule.contains(section), "{what}: {error}");
        let (status, _) = lrs.get_json(&format!("/statements?statementId={id}")).await;
        assert_eq!(status, 404, "{what}: nothing stored");
    }

    // A batch whose data is fine but whose second statement is invalid stores no data either.
    let (_, s) = one_attachment(&data);
    let batch = json!([s, {"actor": {"mbox": "not-an-mbox"}}]);
    let response = lrs
        .send_multipart(
            Method::POST,
            "/statements",
            request_body(&batch, &[(&data, "text/plain")]),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert!(
        !holds_data(&lrs, &data).await,
        "no rejected request stored data"
    );
}

#[tokio::test]
async fn a_multipart_body_over_the_limit_is_413() {
    // Communication §1.5.2.s3.b7: an LRS MAY reject statements larger than it allows.
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join("lrs.toml");
    std::fs::write(&path, "[server]\nmax_body_bytes = 65536\n").unwrap();
    let lrs = TestLrs::start_with(&["--config", path.to_str().unwrap()]);
    let data = vec![7u8; 70_000];
    let (_, s) = one_attachment(&data);
    let response = lrs
        .request(Method::POST, "/statements")
        .header("Content-Type", content_type())
        .body(request_body(&s, &[(&data, "text/plain")]))
        .send()
        .await;
    // The server may close the connection once it has answered 413.
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let small = b"small".to_vec();
    let (_, s) = one_attachment(&small);
    let response = lrs
        .send_multipart(
            Method::POST,
            "/statements",
            request_body(&s, &[(&small, "text/plain")]),
        )
        .await;
    assert_eq!(response.status(), 200);
}
