//! The LTI launch nonces already used, shared by every instance of a deployment (LTI 1.3
//! Security Framework §5.1.3 via OIDC Core §3.1.3.7: a tool accepts an id_token's nonce once).
//!
//! Each process also remembers the nonces it accepted (`lrs-api`'s `NonceCache`); that is the
//! whole check in the embedded deployment, where one process serves every launch. Several
//! query instances behind a load balancer share this table instead, so a token replayed to
//! another instance within its lifetime is refused there too.

use async_trait::async_trait;

use crate::StoreError;

/// The launch nonces used, with the Unix second each may be forgotten (its token's expiry plus
/// the leeway).
#[async_trait]
pub trait NonceStore: Send + Sync + 'static {
    /// Records `nonce` as used until `until` (Unix seconds), atomically across every client of
    /// the store: `Ok(true)` the first time, `Ok(false)` while an earlier use has not expired at
    /// `now`. A nonce whose earlier use has expired is accepted again (its token has expired
    /// too, so the launch check refuses it before this is asked).
    async fn use_nonce_once(&self, nonce: &str, until: i64, now: i64) -> Result<bool, StoreError>;
}
