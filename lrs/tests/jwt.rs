//! JWT bearer tokens through the real HTTP server, configured from a TOML file.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{spawn_server, statement_for};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const SECRET: &str = "a-test-only-hs256-secret-of-at-least-32-bytes";

fn token(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_configured_issuers_token_writes_and_reads_in_its_tenant_and_bad_tokens_are_401() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lrs.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.jwt]]\nissuer = \"https://eportal.example.jp\"\naudience = \"lrs\"\nalgorithm = \"HS256\"\nhs_secret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let (mut child, endpoint) = spawn_server(dir.path(), &["--config", config.to_str().unwrap()]);
    let client = reqwest::Client::new();
    let good = token(
        json!({"iss": "https://eportal.example.jp", "aud": "lrs", "sub": "portal-1",
        "tenant": "131016", "scope": "statements/write statements/read", "exp": now() + 600}),
    );
    let post = client
        .post(format!("{endpoint}/statements"))
        .bearer_auth(&good)
        .header("X-Experience-API-Version", "1.0.3")
        .json(&statement_for(
            "jwt-learner",
            "answered",
            "https://drill.example.jp/items/j",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let ids: Vec<String> = post.json().await.unwrap();
    let got: serde_json::Value = client
        .get(format!("{endpoint}/statements?statementId={}", ids[0]))
        .bearer_auth(&good)
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["authority"]["account"]["name"], "portal-1");

    let expired = token(
        json!({"iss": "https://eportal.example.jp", "aud": "lrs", "sub": "p",
        "tenant": "131016", "scope": "all", "exp": now() - 3600}),
    );
    let wrong_audience = token(
        json!({"iss": "https://eportal.example.jp", "aud": "other", "sub": "p",
        "tenant": "131016", "scope": "all", "exp": now() + 600}),
    );
    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&json!({"iss": "https://eportal.example.jp", "aud": "lrs", "sub": "p", "tenant": "131016", "scope": "all", "exp": now() + 600}).to_string()));
    for bad in [expired, wrong_audience, unsigned] {
        let response = client
            .get(format!("{endpoint}/statements"))
            .bearer_auth(&bad)
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
