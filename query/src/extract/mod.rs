//! Pseudonymised research extracts (issue 14 §4): one row per statement of a tenant's period,
//! flattened to the study-log dimensions, the learner replaced by a keyed pseudonym, written as
//! Parquet and CSV with a k-anonymity report and a manifest.
//!
//! An extract reads what the aggregates read (the facts of each local day of the period, so it
//! counts exactly what `GET /api/v1/aggregates` counts: voiding statements and voided ones are
//! not there) and fetches each fact's statement body only for its result (raw score, and the
//! free-text `response` when asked for). Learners and their classes, schools and grade come from
//! the roster by the statement's local day, as for the aggregates. It goes one day at a time, so
//! memory is bounded by one day's facts, the open row group and the k-anonymity tallies.
//!
//! [`PseudonymKey`] is read before anything is written: without a usable key there is no
//! output at all. [`run_extract`] writes every file under a temporary name and renames them only
//! once all are complete.

mod anonymity;
mod columns;
mod key;
mod request;
mod run;
mod sinks;

pub use anonymity::QuasiIdentifier;
pub use columns::{COLUMNS, ExtractRow};
pub use key::{MIN_KEY_BYTES, PseudonymKey};
pub use request::{ExtractRequest, MAX_EXTRACT_DAYS, TimeGrain};
pub use run::{ExtractProgress, ExtractSources, ExtractSummary, OUTPUT_FILES, run_extract};

/// Why an extract failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The pseudonym key is missing, unreadable or too short: nothing was written.
    #[error("{0}")]
    Key(String),
    /// The request is malformed (a 400 over HTTP).
    #[error("{0}")]
    Invalid(String),
    /// The output could not be written (the partial files were removed).
    #[error("{0}")]
    Output(String),
    #[error("store: {0}")]
    Store(#[from] lrs_store::StoreError),
}

/// [`ExtractError`]'s kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractErrorKind {
    Key,
    Invalid,
    Output,
    Store,
}

impl ExtractError {
    pub fn kind(&self) -> ExtractErrorKind {
        match self {
            ExtractError::Key(_) => ExtractErrorKind::Key,
            ExtractError::Invalid(_) => ExtractErrorKind::Invalid,
            ExtractError::Output(_) => ExtractErrorKind::Output,
            ExtractError::Store(_) => ExtractErrorKind::Store,
        }
    }
}
