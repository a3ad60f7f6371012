//! Thin handlers: extract → authorize → call one service → map.
//!
//! Every resource is built with [`xapi_resource`] or [`probe_resource`], which name the methods
//! it serves: any other method is answered 405 with the JSON error body and an `Allow` header
//! listing them (RFC 9110 §15.5.6), and any path without a resource 404 ([`not_found`]).

pub mod about;
pub mod activities;
pub mod admin;
pub mod agents;
pub mod aggregates;
pub mod dashboard;
pub mod documents;
pub mod extracts;
pub mod health;
pub mod learner_import;
pub mod learners;
pub mod lti;
mod params;
pub mod purges;
pub mod roster;
pub mod statements;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, Resource, web};

use crate::app::AppState;
use crate::error::ApiError;

/// The methods of a resource that is read only (`/agents`, `/about`, …).
pub const READ_METHODS: &[Method] = &[Method::GET, Method::HEAD];

/// The methods of an upload resource (`/api/v1/roster`) or a form target.
pub const POST_METHODS: &[Method] = &[Method::POST];

/// The methods of a dashboard page.
pub const GET_METHODS: &[Method] = &[Method::GET];

/// The methods of a page that is also a form target (`/dashboard/login`, `/lti/login`).
pub const GET_POST_METHODS: &[Method] = &[Method::GET, Method::POST];

/// A resource under the xAPI base path serving `methods`. `OPTIONS` is listed too when CORS is
/// on: the CORS layer answers it on every xAPI path.
pub fn xapi_resource(path: &str, methods: &'static [Method]) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(unsupported(&req, &xapi_methods(&req, methods)))
    }))
}

/// A resource outside the xAPI surface (`/health`, `/ready`, `/metrics`, `/api/v1/…`) serving
/// `methods`.
pub fn probe_resource(path: &str, methods: &'static [Method]) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(unsupported(&req, methods))
    }))
}

/// What an xAPI resource serving `methods` answers in this process: `OPTIONS` with CORS on.
pub(crate) fn xapi_methods(req: &HttpRequest, methods: &[Method]) -> Vec<Method> {
    let cors = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.cors.enabled());
    let mut allowed = methods.to_vec();
    if cors {
        allowed.push(Method::OPTIONS);
    }
    allowed
}

fn unsupported(req: &HttpRequest, allowed: &[Method]) -> ApiError {
    ApiError::method_not_allowed(
        allowed,
        format!("{} is not a method of {}", req.method(), req.path()),
    )
}

/// Any path that is not a resource we serve, under the xAPI base path or not.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no resource at {}",
        req.path()
    )))
}
