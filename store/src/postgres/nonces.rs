//! The `lti_nonces` table (schema/postgres/005_lti_nonces.sql).

use std::sync::atomic::{AtomicI64, Ordering};

use deadpool_postgres::Object;

use super::unavailable;
use crate::StoreError;

/// Expired rows are deleted by the first use after this many seconds since the last sweep (of
/// this process): the table holds about one token lifetime of launches.
const SWEEP_EVERY_SECONDS: i64 = 600;

static LAST_SWEEP: AtomicI64 = AtomicI64::new(0);

/// One statement decides: a new nonce is inserted, an expired one is overwritten, and an
/// unexpired one is left alone and returns no row.
pub(super) async fn use_once(
    client: &Object,
    nonce: &str,
    until: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let claim = client
        .prepare_cached(
            "INSERT INTO lti_nonces (nonce, expires) VALUES ($1, $2) \
             ON CONFLICT (nonce) DO UPDATE SET expires = EXCLUDED.expires \
             WHERE lti_nonces.expires <= $3 RETURNING 1",
        )
        .await
        .map_err(unavailable)?;
    let accepted = client
        .query_opt(&claim, &[&nonce, &until, &now])
        .await
        .map_err(unavailable)?
        .is_some();
    let last = LAST_SWEEP.load(Ordering::Relaxed);
    if now - last >= SWEEP_EVERY_SECONDS
        && LAST_SWEEP
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let sweep = client
            .prepare_cached("DELETE FROM lti_nonces WHERE expires <= $1")
            .await
            .map_err(unavailable)?;
        client.execute(&sweep, &[&now]).await.map_err(unavailable)?;
    }
    Ok(accepted)
}
