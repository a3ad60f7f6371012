//! The roster tables (schema/postgres/003_studylog.sql): versions and records.

use bytes::Bytes;
use deadpool_postgres::Object;

use super::unavailable;
use crate::studylog::{RecordOutcome, record_outcomes, version_taken};
use crate::{RosterChangeRow, RosterRecordRow, RosterVersionRow, StoreError, StoreErrorKind};

/// One transaction: the version row first (`ON CONFLICT DO NOTHING`: a number another import
/// holds, or is writing, is taken), then the check that it follows the highest number held,
/// then the records.
pub(super) async fn commit_roster(
    client: &mut Object,
    tenant: &str,
    version: &RosterVersionRow,
    changes: &[RosterChangeRow],
) -> Result<(), StoreError> {
    let Ok(number) = i32::try_from(version.number) else {
        return Err(version_taken(tenant, version.number, None));
    };
    if number < 1 {
        return Err(version_taken(tenant, version.number, None));
    }
    let tx = client.transaction().await.map_err(unavailable)?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO roster_versions (tenant, number, imported_at, body) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(unavailable)?;
    let inserted = tx
        .execute(
            &insert,
            &[&tenant, &number, &version.imported_at, &&version.body[..]],
        )
        .await
        .map_err(unavailable)?;
    if inserted == 0 {
        return Err(version_taken(tenant, version.number, Some(version.number)));
    }
    let previous = tx
        .prepare_cached(
            "SELECT number FROM roster_versions WHERE tenant = $1 AND number < $2 \
             ORDER BY number DESC LIMIT 1",
        )
        .await
        .map_err(unavailable)?;
    let held: Option<i32> = tx
        .query_opt(&previous, &[&tenant, &number])
        .await
        .map_err(unavailable)?
        .map(|row| row.get(0));
    if held.unwrap_or(0) != number - 1 {
        // Dropping the transaction rolls it back.
        return Err(version_taken(
            tenant,
            version.number,
            held.map(|n| n as u32),
        ));
    }

    let (mut kinds, mut ids, mut records, mut removals) = (vec![], vec![], vec![], vec![]);
    let (mut removed_kinds, mut removed_ids, mut removed) = (vec![], vec![], vec![]);
    for ((kind, sourced_id), outcome) in record_outcomes(changes) {
        match outcome {
            RecordOutcome::Write { record, removal } => {
                kinds.push(i16::from(kind));
                ids.push(sourced_id.as_bytes());
                records.push(&record[..]);
                removals.push(removal.map(|r| &r[..]));
            }
            RecordOutcome::RemoveHeld { removal } => {
                removed_kinds.push(i16::from(kind));
                removed_ids.push(sourced_id.as_bytes());
                removed.push(&removal[..]);
            }
        }
    }
    if !kinds.is_empty() {
        let upsert = tx
            .prepare_cached(
                "INSERT INTO roster_records (tenant, kind, sourced_id, record, removal) \
                 SELECT $1, * FROM UNNEST($2::int2[], $3::bytea[], $4::bytea[], $5::bytea[]) \
                 ON CONFLICT (tenant, kind, sourced_id) DO UPDATE \
                 SET record = excluded.record, removal = excluded.removal",
            )
            .await
            .map_err(unavailable)?;
        tx.execute(&upsert, &[&tenant, &kinds, &ids, &records, &removals])
            .await
            .map_err(unavailable)?;
    }
    if !removed_kinds.is_empty() {
        // Only records held are marked; the update keeps their data.
        let mark = tx
            .prepare_cached(
                "UPDATE roster_records AS r SET removal = u.removal \
                 FROM UNNEST($2::int2[], $3::bytea[], $4::bytea[]) AS u(kind, sourced_id, removal) \
                 WHERE r.tenant = $1 AND r.kind = u.kind AND r.sourced_id = u.sourced_id",
            )
            .await
            .map_err(unavailable)?;
        tx.execute(&mark, &[&tenant, &removed_kinds, &removed_ids, &removed])
            .await
            .map_err(unavailable)?;
    }
    let insert = tx
        .prepare_cached("INSERT INTO study_tenants (tenant) VALUES ($1) ON CONFLICT DO NOTHING")
        .await
        .map_err(unavailable)?;
    tx.execute(&insert, &[&tenant]).await.map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

pub(super) async fn roster_versions(
    client: &Object,
    tenant: &str,
) -> Result<Vec<RosterVersionRow>, StoreError> {
    let select = client
        .prepare_cached(
            "SELECT number, imported_at, body FROM roster_versions \
             WHERE tenant = $1 AND number >= 1 ORDER BY number",
        )
        .await
        .map_err(unavailable)?;
    Ok(client
        .query(&select, &[&tenant])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| RosterVersionRow {
            number: row.get::<_, i32>(0) as u32,
            imported_at: row.get(1),
            body: Bytes::copy_from_slice(row.get(2)),
        })
        .collect())
}

/// Every kind's partition of the tenant (`kind = ANY` of all 256: the store does not know which
/// kinds a roster uses).
pub(super) async fn roster_records(
    client: &Object,
    tenant: &str,
) -> Result<Vec<RosterRecordRow>, StoreError> {
    let kinds: Vec<i16> = (0..=255).collect();
    let select = client
        .prepare_cached(
            "SELECT kind, sourced_id, record, removal FROM roster_records \
             WHERE tenant = $1 AND kind = ANY($2)",
        )
        .await
        .map_err(unavailable)?;
    client
        .query(&select, &[&tenant, &kinds])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| {
            let corrupt = |what: &str| {
                StoreError::new(
                    StoreErrorKind::Corrupt,
                    format!("postgres roster record: {what}"),
                )
            };
            let removal: Option<&[u8]> = row.get(3);
            Ok(RosterRecordRow {
                kind: u8::try_from(row.get::<_, i16>(0)).map_err(|_| corrupt("kind"))?,
                sourced_id: String::from_utf8(row.get::<_, &[u8]>(1).to_vec())
                    .map_err(|_| corrupt("sourcedId is not UTF-8"))?,
                record: Bytes::copy_from_slice(row.get(2)),
                removal: removal.map(Bytes::copy_from_slice),
            })
        })
        .collect()
}
