//! The dashboard (issue 13): who gets in — teachers and learners by an LTI 1.3 launch from the
//! learning e-portal, board and prefecture staff with a credential — their signed session, and
//! the server-rendered views. What a viewer sees is what `/api/v1/aggregates` would answer the
//! same roster user or credential: the views call the same `AggregateService` with the same
//! `Reader`.
//!
//! ```text
//! GET|POST /lti/login      platform's OIDC login initiation → 302 to its auth_url, state cookie
//! POST     /lti/launch     id_token + state → verified Launch → session cookie → 303 to the view
//! GET      /dashboard/login, POST /dashboard/login   key + secret (+ CSRF) → session cookie
//! POST     /dashboard/logout                         (+ CSRF)
//! GET      /dashboard                                what the viewer may see, per class or board
//! GET      /dashboard/class/{classSourcedId}         one row per learner, heat map, charts
//! GET      /dashboard/school/{schoolSourcedId}       per class      (a principal)
//! GET      /dashboard/board/{board}                  per school     (board staff)
//! GET      /dashboard/prefecture                     per board      (a prefecture credential)
//! GET      /dashboard/me                             a learner's own study log
//! ```

pub mod charts;
pub mod class_view;
pub mod config;
pub mod group_view;
pub mod heat_map;
pub mod home_view;
pub mod html;
pub mod id_token;
pub mod keys;
pub mod learner_view;
pub mod numbers;
pub mod period;
pub mod replay;
pub mod sections;
pub mod session;
pub mod view_query;
pub mod viewer;

use std::time::{SystemTime, UNIX_EPOCH};

pub use config::{ClassClaim, DashboardConfig, KeySource, LtiPlatform, UserClaim};
pub use viewer::Viewer;

use std::sync::Arc;

use lrs_store::NonceStore;

use crate::dashboard::keys::PlatformKeys;
use crate::dashboard::replay::NonceCache;
use crate::dashboard::session::Signer;

/// The dashboard's shared state: platforms and their keys, the cookie signer, the nonces used.
pub struct Dashboard {
    pub config: DashboardConfig,
    platforms: Vec<(LtiPlatform, PlatformKeys)>,
    pub signer: Signer,
    pub nonces: NonceCache,
    /// The nonces used by every instance sharing the store (PostgreSQL, ScyllaDB); `None` in
    /// the embedded deployment, where [`Dashboard::nonces`] sees every launch.
    pub shared_nonces: Option<Arc<dyn NonceStore>>,
    pub http: reqwest::Client,
}

impl Dashboard {
    pub fn new(config: DashboardConfig, shared_nonces: Option<Arc<dyn NonceStore>>) -> Dashboard {
        let platforms = config
            .platforms
            .iter()
            .map(|p| (p.clone(), PlatformKeys::new(p.keys.clone())))
            .collect();
        Dashboard {
            signer: Signer::new(config.session_secret.clone()),
            nonces: NonceCache::new(config.max_remembered_nonces),
            shared_nonces,
            http: reqwest::Client::new(),
            platforms,
            config,
        }
    }

    /// The registered platform of issuer `iss` (and `client_id`, when given: one issuer may
    /// register the tool more than once).
    pub fn platform(
        &self,
        iss: &str,
        client_id: Option<&str>,
    ) -> Option<&(LtiPlatform, PlatformKeys)> {
        self.platforms
            .iter()
            .find(|(p, _)| p.issuer == iss && client_id.is_none_or(|client| p.client_id == client))
    }
}

/// What the client learns of a refused dashboard request: the kind decides the status (in
/// `crate::error`, the one table), the heading and message are the Japanese page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardErrorKind {
    BadRequest,
    /// A launch or login refused (forged, expired or replayed token, wrong key or secret).
    Unauthorized,
    Forbidden,
    NotFound,
    /// No valid session: redirected to the login form.
    LoginRequired,
    Unavailable,
    Internal,
}

/// A refused dashboard request, answered as a Japanese HTML page.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}: {detail}")]
pub struct DashboardError {
    pub kind: DashboardErrorKind,
    pub heading: &'static str,
    pub message: String,
    /// For the log: what exactly was wrong (English).
    pub detail: String,
    /// `LoginRequired`: the page to come back to.
    pub next: Option<String>,
}

impl DashboardError {
    pub fn new(
        kind: DashboardErrorKind,
        heading: &'static str,
        message: impl Into<String>,
        detail: impl Into<String>,
    ) -> DashboardError {
        DashboardError {
            kind,
            heading,
            message: message.into(),
            detail: detail.into(),
            next: None,
        }
    }

    pub fn bad_request(message: impl Into<String>, detail: impl Into<String>) -> DashboardError {
        DashboardError::new(
            DashboardErrorKind::BadRequest,
            "リクエストが正しくありません",
            message,
            detail,
        )
    }

    pub fn forbidden(message: impl Into<String>, detail: impl Into<String>) -> DashboardError {
        DashboardError::new(
            DashboardErrorKind::Forbidden,
            "表示する権限がありません",
            message,
            detail,
        )
    }

    pub fn login_required(next: String) -> DashboardError {
        DashboardError {
            next: Some(next),
            ..DashboardError::new(
                DashboardErrorKind::LoginRequired,
                "ログインしてください",
                "このページを見るにはログインが必要です。",
                "no valid session",
            )
        }
    }

    pub fn internal(context: &str, cause: &dyn std::error::Error) -> DashboardError {
        tracing::error!(error = %cause, context, "dashboard internal error");
        DashboardError::new(
            DashboardErrorKind::Internal,
            "エラーが発生しました",
            "しばらくしてからもう一度お試しください。",
            "internal error",
        )
    }
}

impl From<lrs_query::aggregates::AggregateError> for DashboardError {
    fn from(err: lrs_query::aggregates::AggregateError) -> Self {
        use lrs_query::aggregates::AggregateError;
        match err {
            AggregateError::Invalid(err) => DashboardError::bad_request(
                format!("指定された条件を解釈できません: {}", err.message()),
                err.to_string(),
            ),
            AggregateError::Forbidden(detail) => DashboardError::forbidden(
                "このページの内容は、あなたの名簿上の役割では表示できません。",
                detail,
            ),
            AggregateError::Store(err) => err.into(),
        }
    }
}

impl From<lrs_store::StoreError> for DashboardError {
    fn from(err: lrs_store::StoreError) -> Self {
        match err.kind() {
            lrs_store::StoreErrorKind::Unavailable => {
                tracing::warn!(error = %err, "store unavailable");
                DashboardError::new(
                    DashboardErrorKind::Unavailable,
                    "一時的に利用できません",
                    "データベースに接続できません。しばらくしてからもう一度お試しください。",
                    err.to_string(),
                )
            }
            _ => DashboardError::internal("store", &err),
        }
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
