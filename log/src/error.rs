//! Errors of the log seam.

/// What went wrong, coarse enough to map to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogErrorKind {
    /// The producer's bounded buffer is full; the caller should answer 503 with `Retry-After`.
    Backpressure,
    /// The log cannot be reached or written (disk error, broker down).
    Unavailable,
    /// Stored data is damaged beyond the torn tail that recovery repairs.
    Corrupt,
    /// The log was shut down.
    Closed,
    /// A configuration problem (missing topic, bad path).
    Config,
}

/// An error of the log seam.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct LogError {
    kind: LogErrorKind,
    message: String,
}

impl LogError {
    pub fn new(kind: LogErrorKind, message: impl Into<String>) -> Self {
        LogError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> LogErrorKind {
        self.kind
    }

    /// What went wrong, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn io(context: &str, err: std::io::Error) -> Self {
        LogError::new(LogErrorKind::Unavailable, format!("{context}: {err}"))
    }
}
