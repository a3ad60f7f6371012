//! JWT bearer tokens through the real HTTP server, configured from a TOML file.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{create_credential, spawn_server, statement_for};
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
    let (child, endpoint) = spawn_server(dir.path(), &["--config", config.to_str().unwrap()]);
    let _server = Killed(child);
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
    assert_eq!(
        got["authority"]["account"]["homePage"],
        "https://eportal.example.jp"
    );

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
}

/// Writes one statement as `auth` (a Basic pair or a bearer token); returns its id.
async fn write_one(
    client: &reqwest::Client,
    endpoint: &str,
    auth: &Auth<'_>,
    learner: &str,
) -> String {
    let response = auth
        .apply(client.post(format!("{endpoint}/statements")))
        .header("X-Experience-API-Version", "2.0.0")
        .json(&statement_for(
            learner,
            "answered",
            "https://drill.example.jp/items/mine",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json::<Vec<String>>().await.unwrap().remove(0)
}

/// The ids `auth` reads with a filterless GET and, one by one, which of `ids` it can fetch.
async fn visible(
    client: &reqwest::Client,
    endpoint: &str,
    auth: &Auth<'_>,
    ids: &[&str],
) -> (Vec<String>, Vec<String>) {
    let page: serde_json::Value = auth
        .apply(client.get(format!("{endpoint}/statements")))
        .header("X-Experience-API-Version", "2.0.0")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = page["statements"]
        .as_array()
        .expect("a statement result")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let mut fetched = Vec::new();
    for id in ids {
        let status = auth
            .apply(client.get(format!("{endpoint}/statements?statementId={id}")))
            .header("X-Experience-API-Version", "2.0.0")
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            fetched.push((*id).to_owned());
        } else {
            assert_eq!(status, 404);
        }
    }
    (listed, fetched)
}

enum Auth<'a> {
    Basic(&'a str, &'a str),
    Bearer(String),
}

impl Auth<'_> {
    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Basic(key, secret) => request.basic_auth(key, Some(secret)),
            Auth::Bearer(token) => request.bearer_auth(token),
        }
    }
}

// Issue 16, defect 6: a principal's identity is its issuer and subject (a Basic credential's:
// the LRS's home page and its key), so `statements/read/mine` never reads another's statements
// because a `sub` happens to be equal.
#[tokio::test]
async fn read_mine_sees_only_statements_of_the_same_issuer_and_subject_never_an_equal_sub_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = create_credential(
        dir.path(),
        "131016",
        "statements/write,statements/read/mine",
    );
    let config = dir.path().join("lrs.toml");
    let issuer = |name: &str| {
        format!(
            "[[auth.jwt]]\nissuer = \"{name}\"\naudience = \"lrs\"\nalgorithm = \"HS256\"\nhs_secret = \"{SECRET}\"\n"
        )
    };
    std::fs::write(
        &config,
        issuer("https://a.example.jp") + &issuer("https://b.example.jp"),
    )
    .unwrap();
    let (child, endpoint) = spawn_server(dir.path(), &["--config", config.to_str().unwrap()]);
    let _server = Killed(child);
    let client = reqwest::Client::new();
    let bearer = |iss: &str, sub: &str| {
        Auth::Bearer(token(
            json!({"iss": iss, "aud": "lrs", "sub": sub, "tenant": "131016",
            "scope": "statements/write statements/read/mine", "exp": now() + 600}),
        ))
    };
    let portal_a = bearer("https://a.example.jp", "teacher-1");
    let portal_b = bearer("https://b.example.jp", "teacher-1");
    let basic = Auth::Basic(&key, &secret);
    let key_as_sub = bearer("https://a.example.jp", &key);

    let by_a = write_one(&client, &endpoint, &portal_a, "a").await;
    let by_basic = write_one(&client, &endpoint, &basic, "k").await;
    let all = [by_a.as_str(), by_basic.as_str()];

    for (who, auth, own) in [
        ("issuer A's teacher-1", &portal_a, &by_a),
        ("the Basic credential", &basic, &by_basic),
    ] {
        let (listed, fetched) = visible(&client, &endpoint, auth, &all).await;
        assert_eq!(listed, vec![own.clone()], "{who} lists only its own");
        assert_eq!(fetched, vec![own.clone()], "{who} fetches only its own");
    }
    for (who, auth) in [
        ("issuer B's teacher-1", &portal_b),
        ("a token whose sub is the Basic key", &key_as_sub),
    ] {
        let (listed, fetched) = visible(&client, &endpoint, auth, &all).await;
        assert!(listed.is_empty(), "{who} lists {listed:?}");
        assert!(fetched.is_empty(), "{who} fetches {fetched:?}");
    }
}

#[test]
fn an_issuer_equal_to_the_authority_home_page_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lrs.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nauthority_home_page = \"https://lrs.example.jp\"\n[[auth.jwt]]\nissuer = \"https://lrs.example.jp\"\naudience = \"lrs\"\nalgorithm = \"HS256\"\nhs_secret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(common::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A server that starts would run forever: give it 30 s to refuse, then fail.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with an issuer equal to authority_home_page");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("authority_home_page"), "{stderr}");
}

/// Kills the server when the test ends, passed or failed.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
