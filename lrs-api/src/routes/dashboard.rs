//! The dashboard's pages: staff login and logout (CSRF-protected forms), the landing view, the
//! class, school, board, prefecture and learner views, and the bundled stylesheet and scripts. Every page is HTML with its own
//! Content-Security-Policy (`dashboard::html::PAGE_POLICY`) and `Cache-Control: no-store`.

use std::sync::Arc;

use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;
use lrs_query::aggregates::AggregateService;
use lrs_store::now_micros;

use crate::app::AppState;
use crate::dashboard::charts;
use crate::dashboard::class_view::ClassView;
use crate::dashboard::group_view::{GroupView, Scope};
use crate::dashboard::home_view::HomeView;
use crate::dashboard::html::{self, SignedIn};
use crate::dashboard::learner_view::LearnerView;
use crate::dashboard::session::{
    LOGIN_CSRF_COOKIE, LoginCsrf, Purpose, SESSION_COOKIE, SessionClaims, SessionKind,
    login_csrf_cookie, over_tls, random_token, removal,
};
use crate::dashboard::view_query::ViewQuery;
use crate::dashboard::{Dashboard, DashboardError, DashboardErrorKind, Viewer, unix_now};
use crate::routes::lti::signed_in_redirect;

/// The largest form body read (an id_token is a few KiB).
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How long the login form may stay open.
const LOGIN_FORM_SECONDS: i64 = 3600;

/// `GET /dashboard/login[?next=…]`: the form, with a fresh CSRF token.
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, DashboardError> {
    let dashboard = dashboard(&state)?;
    let next = form_pairs(req.query_string().as_bytes())?
        .into_iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v)
        .filter(|next| is_local_page(next))
        .unwrap_or_else(|| "/dashboard".to_owned());
    let token = random_token();
    let cookie = dashboard.signer.sign(
        Purpose::LoginCsrf,
        &LoginCsrf {
            token: token.clone(),
            exp: unix_now() + LOGIN_FORM_SECONDS,
        },
    );
    let mut response = html_page(html::login_page(
        &dashboard.signer.csrf_field(&token),
        &next,
    ));
    response
        .add_cookie(&login_csrf_cookie(&req, cookie, LOGIN_FORM_SECONDS))
        .map_err(|e| DashboardError::internal("login cookie", &e))?;
    Ok(response)
}

/// `POST /dashboard/login` with `key`, `secret`, `csrf` (and `next`): a credential allowed to
/// read aggregates starts a staff session.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, DashboardError> {
    let dashboard = dashboard(&state)?;
    let pairs = form_pairs(&body)?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let token: Option<LoginCsrf> = req.cookie(LOGIN_CSRF_COOKIE).and_then(|c| {
        dashboard
            .signer
            .verify(Purpose::LoginCsrf, c.value(), unix_now())
    });
    if !token.is_some_and(|t| dashboard.signer.csrf_field_matches(&t.token, field("csrf"))) {
        return Err(stale_form());
    }
    let principal = state
        .auth
        .authenticate_key(field("key"), field("secret"))
        .map_err(|err| {
            tracing::info!(error = %err, "dashboard login refused");
            DashboardError::new(
                DashboardErrorKind::Unauthorized,
                "ログインできませんでした",
                "キーまたはシークレットが正しくありません。",
                err.to_string(),
            )
        })?;
    if !principal.allows(Access::ReadAggregates) {
        return Err(DashboardError::forbidden(
            "このキーには学習状況を見る権限（aggregates スコープ）がありません。",
            "the credential's scopes do not allow ReadAggregates",
        ));
    }
    let now = unix_now();
    let session = SessionClaims {
        kind: SessionKind::Staff,
        key: Some(field("key").to_owned()),
        tenant: None,
        user: None,
        role: None,
        class: None,
        csrf: random_token(),
        exp: now + dashboard.config.session_ttl.as_secs() as i64,
    };
    let next = Some(field("next"))
        .filter(|next| is_local_page(next))
        .unwrap_or("/dashboard");
    Ok(signed_in_redirect(&req, dashboard, &session, next)
        .cookie(removal(
            LOGIN_CSRF_COOKIE,
            "/dashboard",
            SameSite::Strict,
            over_tls(&req),
        ))
        .finish())
}

/// `POST /dashboard/logout` with the session's `csrf`: ends the session.
pub async fn logout(
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, DashboardError> {
    let pairs = form_pairs(&body)?;
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if !constant_time_eq(sent.as_bytes(), viewer.session.csrf.as_bytes()) {
        return Err(stale_form());
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/dashboard/login"))
        .cookie(removal(SESSION_COOKIE, "/", SameSite::Lax, over_tls(&req)))
        .finish())
}

/// `GET /dashboard[?since&until]`: the landing view.
pub async fn home(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, DashboardError> {
    let service = service(&state)?;
    let query = view_query(&req, &service)?;
    let view = HomeView::load(&service, &viewer, query).await?;
    Ok(html_page(view.render(&signed_in(&viewer))))
}

/// `GET /dashboard/class/{classSourcedId}[?since&until]`: the class view.
pub async fn class(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    class: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    let dashboard = dashboard(&state)?;
    let service = service(&state)?;
    let query = view_query(&req, &service)?;
    let view = ClassView::load(
        &service,
        &viewer,
        &class,
        query,
        dashboard.config.inactive_school_days,
    )
    .await?;
    Ok(html_page(
        view.render(service.calendar(), &signed_in(&viewer)),
    ))
}

/// `GET /dashboard/school/{schoolSourcedId}`: per class of the school.
pub async fn school(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    school: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    group(req, state, viewer, Scope::School(school.into_inner())).await
}

/// `GET /dashboard/board/{board}`: per school of the board.
pub async fn board(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    board: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    group(req, state, viewer, Scope::Board(board.into_inner())).await
}

/// `GET /dashboard/prefecture`: per board, small cells suppressed.
pub async fn prefecture(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, DashboardError> {
    group(req, state, viewer, Scope::Prefecture).await
}

async fn group(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    scope: Scope,
) -> Result<HttpResponse, DashboardError> {
    let service = service(&state)?;
    let query = view_query(&req, &service)?;
    let view = GroupView::load(&service, &viewer, scope, query).await?;
    Ok(html_page(
        view.render(service.calendar(), &signed_in(&viewer)),
    ))
}

/// `GET /dashboard/me`: the learner's own view.
pub async fn me(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, DashboardError> {
    let service = service(&state)?;
    let query = view_query(&req, &service)?;
    let view = LearnerView::load(&service, &viewer, query).await?;
    Ok(html_page(
        view.render(service.calendar(), &signed_in(&viewer)),
    ))
}

/// `GET /dashboard/me/export?since=…&until=…`: the learner's own export (the zip of
/// `GET /api/v1/learners/{me}/export`) for the view's period, statements stored from the start
/// of `since` to the start of `until` (local days). The view's filters do not narrow it.
pub async fn me_export(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, DashboardError> {
    let service = service(&state)?;
    let exports = state.learner_exports.clone().ok_or_else(not_served)?;
    let user = viewer.user.clone().ok_or_else(|| {
        DashboardError::forbidden(
            "学習記録のダウンロードは、学習eポータルから児童生徒として開いたときに使えます。",
            "the learner's export needs a roster user",
        )
    })?;
    let period = view_query(&req, &service)?.period;
    let calendar = service.calendar();
    let learner = exports
        .learner(&viewer.tenant, &user)
        .await
        .map_err(|e| match e {
            lrs_query::lifecycle::LifecycleError::UnknownLearner(_) => DashboardError::new(
                DashboardErrorKind::NotFound,
                "学習記録が見つかりません",
                "名簿にあなたの記録がありません。学校にお問い合わせください。",
                e.to_string(),
            ),
            lrs_query::lifecycle::LifecycleError::Store(e) => e.into(),
            lrs_query::lifecycle::LifecycleError::Output(_) => {
                DashboardError::internal("learner export", &e)
            }
        })?;
    Ok(exports
        .respond(
            learner,
            Some(calendar.start_of(period.since)),
            Some(calendar.start_of(period.until)),
        )
        .await)
}

/// `GET /dashboard/assets/{name}`: the stylesheet, our chart script, the favicon, and uPlot's
/// script and stylesheet (these two 404 when the build has no charts).
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    let (content_type, body): (&str, &'static [u8]) = match name.as_str() {
        "dashboard.css" => ("text/css; charset=utf-8", html::STYLESHEET.as_bytes()),
        "dashboard.js" => ("text/javascript; charset=utf-8", charts::SCRIPT.as_bytes()),
        "favicon.svg" => ("image/svg+xml", html::FAVICON.as_bytes()),
        "uPlot.iife.min.js" if charts::enabled() => {
            ("text/javascript; charset=utf-8", lrs_assets::UPLOT_JS)
        }
        "uPlot.min.css" if charts::enabled() => ("text/css; charset=utf-8", lrs_assets::UPLOT_CSS),
        _ => return HttpResponse::NotFound().finish(),
    };
    // They change only with the binary: browsers keep them for a day, so a view's second visit
    // fetches nothing and an upgrade is picked up the next day.
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, ASSET_CACHE))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// How long browsers keep the bundled assets.
const ASSET_CACHE: &str = "public, max-age=86400";

/// The dashboard of this instance (404 page when it serves none).
pub(crate) fn dashboard(state: &AppState) -> Result<&Dashboard, DashboardError> {
    state.dashboard.as_deref().ok_or_else(not_served)
}

/// The aggregates the views read (404 page when this instance serves none).
pub(crate) fn service(state: &AppState) -> Result<Arc<AggregateService>, DashboardError> {
    state.aggregates.clone().ok_or_else(not_served)
}

fn not_served() -> DashboardError {
    DashboardError::new(
        DashboardErrorKind::NotFound,
        "ダッシュボードはありません",
        "このサーバーではダッシュボードを提供していません。",
        "this instance serves no dashboard",
    )
}

/// A form-urlencoded body (or query string) as pairs; too long or malformed → 400 page.
pub(crate) fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, DashboardError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(DashboardError::bad_request(
            "送信された内容が大きすぎます。",
            format!("form body over {MAX_FORM_BYTES} bytes"),
        ));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|e| DashboardError::bad_request("送信された内容を読み取れません。", e.to_string()))
}

fn view_query(req: &HttpRequest, service: &AggregateService) -> Result<ViewQuery, DashboardError> {
    let today = service.calendar().day_of(now_micros());
    ViewQuery::from_query(&form_pairs(req.query_string().as_bytes())?, today)
}

fn signed_in(viewer: &Viewer) -> SignedIn<'_> {
    SignedIn {
        who: viewer.shown_as(),
        csrf: &viewer.session.csrf,
    }
}

/// A page of this site to return to after login (never another site: no open redirect).
fn is_local_page(next: &str) -> bool {
    next.starts_with("/dashboard") && !next.contains("//") && !next.contains('\\')
}

fn stale_form() -> DashboardError {
    DashboardError::forbidden(
        "フォームの有効期限が切れたか、正しくない送信です。ページを開き直してからもう一度お試しください。",
        "CSRF token missing or wrong",
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A 200 HTML page with the dashboard's headers.
pub(crate) fn html_page(body: String) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    page_headers(&mut response);
    response.body(body)
}

/// The headers of every dashboard page (error pages too).
pub(crate) fn page_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, html::PAGE_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
}
