//! The xAPI HTTP surface.
//!
//! Flow: **lrs-api** → log → ingest → store → query. Handlers are thin: extract (version,
//! principal, typed query or statements) → authorize → call one service → map. [`error`] holds
//! the only table from errors to HTTP statuses.

mod alternate;
pub mod app;
mod attachments;
mod body;
mod cors;
pub mod documents;
pub mod error;
pub mod extract;
pub mod metrics;
mod multipart;
mod prepare;
mod routes;
pub mod sequencer;
mod signature;

pub use app::{ApiConfig, AppState, Stores, configure, configure_probes};
pub use cors::CorsConfig;
pub use error::{ApiError, ApiErrorKind};
pub use metrics::Metrics;
pub use routes::health::Readiness;
pub use sequencer::{LagLimits, WriteSequencer};
