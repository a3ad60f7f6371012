//! Rosters (issue 11 §1–§2), outside the xAPI surface: `POST /api/v1/roster` imports a OneRoster
//! 1.2 CSV zip (Japan Profile) into the credential's tenant, `POST /api/v1/roster/aliases` its
//! learner aliases. Both need the `roster` scope (or `all`) and are writes: a query-role instance
//! answers them 405 (`app::read_only_api`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;

use crate::app::AppState;
use crate::body::read_body_up_to;
use crate::body_budget::BodyReservation;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::roster_import::RosterImporter;

const ZIP_RULE: &str =
    "LRS rosters: POST /api/v1/roster takes a OneRoster CSV zip with Content-Type: application/zip";
const CSV_RULE: &str = "LRS rosters: POST /api/v1/roster/aliases takes CSV (homePage,name,userSourcedId) with Content-Type: text/csv";

/// Media types a zip is sent as (`application/x-zip-compressed`: Windows browsers).
const ZIP_TYPES: &[&str] = &["application/zip", "application/x-zip-compressed"];
const CSV_TYPES: &[&str] = &["text/csv"];

/// `POST /api/v1/roster`: imports the zip into the tenant's roster, all or nothing; answers the
/// version it made (`{"number", "importedAt", "summary": {<file>: counts}}`).
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let upload = Upload::read(&req, payload, &state, &auth, ZIP_TYPES, ZIP_RULE).await?;
    let (state, len) = (state.clone(), upload.bytes.len());
    let version = (upload.importer)
        .import_zip(auth.tenant(), upload.bytes, move || {
            state.refuse_write_if_unsafe(len)
        })
        .await?;
    Ok(HttpResponse::Ok().json(version))
}

/// `POST /api/v1/roster/aliases`: upserts the CSV's aliases as a roster version; answers it
/// (with an empty summary) and the number of aliases written.
pub async fn aliases(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let upload = Upload::read(&req, payload, &state, &auth, CSV_TYPES, CSV_RULE).await?;
    let (state, len) = (state.clone(), upload.bytes.len());
    let written = (upload.importer)
        .import_aliases(auth.tenant(), upload.bytes, move || {
            state.refuse_write_if_unsafe(len)
        })
        .await?;
    Ok(HttpResponse::Ok().json(written))
}

/// An upload both routes check and read the same way: the scope, an importing instance, the
/// media type, then the body within the importer's limit.
struct Upload {
    importer: std::sync::Arc<RosterImporter>,
    bytes: bytes::Bytes,
    /// The body's share of the in-memory body budget, held until the import is done.
    _held: BodyReservation,
}

impl Upload {
    async fn read(
        req: &HttpRequest,
        payload: web::Payload,
        state: &AppState,
        auth: &Authenticated,
        types: &[&str],
        rule: &str,
    ) -> Result<Upload, ApiError> {
        auth.require(Access::ImportRoster)?;
        let importer = importer(state)?;
        require_content_type(req, types, rule)?;
        let body = read_body_up_to(
            req,
            payload,
            Some(&auth.0.identity),
            importer.max_body_bytes(),
        )
        .await?;
        let (bytes, held) = body.into_parts();
        Ok(Upload {
            importer,
            bytes,
            _held: held,
        })
    }
}

fn importer(state: &AppState) -> Result<std::sync::Arc<RosterImporter>, ApiError> {
    state
        .rosters
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance imports no rosters"))
}

/// 400 unless the request's Content-Type (its media type, parameters aside) is one of `types`.
fn require_content_type(req: &HttpRequest, types: &[&str], rule: &str) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if types.iter().any(|t| t.eq_ignore_ascii_case(essence)) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            rule,
            "header:Content-Type",
            format!("Content-Type {given:?} is not {}", types.join(" or ")),
        ))
    }
}
