//! One learner's data (issue 14): `GET /api/v1/learners/{userSourcedId}/export`, the zip of
//! their statements, documents and attachments (`crate::learner_export`).
//!
//! `DELETE /api/v1/learners/{userSourcedId}` purges them (issue 14 §3): an admin credential of
//! the tenant (the `admin` scope) starts a purge job of every statement of every identity
//! resolved to them and their State and Agent Profile documents (the job enumerates them once
//! ingest has caught up: `lrs_ingest::learner_purge`), answered `202` with the job
//! (`Location`: `/api/v1/admin/purges/{id}`); an unknown learner is 404. Their roster record stays
//! (the roster belongs to the school-affairs system).
//!
//! Export access (the `aggregates` scope, or `all`, `all/read`): the board — a credential of the tenant
//! bound to no roster user, or one whose roster roles see the whole tenant (a district
//! administrator) — or the learner themself (a credential bound to them with `--user`).
//! Anyone else, a teacher included, and prefecture credentials: 403. A learner the roster does
//! not know: 404 (after the access check, so a refused caller learns nothing).

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;
use lrs_ingest::purge::{PurgeScope, Requester};
use lrs_query::aggregates::Reader;
use lrs_query::lifecycle::LifecycleError;
use lrs_store::now_micros;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::Authenticated;
use crate::learner_export::EXPORT_RULE;
use crate::routes::params::query_pairs;

/// The methods of `/api/v1/learners/{userSourcedId}`.
pub const LEARNER_METHODS: &[Method] = &[Method::DELETE];

/// `DELETE /api/v1/learners/{userSourcedId}`: a purge job of the learner's statements and
/// documents. Only the roster lookup (404) happens here; the job itself resolves the learner's
/// identities and enumerates their statements once ingest has applied everything acknowledged
/// before this request (`lrs_ingest::learner_purge`): statements stored from now on are not
/// purged.
pub async fn purge(
    path: web::Path<String>,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::Admin)?;
    let purges = state
        .purges
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance runs no purges"))?;
    let exports = state
        .learner_exports
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance runs no purges"))?;
    let user = path.into_inner();
    // 404 now for a learner the roster does not know; their identities are the job's.
    exports
        .learner(auth.tenant(), &user)
        .await
        .map_err(lifecycle_error)?;
    let requester = Requester {
        role: "admin-api".into(),
        credential: Some(auth.credential_name().to_owned()),
    };
    let job = purges
        .service
        .start(
            auth.tenant(),
            PurgeScope::learner(&user, now_micros()),
            requester,
        )
        .await
        .map_err(crate::routes::purges::failed)?;
    tracing::info!(job = %job.id, "learner purge requested");
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/admin/purges/{}", job.id)))
        .json(job.public()))
}

fn lifecycle_error(e: LifecycleError) -> ApiError {
    match e {
        LifecycleError::UnknownLearner(_) => ApiError::not_found(e.to_string()),
        LifecycleError::Store(e) => e.into(),
        LifecycleError::Output(_) => ApiError::internal("learner data", &e),
    }
}

/// `GET /api/v1/learners/{userSourcedId}/export[?since=…&until=…]`.
pub async fn export(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.require(Access::ReadAggregates)?;
    let exports = state
        .learner_exports
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance serves no learner exports"))?;
    let aggregates = state
        .aggregates
        .clone()
        .ok_or_else(|| ApiError::not_found("this instance serves no learner exports"))?;
    let user = path.into_inner();
    let (since, until) = exports
        .range(&query_pairs(&req)?)
        .map_err(|e| ApiError::bad_request(EXPORT_RULE, &format!("?{}", e.parameter), e.message))?;
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
    let allowed = match &reader {
        Reader::Tenant => true,
        Reader::Bound { visibility, .. } => {
            principal.user.as_deref() == Some(user.as_str()) || visibility.is_whole_tenant()
        }
        Reader::Prefecture => false,
    };
    if !allowed {
        return Err(ApiError::new(
            ApiErrorKind::Forbidden,
            "a learner's export is for their board (a tenant credential, or a district administrator's) or the learner themself",
        ));
    }
    let learner = exports
        .learner(&principal.tenant, &user)
        .await
        .map_err(lifecycle_error)?;
    Ok(exports.respond(learner, since, until).await)
}
