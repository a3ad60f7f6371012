//! The Alternate Request Syntax (xAPI 1.0.3 Communication §1.3), for clients that can only send
//! GET and POST without custom headers (old browsers' cross-domain requests).
//!
//! A `POST …?method=PUT` whose `application/x-www-form-urlencoded` body carries the headers
//! (`Authorization`, `X-Experience-API-Version`, `Content-Type`, `Content-Length`, `If-Match`,
//! `If-None-Match`), the body (`content`) and the query parameters as form fields is rewritten,
//! before routing, into the request it stands for, so every resource supports the syntax without
//! knowing it. xAPI 2.0.0 (IEEE 9274.1.1) removed the syntax: a 2.0 request with `method` is a 400.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, ResponseError};
use lrs_schema::XapiVersion;

use crate::app::AppState;
use crate::body::{HeldBody, read_body};
use crate::body_budget::BodyReservation;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::VERSION_HEADER;

const POST_RULE: &str =
    "xAPI 1.0.3 Communication §1.3.s3.b1: alternate request syntax requests MUST be issued as POST";
const METHOD_RULE: &str = "xAPI 1.0.3 Communication §1.3.s3.b2: the \"method\" parameter names the intended xAPI method: GET, HEAD, PUT, POST or DELETE";
const ONLY_METHOD_RULE: &str = "xAPI 1.0.3 Communication §1.3.s3.b3 and b13: with the alternate request syntax, \"method\" is the only query string parameter; the others are form parameters";
const FORM_RULE: &str = "xAPI 1.0.3 Communication §3.2.s3.b6 and §1.3.s3.b4: an alternate request syntax body MUST be application/x-www-form-urlencoded";
const REPEATED_RULE: &str = "xAPI 1.0.3 Communication §1.3.s3.b4 and b6: \"content\" and each header form parameter are given at most once";
const REMOVED_RULE: &str = "xAPI 2.0.0 (IEEE 9274.1.1) removed the Alternate Request Syntax of xAPI 1.0.3 Communication §1.3: \"method\" is not a parameter of any xAPI 2.0 resource";

/// The form parameters the LRS treats as headers (xAPI 1.0.3 Communication §1.3.s3.b6–b7).
const HEADER_FIELDS: [&str; 6] = [
    "Authorization",
    VERSION_HEADER,
    "Content-Type",
    "Content-Length",
    "If-Match",
    "If-None-Match",
];

/// The content type assumed for `content` when the form names none: statements are JSON.
const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Rewrites an alternate-syntax request into the request it stands for; anything else passes.
pub(crate) async fn alternate_request_syntax(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    if !params.iter().any(|(name, _)| name == "method") {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    match rewrite(&mut req, &params).await {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(err) => {
            let mut response = err.error_response();
            let version = answered_version(&req);
            response.headers_mut().insert(
                HeaderName::from_static("x-experience-api-version"),
                HeaderValue::from_static(version.as_str()),
            );
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// The request the form stands for: method, headers, query string and body.
pub(crate) struct Translated {
    pub(crate) method: Method,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) content: Option<String>,
}

async fn rewrite(req: &mut ServiceRequest, params: &[(String, String)]) -> Result<(), ApiError> {
    let method = intended(req, params)?;
    require_form(req)?;
    // Read before authentication (the credentials are in the form): the anonymous bucket.
    let payload = req.take_payload();
    let (form, mut reservation) = read_body(req.request(), payload, None).await?.into_parts();
    // Decoding copies every field out of the form: both live until the form is dropped.
    reservation.grow(form.len())?;
    let translated = translate(method, &form)?;
    drop(form);
    if translated
        .headers
        .iter()
        .any(|(name, value)| *name == VERSION_HEADER && is_version_2(value))
    {
        return Err(ApiError::bad_request(
            REMOVED_RULE,
            "X-Experience-API-Version",
            "xAPI 2.0 has no alternate request syntax",
        ));
    }
    apply(req, translated, reservation)
}

/// The intended method, once the request line is a valid alternate-syntax one: an xAPI 1.0
/// request (not 2.0), a POST, and `method` as the only query parameter.
fn intended(req: &ServiceRequest, params: &[(String, String)]) -> Result<Method, ApiError> {
    if header_version(req) == Some(XapiVersion::V2_0_0) {
        return Err(ApiError::bad_request(
            REMOVED_RULE,
            "?method",
            "xAPI 2.0 has no alternate request syntax",
        ));
    }
    if req.method() != Method::POST {
        return Err(ApiError::bad_request(
            POST_RULE,
            "?method",
            format!("a {} request with a \"method\" parameter", req.method()),
        ));
    }
    if let Some((other, _)) = params.iter().find(|(name, _)| name != "method") {
        return Err(ApiError::bad_request(
            ONLY_METHOD_RULE,
            &format!("?{other}"),
            format!("query parameter \"{other}\" next to \"method\"; send it as a form parameter"),
        ));
    }
    match params {
        [(_, method)] => intended_method(method),
        _ => Err(ApiError::bad_request(
            ONLY_METHOD_RULE,
            "?method",
            "\"method\" is given twice",
        )),
    }
}

fn intended_method(value: &str) -> Result<Method, ApiError> {
    match value {
        "GET" => Ok(Method::GET),
        "HEAD" => Ok(Method::HEAD),
        "PUT" => Ok(Method::PUT),
        "POST" => Ok(Method::POST),
        "DELETE" => Ok(Method::DELETE),
        other => Err(ApiError::bad_request(
            METHOD_RULE,
            "?method",
            format!("unknown method \"{other}\""),
        )),
    }
}

fn require_form(req: &ServiceRequest) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            FORM_RULE,
            "header:Content-Type",
            format!("Content-Type {content_type:?} with a \"method\" parameter"),
        ))
    }
}

/// Sorts the form fields: header fields (names compared case-insensitively, as HTTP header names
/// are), `content`, and the rest, which are query parameters (§1.3.s3.b14).
pub(crate) fn translate(method: Method, body: &[u8]) -> Result<Translated, ApiError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        ApiError::bad_request(FORM_RULE, "$", format!("the form does not decode: {e}"))
    })?;
    let mut translated = Translated {
        method,
        headers: Vec::new(),
        query: Vec::new(),
        content: None,
    };
    for (name, value) in form {
        if name == "content" {
            if translated.content.replace(value).is_some() {
                return Err(ApiError::bad_request(
                    REPEATED_RULE,
                    "$.content",
                    "\"content\" is given twice",
                ));
            }
        } else if let Some(header) = HEADER_FIELDS.iter().find(|h| h.eq_ignore_ascii_case(&name)) {
            if translated.headers.iter().any(|(h, _)| h == header) {
                return Err(ApiError::bad_request(
                    REPEATED_RULE,
                    &format!("$.{name}"),
                    format!("\"{name}\" is given twice"),
                ));
            }
            translated.headers.push((header, value));
        } else {
            translated.query.push((name, value));
        }
    }
    Ok(translated)
}

/// Rewrites the request in place. `Content-Length` is the content's (the form field is a hint
/// §1.3.s3.b12 only); `Content-Type` is the form's, else [`DEFAULT_CONTENT_TYPE`] when there is
/// content (§1.3.s3.b10).
///
/// The content becomes the request's payload and is also left in its extensions with
/// `reservation`, resized to what the rewritten request holds (content, query string, header
/// values), where the handler's body read takes it over: it is accounted for until the request
/// is done, and never copied again.
fn apply(
    req: &mut ServiceRequest,
    translated: Translated,
    mut reservation: BodyReservation,
) -> Result<(), ApiError> {
    let uri = rewritten_uri(req.path(), &translated.query)?;
    let content = Bytes::from(translated.content.unwrap_or_default().into_bytes());
    let retained = content.len()
        + uri.to_string().len()
        + translated
            .headers
            .iter()
            .map(|(_, value)| value.len())
            .sum::<usize>();
    match retained.checked_sub(reservation.bytes()) {
        Some(more) => reservation.grow(more)?,
        None => reservation.shrink_to(retained),
    }
    let head = req.head_mut();
    head.method = translated.method;
    head.uri = uri;
    head.headers.remove(header::CONTENT_TYPE);
    head.headers.remove(header::TRANSFER_ENCODING);
    if !content.is_empty() {
        head.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(DEFAULT_CONTENT_TYPE),
        );
    }
    for (name, value) in translated.headers {
        if name == "Content-Length" {
            continue;
        }
        let value = header_value(name, &value)?;
        head.headers
            .insert(HeaderName::from_static(lowercase(name)), value);
    }
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(content.len()));
    req.set_payload(Payload::from(content.clone()));
    req.extensions_mut()
        .insert(HeldBody::new(content, reservation));
    Ok(())
}

/// The request's path with the form's query parameters.
pub(crate) fn rewritten_uri(path: &str, query: &[(String, String)]) -> Result<Uri, ApiError> {
    let query = serde_urlencoded::to_string(query)
        .map_err(|e| ApiError::new(ApiErrorKind::Internal, e.to_string()))?;
    let path_and_query = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    path_and_query.parse().map_err(|_| {
        ApiError::bad_request(
            ONLY_METHOD_RULE,
            "?",
            "the form parameters do not make a query string",
        )
    })
}

/// A header form field's value as a header value.
pub(crate) fn header_value(name: &str, value: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(value).map_err(|_| {
        ApiError::bad_request(
            FORM_RULE,
            &format!("$.{name}"),
            format!("\"{name}\" is not a header value"),
        )
    })
}

/// The header name of a header form field ([`HeaderName::from_static`] wants lowercase).
fn lowercase(name: &'static str) -> &'static str {
    match name {
        "Authorization" => "authorization",
        "Content-Type" => "content-type",
        "Content-Length" => "content-length",
        "If-Match" => "if-match",
        "If-None-Match" => "if-none-match",
        _ => "x-experience-api-version",
    }
}

fn header_version(req: &ServiceRequest) -> Option<XapiVersion> {
    let value = req.headers().get(VERSION_HEADER)?.to_str().ok()?;
    XapiVersion::from_header(value).ok()
}

fn is_version_2(value: &str) -> bool {
    XapiVersion::from_header(value).ok() == Some(XapiVersion::V2_0_0)
}

/// The version family of the answer: the request's, else the configured default.
fn answered_version(req: &ServiceRequest) -> XapiVersion {
    header_version(req)
        .or_else(|| {
            req.app_data::<web::Data<AppState>>()
                .map(|state| state.config.default_version)
        })
        .unwrap_or(XapiVersion::V2_0_0)
}
