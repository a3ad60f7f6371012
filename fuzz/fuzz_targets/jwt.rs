//! Authorization headers (`lrs_auth::Authenticator`): Basic credentials and JWT bearer tokens
//! (`auth/src/jwt_verifier.rs`) from one configured HS256 issuer.
//!
//! Input: one byte choosing what the rest is, then
//! * 0: the whole `Authorization` header value;
//! * 1: a token's claims (JSON), signed here with the issuer's secret, so the fuzzer reaches what
//!   happens after the signature is verified;
//! * 2: a token's JOSE header (JSON), with valid claims, signed here.

#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use lrs_auth::{AuthConfig, Authenticator};

const ISSUER: &str = "https://eportal.example.jp";
const SECRET: &str = "fuzzing-hs256-secret-of-at-least-32-bytes";

fn authenticator() -> &'static Authenticator {
    static AUTHENTICATOR: OnceLock<(Authenticator, tempfile::TempDir)> = OnceLock::new();
    let (authenticator, _dir) = AUTHENTICATOR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config: AuthConfig = serde_json::from_value(serde_json::json!({
            "authority_home_page": "https://lrs.example.jp",
            "jwt": [{"issuer": ISSUER, "audience": "lrs", "algorithm": "HS256", "hs_secret": SECRET}]
        }))
        .expect("an [auth] section");
        let authenticator = Authenticator::new(dir.path(), config).expect("an authenticator");
        (authenticator, dir)
    });
    authenticator
}

fn signed(header: &[u8], claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .expect("HS256 signs anything");
    format!("Bearer {input}.{signature}")
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let header = match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => signed(br#"{"alg":"HS256","typ":"JWT"}"#, rest),
        _ => {
            let claims = serde_json::json!({
                "iss": ISSUER, "aud": "lrs", "sub": "tool-1", "exp": 4_102_444_800u64,
                "tenant": "131016", "scope": "statements/write statements/read/mine"
            });
            signed(rest, claims.to_string().as_bytes())
        }
    };
    let _ = authenticator().authenticate(Some(&header));
});
