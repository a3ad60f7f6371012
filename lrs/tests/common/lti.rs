//! The test LTI 1.3 platform (the learning e-portal): its registration, its signing key
//! (`tests/fixtures/lti/`, made with openssl; see `make-jwks.sh` there) and the id_token of a
//! resource link launch, as `lti.rs` and `dashboard_browser.rs` use them.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://eportal.example.jp";
pub const CLIENT_ID: &str = "lrs-dashboard";
pub const DEPLOYMENT: &str = "deployment-1";
pub const PLATFORM_KEY: &str = include_str!("../fixtures/lti/platform-private.pem");
pub const PLATFORM_PUBLIC: &str = include_str!("../fixtures/lti/platform-public.pem");

pub const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
pub const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
pub const ADMINISTRATOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator";

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Today in Tokyo, as days since the epoch.
pub fn tokyo_today() -> i64 {
    (now() + 9 * 3600).div_euclid(86_400)
}

/// The `[[lti.platforms]]` table of the test platform (keys by PEM), its OIDC authorization
/// endpoint at `auth_url`, for tenant `board-a`.
pub fn platform_toml(auth_url: &str) -> String {
    format!(
        r#"
[[lti.platforms]]
issuer = "{ISSUER}"
client_id = "{CLIENT_ID}"
deployment_ids = ["{DEPLOYMENT}"]
auth_url = "{auth_url}"
public_keys_pem = """
{PLATFORM_PUBLIC}"""
tenant = "board-a"
"#
    )
}

/// The id_token claims of an LTI 1.3 resource link launch by the test platform.
pub fn claims(user: &str, class: &str, roles: &[&str], nonce: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": user,
        "exp": now() + 300,
        "iat": now(),
        "nonce": nonce,
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT,
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": "http://127.0.0.1/dashboard",
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "link-1"},
        "https://purl.imsglobal.org/spec/lti/claim/roles": roles,
        "https://purl.imsglobal.org/spec/lti/claim/context": {"id": class, "title": "4年1組"},
    })
}

/// `claims` signed RS256 with `private_pem` (header `kid` when given).
pub fn sign(private_pem: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}
