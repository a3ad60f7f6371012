//! The xAPI HTTP surface.
//!
//! Flow: **lrs-api** → log → ingest → store → query. Handlers are thin: extract (version,
//! principal, typed query or statements) → authorize → call one service → map. [`error`] holds
//! the only table from errors to HTTP statuses.
//!
//! # Layout
//!
//! A request passes, outermost first (actix runs the last `wrap` first):
//!
//! ```text
//! metrics::track            counts and times every request (wrapped by the binary, app-wide)
//! └─ /health /ready /metrics (routes::health, metrics::metrics)
//! └─ scope {base_path}       (app::configure)
//!    cors                   answers preflights, stamps CORS headers
//!    alternate              rewrites 1.0.3 alternate-syntax form POSTs into real requests
//!    version_header         400 without a supported X-Experience-API-Version; echoes it
//!    read_only_role         405 for writes on a query-role instance
//!    └─ routes::*           extract::{RequestVersion, Authenticated} → handler
//! ```
//!
//! Who the handlers call:
//!
//! ```text
//! POST/PUT /statements  body::read_limited → prepare (multipart, attachments, signature,
//!                       lrs_schema) → AttachmentStore → sequencer::WriteSequencer::submit → log
//! GET /statements       lrs_query::StatementQueryService::get (wait, cap, plan, page, render)
//! /activities/state, /activities/profile, /agents/profile
//!                       documents::DocumentService → DocumentStore (compare-and-set)
//! GET /activities       ReadVisibility wait → ActivityStore
//! GET /agents, /about   answered from the request alone
//! ```
//!
//! Outside the xAPI surface (no version header), under `/api/v1`:
//!
//! ```text
//! GET /api/v1/admin/quarantine     QuarantineStore
//! POST|GET /api/v1/admin/purges[/{id}]  lrs_ingest::purge::PurgeService (202 + a durable job)
//! POST /api/v1/roster[/aliases]    roster_import::RosterImporter (parse, plan on the tenant's
//!                                  roster, RosterStore::commit_roster); 405 on the query role
//! GET /api/v1/aggregates, /api/v1/learners/inactive
//!                                  lrs_query::aggregates::AggregateService (reader from the
//!                                  principal's roster user, prefecture or tenant)
//! ```
//!
//! The dashboard (HTML, no version header; [`dashboard`]): `/lti/login`, `/lti/launch`
//! (LTI 1.3), `/dashboard/login`, `/dashboard/logout`, `/dashboard`,
//! `/dashboard/class/{classSourcedId}` → the same `AggregateService`, for the session's viewer.

mod alternate;
pub mod app;
mod attachments;
mod body;
pub mod body_budget;
pub mod class_summary;
mod cors;
pub mod dashboard;
pub mod disk;
pub mod documents;
pub mod error;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod learner_export;
pub mod learner_import;
pub mod metrics;
mod multipart;
mod prepare;
pub mod roster_import;
mod routes;
pub mod security;
pub mod sequencer;
mod signature;

pub use app::{ApiConfig, AppState, Stores, configure, configure_probes};
pub use cors::CorsConfig;
pub use disk::DiskReserve;
pub use error::{ApiError, ApiErrorKind};
pub use learner_export::{LearnerExports, RosterLearners};
pub use learner_import::{ImportConfig, LearnerImports};
pub use metrics::Metrics;
pub use prepare::{StudyFacts, borrowed_parse, set_borrowed_parse};
pub use roster_import::RosterImporter;
pub use routes::extracts::ResearchExtracts;
pub use routes::health::Readiness;
pub use routes::purges::Purges;
pub use routes::{READ_METHODS, not_found, probe_resource};
pub use security::security_headers;
pub use sequencer::{LagLimits, WriteSequencer};

// Every tenant a credential or token may name fits in a store key.
const _: () = assert!(lrs_auth::MAX_TENANT_LEN <= lrs_store::MAX_TENANT_BYTES);
pub use routes::admin::QuarantineEntry;
