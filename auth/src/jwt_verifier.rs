//! `JwtVerifier`: checks `Bearer` JWTs from configured issuers (e.g. learning e-portals, which
//! already hold keys for LTI 1.3) and turns them into a [`Principal`].
//!
//! Order of checks, each failing closed:
//! 1. compact JWS shape, header and payload are base64url JSON;
//! 2. `iss` names a configured issuer (the only claim read before the signature is verified,
//!    and only to pick the key);
//! 3. header `alg` equals the issuer's one configured algorithm. This refuses `none` and
//!    algorithm confusion (an `HS256` token "signed" with an RSA public key used as HMAC secret),
//!    RFC 8725 §3.1;
//! 4. signature, then `exp` (required), `nbf` (if present) with the issuer's leeway, `aud`;
//! 5. `sub`, the tenant claim, the scope claim and the user claim (`auth.user_claim`, `sub` by
//!    default: the roster user the token is bound to for the study-log aggregates; absent, the
//!    token is not bound; present but not a string, the token is malformed).
//!
//! The principal's identity is the pair (`iss`, `sub`): its authority is the account
//! `{"homePage": iss, "name": sub}`, so equal subjects of two issuers are two principals.
//!
//! Verified tokens are cached by their SHA-256 until `exp`, so a tool reusing one token for
//! thousands of requests pays for one RSA/ECDSA verification.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::{AuthConfig, JwtAlgorithm, JwtIssuer};
use crate::error::{AuthError, Rejection};
use crate::principal::{Identity, Principal};
use crate::scope::Scopes;
use crate::tenant::validate_tenant;

/// Bound on cached verified tokens; when reached, expired entries are dropped, then all.
const MAX_CACHED_TOKENS: usize = 16_384;
/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
const MIN_HS256_SECRET_BYTES: usize = 32;

pub(crate) struct JwtVerifier {
    issuers: HashMap<String, IssuerKey>,
    tenant_claim: String,
    scope_claim: String,
    /// Empty: tokens are never bound to a roster user.
    user_claim: String,
    cache: Mutex<HashMap<[u8; 32], CachedToken>>,
}

struct IssuerKey {
    algorithm: JwtAlgorithm,
    key: DecodingKey,
    validation: Validation,
}

struct CachedToken {
    principal: Principal,
    /// `exp` plus leeway, in Unix seconds.
    valid_until: u64,
}

/// The only claim read before verification.
#[derive(Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

#[derive(Deserialize)]
struct UnverifiedHeader {
    alg: Option<String>,
}

impl JwtVerifier {
    pub fn new(config: &AuthConfig) -> Result<JwtVerifier, AuthError> {
        let mut issuers = HashMap::new();
        for issuer in &config.jwt {
            check_issuer_identity(&issuer.issuer, &config.authority_home_page)?;
            let key = IssuerKey::new(issuer)?;
            if issuers.insert(issuer.issuer.clone(), key).is_some() {
                return Err(AuthError::config(format!(
                    "JWT issuer {:?} is configured twice",
                    issuer.issuer
                )));
            }
        }
        for (what, claim) in [
            ("tenant_claim", &config.tenant_claim),
            ("scope_claim", &config.scope_claim),
        ] {
            if claim.is_empty() {
                return Err(AuthError::config(format!("{what} must not be empty")));
            }
        }
        Ok(JwtVerifier {
            issuers,
            tenant_claim: config.tenant_claim.clone(),
            scope_claim: config.scope_claim.clone(),
            user_claim: config.user_claim.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let fingerprint: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = unix_now();
        if let Some(cached) = self.cache.lock().get(&fingerprint)
            && now <= cached.valid_until
        {
            return Ok(cached.principal.clone());
        }

        let (header, payload) = split_token(token)?;
        let header: UnverifiedHeader = decode_part(header)?;
        let unverified: UnverifiedIssuer = decode_part(payload)?;
        let iss = unverified.iss.ok_or(Rejection::MissingClaim)?;
        let issuer = self
            .issuers
            .get(&iss)
            .ok_or(Rejection::IssuerNotConfigured)?;
        if header.alg.as_deref() != Some(issuer.algorithm.as_str()) {
            return Err(Rejection::AlgorithmNotAllowed.into());
        }

        let claims =
            jsonwebtoken::decode::<Map<String, Value>>(token, &issuer.key, &issuer.validation)
                .map_err(|e| map_jwt_error(e.kind()))?
                .claims;
        let principal = self.principal_from_claims(&iss, &claims)?;

        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        self.remember(
            fingerprint,
            CachedToken {
                principal: principal.clone(),
                valid_until: exp.saturating_add(issuer.validation.leeway),
            },
            now,
        );
        Ok(principal)
    }

    /// `iss` is the verified issuer (the signature checked, `iss` validated against it).
    fn principal_from_claims(
        &self,
        iss: &str,
        claims: &Map<String, Value>,
    ) -> Result<Principal, AuthError> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(Rejection::MissingClaim)?;
        let tenant = claims
            .get(&self.tenant_claim)
            .and_then(Value::as_str)
            .ok_or(Rejection::MissingClaim)?;
        validate_tenant(tenant).map_err(|_| Rejection::InvalidTenant)?;
        let scopes = match claims.get(&self.scope_claim) {
            // xAPI 1.0.3 Communication §4.2: no scope implies statements/write and
            // statements/read/mine.
            None => Scopes::xapi_default(),
            Some(Value::String(list)) => Scopes::parse_list_lenient([list.as_str()]),
            Some(Value::Array(items)) => {
                let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                Scopes::parse_list_lenient(names.ok_or(Rejection::MalformedToken)?)
            }
            Some(_) => return Err(Rejection::MalformedToken.into()),
        };
        let user = match claims.get(&self.user_claim) {
            _ if self.user_claim.is_empty() => None,
            None => None,
            Some(Value::String(user)) => Some(user.clone()),
            Some(_) => return Err(Rejection::MalformedToken.into()),
        };
        let identity = Identity {
            home_page: iss.to_owned(),
            name: sub.to_owned(),
        };
        Ok(Principal {
            tenant: tenant.to_owned(),
            scopes,
            authority: identity.authority(None),
            identity,
            user,
            prefecture: false,
        })
    }

    fn remember(&self, fingerprint: [u8; 32], token: CachedToken, now: u64) {
        let mut cache = self.cache.lock();
        if cache.len() >= MAX_CACHED_TOKENS {
            cache.retain(|_, cached| now <= cached.valid_until);
            if cache.len() >= MAX_CACHED_TOKENS {
                cache.clear();
            }
        }
        cache.insert(fingerprint, token);
    }
}

impl IssuerKey {
    fn new(issuer: &JwtIssuer) -> Result<IssuerKey, AuthError> {
        let name = &issuer.issuer;
        if name.is_empty() || issuer.audience.is_empty() {
            return Err(AuthError::config(
                "JWT issuer and audience must not be empty",
            ));
        }
        let bad_key = |e: jsonwebtoken::errors::Error| {
            AuthError::config(format!("JWT issuer {name:?}: unusable key_pem: {e}"))
        };
        let pem = || {
            if issuer.hs_secret.is_some() {
                return Err(AuthError::config(format!(
                    "JWT issuer {name:?}: hs_secret is only allowed with HS256"
                )));
            }
            issuer.key_pem.as_deref().map(str::as_bytes).ok_or_else(|| {
                AuthError::config(format!("JWT issuer {name:?}: key_pem is required"))
            })
        };
        let (algorithm, key) = match issuer.algorithm {
            JwtAlgorithm::RS256 => (
                Algorithm::RS256,
                DecodingKey::from_rsa_pem(pem()?).map_err(bad_key)?,
            ),
            JwtAlgorithm::ES256 => (
                Algorithm::ES256,
                DecodingKey::from_ec_pem(pem()?).map_err(bad_key)?,
            ),
            JwtAlgorithm::HS256 => {
                if issuer.key_pem.is_some() {
                    return Err(AuthError::config(format!(
                        "JWT issuer {name:?}: HS256 takes hs_secret, not key_pem"
                    )));
                }
                let secret = issuer.hs_secret.as_deref().unwrap_or_default();
                if secret.len() < MIN_HS256_SECRET_BYTES {
                    return Err(AuthError::config(format!(
                        "JWT issuer {name:?}: HS256 needs an hs_secret of at least {MIN_HS256_SECRET_BYTES} bytes"
                    )));
                }
                (
                    Algorithm::HS256,
                    DecodingKey::from_secret(secret.as_bytes()),
                )
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[name]);
        validation.set_audience(&[&issuer.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = issuer.leeway_seconds;
        Ok(IssuerKey {
            algorithm: issuer.algorithm,
            key,
            validation,
        })
    }
}

/// An issuer is the `account.homePage` of its principals' authority, so it must be an absolute
/// IRI (xAPI 1.0.3 Data §2.4.2.4: homePage is an IRL), and it must differ from
/// `authority_home_page`, the home page of Basic credentials: otherwise a token whose `sub`
/// equals a credential key would be that credential.
fn check_issuer_identity(issuer: &str, authority_home_page: &str) -> Result<(), AuthError> {
    if issuer.is_empty() {
        return Ok(()); // refused with the audience check in `IssuerKey::new`
    }
    if lrs_schema::Iri::parse(issuer).is_err() {
        return Err(AuthError::config(format!(
            "JWT issuer {issuer:?} must be an absolute IRI (e.g. https://eportal.example.jp): it becomes the account.homePage of the authority of statements its tokens write"
        )));
    }
    if issuer == authority_home_page {
        return Err(AuthError::config(format!(
            "JWT issuer {issuer:?} equals auth.authority_home_page, the home page of Basic credentials; a token whose sub equals a credential key would act as that credential"
        )));
    }
    Ok(())
}

fn split_token(token: &str) -> Result<(&str, &str), AuthError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(_signature), None) => Ok((header, payload)),
        _ => Err(Rejection::MalformedToken.into()),
    }
}

fn decode_part<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::MalformedToken)?;
    serde_json::from_slice(&bytes).map_err(|_| Rejection::MalformedToken.into())
}

fn map_jwt_error(kind: &ErrorKind) -> AuthError {
    let reason = match kind {
        ErrorKind::ExpiredSignature => Rejection::TokenExpired,
        ErrorKind::ImmatureSignature => Rejection::TokenNotYetValid,
        ErrorKind::InvalidAudience => Rejection::WrongAudience,
        ErrorKind::InvalidIssuer => Rejection::IssuerNotConfigured,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            Rejection::AlgorithmNotAllowed
        }
        ErrorKind::MissingRequiredClaim(_) => Rejection::MissingClaim,
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => Rejection::BadSignature,
        _ => Rejection::MalformedToken,
    };
    reason.into()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
