//! The LTI 1.3 tool's doors (LTI 1.3 Core §4.1, Security Framework §5.1.1): the platform's
//! third-party-initiated login (`/lti/login`) and the launch (`/lti/launch`).
//!
//! The launch is a cross-site form POST by design: its CSRF protection is the `state` of the
//! login, which must come back both in the form and in the state cookie this browser received,
//! and the nonce bound to it inside the signed id_token.

use std::sync::Arc;

use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_query::aggregates::{AggregateService, Reader};
use lrs_roster::DayRange;
use lrs_store::now_micros;

use crate::app::AppState;
use crate::dashboard::html::url_component;
use crate::dashboard::id_token::{self, Launch, LaunchRole, TokenRefused};
use crate::dashboard::replay::NonceRefused;
use crate::dashboard::session::{
    LoginState, Purpose, STATE_COOKIE_PREFIX, SessionClaims, SessionKind, random_token, removal,
    session_cookie, state_cookie,
};
use crate::dashboard::{Dashboard, DashboardError, DashboardErrorKind, LtiPlatform, unix_now};
use crate::routes::dashboard::{dashboard, form_pairs, service};

/// How long a login may take between `/lti/login` and `/lti/launch`.
const LOGIN_SECONDS: i64 = 600;

/// `GET` or `POST /lti/login`: the platform's OIDC login initiation. Answers 302 to the
/// platform's `auth_url` with the authentication request, and sets the state cookie.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, DashboardError> {
    let dashboard = dashboard(&state)?;
    let mut pairs = form_pairs(req.query_string().as_bytes())?;
    pairs.extend(form_pairs(&body)?);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let required = |name: &'static str| {
        get(name).ok_or_else(|| {
            DashboardError::bad_request(
                format!("学習eポータルからのログイン要求に {name} がありません。"),
                format!("LTI 1.3 login initiation: {name} is required"),
            )
        })
    };
    let iss = required("iss")?;
    let login_hint = required("login_hint")?;
    required("target_link_uri")?;
    let (platform, _) = dashboard.platform(iss, get("client_id")).ok_or_else(|| {
        DashboardError::bad_request(
            "この学習eポータルは登録されていません。管理者に lti.platforms の設定を確認してもらってください。",
            format!("no platform registered for iss {iss:?}"),
        )
    })?;
    if let Some(deployment) = get("lti_deployment_id")
        && !platform.deployment_ids.iter().any(|d| d == deployment)
    {
        return Err(DashboardError::bad_request(
            "この配置（deployment）は登録されていません。",
            format!("deployment {deployment:?} is not registered"),
        ));
    }
    let state_token = random_token();
    let nonce = random_token();
    let login = LoginState {
        nonce: nonce.clone(),
        iss: platform.issuer.clone(),
        client_id: platform.client_id.clone(),
        exp: unix_now() + LOGIN_SECONDS,
    };
    let info = req.connection_info();
    let redirect_uri = format!("{}://{}/lti/launch", info.scheme(), info.host());
    let mut query = vec![
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("prompt", "none"),
        ("client_id", platform.client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("login_hint", login_hint),
        ("state", state_token.as_str()),
        ("nonce", nonce.as_str()),
    ];
    if let Some(hint) = get("lti_message_hint") {
        query.push(("lti_message_hint", hint));
    }
    let separator = if platform.auth_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{}{separator}{}",
        platform.auth_url,
        serde_urlencoded::to_string(&query).expect("pairs of text encode")
    );
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(state_cookie(
            &state_token,
            dashboard.signer.sign(Purpose::LoginState, &login),
            LOGIN_SECONDS,
        ))
        .finish())
}

/// `POST /lti/launch` with `id_token` and `state`: verifies the launch, maps it to a roster user
/// and class, starts the session and redirects (303) to the view for the role and context.
pub async fn launch(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, DashboardError> {
    let dashboard = dashboard(&state)?;
    let service = service(&state)?;
    let pairs = form_pairs(&body)?;
    let field = |name: &'static str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                DashboardError::bad_request(
                    format!("学習eポータルからの起動情報に {name} がありません。"),
                    format!("LTI 1.3 launch: {name} is required"),
                )
            })
    };
    let (token, state_token) = (field("id_token")?, field("state")?);
    let now = unix_now();
    let cookie_name = format!("{STATE_COOKIE_PREFIX}{state_token}");
    let login: LoginState = req
        .cookie(&cookie_name)
        .and_then(|c| dashboard.signer.verify(Purpose::LoginState, c.value(), now))
        .ok_or_else(|| {
            refused(
                "ログインの途中の情報（state）が一致しません。ポータルからもう一度開いてください。",
                "state does not match a state cookie of this browser",
            )
        })?;
    let (platform, keys) = dashboard
        .platform(&login.iss, Some(&login.client_id))
        .ok_or_else(|| {
            refused(
                "この学習eポータルは登録されていません。",
                "platform unregistered",
            )
        })?;
    let kid = id_token::key_id(token).map_err(token_refused)?;
    let candidates = keys
        .candidates(kid.as_deref(), &dashboard.http)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, issuer = %platform.issuer, "no platform keys");
            DashboardError::new(
                DashboardErrorKind::Unavailable,
                "一時的に利用できません",
                "学習eポータルの公開鍵を取得できませんでした。しばらくしてからもう一度開いてください。",
                err.to_string(),
            )
        })?;
    let leeway = dashboard.config.leeway.as_secs();
    let launch = id_token::verify(token, &candidates, platform, &login.nonce, leeway)
        .map_err(token_refused)?;
    dashboard
        .nonces
        .use_once(&launch.nonce, launch.expires + leeway as i64, now)
        .map_err(|refusal| match refusal {
            NonceRefused::Replayed => refused(
                "この起動情報はすでに使われています。ポータルからもう一度開いてください。",
                "nonce replayed",
            ),
            NonceRefused::Full => DashboardError::new(
                DashboardErrorKind::Unavailable,
                "一時的に利用できません",
                "起動が集中しています。しばらくしてからもう一度開いてください。",
                "the nonce cache is full",
            ),
        })?;
    if let Some(shared) = &dashboard.shared_nonces {
        let until = launch.expires + leeway as i64;
        let first = shared
            .use_nonce_once(&launch.nonce, until, now)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "the shared nonce table is unavailable");
                DashboardError::new(
                    DashboardErrorKind::Unavailable,
                    "一時的に利用できません",
                    "起動情報を確認できませんでした。しばらくしてからもう一度開いてください。",
                    err.to_string(),
                )
            })?;
        if !first {
            return Err(refused(
                "この起動情報はすでに使われています。ポータルからもう一度開いてください。",
                "nonce replayed on another instance",
            ));
        }
    }
    let landing = landing(&service, platform, &launch).await?;
    let session = SessionClaims {
        kind: SessionKind::Lti,
        key: None,
        tenant: Some(platform.tenant.clone()),
        user: Some(launch.user.clone()),
        role: Some(launch.role.as_str().to_owned()),
        class: launch.class.clone(),
        csrf: random_token(),
        exp: now + dashboard.config.session_ttl.as_secs() as i64,
    };
    tracing::info!(issuer = %platform.issuer, role = launch.role.as_str(), "lti launch");
    Ok(signed_in_redirect(&req, dashboard, &session, &landing)
        .cookie(removal(&cookie_name, "/lti", SameSite::None, true))
        .finish())
}

/// A 303 to `landing` that sets the session cookie.
pub fn signed_in_redirect(
    req: &HttpRequest,
    dashboard: &Dashboard,
    session: &SessionClaims,
    landing: &str,
) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, landing.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(session_cookie(
            req,
            dashboard.signer.sign(Purpose::Session, session),
            dashboard.config.session_ttl.as_secs() as i64,
        ));
    response
}

/// Where a launch lands: the class view for an Instructor launching from a roster class, the
/// learner's own view for a Learner, else the landing view. A user or class the roster does not know is refused with its page.
async fn landing(
    service: &Arc<AggregateService>,
    platform: &LtiPlatform,
    launch: &Launch,
) -> Result<String, DashboardError> {
    let today = service.calendar().day_of(now_micros());
    let reader = service
        .reader(&platform.tenant, Some(&launch.user), false, today)
        .await?;
    if let Reader::Bound { user: None, .. } = reader {
        return Err(DashboardError::new(
            DashboardErrorKind::Forbidden,
            "名簿に登録されていない利用者です",
            format!(
                "利用者「{}」は、この教育委員会の名簿（OneRoster）に登録されていません。名簿の取り込みを確認してください。",
                launch.user
            ),
            format!(
                "user {} is not in tenant {}'s roster",
                launch.user, platform.tenant
            ),
        ));
    }
    match (&launch.class, launch.role) {
        (Some(class), LaunchRole::Instructor) => {
            // 404 for a class the roster lacks, 403 for one the teacher does not teach.
            service
                .class_members(&platform.tenant, &reader, class, DayRange::new(today, today.next()))
                .await?
                .ok_or_else(|| {
                    DashboardError::new(
                        DashboardErrorKind::NotFound,
                        "クラスが見つかりません",
                        format!(
                            "起動元のクラス「{class}」は名簿（OneRoster）に登録されていません。名簿の取り込みを確認してください。"
                        ),
                        format!("class {class} is not in the roster"),
                    )
                })?;
            Ok(format!("/dashboard/class/{}", url_component(class)))
        }
        (_, LaunchRole::Learner) => Ok("/dashboard/me".to_owned()),
        _ => Ok("/dashboard".to_owned()),
    }
}

fn refused(message: &str, detail: &str) -> DashboardError {
    tracing::warn!(reason = detail, "lti launch refused");
    DashboardError::new(
        DashboardErrorKind::Unauthorized,
        "起動を確認できませんでした",
        message,
        detail,
    )
}

fn token_refused(err: TokenRefused) -> DashboardError {
    let message = match &err {
        TokenRefused::Expired => {
            "起動情報の有効期限が切れています。ポータルからもう一度開いてください。"
        }
        TokenRefused::Audience | TokenRefused::Issuer => {
            "起動情報がこのツールあてのものではありません。"
        }
        TokenRefused::Deployment => "この配置（deployment）は登録されていません。",
        _ => "起動情報の署名または内容を確認できませんでした。ポータルからもう一度開いてください。",
    };
    refused(message, &err.to_string())
}
