//! `Viewer`: the signed-in person of a dashboard request, from the session cookie. Without a
//! valid session the request is sent to the login form (`LoginRequired`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use lrs_auth::Access;
use lrs_query::aggregates::{AggregateService, Reader};
use lrs_roster::Day;

use crate::app::AppState;
use crate::dashboard::session::{Purpose, SESSION_COOKIE, SessionClaims, SessionKind};
use crate::dashboard::{Dashboard, DashboardError, unix_now};

/// Who is looking, and what they may see (the same inputs as an aggregates principal).
#[derive(Clone, Debug)]
pub struct Viewer {
    pub tenant: String,
    /// The roster user (an LTI launch, or a credential bound with `--user`).
    pub user: Option<String>,
    /// A prefecture-wide credential.
    pub prefecture: bool,
    pub session: SessionClaims,
}

impl Viewer {
    /// How the page header names the viewer.
    pub fn shown_as(&self) -> String {
        match (&self.user, self.prefecture) {
            (Some(user), _) => format!("{user}（{}）", self.tenant),
            (None, true) => "都道府県".to_owned(),
            (None, false) => format!("{}（教育委員会）", self.tenant),
        }
    }

    /// The viewer as an aggregates reader on `day`.
    pub async fn reader(
        &self,
        service: &AggregateService,
        day: Day,
    ) -> Result<Reader, DashboardError> {
        Ok(service
            .reader(&self.tenant, self.user.as_deref(), self.prefecture, day)
            .await?)
    }
}

impl FromRequest for Viewer {
    type Error = DashboardError;
    type Future = Pin<Box<dyn Future<Output = Result<Viewer, DashboardError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let viewer = viewer(req);
        Box::pin(async move { viewer })
    }
}

fn viewer(req: &HttpRequest) -> Result<Viewer, DashboardError> {
    let next = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| DashboardError::login_required(next.clone()))?;
    let dashboard: &Dashboard = state
        .dashboard
        .as_deref()
        .ok_or_else(|| DashboardError::login_required(next.clone()))?;
    let session: SessionClaims = req
        .cookie(SESSION_COOKIE)
        .and_then(|c| {
            dashboard
                .signer
                .verify(Purpose::Session, c.value(), unix_now())
        })
        .ok_or_else(|| DashboardError::login_required(next.clone()))?;
    match session.kind {
        SessionKind::Lti => Ok(Viewer {
            tenant: session.tenant.clone().unwrap_or_default(),
            user: session.user.clone(),
            prefecture: false,
            session,
        }),
        SessionKind::Staff => {
            // The credential as it is now: revoked, or its scopes narrowed, ends the session.
            let principal = session
                .key
                .as_deref()
                .and_then(|key| state.auth.active_principal(key))
                .filter(|p| p.allows(Access::ReadAggregates))
                .ok_or_else(|| DashboardError::login_required(next))?;
            Ok(Viewer {
                tenant: principal.tenant,
                user: principal.user,
                prefecture: principal.prefecture,
                session,
            })
        }
    }
}
