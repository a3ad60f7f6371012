//! Errors of the store seam.

/// What went wrong, coarse enough to map to an HTTP status and to tell ingest whether retrying
/// can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// A document precondition (`If-Match`, `If-None-Match`) did not hold.
    PreconditionFailed,
    /// The backend cannot be reached or written *for now* (down, overloaded, out of disk):
    /// retrying the same call later can succeed.
    Unavailable,
    /// The backend can never take this input: a key or value beyond its limits, a value its
    /// types refuse, a panic of the backend on it. Retrying the same call fails the same way, so
    /// ingest isolates the rows that cause it and quarantines them rather than retrying.
    Rejected,
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

    /// A [`StoreErrorKind::Rejected`] error.
    pub fn rejected(message: impl Into<String>) -> Self {
        StoreError::new(StoreErrorKind::Rejected, message)
    }

    /// A panic caught at the seam, while the backend worked on one call's input: the same input
    /// panics again, so it is [`StoreErrorKind::Rejected`].
    pub fn from_panic(context: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        StoreError::rejected(format!("{context} panicked: {what}"))
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The message without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_a_rejection_that_keeps_its_message() {
        let payload = std::panic::catch_unwind(|| panic!("keys can be 65535 bytes in length"))
            .expect_err("it panicked");
        let err = StoreError::from_panic("fjall batch", payload.as_ref());
        assert_eq!(err.kind(), StoreErrorKind::Rejected);
        assert_eq!(
            err.message(),
            "fjall batch panicked: keys can be 65535 bytes in length"
        );
        let payload = std::panic::catch_unwind(|| panic!("{} bytes", 70_000)).expect_err("panic");
        let err = StoreError::from_panic("merge", payload.as_ref());
        assert_eq!(err.message(), "merge panicked: 70000 bytes");
    }
}
