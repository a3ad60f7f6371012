//! A learner's data over its whole life in the LRS (issue 14): export (§1), import (§2) and
//! purge, which enumerate the same data.
//!
//! [`learner`] finds one roster user's data: every identity the tenant's identity rules resolve
//! to them, their statements (every stored version, read page by page from the agent index),
//! their State and Agent Profile documents and the attachments their statements reference.
//! [`export`] writes it as a zip to any [`std::io::Write`], streaming; [`import`] checks such a
//! zip whole and prepares its statements for another board.

pub mod export;
pub mod import;
pub mod learner;

pub use export::{
    EXPORT_FORMAT, EXPORT_FORMAT_VERSION, ExportCounts, ExportRequest, STATEMENTS_PER_FILE,
    write_export,
};
pub use learner::{
    LearnerData, LearnerIdentity, LearnerSources, LearnerStatements, STATEMENT_PAGE, rule_name,
};

/// Why a learner's data could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The roster knows no user of that `sourcedId` (a 404 over HTTP).
    #[error("the roster has no user {0:?}")]
    UnknownLearner(String),
    #[error("store: {0}")]
    Store(#[from] lrs_store::StoreError),
    /// Writing the output failed (over HTTP: the client went away, or the zip could not be
    /// written).
    #[error("output: {0}")]
    Output(String),
}

/// [`LifecycleError`]'s kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleErrorKind {
    UnknownLearner,
    Store,
    Output,
}

impl LifecycleError {
    pub fn kind(&self) -> LifecycleErrorKind {
        match self {
            LifecycleError::UnknownLearner(_) => LifecycleErrorKind::UnknownLearner,
            LifecycleError::Store(_) => LifecycleErrorKind::Store,
            LifecycleError::Output(_) => LifecycleErrorKind::Output,
        }
    }
}

impl From<std::io::Error> for LifecycleError {
    fn from(e: std::io::Error) -> LifecycleError {
        LifecycleError::Output(e.to_string())
    }
}

impl From<zip::result::ZipError> for LifecycleError {
    fn from(e: zip::result::ZipError) -> LifecycleError {
        LifecycleError::Output(e.to_string())
    }
}
