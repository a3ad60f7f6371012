//! The xAPI HTTP surface.
//!
//! Flow: **lrs-api** → log → ingest → store → query. Handlers are thin: extract (version,
//! principal, typed query or statements) → authorize → call the [`Pipeline`] (writes) or the
//! query service (reads) → map. [`error`] holds the only table from errors to HTTP statuses.

mod alternate;
pub mod app;
mod attachments;
mod body;
mod cors;
pub mod disk;
pub mod documents;
pub mod error;
pub mod extract;
pub mod metrics;
mod multipart;
pub mod pipeline;
mod prepare;
mod progress;
mod routes;
mod signature;

pub use app::{ApiConfig, AppState, configure};
pub use cors::CorsConfig;
pub use disk::DiskReserve;
pub use error::{ApiError, ApiErrorKind};
pub use metrics::Metrics;
pub use pipeline::{Pipeline, Progress};
pub use routes::admin::QuarantineEntry;
