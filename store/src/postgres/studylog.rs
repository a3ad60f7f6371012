//! The study-log tables (schema/postgres/003_studylog.sql): facts and month summaries,
//! dictionaries, study tenants.
//!
//! Facts are inserted in the statements' transaction with `ON CONFLICT DO NOTHING RETURNING`,
//! and only the facts it returns (those this transaction inserted) are added to their month
//! summaries, additively (`ON CONFLICT DO UPDATE SET x = x + excluded.x`). So replays and
//! concurrent ingest instances never count a fact twice: of two transactions inserting one fact,
//! the second waits for the first and then finds it. `void_facts` locks the summary rows first,
//! then deletes facts and recomputes the summaries from the facts left: an additive upsert that
//! comes later waits for it and adds on top of the recomputed row; one that came earlier holds
//! the lock until its facts are committed, and the recompute then sees them.
//!
//! Every query names whole partition keys (`= ANY` for several) and slices clustering columns,
//! as on Scylla.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use deadpool_postgres::{Object, Transaction};
use lrs_schema::envelope::Key16;
use lrs_schema::{MonthSummary, StudyFact, civil_date, month_number};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::unavailable;
use crate::layout::wide::{term_months, utc_month};
use crate::studylog::{FACT_PAIRS_MAX, check_term_dims, month_days, term_dims};
use crate::{
    FactRow, Micros, MonthNumber, StatementRow, StoreError, StoreErrorKind, TermRow, now_micros,
};

/// A fact's primary key: tenant, day, actor, statement id.
type FactKey<'a> = (&'a str, i32, Key16, Uuid);

/// A summary's primary key: tenant, month, actor.
type SummaryKey<'a> = (&'a str, MonthNumber, Key16);

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, format!("postgres {what}: {error}"))
}

fn key16(bytes: &[u8]) -> Result<Key16, StoreError> {
    bytes
        .try_into()
        .map(Key16)
        .map_err(|_| corrupt("actor", format!("{} bytes, expected 16", bytes.len())))
}

/// Writes the facts of `rows` and adds the ones inserted to their summaries, inside the
/// statements' transaction, after their `voided` rows: a row a stored or same-batch voided
/// entry targets gets no fact.
pub(super) async fn add_facts(
    tx: &Transaction<'_>,
    rows: &[StatementRow],
) -> Result<(), StoreError> {
    let mut candidates: BTreeMap<FactKey<'_>, &StudyFact> = BTreeMap::new();
    for row in rows {
        if let Some(study) = &row.study {
            candidates
                .entry((&row.tenant, study.day, study.fact.actor, row.id))
                .or_insert(&study.fact);
        }
    }
    if candidates.is_empty() {
        return Ok(());
    }
    // The voided rows of this batch are already in the table (same transaction).
    let mut ids_by_tenant: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for (tenant, _, _, id) in candidates.keys() {
        ids_by_tenant.entry(tenant).or_default().push(*id);
    }
    let select_voided = tx
        .prepare_cached("SELECT target FROM voided WHERE tenant = $1 AND target = ANY($2)")
        .await
        .map_err(unavailable)?;
    let mut voided: HashSet<(&str, Uuid)> = HashSet::new();
    for (tenant, ids) in &ids_by_tenant {
        for row in tx
            .query(&select_voided, &[tenant, ids])
            .await
            .map_err(unavailable)?
        {
            voided.insert((tenant, row.get(0)));
        }
    }
    candidates.retain(|(tenant, _, _, id), _| !voided.contains(&(*tenant, *id)));
    if candidates.is_empty() {
        return Ok(());
    }

    // Sorted by key, so concurrent transactions take their locks in one order.
    let mut tenants = Vec::with_capacity(candidates.len());
    let mut days = Vec::with_capacity(candidates.len());
    let mut actors: Vec<&[u8]> = Vec::with_capacity(candidates.len());
    let mut ids = Vec::with_capacity(candidates.len());
    let mut facts = Vec::with_capacity(candidates.len());
    for ((tenant, day, actor, id), fact) in &candidates {
        tenants.push(*tenant);
        days.push(*day);
        actors.push(&actor.0);
        ids.push(*id);
        facts.push(fact.encode());
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO facts (tenant, day, actor, id, fact) \
             SELECT * FROM UNNEST($1::text[], $2::int4[], $3::bytea[], $4::uuid[], $5::bytea[]) \
             ON CONFLICT DO NOTHING RETURNING tenant, day, actor, id",
        )
        .await
        .map_err(unavailable)?;
    let inserted = tx
        .query(&insert, &[&tenants, &days, &actors, &ids, &facts])
        .await
        .map_err(unavailable)?;

    let mut deltas: BTreeMap<SummaryKey<'_>, MonthSummary> = BTreeMap::new();
    for row in &inserted {
        let tenant: &str = row.get(0);
        let day: i32 = row.get(1);
        let actor = key16(row.get(2))?;
        let id: Uuid = row.get(3);
        let Some(((tenant, ..), fact)) = candidates.get_key_value(&(tenant, day, actor, id)) else {
            return Err(corrupt("facts", "an inserted fact that was not written"));
        };
        deltas
            .entry((tenant, month_number(day), actor))
            .or_default()
            .add(fact, civil_date(day).2);
    }
    if deltas.is_empty() {
        return Ok(());
    }
    add_to_summaries(tx, &deltas).await?;
    let tenants: BTreeSet<&str> = deltas.keys().map(|(tenant, ..)| *tenant).collect();
    let tenants: Vec<&str> = tenants.into_iter().collect();
    let insert = tx
        .prepare_cached(
            "INSERT INTO study_tenants (tenant) SELECT * FROM UNNEST($1::text[]) \
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(unavailable)?;
    tx.execute(&insert, &[&tenants])
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// One summary's columns, as the table holds them (counts fit `integer`; `active_days` uses
/// bits 0–30).
struct SummaryColumns<'a> {
    tenants: Vec<&'a str>,
    months: Vec<i32>,
    actors: Vec<&'a [u8]>,
    counts: [Vec<i32>; 4],
    learning_ms: Vec<i64>,
    scaled_sum: Vec<f64>,
    scaled_count: Vec<i32>,
    last_active: Vec<i64>,
    active_days: Vec<i32>,
}

impl<'a> SummaryColumns<'a> {
    fn new<'k: 'a>(
        summaries: impl Iterator<Item = (&'a SummaryKey<'k>, &'a MonthSummary)>,
    ) -> Self {
        let mut c = SummaryColumns {
            tenants: Vec::new(),
            months: Vec::new(),
            actors: Vec::new(),
            counts: Default::default(),
            learning_ms: Vec::new(),
            scaled_sum: Vec::new(),
            scaled_count: Vec::new(),
            last_active: Vec::new(),
            active_days: Vec::new(),
        };
        for ((tenant, month, actor), s) in summaries {
            c.tenants.push(tenant);
            c.months.push(*month);
            c.actors.push(&actor.0);
            for (column, n) in
                c.counts
                    .iter_mut()
                    .zip([s.statements, s.answered, s.correct, s.completions])
            {
                column.push(n as i32);
            }
            c.learning_ms.push(s.learning_ms as i64);
            c.scaled_sum.push(s.scaled_sum);
            c.scaled_count.push(s.scaled_count as i32);
            c.last_active.push(s.last_active);
            c.active_days.push(s.active_days as i32);
        }
        c
    }

    /// The columns as the parameters `$1`–`$12` of [`SUMMARY_ROWS`].
    fn params(&self) -> [&(dyn ToSql + Sync); 12] {
        [
            &self.tenants,
            &self.months,
            &self.actors,
            &self.counts[0],
            &self.counts[1],
            &self.counts[2],
            &self.counts[3],
            &self.learning_ms,
            &self.scaled_sum,
            &self.scaled_count,
            &self.last_active,
            &self.active_days,
        ]
    }
}

/// The rows of a [`SummaryColumns`] bound by [`SummaryColumns::params`], in
/// [`SUMMARY_COLUMNS`] order.
const SUMMARY_ROWS: &str = "SELECT * FROM UNNEST($1::text[], $2::int4[], $3::bytea[], \
                            $4::int4[], $5::int4[], $6::int4[], $7::int4[], $8::int8[], \
                            $9::float8[], $10::int4[], $11::int8[], $12::int4[])";

const SUMMARY_COLUMNS: &str = "tenant, month, actor, statements, answered, correct, \
                               completions, learning_ms, scaled_sum, scaled_count, last_active, \
                               active_days";

/// Adds the deltas to their summaries (creating the missing ones), in key order.
async fn add_to_summaries(
    tx: &Transaction<'_>,
    deltas: &BTreeMap<SummaryKey<'_>, MonthSummary>,
) -> Result<(), StoreError> {
    let upsert = tx
        .prepare_cached(&format!(
            "INSERT INTO month_summaries AS s ({SUMMARY_COLUMNS}) {SUMMARY_ROWS} \
             ON CONFLICT (tenant, month, actor) DO UPDATE SET \
             statements = s.statements + excluded.statements, \
             answered = s.answered + excluded.answered, \
             correct = s.correct + excluded.correct, \
             completions = s.completions + excluded.completions, \
             learning_ms = s.learning_ms + excluded.learning_ms, \
             scaled_sum = s.scaled_sum + excluded.scaled_sum, \
             scaled_count = s.scaled_count + excluded.scaled_count, \
             last_active = greatest(s.last_active, excluded.last_active), \
             active_days = s.active_days | excluded.active_days"
        ))
        .await
        .map_err(unavailable)?;
    let c = SummaryColumns::new(deltas.iter());
    tx.execute(&upsert, &c.params())
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Deletes the targets' facts and recomputes their summaries, in one transaction that locks the
/// summary rows first (see the module documentation).
pub(super) async fn void_facts(
    client: &mut Object,
    tenant: &str,
    targets: &[(i32, Key16, Uuid)],
) -> Result<(), StoreError> {
    let summaries: BTreeSet<(MonthNumber, Key16)> = targets
        .iter()
        .map(|(day, actor, _)| (month_number(*day), *actor))
        .collect();
    let months: Vec<i32> = summaries.iter().map(|(month, _)| *month).collect();
    let month_actors: Vec<&[u8]> = summaries.iter().map(|(_, actor)| &actor.0[..]).collect();

    let tx = client.transaction().await.map_err(unavailable)?;
    // Locks every summary row the targets may be in, creating an empty one where none is held,
    // so that no additive upsert of those rows runs between the recompute and its write.
    let lock = tx
        .prepare_cached(&format!(
            "INSERT INTO month_summaries AS s ({SUMMARY_COLUMNS}) \
             SELECT $1, m, a, 0, 0, 0, 0, 0, 0, 0, 0, 0 \
             FROM UNNEST($2::int4[], $3::bytea[]) AS u(m, a) \
             ON CONFLICT (tenant, month, actor) DO UPDATE SET statements = s.statements"
        ))
        .await
        .map_err(unavailable)?;
    tx.execute(&lock, &[&tenant, &months, &month_actors])
        .await
        .map_err(unavailable)?;

    let days: Vec<i32> = targets.iter().map(|(day, ..)| *day).collect();
    let actors: Vec<&[u8]> = targets.iter().map(|(_, actor, _)| &actor.0[..]).collect();
    let ids: Vec<Uuid> = targets.iter().map(|(.., id)| *id).collect();
    let delete = tx
        .prepare_cached(
            "DELETE FROM facts AS f USING UNNEST($2::int4[], $3::bytea[], $4::uuid[]) \
             AS t(day, actor, id) \
             WHERE f.tenant = $1 AND f.day = t.day AND f.actor = t.actor AND f.id = t.id \
             RETURNING f.day, f.actor",
        )
        .await
        .map_err(unavailable)?;
    let mut emptied: BTreeSet<(MonthNumber, Key16)> = BTreeSet::new();
    for row in tx
        .query(&delete, &[&tenant, &days, &actors, &ids])
        .await
        .map_err(unavailable)?
    {
        emptied.insert((month_number(row.get(0)), key16(row.get(1))?));
    }

    let select = tx
        .prepare_cached(
            "SELECT day, fact FROM facts WHERE tenant = $1 AND day = ANY($2) AND actor = $3",
        )
        .await
        .map_err(unavailable)?;
    let mut recomputed: BTreeMap<SummaryKey<'_>, MonthSummary> = BTreeMap::new();
    for (month, actor) in &emptied {
        let days: Vec<i32> = month_days(*month).collect();
        let mut summary = MonthSummary::default();
        for row in tx
            .query(&select, &[&tenant, &days, &&actor.0[..]])
            .await
            .map_err(unavailable)?
        {
            let day: i32 = row.get(0);
            let fact = StudyFact::decode(row.get(1)).map_err(|e| corrupt("fact", e))?;
            summary.add(&fact, civil_date(day).2);
        }
        recomputed.insert((tenant, *month, *actor), summary);
    }
    let (kept, empty): (BTreeMap<_, _>, BTreeMap<_, _>) =
        recomputed.into_iter().partition(|(_, s)| !s.is_empty());
    if !kept.is_empty() {
        let set = tx
            .prepare_cached(&format!(
                "INSERT INTO month_summaries ({SUMMARY_COLUMNS}) {SUMMARY_ROWS} \
                 ON CONFLICT (tenant, month, actor) DO UPDATE SET \
                 statements = excluded.statements, answered = excluded.answered, \
                 correct = excluded.correct, completions = excluded.completions, \
                 learning_ms = excluded.learning_ms, scaled_sum = excluded.scaled_sum, \
                 scaled_count = excluded.scaled_count, last_active = excluded.last_active, \
                 active_days = excluded.active_days"
            ))
            .await
            .map_err(unavailable)?;
        let c = SummaryColumns::new(kept.iter());
        tx.execute(&set, &c.params()).await.map_err(unavailable)?;
    }
    // Summaries left without facts go, and so do the empty rows the lock created.
    let emptied_months: Vec<i32> = empty.keys().map(|(_, month, _)| *month).collect();
    let emptied_actors: Vec<&[u8]> = empty.keys().map(|(.., actor)| &actor.0[..]).collect();
    let delete = tx
        .prepare_cached(
            "DELETE FROM month_summaries AS s USING UNNEST($2::int4[], $3::bytea[]) AS u(m, a) \
             WHERE s.tenant = $1 AND s.month = u.m AND s.actor = u.a",
        )
        .await
        .map_err(unavailable)?;
    tx.execute(&delete, &[&tenant, &emptied_months, &emptied_actors])
        .await
        .map_err(unavailable)?;
    let delete_unused = tx
        .prepare_cached(
            "DELETE FROM month_summaries AS s USING UNNEST($2::int4[], $3::bytea[]) AS u(m, a) \
             WHERE s.tenant = $1 AND s.month = u.m AND s.actor = u.a AND s.statements = 0",
        )
        .await
        .map_err(unavailable)?;
    tx.execute(&delete_unused, &[&tenant, &months, &month_actors])
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

pub(super) async fn facts(
    client: &Object,
    tenant: &str,
    first_day: i32,
    last_day: i32,
    actors: Option<&[Key16]>,
) -> Result<Vec<FactRow>, StoreError> {
    if first_day >= last_day || actors.is_some_and(<[Key16]>::is_empty) {
        return Ok(Vec::new());
    }
    let days: Vec<i32> = (first_day..last_day).collect();
    let pairs = actors.map_or(usize::MAX, |a| a.len().saturating_mul(days.len()));
    let rows = if pairs <= FACT_PAIRS_MAX {
        let actors: Vec<&[u8]> = actors
            .unwrap_or_default()
            .iter()
            .map(|a| &a.0[..])
            .collect();
        let select = client
            .prepare_cached(
                "SELECT day, actor, id, fact FROM facts \
                 WHERE tenant = $1 AND day = ANY($2) AND actor = ANY($3)",
            )
            .await
            .map_err(unavailable)?;
        client.query(&select, &[&tenant, &days, &actors]).await
    } else {
        let select = client
            .prepare_cached(
                "SELECT day, actor, id, fact FROM facts WHERE tenant = $1 AND day = ANY($2)",
            )
            .await
            .map_err(unavailable)?;
        client.query(&select, &[&tenant, &days]).await
    }
    .map_err(unavailable)?;
    let wanted: Option<HashSet<&Key16>> = actors.map(|a| a.iter().collect());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let actor = key16(row.get(1))?;
        if wanted.as_ref().is_some_and(|w| !w.contains(&actor)) {
            continue;
        }
        out.push(FactRow {
            day: row.get(0),
            id: row.get(2),
            fact: StudyFact::decode(row.get(3)).map_err(|e| corrupt("fact", e))?,
        });
    }
    Ok(out)
}

pub(super) async fn month_summaries(
    client: &Object,
    tenant: &str,
    month: MonthNumber,
    actors: Option<&[Key16]>,
) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
    let columns = "actor, statements, answered, correct, completions, learning_ms, scaled_sum, \
                   scaled_count, last_active, active_days";
    let rows = match actors {
        Some([]) => return Ok(Vec::new()),
        Some(actors) => {
            let actors: Vec<&[u8]> = actors.iter().map(|a| &a.0[..]).collect();
            let select = client
                .prepare_cached(&format!(
                    "SELECT {columns} FROM month_summaries \
                     WHERE tenant = $1 AND month = $2 AND actor = ANY($3)"
                ))
                .await
                .map_err(unavailable)?;
            client.query(&select, &[&tenant, &month, &actors]).await
        }
        None => {
            let select = client
                .prepare_cached(&format!(
                    "SELECT {columns} FROM month_summaries WHERE tenant = $1 AND month = $2"
                ))
                .await
                .map_err(unavailable)?;
            client.query(&select, &[&tenant, &month]).await
        }
    }
    .map_err(unavailable)?;
    rows.iter()
        .map(|row| {
            Ok((
                key16(row.get(0))?,
                MonthSummary {
                    statements: row.get::<_, i32>(1) as u32,
                    answered: row.get::<_, i32>(2) as u32,
                    correct: row.get::<_, i32>(3) as u32,
                    completions: row.get::<_, i32>(4) as u32,
                    learning_ms: row.get::<_, i64>(5) as u64,
                    scaled_sum: row.get(6),
                    scaled_count: row.get::<_, i32>(7) as u32,
                    last_active: row.get(8),
                    active_days: row.get::<_, i32>(9) as u32,
                },
            ))
        })
        .collect()
}

/// Inserts the entries not held yet (`ON CONFLICT DO NOTHING RETURNING`) and lists exactly
/// those in `terms_by_time`, in one transaction.
pub(super) async fn record_terms(client: &mut Object, terms: &[TermRow]) -> Result<(), StoreError> {
    check_term_dims(terms)?;
    // One row per key, in key order (concurrent recorders lock in one order); the first wins.
    let mut unique: BTreeMap<(&str, u8, Key16), &TermRow> = BTreeMap::new();
    for term in terms {
        unique
            .entry((&term.tenant, term.dim, term.key))
            .or_insert(term);
    }
    let tenants: Vec<&str> = unique.values().map(|t| t.tenant.as_str()).collect();
    let dims: Vec<i16> = unique.values().map(|t| i16::from(t.dim)).collect();
    let keys: Vec<&[u8]> = unique.values().map(|t| &t.key.0[..]).collect();
    let texts: Vec<&[u8]> = unique.values().map(|t| t.text.as_bytes()).collect();
    let first_seen: Vec<i64> = unique.values().map(|t| t.first_seen).collect();

    let tx = client.transaction().await.map_err(unavailable)?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO terms (tenant, dim, term_key, term, first_seen) \
             SELECT * FROM UNNEST($1::text[], $2::int2[], $3::bytea[], $4::bytea[], $5::int8[]) \
             ON CONFLICT DO NOTHING RETURNING tenant, dim, term_key, first_seen",
        )
        .await
        .map_err(unavailable)?;
    let inserted = tx
        .query(&insert, &[&tenants, &dims, &keys, &texts, &first_seen])
        .await
        .map_err(unavailable)?;
    if !inserted.is_empty() {
        let tenants: Vec<&str> = inserted.iter().map(|r| r.get(0)).collect();
        let dims: Vec<i16> = inserted.iter().map(|r| r.get(1)).collect();
        let keys: Vec<&[u8]> = inserted.iter().map(|r| r.get(2)).collect();
        let first_seen: Vec<i64> = inserted.iter().map(|r| r.get(3)).collect();
        let months: Vec<i32> = first_seen.iter().map(|t| utc_month(*t)).collect();
        let insert = tx
            .prepare_cached(
                "INSERT INTO terms_by_time (tenant, month, first_seen, dim, term_key) \
                 SELECT * FROM UNNEST($1::text[], $2::int4[], $3::int8[], $4::int2[], \
                 $5::bytea[]) ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(unavailable)?;
        tx.execute(&insert, &[&tenants, &months, &first_seen, &dims, &keys])
            .await
            .map_err(unavailable)?;
    }
    tx.commit().await.map_err(unavailable)
}

pub(super) async fn terms(
    client: &Object,
    tenant: &str,
    since: Option<Micros>,
) -> Result<Vec<TermRow>, StoreError> {
    let every_dim: Vec<i16> = term_dims().map(i16::from).collect();
    let Some((since, months)) = since.and_then(|s| term_months(s, now_micros()).map(|m| (s, m)))
    else {
        let select = client
            .prepare_cached(
                "SELECT dim, term_key, term, first_seen FROM terms \
                 WHERE tenant = $1 AND dim = ANY($2)",
            )
            .await
            .map_err(unavailable)?;
        let rows = client
            .query(&select, &[&tenant, &every_dim])
            .await
            .map_err(unavailable)?;
        let mut out = decode_terms(tenant, &rows)?;
        if let Some(since) = since {
            out.retain(|t| t.first_seen >= since);
        }
        return Ok(out);
    };
    let select = client
        .prepare_cached(
            "SELECT dim, term_key FROM terms_by_time \
             WHERE tenant = $1 AND month = ANY($2) AND first_seen >= $3",
        )
        .await
        .map_err(unavailable)?;
    let mut keys: BTreeMap<i16, Vec<Vec<u8>>> = BTreeMap::new();
    for row in client
        .query(&select, &[&tenant, &months, &since])
        .await
        .map_err(unavailable)?
    {
        keys.entry(row.get(0)).or_default().push(row.get(1));
    }
    let select = client
        .prepare_cached(
            "SELECT dim, term_key, term, first_seen FROM terms \
             WHERE tenant = $1 AND dim = $2 AND term_key = ANY($3)",
        )
        .await
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for (dim, keys) in keys {
        let rows = client
            .query(&select, &[&tenant, &dim, &keys])
            .await
            .map_err(unavailable)?;
        out.extend(decode_terms(tenant, &rows)?);
    }
    Ok(out)
}

fn decode_terms(tenant: &str, rows: &[tokio_postgres::Row]) -> Result<Vec<TermRow>, StoreError> {
    rows.iter()
        .map(|row| {
            Ok(TermRow {
                tenant: tenant.to_owned(),
                dim: u8::try_from(row.get::<_, i16>(0)).map_err(|e| corrupt("term dim", e))?,
                key: key16(row.get(1))?,
                text: String::from_utf8(row.get::<_, &[u8]>(2).to_vec())
                    .map_err(|e| corrupt("term", e))?,
                first_seen: row.get(3),
            })
        })
        .collect()
}

pub(super) async fn study_tenants(client: &Object) -> Result<Vec<String>, StoreError> {
    let select = client
        .prepare_cached("SELECT tenant FROM study_tenants")
        .await
        .map_err(unavailable)?;
    let mut tenants: Vec<String> = client
        .query(&select, &[])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    tenants.sort();
    Ok(tenants)
}
