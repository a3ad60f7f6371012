//! Thin handlers: extract → authorize → call one service → map.

pub mod about;
pub mod activities;
pub mod admin;
pub mod agents;
pub mod documents;
pub mod health;
mod params;
pub mod statements;

use actix_web::HttpRequest;

use crate::error::ApiError;

/// Anything under the xAPI base path that is not a resource we serve.
pub async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "no xAPI resource at {}",
        req.path()
    )))
}
