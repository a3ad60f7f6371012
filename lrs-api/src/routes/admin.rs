//! The operator's endpoints under `/api/v1/admin` (not xAPI): authenticated like the xAPI
//! resources, and allowed only to credentials with the `admin` scope (which `all` does not
//! grant). Each answers for the credential's own tenant.

use actix_web::{HttpResponse, web};
use lrs_auth::Access;
use lrs_schema::format_timestamp;
use lrs_store::QuarantinedStatement;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::Authenticated;
use crate::routes::params::query_pairs;

/// Statements listed when the request names no `limit`.
const DEFAULT_LIMIT: usize = 100;

/// The most statements one listing returns.
const MAX_LIMIT: usize = 1_000;

/// `GET /api/v1/admin/quarantine[?limit=N]`: the statements of the credential's tenant that
/// ingest could not write and kept in the quarantine, in id order (at most `limit`, default
/// 100, at most 1,000).
pub async fn quarantine(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::Admin)?;
    let limit = limit(&req)?;
    let store = state
        .quarantine
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this instance has no store quarantine"))?;
    let found = store.quarantined(Some(auth.tenant()), limit).await?;
    let statements: Vec<QuarantineEntry> = found.iter().map(QuarantineEntry::of).collect();
    Ok(HttpResponse::Ok().json(QuarantineListing {
        tenant: auth.tenant(),
        limit,
        statements,
    }))
}

fn limit(req: &actix_web::HttpRequest) -> Result<usize, ApiError> {
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in query_pairs(req)? {
        if name != "limit" {
            return Err(ApiError::bad_request(
                "LRS admin API: the quarantine listing takes only `limit`",
                &format!("?{name}"),
                format!("unknown parameter {name:?}"),
            ));
        }
        limit = value
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "LRS admin API: limit is a number from 1 to 1000",
                    "?limit",
                    format!("limit {value:?} is not a number from 1 to {MAX_LIMIT}"),
                )
            })?;
    }
    Ok(limit)
}

#[derive(Serialize)]
struct QuarantineListing<'a> {
    tenant: &'a str,
    limit: usize,
    statements: Vec<QuarantineEntry<'a>>,
}

/// One quarantined statement as the listing shows it (also the `lrs admin quarantine list`
/// line format).
#[derive(Serialize)]
pub struct QuarantineEntry<'a> {
    tenant: &'a str,
    statement_id: String,
    stored: String,
    log_partition: u32,
    log_offset: u64,
    error: &'a str,
    quarantined: String,
    /// The statement as ingest read it (JSON, without `stored`); as text should it not be JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    statement: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_text: Option<String>,
}

impl<'a> QuarantineEntry<'a> {
    pub fn of(q: &'a QuarantinedStatement) -> QuarantineEntry<'a> {
        let text = String::from_utf8_lossy(&q.body).into_owned();
        let (statement, statement_text) = match RawValue::from_string(text.clone()) {
            Ok(raw) => (Some(raw), None),
            Err(_) => (None, Some(text)),
        };
        QuarantineEntry {
            tenant: &q.tenant,
            statement_id: q.id.hyphenated().to_string(),
            stored: format_timestamp(q.stored),
            log_partition: q.log_partition,
            log_offset: q.log_offset,
            error: &q.error,
            quarantined: format_timestamp(q.quarantined),
            statement,
            statement_text,
        }
    }
}

/// Anything else under `/api/v1/admin`.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ApiErrorKind::NotFound,
        format!("no admin endpoint at {}", req.path()),
    ))
}
