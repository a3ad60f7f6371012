//! `AuthError`: everything that can go wrong while authenticating a request or managing
//! credentials. The HTTP glue maps [`AuthErrorKind`] to a status; messages name what is wrong
//! and never echo a secret, a token or a password hash.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Coarse class of an [`AuthError`], the only thing the HTTP error table needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthErrorKind {
    /// No `Authorization` header: 401 with a `WWW-Authenticate` challenge.
    MissingCredentials,
    /// Credentials were supplied but are not acceptable: 401.
    BadCredentials,
    /// Authenticated, but the scopes do not allow the request: 403.
    Forbidden,
    /// The operator's configuration (JWT issuers, credential file contents) is unusable.
    Config,
    /// Reading or writing the credentials file failed.
    Io,
}

/// Why supplied credentials were refused. Kept as an enum so tests and metrics can tell the
/// cases apart without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// The header is neither `Basic …` nor `Bearer …`.
    UnsupportedScheme,
    /// `Basic` followed by something that is not base64 of `key:secret`.
    MalformedBasic,
    /// No credential has this key (or it was revoked).
    UnknownKey,
    /// The key exists but the secret does not match.
    WrongSecret,
    /// The bearer token is not a well-formed JWS compact serialization.
    MalformedToken,
    /// The token's `iss` is not among the configured issuers.
    IssuerNotConfigured,
    /// The header `alg` is not the algorithm configured for the issuer (includes `none`).
    AlgorithmNotAllowed,
    /// The signature does not verify with the issuer's key.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    TokenExpired,
    /// `nbf` is in the future (beyond the leeway).
    TokenNotYetValid,
    /// `aud` does not name this LRS.
    WrongAudience,
    /// A required claim (`exp`, `sub`, the tenant claim) is absent or not a string.
    MissingClaim,
    /// The tenant named by the credential or token is not a valid tenant name.
    InvalidTenant,
}

impl Rejection {
    /// Short, lowercase description safe to show to the client.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::UnsupportedScheme => "unsupported authorization scheme",
            Rejection::MalformedBasic => "malformed Basic credentials",
            Rejection::UnknownKey => "unknown key",
            Rejection::WrongSecret => "wrong secret",
            Rejection::MalformedToken => "malformed bearer token",
            Rejection::IssuerNotConfigured => "token issuer not configured",
            Rejection::AlgorithmNotAllowed => "algorithm not allowed for issuer",
            Rejection::BadSignature => "token signature invalid",
            Rejection::TokenExpired => "token expired",
            Rejection::TokenNotYetValid => "token not yet valid",
            Rejection::WrongAudience => "token audience does not match",
            Rejection::MissingClaim => "token lacks a required claim",
            Rejection::InvalidTenant => "invalid tenant",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of the auth crate; see [`AuthError::kind`].
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials supplied")]
    MissingCredentials,
    #[error("bad credentials: {0}")]
    BadCredentials(Rejection),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("auth configuration: {0}")]
    Config(String),
    #[error("credentials file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl AuthError {
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            AuthError::MissingCredentials => AuthErrorKind::MissingCredentials,
            AuthError::BadCredentials(_) => AuthErrorKind::BadCredentials,
            AuthError::Forbidden(_) => AuthErrorKind::Forbidden,
            AuthError::Config(_) => AuthErrorKind::Config,
            AuthError::Io { .. } => AuthErrorKind::Io,
        }
    }

    /// The reason credentials were refused, when [`kind`](Self::kind) is `BadCredentials`.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            AuthError::BadCredentials(reason) => Some(*reason),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> AuthError {
        AuthError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> AuthError {
        AuthError::Config(message.into())
    }
}

impl From<Rejection> for AuthError {
    fn from(reason: Rejection) -> AuthError {
        AuthError::BadCredentials(reason)
    }
}
