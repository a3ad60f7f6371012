//! The Statement Resource: PUT, POST, GET, HEAD on `/statements`.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::ResponseError;
use actix_web::http::header::{self, HeaderName, HeaderValue, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;
use lrs_query::{Cursor, render};
use lrs_schema::{StatementQuery, format_timestamp, parse_accept_language};
use lrs_store::StoredStatement;
use uuid::Uuid;

use crate::app::{AppState, no_content};
use crate::body::read_limited;
use crate::error::ApiError;
use crate::extract::{Authenticated, RequestVersion};
use crate::multipart;
use crate::prepare::{
    BLOCKING_VALIDATION_BYTES, PreparedRequest, StatementContent, authority_term, prepare_request,
};
use crate::routes::params::{QueryParams, query_pairs};

const CONSISTENT_THROUGH: &str = "X-Experience-API-Consistent-Through";
const CONSISTENT_THROUGH_LOWER: &str = "x-experience-api-consistent-through";

/// POST /statements: one statement or a batch; answers the ids in order.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::WriteStatements)?;
    let content = statement_content(&req)?;
    let body = read_limited(req.headers(), payload, state.config.max_body_bytes).await?;
    state.pipeline.refuse_if_behind()?;
    let bytes = body.len();
    let prepared = prepare(body, content, version, &auth, None).await?;
    // After validation: a bad request is a 400 whatever the disk.
    state.refuse_write_if_unsafe(bytes)?;
    let ids: Vec<String> = prepared
        .statements
        .iter()
        .map(|p| p.statement.id.hyphenated().to_string())
        .collect();
    submit(&state, &auth, prepared).await?;
    state.metrics.statement_batch(ids.len());
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
    let content = statement_content(&req)?;
    let body = read_limited(req.headers(), payload, state.config.max_body_bytes).await?;
    state.pipeline.refuse_if_behind()?;
    let bytes = body.len();
    let prepared = prepare(body, content, version, &auth, Some(id)).await?;
    state.refuse_write_if_unsafe(bytes)?;
    submit(&state, &auth, prepared).await?;
    state.metrics.statement_batch(1);
    Ok(no_content())
}

/// Writes the attachment data, durably, then submits the statements: an acknowledged statement
/// never lacks its attachment data. (A request refused after this point, e.g. 409, leaves its
/// data stored but unreferenced; being addressed by hash, it is reachable only through a
/// statement that references it.)
async fn submit(
    state: &AppState,
    auth: &Authenticated,
    prepared: PreparedRequest,
) -> Result<(), ApiError> {
    if !prepared.attachments.is_empty() {
        state
            .attachments
            .put_attachments(auth.tenant(), &prepared.attachments)
            .await?;
    }
    state
        .pipeline
        .submit(auth.tenant(), prepared.statements)
        .await?;
    Ok(())
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
    let (body, last_modified, statements) = match query.statement_id.or(query.voided_statement_id) {
        Some(id) => {
            let voided = query.voided_statement_id.is_some();
            let lookup = state
                .queries
                .get_statement(auth.tenant(), id, voided, scope);
            let statement = state
                .metrics
                .store()
                .time("get_statement", lookup)
                .await
                .map_err(|e| ApiError::internal("statement lookup", &e))?
                .ok_or_else(|| ApiError::not_found(format!("no statement {id}")))?;
            let statements = vec![statement];
            let body = render_statements(state, auth.tenant(), &statements, &query, &languages)
                .await?
                .pop()
                .unwrap_or_default();
            (body, statements[0].stored, statements)
        }
        None => {
            let query_page = state.queries.query(
                auth.tenant(),
                &query,
                &params,
                scope,
                state.pipeline.query_cap(consistent_through),
                cursor.as_ref(),
            );
            let page = state
                .metrics
                .store()
                .time("query_statements", query_page)
                .await
                .map_err(|e| ApiError::internal("statement query", &e))?;
            let more = page
                .more
                .map(|c| format!("{}/statements?more={}", state.config.base_path, c.encode()))
                .unwrap_or_default();
            let rendered =
                render_statements(state, auth.tenant(), &page.statements, &query, &languages)
                    .await?;
            let newest = page.statements.iter().map(|s| s.stored).max();
            (
                render::statement_result(&rendered, &more),
                newest.unwrap_or(consistent_through),
                page.statements,
            )
        }
    };
    let mut response = HttpResponse::Ok();
    response
        .insert_header((CONSISTENT_THROUGH, format_timestamp(consistent_through)))
        .insert_header((header::LAST_MODIFIED, http_date(last_modified)));
    if query.attachments {
        let (boundary, multipart) =
            with_attachments(state, auth.tenant(), &body, &statements).await?;
        response.content_type(format!("multipart/mixed; boundary={boundary}"));
        return Ok(response.body(multipart));
    }
    Ok(response.content_type("application/json").body(body))
}

/// The statements as JSON in the query's `format`.
async fn render_statements(
    state: &AppState,
    tenant: &str,
    statements: &[StoredStatement],
    query: &StatementQuery,
    languages: &[String],
) -> Result<Vec<Vec<u8>>, ApiError> {
    state
        .queries
        .render(tenant, statements, query.format, languages)
        .await
        .map_err(|e| ApiError::internal("statement rendering", &e))
}

/// xAPI 1.0.3 Communication §2.1.3 (`attachments=true`) and §1.5.2.s3.b1: the answer is
/// `multipart/mixed`, the statement JSON first, then one part per distinct attachment hash the
/// statements reference and the LRS holds data for (`fileUrl`-only attachments have none).
async fn with_attachments(
    state: &AppState,
    tenant: &str,
    json: &[u8],
    statements: &[StoredStatement],
) -> Result<(String, Vec<u8>), ApiError> {
    let refs = render::referenced_attachments(statements);
    let hashes: Vec<String> = refs.iter().map(|r| r.sha2.to_ascii_lowercase()).collect();
    let bodies = if hashes.is_empty() {
        Vec::new()
    } else {
        state.attachments.get_attachments(tenant, &hashes).await?
    };
    let mut parts = vec![multipart::OutgoingPart {
        headers: vec![("Content-Type", "application/json")],
        body: json,
    }];
    for (attachment, body) in refs.iter().zip(&bodies) {
        let Some(body) = body else { continue };
        // The statement's contentType names the part; one unfit for a header line (it is any
        // JSON string) gives way to the type the data was stored with.
        let content_type = [attachment.content_type.as_str(), body.content_type.as_str()]
            .into_iter()
            .find(|t| !t.is_empty() && !t.chars().any(char::is_control))
            .unwrap_or("application/octet-stream");
        parts.push(multipart::OutgoingPart {
            headers: vec![
                ("Content-Type", content_type),
                ("Content-Transfer-Encoding", "binary"),
                ("X-Experience-API-Hash", attachment.sha2.as_str()),
            ],
            body: &body.body,
        });
    }
    Ok(multipart::write(&parts))
}

async fn prepare(
    body: web::Bytes,
    content: StatementContent,
    version: RequestVersion,
    auth: &Authenticated,
    put_id: Option<Uuid>,
) -> Result<PreparedRequest, ApiError> {
    if body.len() < BLOCKING_VALIDATION_BYTES {
        return prepare_request(&body, &content, version.0, &auth.0, put_id);
    }
    let principal = auth.0.clone();
    web::block(move || prepare_request(&body, &content, version.0, &principal, put_id))
        .await
        .map_err(|e| ApiError::internal("validation pool", &e))?
}

/// xAPI Communication §1.5: statements are sent as `application/json`, or as
/// `multipart/mixed` when attachment data travels with them.
fn statement_content(req: &HttpRequest) -> Result<StatementContent, ApiError> {
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
        "application/json" => Ok(StatementContent::Json),
        "multipart/mixed" => Ok(StatementContent::Multipart {
            boundary: multipart::boundary(content_type)?,
        }),
        _ => Err(ApiError::bad_request(
            "xAPI Communication §1.5: statements MUST be sent as application/json, or as multipart/mixed with attachments",
            "header:Content-Type",
            format!("unsupported Content-Type {content_type:?}"),
        )),
    }
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
