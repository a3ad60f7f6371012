//! Reading a request body, for every handler and middleware: under the size limit
//! (`server.max_body_bytes`, 413), within the read timeout (`server.body_read_timeout_seconds`,
//! 408) and against the memory budget ([`BodyBudget`](crate::body_budget::BodyBudget), 503).

use std::time::Duration;

use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpRequest, web};
use futures::{Stream, StreamExt};
use lrs_auth::Identity;

use crate::app::AppState;
use crate::body_budget::BodyReservation;
use crate::error::{ApiError, ApiErrorKind};

const TIMEOUT_RULE: &str = "RFC 9110 §15.5.9: a request whose body the server stopped waiting for is answered 408 (Request Timeout) and its connection closed";

/// A request body in memory and the reservation that accounts for it: keep it for as long as
/// the bytes (or what is made of them, e.g. the attachments sliced from a multipart body) live.
pub(crate) struct HeldBody {
    bytes: Bytes,
    reservation: BodyReservation,
}

impl HeldBody {
    pub fn new(bytes: Bytes, reservation: BodyReservation) -> HeldBody {
        HeldBody { bytes, reservation }
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn into_parts(self) -> (Bytes, BodyReservation) {
        (self.bytes, self.reservation)
    }
}

/// Reads the whole body of `req` from `payload`, for `holder` (the authenticated identity;
/// `None` before authentication).
///
/// - Larger than `server.max_body_bytes` → 413, also when Content-Length announces more (before
///   anything is read).
/// - What Content-Length announces is reserved against the budget up front (and allocated, so
///   large batches are not copied again and again while the buffer grows); a chunked body's
///   reservation grows with it. Beyond the budget → 503 + Retry-After, nothing more is read.
/// - Not all there within `server.body_read_timeout_seconds` → 408.
///
/// A body an earlier middleware already read and left in the request's extensions (the
/// alternate request syntax's `content`) is taken from there, with its reservation.
pub(crate) async fn read_body<S>(
    req: &HttpRequest,
    payload: S,
    holder: Option<&Identity>,
) -> Result<HeldBody, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    if let Some(held) = req.extensions_mut().remove::<HeldBody>() {
        return Ok(held);
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::new(ApiErrorKind::Internal, "no app state"))?;
    read_body_up_to(req, payload, holder, state.config.max_body_bytes).await
}

/// Like [`read_body`], with its own size limit instead of `server.max_body_bytes` (a roster
/// zip), and never from the request's extensions.
pub(crate) async fn read_body_up_to<S>(
    req: &HttpRequest,
    payload: S,
    holder: Option<&Identity>,
    limit: usize,
) -> Result<HeldBody, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::new(ApiErrorKind::Internal, "no app state"))?;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if announced > limit {
        return Err(too_large(limit));
    }
    let mut reservation = state.bodies.reserve(holder.cloned());
    reservation.grow(announced)?;
    let timeout = state.config.body_read_timeout;
    let read = read_limited(payload, limit, announced, &mut reservation);
    let bytes = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| timed_out(timeout))??;
    reservation.shrink_to(bytes.len());
    Ok(HeldBody::new(bytes, reservation))
}

async fn read_limited<S>(
    mut payload: S,
    limit: usize,
    announced: usize,
    reservation: &mut BodyReservation,
) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let mut body = BytesMut::with_capacity(announced);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "HTTP: the request body could not be read",
                "$",
                e.to_string(),
            )
        })?;
        let len = body.len() + chunk.len();
        if len > limit {
            return Err(too_large(limit));
        }
        if len > reservation.bytes() {
            reservation.grow(len - reservation.bytes())?;
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

fn timed_out(timeout: Duration) -> ApiError {
    ApiError::with_rule(
        ApiErrorKind::RequestTimeout,
        TIMEOUT_RULE,
        format!(
            "the request body did not arrive within {} s (server.body_read_timeout_seconds)",
            timeout.as_secs_f64()
        ),
    )
}
