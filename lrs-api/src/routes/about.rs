//! The About resource (xAPI Communication §2.8 / 2.0 §4.1.6.6): no version header needed.

use actix_web::HttpResponse;

pub async fn about() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "version": ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"],
        "extensions": {}
    }))
}
