//! The study-log tables (schema/cql/003_studylog.cql): facts, dictionaries, study tenants and
//! rosters. ScyllaDB has no multi-table transaction, so (docs/scylla.md):
//!
//! - **Facts** are plain idempotent upserts keyed by (tenant, day, actor, statement id), written
//!   with the index entries, before the `statements` row (a crash half-way replays them); a fact
//!   written twice is one row. A row whose id a stored or same-batch `voided` entry targets gets
//!   no fact.
//! - **Month summaries are not kept**: `month_summaries` sums the month's facts when it is read,
//!   so there is no counter to double-count under replays, and nothing to recompute on voiding
//!   (`void_facts` only deletes facts). The `month_summaries` table stays empty on ScyllaDB.
//! - **Dictionary entries** are read first, and an entry not held is listed in `terms_by_time`
//!   and then inserted with `IF NOT EXISTS`, so the first `first_seen` is kept; a crash between
//!   the two leaves an extra `terms_by_time` row, which a reader ignores.
//! - **Roster imports** take a per-tenant lock (row `number = 0` of `roster_versions`, inserted
//!   `IF NOT EXISTS` with a TTL), check the number against the highest held at `LOCAL_SERIAL`,
//!   write the records, insert the version row `IF NOT EXISTS` last, and release the lock. An
//!   import that finds the lock taken, or its number taken or skipped, writes nothing. An import
//!   that fails half-way (a crash, a timeout) leaves the records it wrote visible to instances
//!   that load the roster afterwards, without a version row, until it is retried.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bytes::Bytes;
use futures::{FutureExt, TryStreamExt};
use lrs_schema::envelope::Key16;
use lrs_schema::{MonthSummary, StudyFact, civil_date};
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::documents::applied;
use super::statements::{Write, read_all, rows, run_all, write_partition};
use super::{Inner, corrupt, driver_error, next_row_error};
use crate::layout::wide::{term_months, utc_month};
use crate::studylog::{
    FACT_PAIRS_MAX, RecordOutcome, check_term_dims, month_days, record_outcomes, term_dims,
    version_taken,
};
use crate::{
    FactRow, Micros, MonthNumber, RosterChangeRow, RosterRecordRow, RosterVersionRow, StatementRow,
    StoreError, StoreErrorKind, TermRow, now_micros,
};

/// How long a roster import's lock lives if its holder dies before releasing it.
const ROSTER_LOCK_TTL_SECONDS: i32 = 900;

/// A `facts` row as written: tenant, day, actor, statement id, encoded fact.
type FactValues<'a> = (&'a str, i32, Vec<u8>, Uuid, Vec<u8>);

fn key16(bytes: &[u8]) -> Result<Key16, StoreError> {
    bytes
        .try_into()
        .map(Key16)
        .map_err(|_| corrupt(format!("actor of {} bytes, expected 16", bytes.len())))
}

/// The writes of the facts of `rows` (and of their tenants in `study_tenants`): one unlogged
/// batch per (tenant, day) partition. Rows a stored voided entry targets are looked up first.
pub(super) async fn fact_writes<'a>(
    db: &'a Inner,
    statements: &'a [StatementRow],
) -> Result<Vec<Write<'a>>, StoreError> {
    let voided_here: HashSet<(&str, Uuid)> = statements
        .iter()
        .filter_map(|r| r.keys.voids.map(|target| (r.tenant.as_str(), target)))
        .collect();
    let candidates: Vec<&StatementRow> = statements
        .iter()
        .filter(|r| r.study.is_some() && !voided_here.contains(&(r.tenant.as_str(), r.id)))
        .collect();
    let lookups = candidates
        .iter()
        .map(|row| {
            async move {
                let result = db
                    .session
                    .execute_unpaged(&db.prepared.select_voided, (row.tenant.as_str(), row.id))
                    .await
                    .map_err(driver_error)?;
                Ok::<bool, StoreError>(!rows::<(Uuid,)>(result)?.is_empty())
            }
            .boxed()
        })
        .collect();
    let voided = read_all(db, lookups).await?;

    let mut partitions: BTreeMap<(&str, i32), Vec<FactValues<'_>>> = BTreeMap::new();
    let mut tenants: BTreeSet<&str> = BTreeSet::new();
    for (row, voided) in candidates.into_iter().zip(voided) {
        let Some(study) = &row.study else { continue };
        if voided {
            continue;
        }
        tenants.insert(&row.tenant);
        partitions
            .entry((&row.tenant, study.day))
            .or_default()
            .push((
                &row.tenant,
                study.day,
                study.fact.actor.0.to_vec(),
                row.id,
                study.fact.encode(),
            ));
    }
    let p = &db.prepared;
    let mut writes: Vec<Write<'a>> = partitions
        .into_values()
        .map(|values| write_partition(db, &p.insert_fact, values).boxed())
        .collect();
    for tenant in tenants {
        writes.push(write_partition(db, &p.insert_study_tenant, vec![(tenant,)]).boxed());
    }
    Ok(writes)
}

/// The facts of one (tenant, day) partition, of one actor or of all.
async fn facts_of_day(
    db: &Inner,
    tenant: &str,
    day: i32,
    actor: Option<&Key16>,
) -> Result<Vec<(Key16, FactRow)>, StoreError> {
    let p = &db.prepared;
    let pager = match actor {
        Some(actor) => {
            db.session
                .execute_iter(
                    p.select_facts_of_actor.clone(),
                    (tenant, day, actor.0.as_slice()),
                )
                .await
        }
        None => {
            db.session
                .execute_iter(p.select_facts_of_day.clone(), (tenant, day))
                .await
        }
    }
    .map_err(driver_error)?;
    let mut rows = pager.rows_stream::<(Vec<u8>, Uuid, Vec<u8>)>()?;
    let mut out = Vec::new();
    while let Some((actor, id, fact)) = rows.try_next().await.map_err(next_row_error)? {
        let fact = StudyFact::decode(&fact).map_err(|e| corrupt(format!("fact: {e}")))?;
        out.push((key16(&actor)?, FactRow { day, id, fact }));
    }
    Ok(out)
}

/// One request per (day, actor) when there are few pairs, else one per day, filtered.
async fn facts_with_actors(
    db: &Inner,
    tenant: &str,
    days: std::ops::Range<i32>,
    actors: Option<&[Key16]>,
) -> Result<Vec<(Key16, FactRow)>, StoreError> {
    if days.is_empty() || actors.is_some_and(<[Key16]>::is_empty) {
        return Ok(Vec::new());
    }
    let count = days.len();
    let reads: Vec<_> = match actors {
        Some(actors) if actors.len().saturating_mul(count) <= FACT_PAIRS_MAX => days
            .flat_map(|day| {
                actors
                    .iter()
                    .map(move |actor| facts_of_day(db, tenant, day, Some(actor)).boxed())
            })
            .collect(),
        _ => days
            .map(|day| facts_of_day(db, tenant, day, None).boxed())
            .collect(),
    };
    let wanted: Option<HashSet<&Key16>> = actors.map(|a| a.iter().collect());
    Ok(read_all(db, reads)
        .await?
        .into_iter()
        .flatten()
        .filter(|(actor, _)| wanted.as_ref().is_none_or(|w| w.contains(actor)))
        .collect())
}

pub(super) async fn facts(
    db: &Inner,
    tenant: &str,
    first_day: i32,
    last_day: i32,
    actors: Option<&[Key16]>,
) -> Result<Vec<FactRow>, StoreError> {
    Ok(facts_with_actors(db, tenant, first_day..last_day, actors)
        .await?
        .into_iter()
        .map(|(_, fact)| fact)
        .collect())
}

/// The month's facts, summed per actor (see the module documentation).
pub(super) async fn month_summaries(
    db: &Inner,
    tenant: &str,
    month: MonthNumber,
    actors: Option<&[Key16]>,
) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
    let mut out: HashMap<Key16, MonthSummary> = HashMap::new();
    for (actor, row) in facts_with_actors(db, tenant, month_days(month), actors).await? {
        out.entry(actor)
            .or_default()
            .add(&row.fact, civil_date(row.day).2);
    }
    Ok(out.into_iter().collect())
}

/// Deletes the facts (idempotent deletes by primary key); the summaries follow, being sums of
/// the facts read.
pub(super) async fn void_facts(
    db: &Inner,
    tenant: &str,
    targets: &[(i32, Key16, Uuid)],
) -> Result<(), StoreError> {
    let writes = targets
        .iter()
        .map(|(day, actor, id)| {
            let values = (tenant, *day, actor.0.to_vec(), *id);
            write_partition(db, &db.prepared.delete_fact, vec![values]).boxed()
        })
        .collect();
    run_all(db, writes).await
}

pub(super) async fn record_terms(db: &Inner, terms: &[TermRow]) -> Result<(), StoreError> {
    check_term_dims(terms)?;
    let mut unique: BTreeMap<(&str, u8, Key16), &TermRow> = BTreeMap::new();
    for term in terms {
        unique
            .entry((&term.tenant, term.dim, term.key))
            .or_insert(term);
    }
    let writes = unique
        .into_values()
        .map(|term| {
            async move {
                let p = &db.prepared;
                let key = (term.tenant.as_str(), term.dim as i8, term.key.0.as_slice());
                let held = db
                    .session
                    .execute_unpaged(&p.select_term, key)
                    .await
                    .map_err(driver_error)?;
                if !rows::<(String, i64)>(held)?.is_empty() {
                    return Ok(());
                }
                // Listed by time first: a crash before the insert leaves only a row a reader
                // ignores, never an entry no reader finds.
                let by_time = (
                    term.tenant.as_str(),
                    utc_month(term.first_seen),
                    term.first_seen,
                    term.dim as i8,
                    term.key.0.as_slice(),
                );
                db.session
                    .execute_unpaged(&p.insert_term_by_time, by_time)
                    .await
                    .map_err(driver_error)?;
                let values = (
                    term.tenant.as_str(),
                    term.dim as i8,
                    term.key.0.as_slice(),
                    term.text.as_str(),
                    term.first_seen,
                );
                // Not applied: a concurrent recorder was first, and its `first_seen` stays.
                db.session
                    .execute_unpaged(&p.insert_term_if_absent, values)
                    .await
                    .map_err(driver_error)?;
                Ok(())
            }
            .boxed()
        })
        .collect();
    run_all(db, writes).await
}

/// Every entry of one (tenant, dim) partition.
async fn terms_of_dim(db: &Inner, tenant: &str, dim: u8) -> Result<Vec<TermRow>, StoreError> {
    db.session
        .execute_iter(db.prepared.select_terms_of_dim.clone(), (tenant, dim as i8))
        .await
        .map_err(driver_error)?
        .rows_stream::<(Vec<u8>, String, i64)>()?
        .map_err(next_row_error)
        .and_then(|(key, text, first_seen)| async move {
            Ok(TermRow {
                tenant: tenant.to_owned(),
                dim,
                key: key16(&key)?,
                text,
                first_seen,
            })
        })
        .try_collect()
        .await
}

pub(super) async fn terms(
    db: &Inner,
    tenant: &str,
    since: Option<Micros>,
) -> Result<Vec<TermRow>, StoreError> {
    let Some((since, months)) = since.and_then(|s| term_months(s, now_micros()).map(|m| (s, m)))
    else {
        let reads = term_dims()
            .map(|dim| terms_of_dim(db, tenant, dim).boxed())
            .collect();
        let mut out: Vec<TermRow> = read_all(db, reads).await?.into_iter().flatten().collect();
        if let Some(since) = since {
            out.retain(|t| t.first_seen >= since);
        }
        return Ok(out);
    };
    let reads = months
        .into_iter()
        .map(|month| {
            async move {
                db.session
                    .execute_iter(
                        db.prepared.select_terms_since.clone(),
                        (tenant, month, since),
                    )
                    .await
                    .map_err(driver_error)?
                    .rows_stream::<(i8, Vec<u8>)>()?
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(next_row_error)
            }
            .boxed()
        })
        .collect();
    let listed: BTreeSet<(i8, Vec<u8>)> =
        read_all(db, reads).await?.into_iter().flatten().collect();
    let lookups = listed
        .into_iter()
        .map(|(dim, key)| {
            async move {
                let result = db
                    .session
                    .execute_unpaged(&db.prepared.select_term, (tenant, dim, key.as_slice()))
                    .await
                    .map_err(driver_error)?;
                rows::<(String, i64)>(result)?
                    .pop()
                    .map(|(text, first_seen)| {
                        Ok(TermRow {
                            tenant: tenant.to_owned(),
                            dim: dim as u8,
                            key: key16(&key)?,
                            text,
                            first_seen,
                        })
                    })
                    .transpose()
            }
            .boxed()
        })
        .collect();
    Ok(read_all(db, lookups).await?.into_iter().flatten().collect())
}

/// A scan of the whole (small) table: one row per tenant.
pub(super) async fn study_tenants(db: &Inner) -> Result<Vec<String>, StoreError> {
    let mut tenants: Vec<String> = db
        .session
        .execute_iter(db.prepared.select_study_tenants.clone(), ())
        .await
        .map_err(driver_error)?
        .rows_stream::<(String,)>()?
        .map_ok(|(tenant,)| tenant)
        .try_collect()
        .await
        .map_err(next_row_error)?;
    tenants.sort();
    tenants.dedup();
    Ok(tenants)
}

/// Runs a lightweight transaction: whether it applied.
async fn conditional<V: scylla::serialize::row::SerializeRow>(
    db: &Inner,
    statement: &PreparedStatement,
    values: V,
) -> Result<bool, StoreError> {
    applied(
        db.session
            .execute_unpaged(statement, values)
            .await
            .map_err(driver_error)?,
    )
}

/// See the module documentation: lock, check, records, version row, unlock.
pub(super) async fn commit_roster(
    db: &Inner,
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
    let p = &db.prepared;
    let owner = Uuid::new_v4().as_bytes().to_vec();
    let lock = (
        tenant,
        now_micros(),
        owner.as_slice(),
        ROSTER_LOCK_TTL_SECONDS,
    );
    if !conditional(db, &p.lock_roster, lock).await? {
        return Err(StoreError::new(
            StoreErrorKind::PreconditionFailed,
            format!("another roster import of {tenant} is being written"),
        ));
    }
    let result = commit_locked(db, tenant, number, version, changes).await;
    // Released whatever happened (else it expires with its TTL).
    let released = conditional(db, &p.unlock_roster, (tenant, owner.as_slice())).await;
    if let Err(e) = released {
        tracing::warn!(tenant, error = %e, "a roster import lock was not released");
    }
    result
}

async fn commit_locked(
    db: &Inner,
    tenant: &str,
    number: i32,
    version: &RosterVersionRow,
    changes: &[RosterChangeRow],
) -> Result<(), StoreError> {
    let p = &db.prepared;
    let result = db
        .session
        .execute_unpaged(&p.select_last_roster_version, (tenant,))
        .await
        .map_err(driver_error)?;
    let held = rows::<(i32,)>(result)?.pop().map(|(n,)| n);
    if held.unwrap_or(0) != number - 1 {
        return Err(version_taken(
            tenant,
            version.number,
            held.map(|n| n as u32),
        ));
    }
    let writes = record_outcomes(changes)
        .into_iter()
        .map(|((kind, sourced_id), outcome)| {
            async move {
                let (record, removal) = match outcome {
                    RecordOutcome::Write { record, removal } => {
                        (record.to_vec(), removal.map(|r| r.to_vec()))
                    }
                    RecordOutcome::RemoveHeld { removal } => {
                        let result = db
                            .session
                            .execute_unpaged(
                                &p.select_roster_record,
                                (tenant, kind as i8, sourced_id),
                            )
                            .await
                            .map_err(driver_error)?;
                        match rows::<(Option<Vec<u8>>,)>(result)?.pop() {
                            Some((Some(record),)) => (record, Some(removal.to_vec())),
                            _ => return Ok(()),
                        }
                    }
                };
                // A `None` removal writes null: it clears the removal of a record written again.
                let values = (tenant, kind as i8, sourced_id, record, removal);
                db.session
                    .execute_unpaged(&p.upsert_roster_record, values)
                    .await
                    .map_err(driver_error)?;
                Ok(())
            }
            .boxed()
        })
        .collect();
    run_all(db, writes).await?;
    let row = (tenant, number, version.imported_at, &version.body[..]);
    if !conditional(db, &p.insert_roster_version, row).await? {
        // Only when the lock expired and another import took the number meanwhile.
        return Err(version_taken(tenant, version.number, Some(version.number)));
    }
    db.session
        .execute_unpaged(&p.insert_study_tenant, (tenant,))
        .await
        .map_err(driver_error)?;
    Ok(())
}

pub(super) async fn roster_versions(
    db: &Inner,
    tenant: &str,
) -> Result<Vec<RosterVersionRow>, StoreError> {
    db.session
        .execute_iter(db.prepared.select_roster_versions.clone(), (tenant,))
        .await
        .map_err(driver_error)?
        .rows_stream::<(i32, i64, Vec<u8>)>()?
        .map_ok(|(number, imported_at, body)| RosterVersionRow {
            number: number as u32,
            imported_at,
            body: Bytes::from(body),
        })
        .try_collect()
        .await
        .map_err(next_row_error)
}

/// Every kind's partition of the tenant (the store does not know which kinds a roster uses).
pub(super) async fn roster_records(
    db: &Inner,
    tenant: &str,
) -> Result<Vec<RosterRecordRow>, StoreError> {
    let reads = (0..=u8::MAX)
        .map(|kind| {
            async move {
                db.session
                    .execute_iter(
                        db.prepared.select_roster_records.clone(),
                        (tenant, kind as i8),
                    )
                    .await
                    .map_err(driver_error)?
                    .rows_stream::<(String, Option<Vec<u8>>, Option<Vec<u8>>)>()?
                    .try_filter_map(|(sourced_id, record, removal)| async move {
                        Ok(record.map(|record| RosterRecordRow {
                            kind,
                            sourced_id,
                            record: Bytes::from(record),
                            removal: removal.map(Bytes::from),
                        }))
                    })
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(next_row_error)
            }
            .boxed()
        })
        .collect();
    Ok(read_all(db, reads).await?.into_iter().flatten().collect())
}
