//! `/health` (the process is alive) and `/ready` (it accepts and applies writes).

use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};

use crate::app::AppState;

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let lag = state.pipeline.lag_records();
    let body = serde_json::json!({"ready": state.ready.load(Ordering::Relaxed), "ingest_lag_records": lag});
    if state.ready.load(Ordering::Relaxed) {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(body)
    }
}
