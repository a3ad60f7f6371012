//! Errors of the store seam.

/// What went wrong, coarse enough to map to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// A document precondition (`If-Match`, `If-None-Match`) did not hold.
    PreconditionFailed,
    /// The backend cannot be reached or written.
    Unavailable,
    /// Stored data could not be decoded.
    Corrupt,
}

/// An error of the store seam.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}
