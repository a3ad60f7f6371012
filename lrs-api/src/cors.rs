//! Cross-Origin Resource Sharing for the xAPI endpoint.
//!
//! Learning tools run in browsers on other origins than the LRS (xAPI 1.0.3 Communication §1.3.s1
//! assumes CORS for every browser that implements it). Every path under the base path answers a
//! preflight `OPTIONS` itself (before routing, authentication and the version check, which a
//! preflight cannot satisfy: browsers send it without credentials or custom headers), and every
//! answer to an allowed origin carries `Access-Control-Allow-Origin` and exposes the xAPI headers
//! a script needs to read.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::app::AppState;

const ALLOW_METHODS: &str = "GET, HEAD, PUT, POST, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match, Accept, Accept-Language";
const EXPOSE_HEADERS: &str =
    "X-Experience-API-Consistent-Through, X-Experience-API-Version, ETag, Last-Modified, Location";

/// Which origins may call the LRS from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Origins (`https://eportal.example.jp`) allowed to read answers; `*` allows any. Empty
    /// disables CORS: no preflight is answered and no CORS header is sent.
    pub allowed_origins: Vec<String>,
    /// How long a browser may cache a preflight answer (`Access-Control-Max-Age`).
    pub max_age_seconds: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origins: vec!["*".into()],
            max_age_seconds: 86_400,
        }
    }
}

/// What `Access-Control-Allow-Origin` says to one request's `Origin`.
enum AllowedOrigin {
    /// `*`: any origin, without browser-managed credentials (scripts send `Authorization`
    /// themselves, which the preflight allows).
    Any,
    /// A configured origin, echoed with `Vary: Origin`; it may send credentials.
    Exactly(HeaderValue),
}

impl CorsConfig {
    fn allow(&self, origin: &HeaderValue) -> Option<AllowedOrigin> {
        if self.allowed_origins.iter().any(|o| o == "*") {
            return Some(AllowedOrigin::Any);
        }
        let text = origin.to_str().ok()?;
        self.allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(text))
            .then(|| AllowedOrigin::Exactly(origin.clone()))
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }
}

impl AllowedOrigin {
    fn stamp(&self, headers: &mut HeaderMap) {
        match self {
            AllowedOrigin::Any => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
            AllowedOrigin::Exactly(origin) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                headers.append(header::VARY, HeaderValue::from_static("Origin"));
            }
        }
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
}

/// Answers preflights and stamps the CORS headers on every answer to an allowed origin.
pub(crate) async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let (enabled, allowed, max_age) = match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            let config = &state.config.cors;
            let allowed = req
                .headers()
                .get(header::ORIGIN)
                .and_then(|origin| config.allow(origin));
            (config.enabled(), allowed, config.max_age_seconds)
        }
        None => (false, None, 0),
    };
    if enabled && req.method() == Method::OPTIONS {
        let mut response = HttpResponse::NoContent().finish();
        let headers = response.headers_mut();
        headers.insert(header::ALLOW, HeaderValue::from_static(ALLOW_METHODS));
        if let Some(allowed) = &allowed {
            allowed.stamp(headers);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    if let Some(allowed) = &allowed {
        allowed.stamp(response.headers_mut());
    }
    Ok(response.map_into_left_body())
}
