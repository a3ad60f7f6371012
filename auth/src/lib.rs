//! Authentication and authorization of LRS clients.
//!
//! Where it sits: api → **auth** → log → ingest → store → query. The HTTP layer hands the raw
//! `Authorization` header to [`Authenticator::authenticate`] and gets a [`Principal`]: the tenant
//! (a board of education), the xAPI [`Scopes`] and the `authority` Agent to stamp on statements.
//! Handlers then ask [`Principal::authorize`] for the [`Access`] they need.
//!
//! Two schemes are accepted, as seen in Japanese deployments:
//! - HTTP Basic, one credential per learning tool, created with [`CredentialFile::create`] and
//!   stored hashed in `DATA_DIR/credentials.json`;
//! - `Bearer` JWTs from configured issuers such as learning e-portals ([`AuthConfig::jwt`]).
//!
//! This crate is a pure library: no HTTP framework, no async runtime.

mod authenticator;
mod config;
mod credential_file;
mod error;
mod jwt_verifier;
mod principal;
mod scope;
mod tenant;

pub use authenticator::{Authenticator, RELOAD_CHECK_INTERVAL};
pub use config::{AuthConfig, JwtAlgorithm, JwtIssuer};
pub use credential_file::{CREDENTIALS_FILE_NAME, CredentialFile, CredentialInfo};
pub use error::{AuthError, AuthErrorKind, Rejection};
pub use principal::{Identity, Principal};
pub use scope::{Access, ReadRestriction, Scope, Scopes};
pub use tenant::{MAX_TENANT_LEN, validate_tenant};
