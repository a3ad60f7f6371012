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
use lrs_progress::ReadVisibility;
use lrs_query::StatementQueryService;
use lrs_query::aggregates::AggregateService;
use lrs_schema::XapiVersion;
use lrs_store::{ActivityStore, AttachmentStore, DocumentStore, QuarantineStore, StatementReader};

use crate::alternate::alternate_request_syntax;
use crate::body_budget::BodyBudget;
use crate::cors::{CorsConfig, cors};
use crate::dashboard::Dashboard;
use crate::disk::DiskReserve;
use crate::documents::DocumentService;
use crate::error::ApiError;
use crate::extract::request_version;
use crate::metrics::Metrics;
use crate::prepare::StudyFacts;
use crate::roster_import::RosterImporter;
use crate::routes;
use crate::sequencer::WriteSequencer;

/// Settings of the HTTP surface (the read side's are in `lrs_query::QueryConfig`).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Where the xAPI endpoint lives, e.g. `/xapi`.
    pub base_path: String,
    /// Requests with larger bodies are answered 413.
    pub max_body_bytes: usize,
    /// How long reading one request body may take; then 408.
    pub body_read_timeout: Duration,
    /// The most bytes of request bodies held in memory at once; beyond, new bodies get 503.
    pub max_body_memory_bytes: usize,
    /// The most bytes of bodies one credential's requests hold at once (0: no such bound).
    pub max_body_memory_per_credential_bytes: usize,
    /// The version family answered when a request names none we support (its 400 still says
    /// which version this LRS speaks).
    pub default_version: XapiVersion,
    /// Origins browsers may call the LRS from.
    pub cors: CorsConfig,
    /// How each statement's study-log fact is made (time zone, extension IRIs).
    pub facts: StudyFacts,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            base_path: "/xapi".into(),
            max_body_bytes: 16 * 1024 * 1024,
            body_read_timeout: Duration::from_secs(60),
            max_body_memory_bytes: 256 * 1024 * 1024,
            max_body_memory_per_credential_bytes: 64 * 1024 * 1024,
            default_version: XapiVersion::V2_0_0,
            cors: CorsConfig::default(),
            facts: StudyFacts::default(),
        }
    }
}

/// The store seams the handlers use (one store usually implements them all).
#[derive(Clone)]
pub struct Stores {
    pub statements: Arc<dyn StatementReader>,
    pub documents: Arc<dyn DocumentStore>,
    pub attachments: Arc<dyn AttachmentStore>,
    pub activities: Arc<dyn ActivityStore>,
}

impl Stores {
    /// Every seam from one store.
    pub fn all<S>(store: Arc<S>) -> Stores
    where
        S: StatementReader + DocumentStore + AttachmentStore + ActivityStore,
    {
        Stores {
            statements: store.clone(),
            documents: store.clone(),
            attachments: store.clone(),
            activities: store,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub config: ApiConfig,
    pub auth: Arc<Authenticator>,
    /// The write path; `None` on a query-role instance, which answers every write 405.
    pub sequencer: Option<Arc<WriteSequencer>>,
    /// The read side: statement GETs, and the visibility every read waits on.
    pub queries: StatementQueryService<dyn StatementReader>,
    /// The statement store (asked for its health before a write is acknowledged).
    pub statements: Arc<dyn StatementReader>,
    /// The State, Activity Profile and Agent Profile resources.
    pub documents: DocumentService,
    /// Attachment data, written before the statements that reference it are submitted.
    pub attachments: Arc<dyn AttachmentStore>,
    /// Canonical Activity Definitions (the Activities Resource).
    pub activities: Arc<dyn ActivityStore>,
    /// The request bodies held in memory, bounded.
    pub bodies: Arc<BodyBudget>,
    /// Where the handlers observe batch sizes and store timings: the process's registry (the
    /// one `/metrics` serves).
    pub metrics: Arc<Metrics>,
    /// The statements ingest quarantined (`GET /api/v1/admin/quarantine`); none in a new state.
    pub quarantine: Option<Arc<dyn QuarantineStore>>,
    /// The data directory's free-space reserve (`storage.min_free_bytes`), when the log or the
    /// store lives there; none in a new state.
    pub disk: Option<Arc<DiskReserve>>,
    /// The study-log aggregates (`GET /api/v1/aggregates`, `GET /api/v1/learners/inactive`);
    /// none in a new state (they answer 404).
    pub aggregates: Option<Arc<AggregateService>>,
    /// Roster imports and alias uploads (`POST /api/v1/roster[/aliases]`); none in a new state.
    pub rosters: Option<Arc<RosterImporter>>,
    /// The dashboard (LTI launch, staff login, sessions, views); none in a new state (its pages
    /// answer 404).
    pub dashboard: Option<Arc<Dashboard>>,
    /// Research extracts (`GET /api/v1/extracts`); none in a new state (it answers 404).
    pub extracts: Option<Arc<crate::routes::extracts::ResearchExtracts>>,
    /// Purge jobs (`/api/v1/admin/purges`); none in a new state (they answer 404).
    pub purges: Option<Arc<crate::routes::purges::Purges>>,
    /// Learners' exports (`GET /api/v1/learners/{id}/export`, `/dashboard/me/export`); none in
    /// a new state (they answer 404).
    pub learner_exports: Option<Arc<crate::learner_export::LearnerExports>>,
    /// Learners' imports from another board (`POST /api/v1/learners/import`); none in a new
    /// state (it answers 404).
    pub learner_imports: Option<Arc<crate::learner_import::LearnerImports>>,
}

impl AppState {
    /// `sequencer`: `None` for a read-only (query role) instance.
    pub fn new(
        config: ApiConfig,
        auth: Arc<Authenticator>,
        sequencer: Option<Arc<WriteSequencer>>,
        queries: StatementQueryService<dyn StatementReader>,
        stores: Stores,
        metrics: Arc<Metrics>,
    ) -> Self {
        AppState {
            queries: queries.with_timings(metrics.store().clone()),
            documents: DocumentService::new(stores.documents),
            bodies: BodyBudget::new(
                config.max_body_memory_bytes,
                config.max_body_memory_per_credential_bytes,
            ),
            config,
            auth,
            sequencer,
            statements: stores.statements,
            attachments: stores.attachments,
            activities: stores.activities,
            metrics,
            quarantine: None,
            disk: None,
            aggregates: None,
            rosters: None,
            dashboard: None,
            extracts: None,
            purges: None,
            learner_exports: None,
            learner_imports: None,
        }
    }

    /// 503 (`disk_reserve`) when a write of `bytes` would eat into the disk reserve, or
    /// (`store_unavailable`) while the store reports a failure: a write is never acknowledged
    /// that the store might not be able to apply.
    pub fn refuse_write_if_unsafe(&self, bytes: usize) -> Result<(), ApiError> {
        self.statements.health()?;
        match &self.disk {
            Some(disk) => disk.refuse_if_low(bytes as u64),
            None => Ok(()),
        }
    }

    /// The read side's view of ingest progress.
    pub fn visibility(&self) -> &Arc<ReadVisibility> {
        self.queries.visibility()
    }

    /// The write path, or 405 on a read-only instance (the `read_only_role` middleware answers
    /// writes before they reach a handler; this is for handlers that write).
    pub fn sequencer(&self) -> Result<&Arc<WriteSequencer>, ApiError> {
        self.sequencer
            .as_ref()
            .ok_or_else(|| read_only_error("POST, PUT and DELETE", routes::READ_METHODS))
    }
}

fn read_only_error(method: &str, allowed: &[Method]) -> ApiError {
    ApiError::method_not_allowed(
        allowed,
        format!(
            "this instance runs the query role and serves reads only; send {method} requests to the api service"
        ),
    )
}

/// The methods of the Statement Resource.
const STATEMENT_METHODS: &[Method] = &[Method::PUT, Method::POST, Method::GET, Method::HEAD];

/// Registers `/health`, `/ready` and `/metrics` (GET and HEAD), which every role serves. The app
/// needs a `web::Data<Readiness>` and a `web::Data<Arc<Metrics>>`; every other path is the
/// caller's (add `.default_service(web::to(lrs_api::not_found))` for the JSON 404).
pub fn configure_probes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        routes::probe_resource("/health", routes::READ_METHODS)
            .route(web::get().to(routes::health::health))
            .route(web::head().to(routes::health::health)),
    )
    .service(
        routes::probe_resource("/ready", routes::READ_METHODS)
            .route(web::get().to(routes::health::ready))
            .route(web::head().to(routes::health::ready)),
    )
    .service(
        routes::probe_resource("/metrics", routes::READ_METHODS)
            .route(web::get().to(crate::metrics::metrics))
            .route(web::head().to(crate::metrics::metrics)),
    );
}

/// Registers every route: the probes, the xAPI surface under `base_path`, and the JSON 404 for
/// every other path. The app needs a `web::Data<AppState>` besides what [`configure_probes`]
/// needs.
pub fn configure(cfg: &mut web::ServiceConfig, base_path: &str) {
    configure_probes(cfg);
    cfg.service(
        web::scope("/api/v1/admin")
            .route("/quarantine", web::get().to(routes::admin::quarantine))
            .route("/purges", web::post().to(routes::purges::start))
            .route("/purges", web::get().to(routes::purges::list))
            .route("/purges/{id}", web::get().to(routes::purges::get))
            .default_service(web::to(routes::admin::not_found)),
    )
    .service(
        web::scope("/api/v1/roster")
            .wrap(from_fn(read_only_api))
            .service(
                routes::probe_resource("", routes::POST_METHODS)
                    .route(web::post().to(routes::roster::import)),
            )
            .service(
                routes::probe_resource("/aliases", routes::POST_METHODS)
                    .route(web::post().to(routes::roster::aliases)),
            ),
    )
    .service(
        routes::probe_resource("/api/v1/aggregates", routes::READ_METHODS)
            .route(web::get().to(routes::aggregates::aggregates))
            .route(web::head().to(routes::aggregates::aggregates)),
    )
    .service(
        routes::probe_resource("/api/v1/extracts", routes::extracts::METHODS)
            .route(web::get().to(routes::extracts::extract)),
    )
    .service(
        routes::probe_resource("/api/v1/learners/inactive", routes::READ_METHODS)
            .route(web::get().to(routes::aggregates::inactive))
            .route(web::head().to(routes::aggregates::inactive)),
    )
    .service(
        // Before `/api/v1/learners/{user}`, which would take `import` for a user.
        routes::probe_resource("/api/v1/learners/import", routes::POST_METHODS)
            .route(web::post().to(routes::learner_import::import)),
    )
    .service(
        routes::probe_resource("/api/v1/learners/{user}", routes::learners::LEARNER_METHODS)
            .route(web::delete().to(routes::learners::purge)),
    )
    .service(
        routes::probe_resource("/api/v1/learners/{user}/export", routes::GET_METHODS)
            .route(web::get().to(routes::learners::export)),
    )
    .service(
        routes::probe_resource(
            "/api/v1/classes/{sourcedId}/summary.csv",
            routes::READ_METHODS,
        )
        .route(web::get().to(routes::aggregates::class_summary))
        .route(web::head().to(routes::aggregates::class_summary)),
    )
    .configure(configure_dashboard)
    .service(
        web::scope(base_path)
            .wrap(from_fn(read_only_role))
            .wrap(from_fn(version_header))
            .wrap(from_fn(alternate_request_syntax))
            .wrap(from_fn(cors))
            .service(
                routes::xapi_resource("/statements", STATEMENT_METHODS)
                    .route(web::put().to(routes::statements::put))
                    .route(web::post().to(routes::statements::post))
                    .route(web::get().to(routes::statements::get))
                    .route(web::head().to(routes::statements::get)),
            )
            .service(
                routes::xapi_resource("/about", routes::READ_METHODS)
                    .route(web::get().to(routes::about::about))
                    .route(web::head().to(routes::about::about)),
            )
            .configure(routes::documents::configure)
            .service(routes::agents::resource())
            .service(routes::activities::resource())
            .default_service(web::to(routes::not_found)),
    )
    .default_service(web::to(routes::not_found));
}

/// The dashboard: the LTI 1.3 doors and the HTML pages (no xAPI version header; reads only, so
/// every role serving the xAPI surface serves them).
fn configure_dashboard(cfg: &mut web::ServiceConfig) {
    use routes::dashboard as pages;
    cfg.service(
        routes::probe_resource("/lti/login", routes::GET_POST_METHODS)
            .route(web::get().to(routes::lti::login))
            .route(web::post().to(routes::lti::login)),
    )
    .service(
        routes::probe_resource("/lti/launch", routes::POST_METHODS)
            .route(web::post().to(routes::lti::launch)),
    )
    .service(
        routes::probe_resource("/dashboard", routes::GET_METHODS).route(web::get().to(pages::home)),
    )
    .service(
        routes::probe_resource("/dashboard/login", routes::GET_POST_METHODS)
            .route(web::get().to(pages::login_form))
            .route(web::post().to(pages::login)),
    )
    .service(
        routes::probe_resource("/dashboard/logout", routes::POST_METHODS)
            .route(web::post().to(pages::logout)),
    )
    .service(
        routes::probe_resource("/dashboard/class/{class}", routes::GET_METHODS)
            .route(web::get().to(pages::class)),
    )
    .service(
        routes::probe_resource("/dashboard/school/{school}", routes::GET_METHODS)
            .route(web::get().to(pages::school)),
    )
    .service(
        routes::probe_resource("/dashboard/board/{board}", routes::GET_METHODS)
            .route(web::get().to(pages::board)),
    )
    .service(
        routes::probe_resource("/dashboard/prefecture", routes::GET_METHODS)
            .route(web::get().to(pages::prefecture)),
    )
    .service(
        routes::probe_resource("/dashboard/me", routes::GET_METHODS)
            .route(web::get().to(pages::me)),
    )
    .service(
        routes::probe_resource(
            crate::dashboard::learner_view::EXPORT_PATH,
            routes::GET_METHODS,
        )
        .route(web::get().to(pages::me_export)),
    )
    .service(
        // The bundled stylesheets and scripts, compressed (they hold no secret, unlike the
        // pages with their CSRF tokens, which are not: BREACH).
        routes::probe_resource("/dashboard/assets/{name}", routes::GET_METHODS)
            .wrap(actix_web::middleware::Compress::default())
            .route(web::get().to(pages::asset)),
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
        .is_some_and(|state| state.sequencer.is_none());
    let reading = [Method::GET, Method::HEAD, Method::OPTIONS].contains(req.method());
    if read_only && !reading {
        let err = read_only_error(
            req.method().as_str(),
            &routes::xapi_methods(req.request(), routes::READ_METHODS),
        );
        return Ok(req
            .into_response(err.error_response())
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The `/api/v1` uploads (rosters) on a query-role instance: every write is answered 405 before
/// anything is read or authenticated, as the xAPI writes are; the instance serves none of them.
async fn read_only_api(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let read_only = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.sequencer.is_none());
    if read_only {
        let err = read_only_error(req.method().as_str(), &[]);
        return Ok(req
            .into_response(err.error_response())
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

pub(crate) fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
