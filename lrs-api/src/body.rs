//! Reading a request body under the size limit, for every handler and middleware.

use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use futures::{Stream, StreamExt};

use crate::error::{ApiError, ApiErrorKind};

/// Reads the whole body; larger than `limit` bytes → 413 (also when Content-Length announces
/// more, before anything is read).
///
/// What Content-Length announces (capped by the limit) is reserved up front, so large batches
/// are not copied again and again while the buffer grows.
pub(crate) async fn read_limited<S>(
    headers: &HeaderMap,
    mut payload: S,
    limit: usize,
) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if announced > limit {
        return Err(too_large(limit));
    }
    let mut body = BytesMut::with_capacity(announced);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "HTTP: the request body could not be read",
                "$",
                e.to_string(),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ApiErrorKind::PayloadTooLarge,
        format!("request body is larger than the limit of {limit} bytes"),
    )
}
