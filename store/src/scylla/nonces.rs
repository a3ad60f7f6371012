//! The `lti_nonces` table (schema/cql/005_lti_nonces.cql): a lightweight transaction per
//! launch, the row living (TTL) until its token expires.

use super::documents::applied;
use super::{Inner, driver_error};
use crate::StoreError;

pub(super) async fn use_once(
    db: &Inner,
    nonce: &str,
    until: i64,
    now: i64,
) -> Result<bool, StoreError> {
    // A TTL of at least a second: a nonce expiring now is still refused once more this second.
    let ttl = i32::try_from((until - now).max(1)).unwrap_or(i32::MAX);
    let result = db
        .session
        .query_unpaged(
            "INSERT INTO lti_nonces (nonce, expires) VALUES (?, ?) IF NOT EXISTS USING TTL ?",
            (nonce, until, ttl),
        )
        .await
        .map_err(driver_error)?;
    applied(result)
}
