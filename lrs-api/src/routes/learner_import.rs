//! `POST /api/v1/learners/import?userSourcedId=…[&transferDate=YYYY-MM-DD]` (issue 14 §2): a
//! learner's export from another board, imported for the receiving board's roster user
//! (`crate::learner_import`).
//!
//! Access: a credential with the `roster` scope (or `all`: the import writes the board's alias
//! table, as a roster upload does) of the receiving board — bound to no roster user, or bound to
//! one whose roster roles see the whole tenant (a district administrator). Anyone else: 403,
//! before the learner is looked up. A `userSourcedId` the roster does not know: 404.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;
use lrs_query::aggregates::Reader;
use lrs_roster::Day;
use lrs_store::now_micros;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::Authenticated;
use crate::learner_import::ImportRequest;
use crate::routes::params::query_pairs;

const PARAMS_RULE: &str = "LRS learner import: the parameters are userSourcedId (the learner in this board's roster, required) and transferDate (YYYY-MM-DD, optional: the day they joined this board; the import's day by default)";
const CONTENT_TYPE_RULE: &str =
    "LRS learner import: the body is the export zip, sent as Content-Type: application/zip";

/// The import's parameters.
struct ImportParams {
    user: String,
    transfer_day: Option<Day>,
}

fn params(req: &HttpRequest) -> Result<ImportParams, ApiError> {
    let (mut user, mut transfer_day) = (None, None);
    for (name, value) in query_pairs(req)? {
        let path = format!("?{name}");
        match name.as_str() {
            "userSourcedId" if user.is_none() && !value.is_empty() => user = Some(value),
            "transferDate" if transfer_day.is_none() => {
                transfer_day = Some(Day::parse(&value).ok_or_else(|| {
                    ApiError::bad_request(
                        PARAMS_RULE,
                        &path,
                        format!("{value:?} is not a date YYYY-MM-DD"),
                    )
                })?);
            }
            _ => {
                return Err(ApiError::bad_request(
                    PARAMS_RULE,
                    &path,
                    format!("unexpected, empty or repeated parameter {name:?}"),
                ));
            }
        }
    }
    let user = user.ok_or_else(|| {
        ApiError::bad_request(PARAMS_RULE, "?userSourcedId", "userSourcedId is required")
    })?;
    Ok(ImportParams { user, transfer_day })
}

/// `POST /api/v1/learners/import`: answers the import's summary (`ImportSummary`).
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::ImportRoster)?;
    let imports = state
        .learner_imports
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance imports no learners"))?;
    let aggregates = state
        .aggregates
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance imports no learners"))?;
    let sequencer = state.sequencer()?.clone();
    let principal = &auth.0;
    let today = aggregates.calendar().day_of(now_micros());
    let reader = aggregates
        .reader(
            &principal.tenant,
            principal.user.as_deref(),
            principal.prefecture,
            today,
        )
        .await?;
    let board = match &reader {
        Reader::Tenant => true,
        Reader::Bound { visibility, .. } => visibility.is_whole_tenant(),
        Reader::Prefecture => false,
    };
    if !board {
        return Err(ApiError::new(
            ApiErrorKind::Forbidden,
            "a learner's import is for the receiving board: a tenant credential, or a district administrator's",
        ));
    }
    let params = params(&req)?;
    // Before the body is read: an unknown learner is refused without spooling it.
    if aggregates
        .roster(&principal.tenant)
        .await?
        .user_key(&params.user)
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "the roster of this board has no user {:?} (userSourcedId): import the roster first",
            params.user
        )));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/zip") {
        return Err(ApiError::bad_request(
            CONTENT_TYPE_RULE,
            "header:Content-Type",
            format!("Content-Type {content_type:?} is not application/zip"),
        ));
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let file = imports
        .spool(payload, announced, state.config.body_read_timeout)
        .await?;
    let bytes = file.as_file().metadata().map_or(0, |m| m.len());
    let request = ImportRequest {
        principal,
        writer: auth.writer(),
        user_sourced_id: params.user,
        transfer_day: params.transfer_day,
    };
    let summary = imports
        .import(sequencer, request, file, || {
            state.refuse_write_if_unsafe(bytes as usize)
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
