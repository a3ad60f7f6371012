//! Bearer JWT authentication with real RS256 / ES256 keys (tests/fixtures, test-only).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lrs_auth::{
    AuthConfig, AuthErrorKind, Authenticator, JwtAlgorithm, JwtIssuer, Principal, Rejection, Scope,
    Scopes,
};
use serde_json::{Value, json};

const RSA_PRIVATE: &str = include_str!("fixtures/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("fixtures/rsa_public.pem");
const EC_PRIVATE: &str = include_str!("fixtures/ec_private.pem");
const EC_PUBLIC: &str = include_str!("fixtures/ec_public.pem");
const HS_SECRET: &str = "an-hmac-secret-of-at-least-32-bytes!!";

const RSA_ISSUER: &str = "https://portal-rsa.example.jp";
const EC_ISSUER: &str = "https://portal-ec.example.jp";
const HS_ISSUER: &str = "https://portal-hs.example.jp";
const AUDIENCE: &str = "https://lrs.example.jp";

fn issuer(name: &str, algorithm: JwtAlgorithm) -> JwtIssuer {
    JwtIssuer {
        issuer: name.into(),
        audience: AUDIENCE.into(),
        algorithm,
        key_pem: None,
        hs_secret: None,
        leeway_seconds: 5,
    }
}

fn config() -> AuthConfig {
    let mut config = AuthConfig::new("https://lrs.example.jp/authority");
    config.jwt = vec![
        JwtIssuer {
            key_pem: Some(RSA_PUBLIC.into()),
            ..issuer(RSA_ISSUER, JwtAlgorithm::RS256)
        },
        JwtIssuer {
            key_pem: Some(EC_PUBLIC.into()),
            ..issuer(EC_ISSUER, JwtAlgorithm::ES256)
        },
        JwtIssuer {
            hs_secret: Some(HS_SECRET.into()),
            ..issuer(HS_ISSUER, JwtAlgorithm::HS256)
        },
    ];
    config
}

fn authenticator() -> (tempfile::TempDir, Authenticator) {
    let dir = tempfile::tempdir().unwrap();
    let auth = Authenticator::new(dir.path(), config()).unwrap();
    (dir, auth)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(iss: &str) -> Value {
    json!({
        "iss": iss, "aud": AUDIENCE, "sub": "portal-user-42",
        "exp": now() + 600, "iat": now(),
        "tenant": "131016", "scope": "statements/write statements/read"
    })
}

fn sign(algorithm: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).unwrap()
}

fn rs256(claims: &Value) -> String {
    sign(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap(),
        claims,
    )
}

fn es256(claims: &Value) -> String {
    sign(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap(),
        claims,
    )
}

fn hs256(secret: &[u8], claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(secret), claims)
}

fn bearer(auth: &Authenticator, token: &str) -> Result<Principal, lrs_auth::AuthError> {
    auth.authenticate(Some(&format!("Bearer {token}")))
}

fn rejection(auth: &Authenticator, token: &str) -> Rejection {
    let err = bearer(auth, token).unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::BadCredentials, "{err}");
    err.rejection().unwrap()
}

#[test]
fn an_rs256_token_with_the_right_issuer_audience_and_expiry_is_accepted() {
    let (_dir, auth) = authenticator();
    let principal = bearer(&auth, &rs256(&claims(RSA_ISSUER))).unwrap();
    assert_eq!(principal.tenant, "131016");
    assert_eq!(principal.identity.name, "portal-user-42");
    assert_eq!(principal.identity.home_page, RSA_ISSUER);
    assert_eq!(
        principal.scopes,
        Scopes::from_iter([Scope::StatementsWrite, Scope::StatementsRead])
    );
    assert_eq!(
        principal.authority,
        json!({"objectType": "Agent", "account":
            {"homePage": RSA_ISSUER, "name": "portal-user-42"}})
    );
}

#[test]
fn an_es256_token_with_the_right_issuer_audience_and_expiry_is_accepted() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(EC_ISSUER);
    claims["scope"] = json!(["statements/read/mine", "openid"]);
    let principal = bearer(&auth, &es256(&claims)).unwrap();
    assert_eq!(
        principal.scopes,
        Scopes::from_iter([Scope::StatementsReadMine])
    );
}

#[test]
fn equal_subjects_of_two_issuers_are_two_identities_and_two_authorities() {
    let (_dir, auth) = authenticator();
    let from_rsa = bearer(&auth, &rs256(&claims(RSA_ISSUER))).unwrap();
    let from_ec = bearer(&auth, &es256(&claims(EC_ISSUER))).unwrap();
    assert_eq!(from_rsa.identity.name, from_ec.identity.name);
    assert_ne!(from_rsa.identity, from_ec.identity);
    assert_ne!(from_rsa.authority, from_ec.authority);
    assert_eq!(from_ec.authority["account"]["homePage"], EC_ISSUER);
}

#[test]
fn an_issuer_must_be_an_iri_other_than_the_basic_credentials_home_page() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["eportal", "https://lrs.example.jp/authority"] {
        let mut config = AuthConfig::new("https://lrs.example.jp/authority");
        config.jwt = vec![JwtIssuer {
            hs_secret: Some(HS_SECRET.into()),
            ..issuer(name, JwtAlgorithm::HS256)
        }];
        let err = Authenticator::new(dir.path(), config).err().unwrap();
        assert_eq!(err.kind(), AuthErrorKind::Config, "{name}");
    }
}

#[test]
fn a_verified_token_is_accepted_again_from_the_cache() {
    let (_dir, auth) = authenticator();
    let token = es256(&claims(EC_ISSUER));
    let first = bearer(&auth, &token).unwrap();
    assert_eq!(bearer(&auth, &token).unwrap(), first);
}

#[test]
fn a_token_without_a_scope_claim_gets_the_xapi_default_scopes() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(RSA_ISSUER);
    claims.as_object_mut().unwrap().remove("scope");
    let principal = bearer(&auth, &rs256(&claims)).unwrap();
    assert_eq!(principal.scopes, Scopes::xapi_default());
}

#[test]
fn an_expired_token_is_rejected() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(RSA_ISSUER);
    claims["exp"] = json!(now() - 60);
    assert_eq!(rejection(&auth, &rs256(&claims)), Rejection::TokenExpired);
}

#[test]
fn a_token_without_exp_is_rejected() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(RSA_ISSUER);
    claims.as_object_mut().unwrap().remove("exp");
    assert_eq!(rejection(&auth, &rs256(&claims)), Rejection::MissingClaim);
}

#[test]
fn a_token_not_yet_valid_is_rejected() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(RSA_ISSUER);
    claims["nbf"] = json!(now() + 300);
    assert_eq!(
        rejection(&auth, &rs256(&claims)),
        Rejection::TokenNotYetValid
    );
}

#[test]
fn a_token_for_another_audience_is_rejected() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(RSA_ISSUER);
    claims["aud"] = json!("https://other-lrs.example.jp");
    assert_eq!(rejection(&auth, &rs256(&claims)), Rejection::WrongAudience);
}

#[test]
fn a_token_from_an_unconfigured_issuer_is_rejected() {
    let (_dir, auth) = authenticator();
    let claims = claims("https://evil.example");
    assert_eq!(
        rejection(&auth, &rs256(&claims)),
        Rejection::IssuerNotConfigured
    );
    assert_eq!(
        bearer(&auth, &rs256(&claims)).unwrap_err().to_string(),
        "bad credentials: token issuer not configured"
    );
}

#[test]
fn a_token_with_alg_none_is_rejected() {
    let (_dir, auth) = authenticator();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(RSA_ISSUER).to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.c2ln"),
    ] {
        assert_eq!(rejection(&auth, &token), Rejection::AlgorithmNotAllowed);
    }
}

#[test]
fn an_hs256_token_signed_with_the_rsa_public_key_is_rejected() {
    let (_dir, auth) = authenticator();
    let token = hs256(RSA_PUBLIC.as_bytes(), &claims(RSA_ISSUER));
    assert_eq!(rejection(&auth, &token), Rejection::AlgorithmNotAllowed);
}

#[test]
fn an_rs256_token_for_an_es256_issuer_is_rejected() {
    let (_dir, auth) = authenticator();
    assert_eq!(
        rejection(&auth, &rs256(&claims(EC_ISSUER))),
        Rejection::AlgorithmNotAllowed
    );
}

#[test]
fn a_token_with_a_tampered_signature_is_rejected() {
    let (_dir, auth) = authenticator();
    for token in [rs256(&claims(RSA_ISSUER)), es256(&claims(EC_ISSUER))] {
        let (message, signature) = token.rsplit_once('.').unwrap();
        let mut signature = signature.as_bytes().to_vec();
        let middle = signature.len() / 2;
        signature[middle] = if signature[middle] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let tampered = format!("{message}.{}", String::from_utf8(signature).unwrap());
        assert_eq!(rejection(&auth, &tampered), Rejection::BadSignature);
    }
}

#[test]
fn a_token_with_a_tampered_payload_is_rejected() {
    let (_dir, auth) = authenticator();
    let token = rs256(&claims(RSA_ISSUER));
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims(RSA_ISSUER);
    forged["scope"] = json!("all");
    let payload = URL_SAFE_NO_PAD.encode(forged.to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(rejection(&auth, &tampered), Rejection::BadSignature);
}

#[test]
fn a_token_without_tenant_or_with_an_invalid_tenant_is_rejected() {
    let (_dir, auth) = authenticator();
    let mut claims = claims(RSA_ISSUER);
    claims["tenant"] = json!("../other-board");
    assert_eq!(rejection(&auth, &rs256(&claims)), Rejection::InvalidTenant);
    claims.as_object_mut().unwrap().remove("tenant");
    assert_eq!(rejection(&auth, &rs256(&claims)), Rejection::MissingClaim);
}

#[test]
fn custom_tenant_and_scope_claims_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.tenant_claim = "https://lrs.example.jp/board".into();
    config.scope_claim = "scp".into();
    let auth = Authenticator::new(dir.path(), config).unwrap();
    let mut claims = claims(RSA_ISSUER);
    claims["https://lrs.example.jp/board"] = json!("board-011002");
    claims["scp"] = json!(["all/read"]);
    let principal = bearer(&auth, &rs256(&claims)).unwrap();
    assert_eq!(principal.tenant, "board-011002");
    assert_eq!(principal.scopes, Scopes::from_iter([Scope::AllRead]));
}

#[test]
fn hs256_is_accepted_when_configured_with_a_secret() {
    let (_dir, auth) = authenticator();
    assert!(bearer(&auth, &hs256(HS_SECRET.as_bytes(), &claims(HS_ISSUER))).is_ok());
    let wrong = hs256(b"another-secret-of-at-least-32-bytes!", &claims(HS_ISSUER));
    assert_eq!(rejection(&auth, &wrong), Rejection::BadSignature);
}

#[test]
fn hs256_is_rejected_for_issuers_configured_with_public_keys() {
    let (_dir, auth) = authenticator();
    let token = hs256(HS_SECRET.as_bytes(), &claims(EC_ISSUER));
    assert_eq!(rejection(&auth, &token), Rejection::AlgorithmNotAllowed);
}

#[test]
fn unusable_issuer_configurations_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        issuer(HS_ISSUER, JwtAlgorithm::HS256),
        JwtIssuer {
            hs_secret: Some("short".into()),
            ..issuer(HS_ISSUER, JwtAlgorithm::HS256)
        },
        issuer(RSA_ISSUER, JwtAlgorithm::RS256),
        JwtIssuer {
            key_pem: Some(RSA_PUBLIC.into()),
            hs_secret: Some(HS_SECRET.into()),
            ..issuer(RSA_ISSUER, JwtAlgorithm::RS256)
        },
        JwtIssuer {
            key_pem: Some("not a pem".into()),
            ..issuer(EC_ISSUER, JwtAlgorithm::ES256)
        },
    ];
    for issuer in bad {
        let mut config = AuthConfig::new("https://lrs.example.jp/");
        config.jwt = vec![issuer.clone()];
        let err = Authenticator::new(dir.path(), config).err().unwrap();
        assert_eq!(err.kind(), AuthErrorKind::Config, "{issuer:?}");
    }
    let mut duplicated = config();
    duplicated.jwt.push(duplicated.jwt[0].clone());
    assert!(Authenticator::new(dir.path(), duplicated).is_err());
}

#[test]
fn bearer_tokens_are_rejected_when_no_issuer_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Authenticator::new(dir.path(), AuthConfig::new("https://lrs.example.jp/")).unwrap();
    assert_eq!(
        rejection(&auth, &rs256(&claims(RSA_ISSUER))),
        Rejection::IssuerNotConfigured
    );
}

#[test]
fn a_token_is_bound_to_the_roster_user_its_sub_names_by_default() {
    let (_dir, auth) = authenticator();
    let principal = bearer(&auth, &rs256(&claims(RSA_ISSUER))).unwrap();
    assert_eq!(principal.user.as_deref(), Some("portal-user-42"));
    assert!(!principal.prefecture);
}

#[test]
fn the_user_claim_is_configurable_and_an_empty_claim_name_binds_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut named = config();
    named.user_claim = "lrs_user".into();
    let auth = Authenticator::new(dir.path(), named).unwrap();
    let mut with_claim = claims(HS_ISSUER);
    with_claim["lrs_user"] = json!("teacher-7");
    let principal = bearer(&auth, &hs256(HS_SECRET.as_bytes(), &with_claim)).unwrap();
    assert_eq!(principal.user.as_deref(), Some("teacher-7"));
    // Without the claim the token is not bound: it sees its whole tenant.
    let principal = bearer(&auth, &hs256(HS_SECRET.as_bytes(), &claims(HS_ISSUER))).unwrap();
    assert_eq!(principal.user, None);
    // A claim that is not a string makes the token malformed.
    with_claim["lrs_user"] = json!(7);
    assert_eq!(
        rejection(&auth, &hs256(HS_SECRET.as_bytes(), &with_claim)),
        Rejection::MalformedToken
    );

    let mut unbound = config();
    unbound.user_claim = String::new();
    let auth = Authenticator::new(dir.path(), unbound).unwrap();
    let principal = bearer(&auth, &rs256(&claims(RSA_ISSUER))).unwrap();
    assert_eq!(principal.user, None);
}
