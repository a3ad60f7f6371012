//! `AuthConfig`: the `[auth]` section of the LRS configuration tree.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Authentication settings. Basic credentials come from `DATA_DIR/credentials.json`
/// (see [`CredentialFile`](crate::CredentialFile)); JWT bearer tokens are accepted from the
/// issuers listed in `jwt` (none by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// `account.homePage` of the `authority` Agent set on statements written with a Basic
    /// credential, e.g. the LRS's own URL. (A JWT's authority has its issuer as home page.)
    pub authority_home_page: String,
    #[serde(default)]
    pub jwt: Vec<JwtIssuer>,
    /// JWT claim naming the tenant (board of education).
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// JWT claim holding the xAPI scopes: a space-separated string or an array of strings.
    #[serde(default = "default_scope_claim")]
    pub scope_claim: String,
    /// JWT claim naming the roster user (`users.csv` `sourcedId`) a token is bound to, whose
    /// roster roles decide what it sees of the study-log aggregates. A token without the claim
    /// is not bound (it sees its whole tenant). Empty: tokens are never bound.
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
}

impl AuthConfig {
    /// Basic-only configuration with default claim names.
    pub fn new(authority_home_page: impl Into<String>) -> AuthConfig {
        AuthConfig {
            authority_home_page: authority_home_page.into(),
            jwt: Vec::new(),
            tenant_claim: default_tenant_claim(),
            scope_claim: default_scope_claim(),
            user_claim: default_user_claim(),
        }
    }
}

fn default_user_claim() -> String {
    "sub".to_owned()
}

fn default_tenant_claim() -> String {
    "tenant".to_owned()
}

fn default_scope_claim() -> String {
    "scope".to_owned()
}

fn default_leeway_seconds() -> u64 {
    30
}

/// JWS algorithms an issuer may be configured with. Exactly one per issuer: a token whose header
/// names another algorithm is refused, which is what prevents algorithm confusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    RS256,
    ES256,
    /// Shared-secret HMAC; only when an `hs_secret` is configured for the issuer.
    HS256,
}

impl JwtAlgorithm {
    /// The JOSE `alg` header value (RFC 7518 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::ES256 => "ES256",
            JwtAlgorithm::HS256 => "HS256",
        }
    }
}

/// One trusted token issuer (e.g. a learning e-portal).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtIssuer {
    /// Expected `iss` claim, compared exactly. An absolute IRI other than
    /// `authority_home_page`: it is the `account.homePage` of its tokens' authority.
    pub issuer: String,
    /// Expected `aud` claim (one of the token's audiences must equal it).
    pub audience: String,
    pub algorithm: JwtAlgorithm,
    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`) for RS256 / ES256.
    #[serde(default)]
    pub key_pem: Option<String>,
    /// HMAC secret for HS256, at least 32 bytes (RFC 7518 §3.2). Refused for other algorithms.
    #[serde(default)]
    pub hs_secret: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(default = "default_leeway_seconds")]
    pub leeway_seconds: u64,
}

/// Redacts `hs_secret` so configuration dumps never leak it.
impl fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithm", &self.algorithm)
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<pem>"))
            .field("hs_secret", &self.hs_secret.as_ref().map(|_| "<redacted>"))
            .field("leeway_seconds", &self.leeway_seconds)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_names_and_leeway_have_defaults_when_deserialized() {
        let config: AuthConfig = serde_json::from_value(serde_json::json!({
            "authority_home_page": "https://lrs.example/",
            "jwt": [{"issuer": "https://portal.example", "audience": "lrs",
                     "algorithm": "HS256", "hs_secret": "s"}]
        }))
        .unwrap();
        assert_eq!(config.tenant_claim, "tenant");
        assert_eq!(config.scope_claim, "scope");
        assert_eq!(config.user_claim, "sub");
        assert_eq!(config.jwt[0].leeway_seconds, 30);
    }

    #[test]
    fn debug_output_redacts_the_hmac_secret() {
        let issuer = JwtIssuer {
            issuer: "i".into(),
            audience: "a".into(),
            algorithm: JwtAlgorithm::HS256,
            key_pem: None,
            hs_secret: Some("very-secret-value".into()),
            leeway_seconds: 0,
        };
        assert!(!format!("{issuer:?}").contains("very-secret-value"));
    }
}
