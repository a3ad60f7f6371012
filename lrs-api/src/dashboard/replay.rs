//! The launch nonces already used: an id_token is accepted once (OIDC Core §3.1.3.7 via
//! LTI 1.3 Security Framework §5.1.3: the tool must not accept a nonce twice).
//!
//! In this process, each nonce until its token's `exp` (plus the leeway). On a networked store
//! the launch also records the nonce in the table every instance shares
//! ([`lrs_store::NonceStore`]), so a token replayed to another instance is refused there too.

use std::collections::HashMap;

use parking_lot::Mutex;

/// Why a nonce was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum NonceRefused {
    /// Seen before, and its token has not expired.
    Replayed,
    /// The cache is full of unexpired nonces (`lti.max_remembered_nonces`).
    Full,
}

/// Nonces seen, with the Unix second each may be forgotten.
pub struct NonceCache {
    seen: Mutex<HashMap<String, i64>>,
    capacity: usize,
}

impl NonceCache {
    pub fn new(capacity: usize) -> NonceCache {
        NonceCache {
            seen: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Records `nonce` as used until `until`; refused when it was used already.
    pub fn use_once(&self, nonce: &str, until: i64, now: i64) -> Result<(), NonceRefused> {
        let mut seen = self.seen.lock();
        if let Some(&expires) = seen.get(nonce)
            && expires > now
        {
            return Err(NonceRefused::Replayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, &mut expires| expires > now);
            if seen.len() >= self.capacity {
                return Err(NonceRefused::Full);
            }
        }
        seen.insert(nonce.to_owned(), until);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_until_it_expires() {
        let cache = NonceCache::new(10);
        assert_eq!(cache.use_once("n1", 100, 50), Ok(()));
        assert_eq!(cache.use_once("n1", 100, 60), Err(NonceRefused::Replayed));
        assert_eq!(cache.use_once("n2", 100, 60), Ok(()));
        // Forgotten once its token can no longer be presented.
        assert_eq!(cache.use_once("n1", 200, 100), Ok(()));
    }

    #[test]
    fn a_full_cache_drops_expired_nonces_and_refuses_when_none_expired() {
        let cache = NonceCache::new(2);
        cache.use_once("a", 10, 0).unwrap();
        cache.use_once("b", 100, 0).unwrap();
        assert_eq!(cache.use_once("c", 100, 5), Err(NonceRefused::Full));
        assert_eq!(cache.use_once("c", 100, 10), Ok(()));
        assert_eq!(cache.use_once("b", 100, 10), Err(NonceRefused::Replayed));
    }
}
