//! The Statement Resource: PUT, POST, GET, HEAD on `/statements`.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::ResponseError;
use actix_web::http::header::{self, HeaderName, HeaderValue, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;
use lrs_query::{StatementAnswer, StatementRequest};
use lrs_schema::{format_timestamp, parse_accept_language};
use uuid::Uuid;

use crate::app::{AppState, no_content};
use crate::body::{HeldBody, read_body};
use crate::error::ApiError;
use crate::extract::{Authenticated, RequestVersion};
use crate::multipart;
use crate::prepare::{
    BLOCKING_VALIDATION_BYTES, PreparedRequest, StatementContent, authority_term, prepare_request,
};
use crate::routes::params::query_pairs;
use crate::security;

const CONSISTENT_THROUGH: &str = "X-Experience-API-Consistent-Through";
pub(crate) const CONSISTENT_THROUGH_LOWER: &str = "x-experience-api-consistent-through";

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
    let body = read_body(&req, payload, Some(&auth.0.identity)).await?;
    state.sequencer()?.refuse_if_behind()?;
    let bytes = body.bytes().len();
    // Held to the end: the body's bytes live on in the prepared statements until the log has
    // them.
    let (prepared, _body) = prepare(&state, body, content, version, &auth, None).await?;
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
    let body = read_body(&req, payload, Some(&auth.0.identity)).await?;
    state.sequencer()?.refuse_if_behind()?;
    let bytes = body.bytes().len();
    let (prepared, _body) = prepare(&state, body, content, version, &auth, Some(id)).await?;
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
        .sequencer()?
        .submit(auth.tenant(), auth.writer(), prepared.statements)
        .await?;
    Ok(())
}

/// GET (and HEAD) /statements: by id, by voided id, or filtered with `more` paging. The query
/// service does the work (`lrs_query::StatementQueryService::get`); this parses and writes.
///
/// xAPI Communication §2.1.3: every answer, a 404 included, carries Consistent-Through.
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    version: RequestVersion,
    auth: Authenticated,
) -> HttpResponse {
    let answered = async {
        let authority = authority_term(&auth.0, version.0)?;
        let request = StatementRequest {
            tenant: auth.tenant().to_owned(),
            scope: auth.read_scope(&authority)?,
            version: version.0,
            params: query_pairs(&req)?,
            languages: accept_language(&req),
            writer: Some(auth.writer()),
        };
        Ok::<_, ApiError>(answer(state.queries.get(&request).await?))
    }
    .await;
    answered.unwrap_or_else(|err| {
        let mut response = err.error_response();
        let through = format_timestamp(state.visibility().consistent_through());
        if let Ok(value) = HeaderValue::from_str(&through) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(CONSISTENT_THROUGH_LOWER), value);
        }
        response
    })
}

/// The answer as HTTP: JSON, or `multipart/mixed` with the attachment data (xAPI 1.0.3
/// Communication §2.1.3 `attachments=true`, §1.5.2.s3.b1).
fn answer(answer: StatementAnswer) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .insert_header((
            CONSISTENT_THROUGH,
            format_timestamp(answer.consistent_through),
        ))
        .insert_header((header::LAST_MODIFIED, http_date(answer.last_modified)));
    let Some(attachments) = answer.attachments else {
        return response.content_type("application/json").body(answer.json);
    };
    let mut parts = vec![multipart::OutgoingPart {
        headers: vec![("Content-Type", "application/json")],
        body: &answer.json,
    }];
    for part in &attachments {
        parts.push(multipart::OutgoingPart {
            headers: vec![
                ("Content-Type", part.content_type.as_str()),
                ("Content-Transfer-Encoding", "binary"),
                ("X-Experience-API-Hash", part.sha2.as_str()),
            ],
            body: &part.body,
        });
    }
    let (boundary, body) = multipart::write(&parts);
    let content_type = format!("multipart/mixed; boundary={boundary}");
    // Its parts carry the types the statements' writers chose.
    security::serve_stored(&mut response, &content_type);
    response.content_type(content_type);
    response.body(body)
}

fn accept_language(req: &HttpRequest) -> Vec<String> {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(parse_accept_language)
        .unwrap_or_default()
}

/// Validates the body; gives it back (with its reservation) for the caller to hold while the
/// statements are submitted. On the blocking pool the closure holds it, so it stays accounted
/// for even if the request is dropped meanwhile.
async fn prepare(
    state: &AppState,
    body: HeldBody,
    content: StatementContent,
    version: RequestVersion,
    auth: &Authenticated,
    put_id: Option<Uuid>,
) -> Result<(PreparedRequest, HeldBody), ApiError> {
    if body.bytes().len() < BLOCKING_VALIDATION_BYTES {
        let prepared = prepare_request(
            body.bytes(),
            &content,
            version.0,
            &auth.0,
            put_id,
            &state.config.facts,
        )?;
        return Ok((prepared, body));
    }
    let principal = auth.0.clone();
    let facts = state.config.facts.clone();
    let (prepared, body) = web::block(move || {
        let prepared = prepare_request(
            body.bytes(),
            &content,
            version.0,
            &principal,
            put_id,
            &facts,
        );
        (prepared, body)
    })
    .await
    .map_err(|e| ApiError::internal("validation pool", &e))?;
    Ok((prepared?, body))
}

/// The framing the request's Content-Type names (see [`StatementContent::from_content_type`]).
fn statement_content(req: &HttpRequest) -> Result<StatementContent, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    StatementContent::from_content_type(content_type)
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
