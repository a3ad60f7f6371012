//! Signed cookies: the dashboard session, the LTI login state and the login form's CSRF token.
//!
//! A cookie value is `base64url(JSON) "." base64url(HMAC-SHA256(key, purpose "\0" JSON))`. The
//! purpose keeps a value made for one cookie from being accepted as another. Nothing is kept on
//! the server, so any instance holding the same `dashboard.session_secret` accepts the cookies
//! another made. Every signed value carries its own expiry (`exp`, Unix seconds), checked here.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::Sha256;

/// The session cookie (HttpOnly, `SameSite=Lax`, `Secure` over TLS, `Path=/`).
pub const SESSION_COOKIE: &str = "lrs_session";
/// The login form's CSRF cookie (`SameSite=Strict`, `Path=/dashboard`).
pub const LOGIN_CSRF_COOKIE: &str = "lrs_login_csrf";
/// The LTI login state cookie is this prefix and the state (one per launch in progress).
pub const STATE_COOKIE_PREFIX: &str = "lti_state_";

/// What a signed value is for.
#[derive(Clone, Copy)]
pub enum Purpose {
    Session,
    LoginState,
    LoginCsrf,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Session => b"session",
            Purpose::LoginState => b"lti-state",
            Purpose::LoginCsrf => b"login-csrf",
        }
    }
}

/// Signs and checks cookie values with the session key.
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// `key`: `dashboard.session_secret`, or `None` for a random key of this process.
    pub fn new(key: Option<Vec<u8>>) -> Signer {
        Signer {
            key: key.unwrap_or_else(|| random_bytes(32).to_vec()),
        }
    }

    fn mac(&self, purpose: Purpose, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(purpose.label());
        mac.update(b"\0");
        mac.update(payload);
        mac
    }

    pub fn sign<T: Serialize>(&self, purpose: Purpose, value: &T) -> String {
        let json = serde_json::to_vec(value).expect("cookie values serialize");
        let tag = self.mac(purpose, &json).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The value, when `text` was signed for `purpose` with this key and has not expired at
    /// `now` (Unix seconds).
    pub fn verify<T: DeserializeOwned + Expiring>(
        &self,
        purpose: Purpose,
        text: &str,
        now: i64,
    ) -> Option<T> {
        let (payload, tag) = text.split_once('.')?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(purpose, &json).verify_slice(&tag).ok()?;
        let value: T = serde_json::from_slice(&json).ok()?;
        (value.expires() > now).then_some(value)
    }

    /// The login form's CSRF field for the cookie token `token`: HMAC-bound to it, so a cookie
    /// planted by another site (a sibling subdomain) is useless without the key.
    pub fn csrf_field(&self, token: &str) -> String {
        let tag = self
            .mac(Purpose::LoginCsrf, token.as_bytes())
            .finalize()
            .into_bytes();
        URL_SAFE_NO_PAD.encode(tag)
    }

    pub fn csrf_field_matches(&self, token: &str, field: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(field) else {
            return false;
        };
        self.mac(Purpose::LoginCsrf, token.as_bytes())
            .verify_slice(&tag)
            .is_ok()
    }
}

/// A signed value's expiry, Unix seconds.
pub trait Expiring {
    fn expires(&self) -> i64;
}

/// Who a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// An LTI launch: a roster user of the platform's tenant.
    Lti,
    /// Board or prefecture staff logged in with a credential.
    Staff,
}

/// What the session cookie holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionClaims {
    pub kind: SessionKind,
    /// Staff: the credential key (its principal is looked up on every request, so revoking the
    /// credential ends the session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// LTI: the platform's tenant and the launching roster user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// LTI: the launch's role (`instructor`, `learner`, `administrator`, `other`) and class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The token every state-changing form of this session carries.
    pub csrf: String,
    pub exp: i64,
}

impl Expiring for SessionClaims {
    fn expires(&self) -> i64 {
        self.exp
    }
}

/// What the LTI login state cookie holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginState {
    pub nonce: String,
    pub iss: String,
    pub client_id: String,
    pub exp: i64,
}

impl Expiring for LoginState {
    fn expires(&self) -> i64 {
        self.exp
    }
}

/// What the login form's CSRF cookie holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginCsrf {
    pub token: String,
    pub exp: i64,
}

impl Expiring for LoginCsrf {
    fn expires(&self) -> i64 {
        self.exp
    }
}

/// `n` random bytes from the operating system's generator (through the thread's CSPRNG).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// 32 random bytes as base64url: states, nonces, CSRF tokens.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(32))
}

/// Whether the request reached us over TLS (directly, or through a proxy saying so with
/// `Forwarded: proto=https` or `X-Forwarded-Proto: https`).
pub fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The session cookie: HttpOnly, `SameSite=Lax`, `Secure` over TLS, expiring with the session.
pub fn session_cookie(req: &HttpRequest, value: String, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(over_tls(req))
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_seconds))
        .finish()
}

/// A cookie that removes `name` at `path`.
pub fn removal(name: &str, path: &str, same_site: SameSite, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(name.to_owned(), "")
        .path(path.to_owned())
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .finish();
    cookie.make_removal();
    cookie
}

/// The LTI login state cookie. The launch arrives as a cross-site form POST from the platform,
/// which browsers send only `SameSite=None` cookies with, and those only when `Secure`: the
/// launch therefore needs HTTPS (LTI 1.3 requires it), or `localhost`, which browsers treat as
/// secure.
pub fn state_cookie(state: &str, value: String, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build(format!("{STATE_COOKIE_PREFIX}{state}"), value)
        .path("/lti")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::None)
        .max_age(CookieDuration::seconds(max_age_seconds))
        .finish()
}

/// The login form's CSRF cookie: only ever sent by pages of this site.
pub fn login_csrf_cookie(
    req: &HttpRequest,
    value: String,
    max_age_seconds: i64,
) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, value)
        .path("/dashboard")
        .http_only(true)
        .secure(over_tls(req))
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age_seconds))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> SessionClaims {
        SessionClaims {
            kind: SessionKind::Lti,
            key: None,
            tenant: Some("board-a".into()),
            user: Some("t1".into()),
            role: Some("instructor".into()),
            class: Some("k1".into()),
            csrf: "c".into(),
            exp,
        }
    }

    #[test]
    fn a_signed_value_is_accepted_until_it_expires_and_only_for_its_purpose() {
        let signer = Signer::new(Some(b"0123456789abcdef0123456789abcdef".to_vec()));
        let text = signer.sign(Purpose::Session, &claims(100));
        let back: SessionClaims = signer.verify(Purpose::Session, &text, 99).unwrap();
        assert_eq!(back.user.as_deref(), Some("t1"));
        assert!(
            signer
                .verify::<SessionClaims>(Purpose::Session, &text, 100)
                .is_none()
        );
        assert!(
            signer
                .verify::<SessionClaims>(Purpose::LoginState, &text, 99)
                .is_none()
        );
    }

    #[test]
    fn a_value_changed_or_signed_with_another_key_is_refused() {
        let signer = Signer::new(Some(b"0123456789abcdef0123456789abcdef".to_vec()));
        let other = Signer::new(None);
        let text = other.sign(Purpose::Session, &claims(100));
        assert!(
            signer
                .verify::<SessionClaims>(Purpose::Session, &text, 1)
                .is_none()
        );
        let mine = signer.sign(Purpose::Session, &claims(100));
        let (_, tag) = mine.split_once('.').unwrap();
        let mut forged = claims(100);
        forged.user = Some("t2".into());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(
            signer
                .verify::<SessionClaims>(Purpose::Session, &format!("{payload}.{tag}"), 1)
                .is_none()
        );
    }

    #[test]
    fn the_login_csrf_field_matches_its_own_token_only() {
        let signer = Signer::new(None);
        let field = signer.csrf_field("token-a");
        assert!(signer.csrf_field_matches("token-a", &field));
        assert!(!signer.csrf_field_matches("token-b", &field));
        assert!(!signer.csrf_field_matches("token-a", "not base64!"));
    }
}
