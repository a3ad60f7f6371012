//! Extractors: the request's xAPI version and its authenticated principal.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use lrs_auth::{Access, Principal, ReadRestriction};
use lrs_query::{OwnAuthority, ReadScope};
use lrs_schema::XapiVersion;
use lrs_schema::envelope::Key16;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};

/// The header every xAPI request but `/about` carries.
pub const VERSION_HEADER: &str = "X-Experience-API-Version";

/// The xAPI version family the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestVersion(pub XapiVersion);

impl FromRequest for RequestVersion {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(request_version(req).map(RequestVersion))
    }
}

/// xAPI 1.0.3 Communication §3.3 / 2.0 §4.1.1: every request MUST carry
/// `X-Experience-API-Version`; an LRS MUST reject a version it does not support with 400.
pub fn request_version(req: &HttpRequest) -> Result<XapiVersion, ApiError> {
    let Some(value) = req.headers().get(VERSION_HEADER) else {
        return Err(ApiError::bad_request(
            "xAPI Communication §3.3: every request MUST include the X-Experience-API-Version header",
            "header:X-Experience-API-Version",
            "missing X-Experience-API-Version header",
        ));
    };
    let value = value.to_str().map_err(|_| {
        ApiError::bad_request(
            "xAPI Communication §3.3: X-Experience-API-Version must be a version string",
            "header:X-Experience-API-Version",
            "X-Experience-API-Version is not text",
        )
    })?;
    Ok(XapiVersion::from_header(value.trim())?)
}

/// The caller, authenticated, with its tenant and scopes.
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::new(ApiErrorKind::Internal, "no app state")));
        };
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        ready(
            state
                .auth
                .authenticate(authorization)
                .map(Authenticated)
                .map_err(ApiError::from),
        )
    }
}

impl Authenticated {
    pub fn tenant(&self) -> &str {
        &self.0.tenant
    }

    /// The credential's name (a key's name, or a token's subject): what audit records name.
    pub fn credential_name(&self) -> &str {
        &self.0.identity.name
    }

    /// Who this principal is as a writer: its reads wait for its own acknowledged statements
    /// ([`lrs_progress::ReadVisibility::wait_for_own_writes`]). A hash of the tenant and the
    /// whole identity (issuer or authority home page, and key or subject).
    pub fn writer(&self) -> lrs_progress::Writer {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.tenant.hash(&mut hasher);
        self.0.identity.home_page.hash(&mut hasher);
        self.0.identity.name.hash(&mut hasher);
        lrs_progress::Writer(hasher.finish())
    }

    /// 403 unless the principal may do `access` (its scopes allow it; a prefecture-wide
    /// principal reads aggregates only).
    pub fn require(&self, access: Access) -> Result<(), ApiError> {
        if self.0.allows(access) {
            Ok(())
        } else {
            Err(ApiError::new(
                ApiErrorKind::Forbidden,
                format!("the credential's scopes do not allow {access:?}"),
            ))
        }
    }

    /// Which statements this principal may read (403 when none). `statements/read/mine` reads
    /// the statements whose authority is this principal's whole identity (its account's home
    /// page and name; `authority_term` is that account's canonical identifier, for the index).
    pub fn read_scope(&self, authority_term: &str) -> Result<ReadScope, ApiError> {
        self.require(Access::ReadStatements)?;
        Ok(match self.0.scopes.read_restriction() {
            ReadRestriction::None => ReadScope::Tenant,
            ReadRestriction::OwnStatementsOnly => ReadScope::Own(OwnAuthority {
                key: Key16::of(authority_term),
                home_page: self.0.identity.home_page.clone(),
                name: self.0.identity.name.clone(),
            }),
        })
    }
}
