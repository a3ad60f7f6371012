//! The HTTP application: shared state, routes and the version middleware.

use std::sync::Arc;
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, web};
use lrs_auth::Authenticator;
use lrs_query::StatementQueryService;
use lrs_schema::XapiVersion;
use lrs_store::{ActivityStore, AttachmentStore, DocumentStore, QuarantineStore, StatementReader};

use crate::alternate::alternate_request_syntax;
use crate::cors::{CorsConfig, cors};
use crate::disk::DiskReserve;
use crate::documents::DocumentService;
use crate::error::{ApiError, ApiErrorKind};
use crate::extract::request_version;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::routes;

/// Settings of the HTTP surface.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Where the xAPI endpoint lives, e.g. `/xapi`.
    pub base_path: String,
    /// Requests with larger bodies are answered 413.
    pub max_body_bytes: usize,
    /// The most statements one GET page holds.
    pub max_page: u32,
    /// How long a GET waits for ingest to apply writes acknowledged before it arrived.
    pub read_your_writes_wait: Duration,
    /// The version family answered when a request names none we support (its 400 still says
    /// which version this LRS speaks).
    pub default_version: XapiVersion,
    /// Origins browsers may call the LRS from.
    pub cors: CorsConfig,
    /// The query role: reads only; every write is answered 405.
    pub read_only: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            base_path: "/xapi".into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_page: 500,
            read_your_writes_wait: Duration::from_secs(2),
            default_version: XapiVersion::V2_0_0,
            cors: CorsConfig::default(),
            read_only: false,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub config: ApiConfig,
    pub auth: Arc<Authenticator>,
    pub pipeline: Arc<Pipeline>,
    pub reader: Arc<dyn StatementReader>,
    pub queries: StatementQueryService<dyn StatementReader>,
    /// The State, Activity Profile and Agent Profile resources.
    pub documents: DocumentService,
    /// Attachment data, written before the statements that reference it are submitted.
    pub attachments: Arc<dyn AttachmentStore>,
    /// Canonical Activity Definitions (the Activities Resource).
    pub activities: Arc<dyn ActivityStore>,
    /// Answered by `/ready`: false while starting or draining.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    /// Where the handlers observe batch sizes and store timings: the process's registry (set it
    /// to the one `/metrics` serves; a new state has one of its own).
    pub metrics: Arc<Metrics>,
    /// The statements ingest quarantined (`GET /api/v1/admin/quarantine`); none in a new state.
    pub quarantine: Option<Arc<dyn QuarantineStore>>,
    /// The data directory's free-space reserve (`storage.min_free_bytes`), when the log or the
    /// store lives there; none in a new state.
    pub disk: Option<Arc<DiskReserve>>,
}

impl AppState {
    pub fn new(
        config: ApiConfig,
        auth: Arc<Authenticator>,
        pipeline: Arc<Pipeline>,
        reader: Arc<dyn StatementReader>,
        documents: Arc<dyn DocumentStore>,
        attachments: Arc<dyn AttachmentStore>,
        activities: Arc<dyn ActivityStore>,
    ) -> Self {
        AppState {
            queries: StatementQueryService::new(
                reader.clone(),
                activities.clone(),
                config.max_page,
            ),
            documents: DocumentService::new(documents),
            config,
            auth,
            pipeline,
            reader,
            attachments,
            activities,
            ready: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            metrics: Metrics::new(None, None),
            quarantine: None,
            disk: None,
        }
    }

    /// 503 (`disk_reserve`) when a write of `bytes` would eat into the disk reserve, or
    /// (`store_unavailable`) while the store reports a failure: a write is never acknowledged
    /// that the store might not be able to apply.
    pub fn refuse_write_if_unsafe(&self, bytes: usize) -> Result<(), ApiError> {
        self.reader.health()?;
        match &self.disk {
            Some(disk) => disk.refuse_if_low(bytes as u64),
            None => Ok(()),
        }
    }
}

/// Registers every route. `state` must also be added with `App::app_data`.
pub fn configure(cfg: &mut web::ServiceConfig, base_path: &str) {
    cfg.route("/health", web::get().to(routes::health::health))
        .route("/ready", web::get().to(routes::health::ready))
        .route("/metrics", web::get().to(crate::metrics::metrics))
        .service(
            web::scope("/api/v1/admin")
                .route("/quarantine", web::get().to(routes::admin::quarantine))
                .default_service(web::to(routes::admin::not_found)),
        )
        .service(
            web::scope(base_path)
                .wrap(from_fn(read_only_role))
                .wrap(from_fn(version_header))
                .wrap(from_fn(alternate_request_syntax))
                .wrap(from_fn(cors))
                .service(
                    web::resource("/statements")
                        .route(web::put().to(routes::statements::put))
                        .route(web::post().to(routes::statements::post))
                        .route(web::get().to(routes::statements::get))
                        .route(web::head().to(routes::statements::get)),
                )
                .service(web::resource("/about").route(web::get().to(routes::about::about)))
                .configure(routes::documents::configure)
                .service(routes::agents::resource())
                .service(routes::activities::resource())
                .default_service(web::to(routes::not_found)),
        );
}

/// xAPI Communication §3.3: every request but one to the About resource MUST carry a supported
/// `X-Experience-API-Version` (else 400, checked before routing, so even a path we do not serve
/// answers 400 rather than 404); every response carries the header, in the family the client
/// asked for (the configured default when it asked for none we know).
async fn version_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let requested = request_version(req.request());
    let version = requested
        .as_ref()
        .ok()
        .copied()
        .or_else(|| {
            req.app_data::<web::Data<AppState>>()
                .map(|state| state.config.default_version)
        })
        .unwrap_or(XapiVersion::V2_0_0);
    let is_about = req.path().trim_end_matches('/').ends_with("/about");
    let mut response = match requested {
        Err(err) if !is_about && req.method() != Method::OPTIONS => {
            let response = err.error_response();
            req.into_response(response).map_into_right_body()
        }
        _ => next.call(req).await?.map_into_left_body(),
    };
    response.headers_mut().insert(
        HeaderName::from_static("x-experience-api-version"),
        HeaderValue::from_static(version.as_str()),
    );
    Ok(response)
}

/// A query-role instance (`lrs serve --services query`) serves reads only: a write is answered
/// 405 naming the api service, before anything is read or authenticated.
async fn read_only_role(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let read_only = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.read_only);
    let reading = [Method::GET, Method::HEAD, Method::OPTIONS].contains(req.method());
    if read_only && !reading {
        let err = ApiError::new(
            ApiErrorKind::MethodNotAllowed,
            format!(
                "this instance runs the query role and serves reads only; send {} requests to the api service",
                req.method()
            ),
        );
        return Ok(req
            .into_response(err.error_response())
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

pub(crate) fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
