//! One learner's data (issue 14): `GET /api/v1/learners/{userSourcedId}/export`, the zip of
//! their statements, documents and attachments (`crate::learner_export`).
//!
//! Access (the `aggregates` scope, or `all`, `all/read`): the board — a credential of the tenant
//! bound to no roster user, or one whose roster roles see the whole tenant (a district
//! administrator) — or the learner themself (a credential bound to them with `--user`).
//! Anyone else, a teacher included, and prefecture credentials: 403. A learner the roster does
//! not know: 404 (after the access check, so a refused caller learns nothing).

use actix_web::{HttpRequest, HttpResponse, web};
use lrs_auth::Access;
use lrs_query::aggregates::Reader;
use lrs_query::lifecycle::LifecycleError;
use lrs_store::now_micros;

use crate::app::AppState;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::Authenticated;
use crate::learner_export::EXPORT_RULE;
use crate::routes::params::query_pairs;

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
        .map_err(|e| match e {
            LifecycleError::UnknownLearner(_) => ApiError::not_found(e.to_string()),
            LifecycleError::Store(e) => e.into(),
            LifecycleError::Output(_) => ApiError::internal("learner export", &e),
        })?;
    Ok(exports.respond(learner, since, until).await)
}
