//! Signed statements over HTTP against the real binary (xAPI 1.0.3 Data §2.6; xAPI 2.0 keeps the
//! same section).
//!
//! `fixtures/signer-key.pem` and `fixtures/signer-cert.pem` are a test-only RSA key and its
//! self-signed certificate; `fixtures/other-cert.pem` belongs to another key. They were made
//! with `openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=lrs test signer"`.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::TestLrs;
use common::attachments::{RawPart, body, request_body, sha256_hex};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const SIGNER_KEY: &str = include_str!("fixtures/signer-key.pem");
const SIGNER_CERT: &str = include_str!("fixtures/signer-cert.pem");
const OTHER_CERT: &str = include_str!("fixtures/other-cert.pem");
const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";

/// The base64 DER of a PEM certificate: what an `x5c` entry holds (RFC 7515 §4.1.6).
fn x5c(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn statement() -> Value {
    let mut s = common::statement_for("signer", "passed", "https://eportal.example.jp/exam");
    s["id"] = json!(Uuid::new_v4());
    s["result"] = json!({"score": {"scaled": 0.92}, "duration": "PT12M0.12S"});
    s
}

fn sign(payload: &Value, algorithm: Algorithm, chain: Option<&str>) -> Vec<u8> {
    let mut header = Header::new(algorithm);
    header.x5c = chain.map(|pem| vec![x5c(pem)]);
    let key = match algorithm {
        Algorithm::HS256 => EncodingKey::from_secret(b"a shared secret"),
        _ => EncodingKey::from_rsa_pem(SIGNER_KEY.as_bytes()).unwrap(),
    };
    jsonwebtoken::encode(&header, payload, &key)
        .unwrap()
        .into_bytes()
}

fn signature_attachment(jws: &[u8], content_type: &str) -> Value {
    json!({
        "usageType": SIGNATURE_USAGE,
        "display": {"en-US": "Signature", "ja-JP": "署名"},
        "contentType": content_type,
        "length": jws.len(),
        "sha2": sha256_hex(jws),
    })
}

/// `statement` with the signature attached, as the multipart body that carries the JWS.
fn signed_body(statement: &Value, jws: &[u8]) -> Vec<u8> {
    let mut sent = statement.clone();
    sent["attachments"] = json!([signature_attachment(jws, "application/octet-stream")]);
    request_body(&sent, &[(jws, "application/octet-stream")])
}

async fn post(lrs: &TestLrs, body: Vec<u8>) -> (u16, Value) {
    let response = lrs.send_multipart(Method::POST, "/statements", body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn signatures_with_rs256_rs384_and_rs512_are_accepted_and_kept() {
    // Data §2.6.s4.b4 and §2.6.s5.b3: the certificate in x5c verifies the signature.
    let lrs = TestLrs::start();
    for algorithm in [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512] {
        for chain in [Some(SIGNER_CERT), None] {
            let s = statement();
            let jws = sign(&s, algorithm, chain);
            let (status, answer) = post(&lrs, signed_body(&s, &jws)).await;
            assert_eq!(
                status,
                200,
                "{algorithm:?}, x5c {}: {answer}",
                chain.is_some()
            );
            let (_, parts) = lrs
                .get_parts(&format!(
                    "/statements?statementId={}&attachments=true",
                    s["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(
                parts[1].data, jws,
                "the signature is returned as it was sent"
            );
        }
    }
}

#[tokio::test]
async fn a_statement_differing_from_its_signature_beyond_hundredths_of_a_second_is_accepted() {
    // xAPI 2.0 §4.2.7 (Data §2.3.1 comparison): durations compare to 0.01 s precision.
    let lrs = TestLrs::start();
    let signed = statement();
    let jws = sign(&signed, Algorithm::RS256, Some(SIGNER_CERT));
    let mut sent = signed.clone();
    sent["result"]["duration"] = json!("PT12M0.1237S");
    let (status, answer) = post(&lrs, signed_body(&sent, &jws)).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn malformed_or_mismatched_signatures_are_400_naming_the_rule_and_store_nothing() {
    // Data §2.6.s5.b1: malformed signatures MUST be rejected with 400.
    let lrs = TestLrs::start();
    let not_json = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(b"{'actor': oops"),
        URL_SAFE_NO_PAD.encode(b"signature")
    );
    type Signer<'a> = Box<dyn Fn(&Value) -> Vec<u8> + 'a>;
    let cases: Vec<(&str, &str, Signer)> = vec![
        (
            "HS256",
            "§2.6.s4.b4",
            Box::new(|s| sign(s, Algorithm::HS256, None)),
        ),
        (
            "a payload that is another statement",
            "§2.6.s5.b3.b2",
            Box::new(|s| {
                let mut other = s.clone();
                other["result"]["score"]["scaled"] = json!(0.2);
                sign(&other, Algorithm::RS256, Some(SIGNER_CERT))
            }),
        ),
        (
            "a payload that is not JSON",
            "§2.6.s4.b3",
            Box::new(|_| not_json.clone().into_bytes()),
        ),
        (
            "not a JWS",
            "§2.6.s4.b1",
            Box::new(|_| b"definitely not a JWS".to_vec()),
        ),
        (
            "a certificate of another key",
            "§2.6.s5.b3.b3",
            Box::new(|s| sign(s, Algorithm::RS256, Some(OTHER_CERT))),
        ),
    ];
    for (what, section, signer) in cases {
        let s = statement();
        let (status, error) = post(&lrs, signed_body(&s, &signer(&s))).await;
        assert_eq!(status, 400, "{what}: {error}");
        let rule = error["rule"].as_str().unwrap_or_default();
        assert!(rule.contains(section), "{what}: {error}");
        let id = s["id"].as_str().unwrap();
        let (status, _) = lrs.get_json(&format!("/statements?statementId={id}")).await;
        assert_eq!(status, 404, "{what}: nothing stored");
    }
}

#[tokio::test]
async fn a_signature_must_be_octet_stream_and_travel_as_a_part() {
    // Data §2.6.s4.b1: usageType signature, contentType application/octet-stream.
    let lrs = TestLrs::start();
    let s = statement();
    let jws = sign(&s, Algorithm::RS256, Some(SIGNER_CERT));
    let mut sent = s.clone();
    sent["attachments"] = json!([signature_attachment(&jws, "text/plain; charset=ascii")]);
    let mut part = RawPart::attachment(&jws, "text/plain; charset=ascii");
    part.headers[0] = "Content-Type: text/plain; charset=ascii".into();
    let (status, error) = post(&lrs, body(&[RawPart::statements(&sent), part])).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["rule"].as_str().unwrap().contains("§2.6.s4.b1"),
        "{error}"
    );

    // Data §2.6.s5.b3.b1: the LRS decodes the JWS, so it must be sent, not linked.
    let mut linked = signature_attachment(&jws, "application/octet-stream");
    linked["fileUrl"] = json!("https://files.example.jp/signature.jws");
    sent["attachments"] = json!([linked]);
    let response = lrs.post_statements(&sent).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["rule"].as_str().unwrap().contains("§2.6.s5.b3.b1"),
        "{error}"
    );
}
