//! Ingest: the stage between the log and the store.
//!
//! Flow: lrs-api → log → **ingest** → store → query. An [`Ingestor`] consumes records (one per
//! accepted request), decodes the envelope written by the API, keeps the first statement of every
//! id (a later non-equivalent one is reported, never written over it), writes the rest to the store
//! with every access-path entry and voiding marker, records per-partition watermarks, and only then
//! commits its log position. Replays after a crash are harmless: store writes are idempotent.
//! Along the way it merges the Activity Definitions the written statements carry into the
//! store's canonical definitions (the Activities Resource reads them).

mod definitions;
mod ingestor;
pub mod learner_purge;
pub mod purge;
mod study;

pub use ingestor::{INGEST_STORE_OPERATIONS, IngestError, IngestStats, Ingestor, IngestorConfig};
pub use lrs_progress::{AppliedBatch, IngestListener};
pub use study::{StudySettings, dim_term_key};
