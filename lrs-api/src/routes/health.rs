//! `/health` (the process is alive) and `/ready` (it accepts and applies writes).

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};

use crate::app::AppState;

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Not ready while starting or draining, and while the store reports a failure (a failed
/// embedded store until it has been reopened): the body then says why.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let lag = state.pipeline.lag_records();
    let store = state.reader.health();
    let ready = state.ready.load(Ordering::Relaxed) && store.is_ok();
    let mut body = serde_json::json!({"ready": ready, "ingest_lag_records": lag});
    if let Err(err) = store {
        body["store"] = serde_json::Value::from(err.message());
    }
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(body)
    }
}
