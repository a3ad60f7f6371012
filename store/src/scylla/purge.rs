//! Real deletion ([`crate::PurgeStore`]) on ScyllaDB: the same rows PostgreSQL deletes
//! (`postgres/purge.rs`), each by its whole primary key (no `ALLOW FILTERING`, no range
//! deletes across partitions). ScyllaDB deletes by writing tombstones: the bytes leave the
//! SSTables at compaction after `gc_grace_seconds` (docs/lifecycle.md).

use lrs_schema::envelope::Key16;

use super::statements::rows;
use super::{Inner, driver_error};
use crate::layout::wide::utc_month;
use crate::{PurgeCounts, StoreError};

/// Deletes dictionary entries and their `terms_by_time` rows (found by the `first_seen` the
/// entry held): the listing first, so a crash leaves at worst an entry a later purge finds.
pub(super) async fn purge_terms(
    db: &Inner,
    tenant: &str,
    dim: u8,
    keys: &[Key16],
) -> Result<PurgeCounts, StoreError> {
    let mut counts = PurgeCounts::default();
    let dim = dim as i8;
    for key in keys {
        let held = db
            .session
            .execute_unpaged(&db.prepared.select_term, (tenant, dim, key.0.as_slice()))
            .await
            .map_err(driver_error)?;
        let Some((_, first_seen)) = rows::<(String, i64)>(held)?.into_iter().next() else {
            continue;
        };
        db.session
            .query_unpaged(
                "DELETE FROM terms_by_time \
                 WHERE tenant = ? AND month = ? AND first_seen = ? AND dim = ? AND term_key = ?",
                (
                    tenant,
                    utc_month(first_seen),
                    first_seen,
                    dim,
                    key.0.as_slice(),
                ),
            )
            .await
            .map_err(driver_error)?;
        db.session
            .query_unpaged(
                "DELETE FROM terms WHERE tenant = ? AND dim = ? AND term_key = ?",
                (tenant, dim, key.0.as_slice()),
            )
            .await
            .map_err(driver_error)?;
        counts.other_rows += 2;
    }
    Ok(counts)
}
