//! One learner's data (issue 14): `GET /api/v1/learners/{userSourcedId}/export`, the zip of
//! their statements, documents and attachments (`crate::learner_export`).
//!
//! `DELETE /api/v1/learners/{userSourcedId}` purges them (issue 14 §3): an admin credential of
//! the tenant (the `admin` scope) starts a purge job of every statement of every identity
//! resolved to them and their State and Agent Profile documents, answered `202` with the job
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
use lrs_ingest::purge::{PurgeScope, Requester, ScopeRef};
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
/// documents. The statements are those stored when the request is made: revoke the learner's
/// tools first if more may arrive.
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
    let learner = exports
        .learner(auth.tenant(), &user)
        .await
        .map_err(lifecycle_error)?;
    let sources = exports.sources();
    let mut ids = Vec::new();
    let mut pages = learner.statements(sources.statements.clone(), None, None);
    while let Some(page) = pages.next_page().await.map_err(lifecycle_error)? {
        ids.extend(page.iter().map(|s| s.id));
    }
    let mut document_scopes: Vec<ScopeRef> = learner
        .documents(sources.documents.as_ref())
        .await
        .map_err(lifecycle_error)?
        .iter()
        .map(|address| ScopeRef::of(&address.scope))
        .collect();
    document_scopes.dedup();
    tracing::info!(
        statements = ids.len(),
        document_scopes = document_scopes.len(),
        "learner purge requested"
    );
    let scope = PurgeScope::Statements {
        requested: ids.len() as u64,
        ids,
        document_scopes,
    };
    let requester = Requester {
        role: "admin-api".into(),
        credential: Some(auth.credential_name().to_owned()),
    };
    let job = purges
        .service
        .start(auth.tenant(), scope, requester)
        .await
        .map_err(crate::routes::purges::failed)?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/admin/purges/{}", job.id)))
        .json(job))
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
