//! The document resources: `/activities/state`, `/activities/profile`, `/agents/profile`
//! (GET, HEAD, PUT, POST, DELETE).
//!
//! The three share one set of handlers; each route carries its [`DocumentResource`] as route
//! data. xAPI 1.0.3 Communication §2.2–§2.7 and §3.1; 2.0 §4.1.4, §4.1.6.2, §4.1.6.5, §4.1.6.6.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::http::Method;
use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use lrs_auth::Access;
use lrs_schema::{DocumentMethod, DocumentParams, DocumentResource};
use lrs_store::Micros;

use crate::app::AppState;
use crate::body::read_body;
use crate::body_budget::BodyReservation;
use crate::documents::{
    Conditions, DocumentTarget, Failed, NewDocument, UnconditionalPut, etag_of,
};
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::{Authenticated, RequestVersion};
use crate::routes::params::query_pairs;
use crate::routes::xapi_resource;
use crate::security;

/// The methods of the three document resources.
const DOCUMENT_METHODS: &[Method] = &[
    Method::GET,
    Method::HEAD,
    Method::PUT,
    Method::POST,
    Method::DELETE,
];

/// Registers the three resources in the xAPI scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, resource) in [
        ("/activities/state", DocumentResource::State),
        ("/activities/profile", DocumentResource::ActivityProfile),
        ("/agents/profile", DocumentResource::AgentProfile),
    ] {
        cfg.service(
            xapi_resource(path, DOCUMENT_METHODS)
                .app_data(resource)
                .route(web::get().to(get))
                .route(web::head().to(get))
                .route(web::put().to(put))
                .route(web::post().to(post))
                .route(web::delete().to(delete)),
        );
    }
}

/// GET (and HEAD): one document with its ETag and Last-Modified, or the JSON array of ids.
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (params, target) = request(&req, &auth, version, DocumentMethod::Read)?;
    let conditions = Conditions::from_headers(req.headers())?;
    if !target.is_single() {
        let listing = state.documents.list(&target, params.since);
        let ids = state
            .metrics
            .store()
            .time("list_documents", listing)
            .await?;
        let body = serde_json::to_vec(&ids).map_err(|e| ApiError::internal("id list", &e))?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, quoted(&etag_of(&body))))
            .content_type("application/json")
            .body(body));
    }
    let lookup = state.documents.get(&target);
    let found = state.metrics.store().time("get_document", lookup).await?;
    let document = found.ok_or_else(|| {
        ApiError::not_found(format!(
            "no document with this {} here",
            params.resource.id_parameter()
        ))
    })?;
    let mut response = match conditions.check(Some(&document)) {
        Ok(()) => HttpResponse::Ok(),
        // RFC 9110 §13.1.2: a GET whose If-None-Match matches is answered 304 Not Modified.
        Err(Failed::IfNoneMatch) => HttpResponse::NotModified(),
        Err(failed) => return Err(failed.into()),
    };
    with_validators(&mut response, &document.etag, document.updated);
    security::serve_stored(&mut response, &document.content_type);
    Ok(response
        .content_type(document.content_type.as_str())
        .body(document.body))
}

/// PUT: store the document as sent (xAPI 1.0.3 Communication §2.2.s5; concurrency §3.1).
pub async fn put(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (params, target) = request(&req, &auth, version, DocumentMethod::Write)?;
    let conditions = Conditions::from_headers(req.headers())?;
    let (new, _body) = new_document(&req, payload, &auth).await?;
    state.refuse_write_if_unsafe(new.len())?;
    let unconditional = UnconditionalPut::of(params.resource, version.0);
    let write = state
        .documents
        .put(&target, new, &conditions, unconditional);
    let etag = state.metrics.store().time("write_document", write).await?;
    Ok(written(&etag))
}

/// POST: store, or merge a JSON Object into the stored one (xAPI 1.0.3 Communication §2.2.s7).
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (_, target) = request(&req, &auth, version, DocumentMethod::Write)?;
    let conditions = Conditions::from_headers(req.headers())?;
    let (new, _body) = new_document(&req, payload, &auth).await?;
    state.refuse_write_if_unsafe(new.len())?;
    let write = state.documents.post(&target, new, &conditions);
    let etag = state.metrics.store().time("write_document", write).await?;
    Ok(written(&etag))
}

/// DELETE: one document, or (State without a stateId) every document of the context.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (_, target) = request(&req, &auth, version, DocumentMethod::Delete)?;
    let conditions = Conditions::from_headers(req.headers())?;
    let store = state.metrics.store();
    if target.is_single() {
        let deletion = state.documents.delete(&target, &conditions);
        store.time("delete_documents", deletion).await?;
    } else {
        let deletion = state.documents.delete_all(&target);
        store.time("delete_documents", deletion).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Authorizes the request for its resource and method, and types its parameters.
fn request(
    req: &HttpRequest,
    auth: &Authenticated,
    version: RequestVersion,
    method: DocumentMethod,
) -> Result<(DocumentParams, DocumentTarget), ApiError> {
    let resource = *req.app_data::<DocumentResource>().ok_or_else(|| {
        ApiError::new(
            ApiErrorKind::Internal,
            "document route without its resource",
        )
    })?;
    auth.require(access(resource, method))?;
    let pairs = query_pairs(req)?;
    let params = DocumentParams::from_params(resource, method, &pairs, version.0)?;
    let target = DocumentTarget::new(auth.tenant(), &params);
    Ok((params, target))
}

/// xAPI 1.0.3 Communication §4.2 (scopes): `state` for the State Resource, `profile` for the
/// profile resources; `all` and (for reads) `all/read` cover both.
fn access(resource: DocumentResource, method: DocumentMethod) -> Access {
    let read = method == DocumentMethod::Read;
    match (resource, read) {
        (DocumentResource::State, true) => Access::ReadState,
        (DocumentResource::State, false) => Access::WriteState,
        (_, true) => Access::ReadProfile,
        (_, false) => Access::WriteProfile,
    }
}

/// The document a PUT or POST sends, and the reservation of its bytes (hold it until the write
/// is done).
async fn new_document(
    req: &HttpRequest,
    payload: web::Payload,
    auth: &Authenticated,
) -> Result<(NewDocument, BodyReservation), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str())
        .transpose()
        .map_err(|_| {
            ApiError::bad_request(
                "RFC 9110 §8.3: Content-Type is a media type",
                "header:Content-Type",
                "Content-Type is not text",
            )
        })?;
    let (body, reservation) = read_body(req, payload, Some(&auth.0.identity))
        .await?
        .into_parts();
    Ok((NewDocument::new(content_type, body), reservation))
}

/// 204, with the stored document's ETag so a client can send its next If-Match at once.
fn written(etag: &str) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    if !etag.is_empty() {
        response.insert_header((header::ETAG, quoted(etag)));
    }
    response.finish()
}

/// xAPI 1.0.3 Communication §3.1.s4.b1 and b4: every GET carries the ETag, in quotes; 2.0
/// §4.1.6.2: and the document's Last-Modified.
fn with_validators(response: &mut HttpResponseBuilder, etag: &str, updated: Micros) {
    let modified = UNIX_EPOCH + Duration::from_micros(u64::try_from(updated).unwrap_or(0));
    response
        .insert_header((header::ETAG, quoted(etag)))
        .insert_header((header::LAST_MODIFIED, HttpDate::from(modified)));
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}
