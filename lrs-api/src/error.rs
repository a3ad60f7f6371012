//! The one table from error kinds to HTTP statuses and xAPI error bodies.
//!
//! Status codes appear nowhere else in the API. 4xx bodies say which rule was broken and where;
//! 5xx bodies are opaque (the cause goes to the log). 503 carries `Retry-After`, 405 `Allow`;
//! 408, 413 and a 503 refusing a body for memory close the connection (the body is not read).
//!
//! Every error response carries an [`Answered`] in its extensions: the metrics middleware reads
//! the kind and the backpressure reason from there rather than guessing from the status.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use lrs_auth::{AuthError, AuthErrorKind};
use lrs_log::{LogError, LogErrorKind};
use lrs_query::QueryError;
use lrs_query::aggregates::AggregateError;
use lrs_query::extract::ExtractError;
use lrs_roster::{RosterError, RosterErrorKind};
use lrs_schema::ValidationError;
use lrs_store::{StoreError, StoreErrorKind};
use serde::Serialize;
use uuid::Uuid;

use crate::dashboard::html::{error_page, url_component};
use crate::dashboard::{DashboardError, DashboardErrorKind};
use crate::multipart::MultipartError;

/// What went wrong, as the client should learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    /// The body did not arrive within `server.body_read_timeout_seconds`; the connection is
    /// closed after the answer.
    RequestTimeout,
    /// A method the resource does not serve (among them, writes sent to a read-only, query
    /// role, instance); answered with `Allow`.
    MethodNotAllowed,
    Unavailable,
    Internal,
}

impl ApiErrorKind {
    /// The kinds answered with a 4xx status.
    pub const CLIENT_ERRORS: [ApiErrorKind; 9] = [
        ApiErrorKind::BadRequest,
        ApiErrorKind::Unauthorized,
        ApiErrorKind::Forbidden,
        ApiErrorKind::NotFound,
        ApiErrorKind::Conflict,
        ApiErrorKind::PreconditionFailed,
        ApiErrorKind::PayloadTooLarge,
        ApiErrorKind::RequestTimeout,
        ApiErrorKind::MethodNotAllowed,
    ];

    /// The machine-readable code of the error body (`bad_request`, `conflict`, …).
    pub fn code(self) -> &'static str {
        self.http().1
    }

    /// The table: kind → (status, machine-readable code).
    fn http(self) -> (StatusCode, &'static str) {
        match self {
            ApiErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiErrorKind::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ApiErrorKind::PreconditionFailed => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ApiErrorKind::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiErrorKind::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiErrorKind::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Why a request was refused with 503 for the time being (`lrs_backpressure_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// The log's pending-bytes bound is reached (`log.max_pending_bytes`).
    LogFull,
    /// Ingest is `log.max_ingest_lag_records` records or `log.max_ingest_lag_bytes` of
    /// statements behind the log.
    IngestLag,
    /// The log is unreachable or closed.
    LogUnavailable,
    /// The store is unreachable.
    StoreUnavailable,
    /// A document kept changing under a conditional write (the retries ran out).
    DocumentContention,
    /// The request bodies held in memory reached `server.max_body_memory_bytes`.
    BodyMemory,
    /// The bodies of one credential's requests reached
    /// `server.max_body_memory_per_credential_bytes`.
    CredentialBodyMemory,
    /// The data directory has less free space than `storage.min_free_bytes` (plus the request).
    DiskReserve,
}

impl Backpressure {
    pub const ALL: [Backpressure; 8] = [
        Backpressure::LogFull,
        Backpressure::IngestLag,
        Backpressure::LogUnavailable,
        Backpressure::StoreUnavailable,
        Backpressure::DocumentContention,
        Backpressure::BodyMemory,
        Backpressure::CredentialBodyMemory,
        Backpressure::DiskReserve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Backpressure::LogFull => "log_full",
            Backpressure::IngestLag => "ingest_lag",
            Backpressure::LogUnavailable => "log_unavailable",
            Backpressure::StoreUnavailable => "store_unavailable",
            Backpressure::DocumentContention => "document_contention",
            Backpressure::BodyMemory => "body_memory",
            Backpressure::CredentialBodyMemory => "credential_body_memory",
            Backpressure::DiskReserve => "disk_reserve",
        }
    }
}

/// What an error response was, left in its extensions for the metrics middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    pub kind: ApiErrorKind,
    pub backpressure: Option<Backpressure>,
}

const METHOD_RULE: &str = "RFC 9110 §15.5.6: a 405 (Method Not Allowed) answers a method the target resource does not support, with an Allow header listing the methods it does";

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ApiError {
    kind: ApiErrorKind,
    message: String,
    rule: Option<String>,
    path: Option<String>,
    backpressure: Option<Backpressure>,
    /// The `Allow` header of a 405: the methods the resource serves.
    allow: Option<String>,
    /// Where in an uploaded file the problem is (roster imports).
    place: Option<Box<FilePlace>>,
}

/// A place in an uploaded file, as a refused roster import names it: the file (`users.csv`, or
/// `zip` for the archive), the line (1-based, the header is line 1) and the column's header name.
#[derive(Debug, Serialize)]
struct FilePlace {
    /// What is wrong, machine-readable (`missing_column`, `bad_date`, …).
    kind: &'static str,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    place: Option<&'a FilePlace>,
}

impl ApiError {
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            rule: None,
            path: None,
            backpressure: None,
            allow: None,
            place: None,
        }
    }

    pub fn kind(&self) -> ApiErrorKind {
        self.kind
    }

    /// A 400 naming the rule broken and where.
    pub fn bad_request(rule: &str, path: &str, message: impl Into<String>) -> Self {
        ApiError {
            rule: Some(rule.to_owned()),
            path: Some(path.to_owned()),
            ..ApiError::new(ApiErrorKind::BadRequest, message)
        }
    }

    /// An error of `kind` naming the spec rule that decided it (a 409 or 412 of the document
    /// resources, say).
    pub fn with_rule(kind: ApiErrorKind, rule: &str, message: impl Into<String>) -> Self {
        ApiError {
            rule: Some(rule.to_owned()),
            ..ApiError::new(kind, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorKind::NotFound, message)
    }

    pub fn conflict(id: Uuid) -> Self {
        ApiError::with_rule(
            ApiErrorKind::Conflict,
            "xAPI Communication §2.1.2: a statement id that exists with different content MUST be rejected with 409 Conflict",
            format!("statement {id} already exists with different content"),
        )
    }

    /// A 503: the LRS cannot take the request for now, because of `reason`.
    pub fn backpressure(reason: Backpressure, message: impl Into<String>) -> Self {
        ApiError {
            backpressure: Some(reason),
            ..ApiError::new(ApiErrorKind::Unavailable, message)
        }
    }

    /// A 405 whose `Allow` lists `allowed`, the methods the resource serves.
    pub fn method_not_allowed(allowed: &[Method], message: impl Into<String>) -> Self {
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        ApiError {
            rule: Some(METHOD_RULE.to_owned()),
            allow: Some(allow),
            ..ApiError::new(ApiErrorKind::MethodNotAllowed, message)
        }
    }

    pub fn internal(context: &str, cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, context, "internal error");
        ApiError::new(ApiErrorKind::Internal, "internal error")
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.http().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = self.kind.http();
        let mut response = HttpResponse::build(status);
        match self.kind {
            ApiErrorKind::Unauthorized => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"xAPI\", Bearer"),
                ));
            }
            ApiErrorKind::Unavailable => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
                // A body refused for memory is not read: close rather than drain it (the
                // client retries on a new connection after Retry-After).
                if matches!(
                    self.backpressure,
                    Some(Backpressure::BodyMemory | Backpressure::CredentialBodyMemory)
                ) {
                    response.force_close();
                }
            }
            // The rest of the body is not read: close rather than drain it.
            ApiErrorKind::PayloadTooLarge => {
                response.force_close();
            }
            ApiErrorKind::MethodNotAllowed => {
                if let Some(allow) = &self.allow {
                    response.insert_header((header::ALLOW, allow.as_str()));
                }
            }
            // RFC 9110 §15.5.9: the server closes the connection; the rest of the body is
            // never read.
            ApiErrorKind::RequestTimeout => {
                response.force_close();
            }
            _ => {}
        }
        let message = if self.kind == ApiErrorKind::Internal {
            "internal error"
        } else {
            &self.message
        };
        response.extensions_mut().insert(Answered {
            kind: self.kind,
            backpressure: self.backpressure,
        });
        response.json(ErrorBody {
            error: code,
            message,
            rule: self.rule.as_deref(),
            path: self.path.as_deref(),
            place: self.place.as_deref(),
        })
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        ApiError::bad_request(err.rule(), err.path(), err.message())
    }
}

impl From<MultipartError> for ApiError {
    fn from(err: MultipartError) -> Self {
        ApiError::bad_request(err.rule(), "multipart", err.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let kind = match err.kind() {
            AuthErrorKind::MissingCredentials | AuthErrorKind::BadCredentials => {
                ApiErrorKind::Unauthorized
            }
            AuthErrorKind::Forbidden => ApiErrorKind::Forbidden,
            AuthErrorKind::Config | AuthErrorKind::Io => {
                return ApiError::internal("authentication", &err);
            }
        };
        ApiError::new(kind, err.to_string())
    }
}

impl From<LogError> for ApiError {
    fn from(err: LogError) -> Self {
        match err.kind() {
            LogErrorKind::Backpressure | LogErrorKind::Unavailable | LogErrorKind::Closed => {
                tracing::warn!(error = %err, "log not accepting writes");
                let reason = if err.kind() == LogErrorKind::Backpressure {
                    Backpressure::LogFull
                } else {
                    Backpressure::LogUnavailable
                };
                ApiError::backpressure(
                    reason,
                    "the LRS is not accepting writes right now; retry later",
                )
            }
            LogErrorKind::Corrupt | LogErrorKind::Config => ApiError::internal("log", &err),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err.kind() {
            StoreErrorKind::PreconditionFailed => {
                ApiError::new(ApiErrorKind::PreconditionFailed, err.to_string())
            }
            StoreErrorKind::Unavailable => {
                tracing::warn!(error = %err, "store unavailable");
                ApiError::backpressure(
                    Backpressure::StoreUnavailable,
                    "the store is unavailable; retry later",
                )
            }
            // A document or attachment the store can never hold (a key beyond its limits): the
            // request's fault, answered 400; the backend's details go to the log only.
            StoreErrorKind::Rejected => {
                tracing::warn!(error = %err, "the store refused a request's data for good");
                ApiError::bad_request(
                    "LRS limit: the store cannot hold this request's data",
                    "$",
                    "a key or value of this request is beyond the store's limits (an id, IRI or \
                     parameter too long)",
                )
            }
            StoreErrorKind::Corrupt => ApiError::internal("store", &err),
        }
    }
}

/// The rule a refused roster import or alias upload broke.
fn roster_rule(kind: RosterErrorKind) -> &'static str {
    match kind {
        RosterErrorKind::NotAZip => {
            "LRS rosters: the body is a zip archive (stored or deflated entries) with manifest.csv and the CSV files at its root"
        }
        RosterErrorKind::TooLarge => {
            "LRS rosters: the files of one import hold at most 4 GiB once decompressed"
        }
        RosterErrorKind::MissingFile => {
            "OneRoster 1.2 CSV: manifest.csv lists each file as bulk, delta or absent, and every bulk or delta file is in the zip"
        }
        RosterErrorKind::InvalidCsv => {
            "OneRoster 1.2 CSV: every file is UTF-8 CSV (RFC 4180) whose rows have the header's number of values"
        }
        RosterErrorKind::MissingColumn => {
            "OneRoster 1.2 CSV: every file has the columns its table requires"
        }
        RosterErrorKind::MissingValue => "OneRoster 1.2 CSV: every required field has a value",
        RosterErrorKind::BadDate => {
            "OneRoster 1.2 CSV: dates are YYYY-MM-DD, dateLastModified is ISO 8601, and nothing ends before it begins"
        }
        RosterErrorKind::BadValue => {
            "OneRoster 1.2 CSV (Japan Profile): every value is in its vocabulary and syntax"
        }
        RosterErrorKind::DuplicateSourcedId => {
            "OneRoster 1.2 CSV: a sourcedId appears once per file (an alias's homePage and name once per upload)"
        }
        RosterErrorKind::UnknownReference => {
            "OneRoster 1.2 CSV: every reference (and every alias's userSourcedId) names a record the roster holds once the import is applied"
        }
        RosterErrorKind::StalePlan => "LRS rosters: a plan is applied to the roster it was made on",
    }
}

/// A refused import: 400 (413 past the decompressed limit) naming the file, line and column;
/// nothing was written.
impl From<RosterError> for ApiError {
    fn from(err: RosterError) -> Self {
        let kind = match err.kind() {
            RosterErrorKind::TooLarge => ApiErrorKind::PayloadTooLarge,
            // Plans are applied by the store's compare-and-set, never out of order here.
            RosterErrorKind::StalePlan => return ApiError::internal("roster plan", &err),
            _ => ApiErrorKind::BadRequest,
        };
        ApiError {
            place: Some(Box::new(FilePlace {
                kind: err.kind().as_str(),
                file: err.file().to_owned(),
                line: err.line(),
                column: err.column().map(str::to_owned),
            })),
            ..ApiError::with_rule(kind, roster_rule(err.kind()), err.to_string())
        }
    }
}

impl From<AggregateError> for ApiError {
    fn from(err: AggregateError) -> Self {
        match err {
            AggregateError::Invalid(err) => err.into(),
            AggregateError::Forbidden(message) => ApiError::new(ApiErrorKind::Forbidden, message),
            AggregateError::Store(err) => err.into(),
        }
    }
}

impl From<ExtractError> for ApiError {
    fn from(err: ExtractError) -> Self {
        match err {
            ExtractError::Invalid(message) => {
                ApiError::bad_request("LRS extracts: the request's parameters", "?", message)
            }
            // The configured key file or the work directory failed: the server's fault.
            ExtractError::Key(_) | ExtractError::Output(_) => {
                ApiError::internal("research extract", &err)
            }
            ExtractError::Store(err) => err.into(),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> Self {
        match err {
            QueryError::Invalid(err) => err.into(),
            QueryError::NotFound(message) => ApiError::not_found(message),
            QueryError::Store(err) => err.into(),
        }
    }
}

/// The dashboard's refusals, as Japanese HTML pages: the same table for the statuses, plus the
/// redirect to the login form when there is no session.
impl ResponseError for DashboardError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            DashboardErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            DashboardErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            DashboardErrorKind::Forbidden => StatusCode::FORBIDDEN,
            DashboardErrorKind::NotFound => StatusCode::NOT_FOUND,
            DashboardErrorKind::LoginRequired => StatusCode::SEE_OTHER,
            DashboardErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            DashboardErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if self.kind == DashboardErrorKind::LoginRequired {
            let next = self.next.as_deref().unwrap_or("/dashboard");
            return response
                .insert_header((
                    header::LOCATION,
                    format!("/dashboard/login?next={}", url_component(next)),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
        if self.kind == DashboardErrorKind::Unavailable {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        crate::routes::dashboard::page_headers(&mut response);
        response.body(error_page(self.heading, &self.message))
    }
}
