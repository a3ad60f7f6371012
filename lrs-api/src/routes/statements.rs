//! The Statement Resource: PUT, POST, GET, HEAD on `/statements`.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::ResponseError;
use actix_web::http::header::{self, HeaderName, HeaderValue, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;
use lrs_auth::Access;
use lrs_query::{Cursor, render};
use lrs_schema::{StatementQuery, format_timestamp, parse_accept_language};
use uuid::Uuid;

use crate::app::{AppState, no_content};
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::{Authenticated, RequestVersion};
use crate::pipeline::PreparedStatement;
use crate::prepare::{BLOCKING_VALIDATION_BYTES, authority_term, prepare_statements};

const CONSISTENT_THROUGH: &str = "X-Experience-API-Consistent-Through";
const CONSISTENT_THROUGH_LOWER: &str = "x-experience-api-consistent-through";
const MULTIPART_BOUNDARY: &str = "xapi-lrs-boundary-7d1b3c";

/// POST /statements: one statement or a batch; answers the ids in order.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::WriteStatements)?;
    require_json(&req)?;
    let body = read_body(&req, payload, state.config.max_body_bytes).await?;
    let prepared = prepare(body, version, &auth, None).await?;
    let ids: Vec<String> = prepared
        .iter()
        .map(|p| p.statement.id.hyphenated().to_string())
        .collect();
    state.pipeline.submit(auth.tenant(), prepared).await?;
    Ok(HttpResponse::Ok().json(ids))
}

/// PUT /statements?statementId=…: one statement with a client-chosen id; 204.
pub async fn put(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::WriteStatements)?;
    let params = query_pairs(&req)?;
    let id = put_statement_id(&params)?;
    require_json(&req)?;
    let body = read_body(&req, payload, state.config.max_body_bytes).await?;
    let prepared = prepare(body, version, &auth, Some(id)).await?;
    state.pipeline.submit(auth.tenant(), prepared).await?;
    Ok(no_content())
}

/// GET (and HEAD) /statements: by id, by voided id, or filtered with `more` paging.
///
/// xAPI Communication §2.1.3: every answer, a 404 included, carries Consistent-Through.
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> HttpResponse {
    match get_statements(req, &state, version, auth).await {
        Ok(response) => response,
        Err(err) => {
            let mut response = err.error_response();
            if let Ok(value) =
                HeaderValue::from_str(&format_timestamp(state.pipeline.consistent_through()))
            {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(CONSISTENT_THROUGH_LOWER), value);
            }
            response
        }
    }
}

async fn get_statements(
    req: HttpRequest,
    state: &AppState,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let authority = authority_term(&auth.0, version.0)?;
    let scope = auth.read_scope(&authority)?;
    let (params, cursor) = query_or_cursor(&req)?;
    let query = StatementQuery::from_params(&params, version.0)?;
    let languages = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(parse_accept_language)
        .unwrap_or_default();
    state
        .pipeline
        .wait_for_acknowledged(state.config.read_your_writes_wait)
        .await;
    let consistent_through = state.pipeline.consistent_through();
    let (body, last_modified) = match query.statement_id.or(query.voided_statement_id) {
        Some(id) => {
            let voided = query.voided_statement_id.is_some();
            let statement = state
                .queries
                .get_statement(auth.tenant(), id, voided, scope)
                .await
                .map_err(|e| ApiError::internal("statement lookup", &e))?
                .ok_or_else(|| ApiError::not_found(format!("no statement {id}")))?;
            let body = render::statement_json(&statement, query.format, &languages);
            (body, statement.stored)
        }
        None => {
            let page = state
                .queries
                .query(
                    auth.tenant(),
                    &query,
                    &params,
                    scope,
                    consistent_through,
                    cursor.as_ref(),
                )
                .await
                .map_err(|e| ApiError::internal("statement query", &e))?;
            let more = page
                .more
                .map(|c| format!("{}/statements?more={}", state.config.base_path, c.encode()))
                .unwrap_or_default();
            let rendered: Vec<Vec<u8>> = page
                .statements
                .iter()
                .map(|s| render::statement_json(s, query.format, &languages))
                .collect();
            let newest = page.statements.iter().map(|s| s.stored).max();
            (
                render::statement_result(&rendered, &more),
                newest.unwrap_or(consistent_through),
            )
        }
    };
    let mut response = HttpResponse::Ok();
    response
        .insert_header((CONSISTENT_THROUGH, format_timestamp(consistent_through)))
        .insert_header((header::LAST_MODIFIED, http_date(last_modified)));
    if query.attachments {
        // Only fileUrl attachments are accepted so far, so no statement has parts to send: the
        // multipart answer holds the statement part alone.
        response.content_type(format!("multipart/mixed; boundary={MULTIPART_BOUNDARY}"));
        return Ok(response.body(multipart_json(&body)));
    }
    Ok(response.content_type("application/json").body(body))
}

async fn prepare(
    body: web::Bytes,
    version: RequestVersion,
    auth: &Authenticated,
    put_id: Option<Uuid>,
) -> Result<Vec<PreparedStatement>, ApiError> {
    if body.len() < BLOCKING_VALIDATION_BYTES {
        return prepare_statements(&body, version.0, &auth.0, put_id);
    }
    let principal = auth.0.clone();
    web::block(move || prepare_statements(&body, version.0, &principal, put_id))
        .await
        .map_err(|e| ApiError::internal("validation pool", &e))?
}

/// xAPI Communication §2.1.2: statements are sent as `application/json`
/// (`multipart/mixed` is for attachments, not supported yet).
fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(()),
        "multipart/mixed" => Err(ApiError::bad_request(
            "LRS limit: multipart/mixed statement requests (attachments) are not supported yet",
            "header:Content-Type",
            "multipart/mixed requests are not supported by this LRS yet; send application/json with fileUrl attachments",
        )),
        _ => Err(ApiError::bad_request(
            "xAPI Communication §2.1.2: statements MUST be sent as application/json",
            "header:Content-Type",
            format!("unsupported Content-Type {content_type:?}"),
        )),
    }
}

/// Reads the body, refusing with 413 as soon as it passes `limit`.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    // Reserve what Content-Length announces (capped by the limit) so large batches are not
    // copied again and again while the buffer grows.
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if announced > limit {
        return Err(too_large(limit));
    }
    let mut body = web::BytesMut::with_capacity(announced);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "HTTP: the request body could not be read",
                "$",
                e.to_string(),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Decoded query-string pairs, in order.
type QueryParams = Vec<(String, String)>;

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ApiErrorKind::PayloadTooLarge,
        format!("request body is larger than the limit of {limit} bytes"),
    )
}

fn query_pairs(req: &HttpRequest) -> Result<QueryParams, ApiError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        ApiError::bad_request(
            "RFC 3986: the query string must be form-urlencoded",
            "?",
            e.to_string(),
        )
    })
}

/// The query's parameters, or those remembered by a `more` cursor.
fn query_or_cursor(req: &HttpRequest) -> Result<(QueryParams, Option<Cursor>), ApiError> {
    let params = query_pairs(req)?;
    let Some((_, token)) = params.iter().find(|(k, _)| k == "more") else {
        return Ok((params, None));
    };
    if params.len() > 1 {
        return Err(ApiError::bad_request(
            "LRS: a `more` URL is used as given, without other parameters",
            "?more",
            "`more` cannot be combined with other parameters",
        ));
    }
    let cursor = Cursor::decode(token).map_err(|e| {
        ApiError::bad_request(
            "LRS: `more` must be a URL this LRS returned",
            "?more",
            e.to_string(),
        )
    })?;
    Ok((cursor.params.clone(), Some(cursor)))
}

fn put_statement_id(params: &[(String, String)]) -> Result<Uuid, ApiError> {
    let mut id = None;
    for (name, value) in params {
        match name.as_str() {
            "statementId" if id.is_none() => {
                id = Some(Uuid::parse_str(value).map_err(|_| {
                    ApiError::bad_request(
                        "xAPI Communication §2.1.1: statementId MUST be a UUID",
                        "?statementId",
                        format!("{value:?} is not a UUID"),
                    )
                })?);
            }
            other => {
                return Err(ApiError::bad_request(
                    "xAPI Communication §2.1.1: PUT statements takes only the statementId parameter",
                    &format!("?{other}"),
                    format!("unexpected parameter {other:?}"),
                ));
            }
        }
    }
    id.ok_or_else(|| {
        ApiError::bad_request(
            "xAPI Communication §2.1.1: PUT statements requires the statementId parameter",
            "?statementId",
            "missing statementId",
        )
    })
}

fn http_date(micros: i64) -> HttpDate {
    let time = UNIX_EPOCH + Duration::from_micros(micros.max(0) as u64);
    HttpDate::from(time)
}

fn multipart_json(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 160);
    out.extend_from_slice(
        format!("--{MULTIPART_BOUNDARY}\r\nContent-Type: application/json\r\n\r\n").as_bytes(),
    );
    out.extend_from_slice(json);
    out.extend_from_slice(format!("\r\n--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
    out
}
