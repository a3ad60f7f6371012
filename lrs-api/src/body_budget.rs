//! `BodyBudget`: how many bytes of request bodies the process holds in memory, bounded globally
//! and per credential.
//!
//! Every request body is read into memory whole (the statements of a batch are validated and
//! submitted together; a document is written as one value), so without a bound a client could
//! pin memory by opening connections and sending bodies it never finishes. Each body read takes a
//! [`BodyReservation`] first: what `Content-Length` announces, at once, or chunk by chunk for a
//! chunked body. The reservation lives as long as the bytes do (through validation and the
//! write) and gives its bytes back when dropped. Beyond either bound a new body is refused with
//! 503 + `Retry-After` rather than read.
//!
//! The per-credential bound keeps one tool (or one stolen key) from taking the whole budget:
//! bodies are counted per [`Identity`], and bodies read before their request is authenticated
//! (the 1.0.3 alternate request syntax carries its credentials inside the body) share one
//! anonymous bucket under the same bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lrs_auth::Identity;
use parking_lot::Mutex;

use crate::error::{ApiError, Backpressure};

/// The bounds and what is held against them. Share one per process.
pub struct BodyBudget {
    /// The most bytes of bodies held at once, all requests together.
    limit: usize,
    /// The most one credential (or the anonymous bucket) may hold; 0: no per-credential bound.
    per_credential: usize,
    held: AtomicUsize,
    /// Bytes held per credential; `None` is the anonymous bucket. Only non-zero entries are kept.
    by_credential: Mutex<HashMap<Option<Identity>, usize>>,
}

impl BodyBudget {
    pub fn new(limit: usize, per_credential: usize) -> Arc<BodyBudget> {
        Arc::new(BodyBudget {
            limit,
            per_credential,
            held: AtomicUsize::new(0),
            by_credential: Mutex::new(HashMap::new()),
        })
    }

    /// Bytes of request bodies held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// The global bound.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// An empty reservation for a body of `holder` (`None` before authentication).
    pub fn reserve(self: &Arc<Self>, holder: Option<Identity>) -> BodyReservation {
        BodyReservation {
            budget: self.clone(),
            holder,
            bytes: 0,
        }
    }

    /// Takes `bytes` more for `holder`, or refuses without taking anything.
    fn take(&self, holder: &Option<Identity>, bytes: usize) -> Result<(), ApiError> {
        let taken = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.limit)
            });
        if taken.is_err() {
            return Err(ApiError::backpressure(
                Backpressure::BodyMemory,
                format!(
                    "the LRS holds {} bytes of request bodies, its limit (server.max_body_memory_bytes); retry later",
                    self.limit
                ),
            ));
        }
        if self.per_credential == 0 {
            return Ok(());
        }
        let mut by_credential = self.by_credential.lock();
        let current = by_credential.get(holder).copied().unwrap_or(0);
        match current.checked_add(bytes) {
            Some(total) if total <= self.per_credential => {
                by_credential.insert(holder.clone(), total);
                Ok(())
            }
            _ => {
                drop(by_credential);
                self.held.fetch_sub(bytes, Ordering::AcqRel);
                Err(ApiError::backpressure(
                    Backpressure::CredentialBodyMemory,
                    format!(
                        "this credential's requests hold {} bytes of bodies, the limit per credential (server.max_body_memory_per_credential_bytes); retry later",
                        self.per_credential
                    ),
                ))
            }
        }
    }

    fn give_back(&self, holder: &Option<Identity>, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.held.fetch_sub(bytes, Ordering::AcqRel);
        if self.per_credential == 0 {
            return;
        }
        let mut by_credential = self.by_credential.lock();
        if let Some(current) = by_credential.get_mut(holder) {
            *current = current.saturating_sub(bytes);
            if *current == 0 {
                by_credential.remove(holder);
            }
        }
    }
}

/// Bytes of one body held against the [`BodyBudget`]; given back when dropped.
pub struct BodyReservation {
    budget: Arc<BodyBudget>,
    holder: Option<Identity>,
    bytes: usize,
}

impl BodyReservation {
    /// Reserves `bytes` more (503 when a bound would be passed; nothing is taken then).
    pub fn grow(&mut self, bytes: usize) -> Result<(), ApiError> {
        self.budget.take(&self.holder, bytes)?;
        self.bytes += bytes;
        Ok(())
    }

    /// Gives back what is held beyond `bytes`.
    pub fn shrink_to(&mut self, bytes: usize) {
        if bytes < self.bytes {
            self.budget.give_back(&self.holder, self.bytes - bytes);
            self.bytes = bytes;
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        self.budget.give_back(&self.holder, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiErrorKind;

    fn identity(name: &str) -> Option<Identity> {
        Some(Identity {
            home_page: "https://lrs.example.jp".into(),
            name: name.into(),
        })
    }

    #[test]
    fn bodies_are_held_until_their_reservations_drop_and_refused_beyond_the_limit() {
        let budget = BodyBudget::new(100, 0);
        let mut first = budget.reserve(identity("a"));
        first.grow(60).unwrap();
        let mut second = budget.reserve(identity("b"));
        let refused = second.grow(41).unwrap_err();
        assert_eq!(refused.kind(), ApiErrorKind::Unavailable);
        assert_eq!(budget.held(), 60, "a refusal takes nothing");
        second.grow(40).unwrap();
        assert_eq!(budget.held(), 100);
        drop(first);
        assert_eq!(budget.held(), 40);
        second.shrink_to(10);
        assert_eq!(budget.held(), 10);
        drop(second);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn one_credential_is_bounded_by_its_share_while_others_and_the_anonymous_bucket_are_not() {
        let budget = BodyBudget::new(100, 50);
        let mut a = budget.reserve(identity("a"));
        a.grow(50).unwrap();
        let mut more_a = budget.reserve(identity("a"));
        assert!(more_a.grow(1).is_err());
        assert_eq!(
            budget.held(),
            50,
            "a refused share is given back globally too"
        );
        let mut b = budget.reserve(identity("b"));
        b.grow(30).unwrap();
        let mut anonymous = budget.reserve(None);
        assert!(anonymous.grow(21).is_err(), "the global limit still holds");
        anonymous.grow(20).unwrap();
        drop(a);
        more_a.grow(50).unwrap();
        drop((more_a, b, anonymous));
        assert_eq!(budget.held(), 0);
        assert!(budget.by_credential.lock().is_empty());
    }
}
