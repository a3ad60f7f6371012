//! Purges (issue 14 §3) under `/api/v1/admin/purges`: admin credentials (the `admin` scope),
//! each for its own tenant.
//!
//! - `POST /api/v1/admin/purges` with `{"scope":"retention"}` (optionally
//!   `"keep_school_years": N`, else `lifecycle.keep_school_years`) or `{"scope":"tenant"}`:
//!   records the job and answers `202` with it (`Location`: its URL).
//! - `GET /api/v1/admin/purges`: every purge of the tenant, oldest first (the audit records).
//! - `GET /api/v1/admin/purges/{id}`: one job: its phase, state and counts.

use std::sync::Arc;

use actix_web::{HttpResponse, http::header, web};
use lrs_auth::Access;
use lrs_ingest::purge::{PurgeError, PurgeJob, PurgeScope, PurgeService, Requester};
use lrs_roster::Calendar;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::Authenticated;

/// What the purge endpoints need.
pub struct Purges {
    pub service: Arc<PurgeService>,
    /// `studylog.time_zone`: school years start on April 1 there.
    pub calendar: Calendar,
    /// `lifecycle.keep_school_years` (0: none configured).
    pub keep_school_years: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeRequest {
    scope: String,
    #[serde(default)]
    keep_school_years: Option<u32>,
}

fn purges(state: &AppState) -> Result<&Purges, ApiError> {
    state
        .purges
        .as_deref()
        .ok_or_else(|| ApiError::not_found("this instance runs no purges"))
}

pub(crate) fn failed(err: PurgeError) -> ApiError {
    match err {
        PurgeError::Store(err) => err.into(),
        other => ApiError::new(ApiErrorKind::Internal, other.to_string()),
    }
}

/// `POST /api/v1/admin/purges`.
pub async fn start(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::Admin)?;
    let purges = purges(&state)?;
    let request: PurgeRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "LRS admin API: a purge request is {\"scope\":\"retention\"} (optionally with \
             \"keep_school_years\") or {\"scope\":\"tenant\"}",
            "$",
            e.to_string(),
        )
    })?;
    let scope = match (request.scope.as_str(), request.keep_school_years) {
        ("retention", keep) => {
            let keep = keep.unwrap_or(purges.keep_school_years);
            if keep == 0 {
                return Err(ApiError::bad_request(
                    "LRS admin API: a retention purge keeps at least 1 school year \
                     (keep_school_years, or lifecycle.keep_school_years)",
                    "$.keep_school_years",
                    "keep_school_years is 0 or not configured",
                ));
            }
            PurgeService::retention_scope(&purges.calendar, keep, lrs_store::now_micros())
                .map_err(failed)?
        }
        ("tenant", None) => PurgeScope::Tenant,
        ("tenant", Some(_)) => {
            return Err(ApiError::bad_request(
                "LRS admin API: keep_school_years belongs to a retention purge",
                "$.keep_school_years",
                "a tenant purge takes no keep_school_years",
            ));
        }
        (other, _) => {
            return Err(ApiError::bad_request(
                "LRS admin API: scope is \"retention\" or \"tenant\"",
                "$.scope",
                format!("unknown scope {other:?}"),
            ));
        }
    };
    let requester = Requester {
        role: "admin-api".into(),
        credential: Some(auth.credential_name().to_owned()),
    };
    let job = purges
        .service
        .start(auth.tenant(), scope, requester)
        .await
        .map_err(failed)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/admin/purges/{}", job.id)))
        .json(job.public()))
}

/// `GET /api/v1/admin/purges`.
pub async fn list(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::Admin)?;
    let jobs: Vec<PurgeJob> = purges(&state)?
        .service
        .jobs()
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|j| j.tenant == auth.tenant())
        .map(|j| j.public())
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "tenant": auth.tenant(),
        "purges": jobs,
    })))
}

/// `GET /api/v1/admin/purges/{id}`.
pub async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::Admin)?;
    let id = Uuid::parse_str(&id).map_err(|_| {
        ApiError::bad_request(
            "LRS admin API: a purge id is a UUID",
            "{id}",
            format!("{:?} is not a UUID", id.as_str()),
        )
    })?;
    match purges(&state)?.service.job(id).await.map_err(failed)? {
        Some(job) if job.tenant == auth.tenant() => Ok(HttpResponse::Ok().json(job.public())),
        _ => Err(ApiError::not_found(format!("no purge {id} in this tenant"))),
    }
}
