//! `/health` (the process is alive) and `/ready` (it accepts and applies writes), served by every
//! role: the xAPI surface and the ingest role's probe server alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use lrs_progress::ReadVisibility;
use lrs_store::StatementReader;

use crate::error::{ApiError, ApiErrorKind};

/// What `/ready` answers from (add it with `App::app_data(web::Data::new(…))`).
pub struct Readiness {
    /// False while starting or draining.
    pub ready: Arc<AtomicBool>,
    /// The ingest lag reported with a ready answer (roles that read; the ingest role alone has
    /// none).
    pub visibility: Option<Arc<ReadVisibility>>,
    /// The store, asked for its health: a failed embedded store is not ready until it has been
    /// reopened.
    pub store: Option<Arc<dyn StatementReader>>,
}

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// 200 `{"ready": true, "ingest_lag_records": N}`; 503 + Retry-After while starting or draining,
/// and while the store reports a failure (the message says which).
pub async fn ready(readiness: web::Data<Readiness>) -> Result<HttpResponse, ApiError> {
    if !readiness.ready.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            ApiErrorKind::Unavailable,
            "not ready: starting or draining",
        ));
    }
    if let Some(Err(err)) = readiness.store.as_ref().map(|store| store.health()) {
        return Err(ApiError::new(
            ApiErrorKind::Unavailable,
            format!("not ready: the store reports a failure: {}", err.message()),
        ));
    }
    let mut body = serde_json::json!({"ready": true});
    if let Some(visibility) = &readiness.visibility {
        body["ingest_lag_records"] = visibility.lag_records().into();
    }
    Ok(HttpResponse::Ok().json(body))
}
