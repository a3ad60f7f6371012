//! The study-log tables (see [`crate::StudyLogStore`] and [`crate::RosterStore`]).
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `facts` | tenant id, month (`i32` sign-flipped big-endian), actor (16), day (the same), statement id (16) | `StudyFact` (81 bytes) |
//! | `month_summaries` | tenant id, month (`i32` sign-flipped big-endian), actor (16) | `MonthSummary` (48 bytes) |
//! | `terms` | tenant id, dim (`u8`), key (16) | first seen (`i64` big-endian), text |
//! | `terms_by_time` | tenant id, first seen (sign-flipped big-endian), dim, key (16) | empty |
//! | `roster_versions` | tenant name (`u16` length-prefixed), number (`u32` big-endian) | imported at (`i64` big-endian), body |
//! | `roster_records` | tenant name (`u16` length-prefixed), kind (`u8`), sourcedId | `u32` record length, record, removal (may be empty) |
//!
//! Facts are keyed month first, then learner, so a month's writes land together (cheap to flush
//! and compact), a board-wide period is one range per month (days outside the period are
//! skipped), and a class's learners over a month are one range each: a class over 30 days is
//! about 30 ranges, not 900 (day, learner) prefixes. Summaries are keyed month first for the
//! same reasons. Facts and summaries are written in the statements' batch
//! ([`Tables::write_statements`]). Adding to a summary reads it, adds and writes it back, so
//! writes that touch facts or summaries (that, and `void_facts`) take `study_writes` (one ingest
//! loop makes them, so the lock is uncontended). A fact already held adds nothing (a point lookup
//! per fact, nearly always answered by the keyspace's bloom filters), so the same rows written
//! twice, in one batch or two, count once.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use fjall::{OwnedWriteBatch, PersistMode};
use lrs_schema::envelope::Key16;
use lrs_schema::{MonthSummary, StudyFact, civil_date, month_number};
use uuid::Uuid;

use super::codec::corrupt;
use super::keys::{self, TenantId};
use super::{Tables, unavailable};
use crate::studylog::{
    FACT_PAIRS_MAX, RecordOutcome, check_term_dims, month_days, record_outcomes, version_taken,
};
use crate::{
    FactRow, Micros, MonthNumber, RosterChangeRow, RosterRecordRow, RosterVersionRow, StatementRow,
    StoreError, TermRow,
};

fn flip(n: i32) -> [u8; 4] {
    ((n as u32) ^ 0x8000_0000).to_be_bytes()
}

fn unflip(bytes: [u8; 4]) -> i32 {
    (u32::from_be_bytes(bytes) ^ 0x8000_0000) as i32
}

fn day_prefix(tenant: TenantId, day: i32) -> Vec<u8> {
    let mut key = Vec::with_capacity(keys::TENANT_LEN + 4 + 32);
    keys::push_tenant(&mut key, tenant);
    key.extend_from_slice(&flip(day));
    key
}

/// `tenant, month, actor, day`: where an actor's facts of a day start.
fn actor_day_prefix(tenant: TenantId, day: i32, actor: &Key16) -> Vec<u8> {
    let mut key = day_prefix(tenant, month_number(day));
    key.extend_from_slice(&actor.0);
    key.extend_from_slice(&flip(day));
    key
}

fn fact_key(tenant: TenantId, day: i32, actor: &Key16, id: Uuid) -> Vec<u8> {
    let mut key = actor_day_prefix(tenant, day, actor);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The day and actor of a fact key.
fn fact_day_actor(key: &[u8]) -> (i32, Key16) {
    let n = key.len();
    let day = unflip(key[n - 20..n - 16].try_into().expect("4 bytes"));
    (
        day,
        Key16(key[n - 36..n - 20].try_into().expect("16 bytes")),
    )
}

/// The months `first_day..last_day` touches, each with the part of the period in it.
fn months_of(first_day: i32, last_day: i32) -> Vec<(MonthNumber, i32, i32)> {
    let mut out = Vec::new();
    let mut day = first_day;
    while day < last_day {
        let month = month_number(day);
        let end = month_days(month).end.min(last_day);
        out.push((month, day, end));
        day = end;
    }
    out
}

fn summary_key(tenant: TenantId, month: MonthNumber, actor: &Key16) -> Vec<u8> {
    let mut key = day_prefix(tenant, month);
    key.extend_from_slice(&actor.0);
    key
}

/// The day of month (1–31) of a day number.
fn day_of_month(day: i32) -> u8 {
    civil_date(day).2
}

impl Tables {
    /// Adds the facts of `rows` (those that carry one) and their summary deltas to `batch`.
    /// Called by [`Tables::write_statements`] with the statements' batch, so all land together.
    pub(crate) fn add_facts(
        &self,
        batch: &mut OwnedWriteBatch,
        rows: &[StatementRow],
        tenant_of: &dyn Fn(&str) -> Result<TenantId, StoreError>,
    ) -> Result<(), StoreError> {
        let mut facts: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut deltas: BTreeMap<Vec<u8>, MonthSummary> = BTreeMap::new();
        // Voided statements count nowhere, whichever arrived first: targets of this batch's
        // voiding statements, and statements a stored voiding statement already targets.
        let voided_here: HashSet<(&str, Uuid)> = rows
            .iter()
            .filter_map(|r| r.keys.voids.map(|target| (r.tenant.as_str(), target)))
            .collect();
        // A fact is held at most once: one already held, or met earlier in this batch, adds
        // nothing to its summary.
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        for row in rows {
            let Some(study) = &row.study else { continue };
            let tenant = tenant_of(&row.tenant)?;
            if voided_here.contains(&(row.tenant.as_str(), row.id))
                || self
                    .voided
                    .contains_key(keys::statement_key(tenant, row.id))
                    .map_err(unavailable)?
            {
                continue;
            }
            let fact = &study.fact;
            let key = fact_key(tenant, study.day, &fact.actor, row.id);
            if seen.contains(&key) || self.facts.contains_key(&key).map_err(unavailable)? {
                continue;
            }
            seen.insert(key.clone());
            facts.push((key, fact.encode()));
            deltas
                .entry(summary_key(tenant, month_number(study.day), &fact.actor))
                .or_default()
                .add(fact, day_of_month(study.day));
        }
        facts.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in facts {
            batch.insert(&self.facts, key, value);
        }
        for (key, delta) in deltas {
            let mut summary = match self.month_summaries.get(&key).map_err(unavailable)? {
                Some(bytes) => MonthSummary::decode(&bytes)
                    .map_err(|e| corrupt(format!("month summary: {e}")))?,
                None => MonthSummary::default(),
            };
            summary.merge(&delta);
            batch.insert(&self.month_summaries, key, summary.encode());
        }
        Ok(())
    }

    pub(crate) fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError> {
        check_term_dims(terms)?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        let mut added = false;
        for term in terms {
            let tenant = self.assign_tenant_id(&term.tenant)?;
            let mut key = Vec::with_capacity(keys::TENANT_LEN + 17);
            keys::push_tenant(&mut key, tenant);
            key.push(term.dim);
            key.extend_from_slice(&term.key.0);
            if self.terms.contains_key(&key).map_err(unavailable)? {
                continue;
            }
            let mut value = term.first_seen.to_be_bytes().to_vec();
            value.extend_from_slice(term.text.as_bytes());
            batch.insert(&self.terms, keys::checked_key("terms", key)?, value);
            let mut by_time = Vec::with_capacity(keys::TENANT_LEN + 25);
            keys::push_tenant(&mut by_time, tenant);
            by_time.extend_from_slice(&((term.first_seen as u64) ^ (1 << 63)).to_be_bytes());
            by_time.push(term.dim);
            by_time.extend_from_slice(&term.key.0);
            batch.insert(&self.terms_by_time, by_time, Vec::new());
            added = true;
        }
        if added {
            batch.commit().map_err(unavailable)?;
        }
        Ok(())
    }

    pub(crate) fn terms(
        &self,
        tenant_name: &str,
        since: Option<Micros>,
    ) -> Result<Vec<TermRow>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant_name) else {
            return Ok(Vec::new());
        };
        let mut prefix = Vec::with_capacity(keys::TENANT_LEN);
        keys::push_tenant(&mut prefix, tenant);
        let decode = |key: &[u8], value: &[u8]| -> Result<TermRow, StoreError> {
            let rest = &key[prefix.len()..];
            let (first_seen, text) = value
                .split_at_checked(8)
                .ok_or_else(|| corrupt("term value".into()))?;
            Ok(TermRow {
                tenant: tenant_name.to_owned(),
                dim: rest[0],
                key: Key16(
                    rest[1..17]
                        .try_into()
                        .map_err(|_| corrupt("term key".into()))?,
                ),
                text: String::from_utf8(text.to_vec()).map_err(|_| corrupt("term text".into()))?,
                first_seen: i64::from_be_bytes(first_seen.try_into().expect("8 bytes")),
            })
        };
        match since {
            None => self
                .terms
                .prefix(&prefix)
                .map(|guard| {
                    let (key, value) = guard.into_inner().map_err(unavailable)?;
                    decode(&key, &value)
                })
                .collect(),
            Some(since) => {
                let mut from = prefix.clone();
                from.extend_from_slice(&((since as u64) ^ (1 << 63)).to_be_bytes());
                let mut to = prefix.clone();
                to.extend_from_slice(&[0xff; 26]);
                let mut out = Vec::new();
                for guard in self.terms_by_time.range(from..to) {
                    let key = guard.key().map_err(unavailable)?;
                    let mut term_key = prefix.clone();
                    term_key.extend_from_slice(&key[prefix.len() + 8..]);
                    if let Some(value) = self.terms.get(&term_key).map_err(unavailable)? {
                        out.push(decode(&term_key, &value)?);
                    }
                }
                Ok(out)
            }
        }
    }

    pub(crate) fn facts(
        &self,
        tenant: &str,
        first_day: i32,
        last_day: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<FactRow>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(Vec::new());
        };
        let months = months_of(first_day, last_day);
        let mut out = Vec::new();
        let mut read = |key: &[u8], value: &[u8]| -> Result<(), StoreError> {
            let (day, _) = fact_day_actor(key);
            let id =
                Uuid::from_slice(&key[key.len() - 16..]).map_err(|_| corrupt("fact id".into()))?;
            let fact = StudyFact::decode(value).map_err(|e| corrupt(format!("fact: {e}")))?;
            out.push(FactRow { day, id, fact });
            Ok(())
        };
        match actors {
            Some(actors) if actors.len().saturating_mul(months.len()) <= FACT_PAIRS_MAX => {
                // One range per (month, actor): the actor's days of the period in that month.
                for &(_, from_day, to_day) in &months {
                    for actor in actors {
                        let from = actor_day_prefix(tenant, from_day, actor);
                        let to = actor_day_prefix(tenant, to_day - 1, actor);
                        let mut to = to;
                        to.extend_from_slice(&[0xff; 17]);
                        for guard in self.facts.range(from..to) {
                            let (key, value) = guard.into_inner().map_err(unavailable)?;
                            read(&key, &value)?;
                        }
                    }
                }
            }
            _ => {
                let wanted: Option<HashSet<&Key16>> = actors.map(|a| a.iter().collect());
                for &(month, from_day, to_day) in &months {
                    for guard in self.facts.prefix(day_prefix(tenant, month)) {
                        let (key, value) = guard.into_inner().map_err(unavailable)?;
                        let (day, actor) = fact_day_actor(&key);
                        if day < from_day
                            || day >= to_day
                            || wanted.as_ref().is_some_and(|w| !w.contains(&actor))
                        {
                            continue;
                        }
                        read(&key, &value)?;
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn month_summaries(
        &self,
        tenant: &str,
        month: MonthNumber,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(Vec::new());
        };
        let decode = |value: &[u8]| {
            MonthSummary::decode(value).map_err(|e| corrupt(format!("month summary: {e}")))
        };
        match actors {
            Some(actors) => actors
                .iter()
                .filter_map(|actor| {
                    match self.month_summaries.get(summary_key(tenant, month, actor)) {
                        Ok(Some(value)) => Some(decode(&value).map(|s| (*actor, s))),
                        Ok(None) => None,
                        Err(e) => Some(Err(unavailable(e))),
                    }
                })
                .collect(),
            None => self
                .month_summaries
                .prefix(day_prefix(tenant, month))
                .map(|guard| {
                    let (key, value) = guard.into_inner().map_err(unavailable)?;
                    let actor = Key16(key[key.len() - 16..].try_into().expect("16 bytes"));
                    Ok((actor, decode(&value)?))
                })
                .collect(),
        }
    }

    pub(crate) fn void_facts(
        &self,
        tenant: &str,
        targets: &[(i32, Key16, Uuid)],
    ) -> Result<(), StoreError> {
        let Some(tenant) = self.tenant_id(tenant) else {
            return Ok(());
        };
        let _study = self.study_writes.lock().unwrap_or_else(|p| p.into_inner());
        let mut months: HashMap<(MonthNumber, Key16), HashSet<Vec<u8>>> = HashMap::new();
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (day, actor, id) in targets {
            let key = fact_key(tenant, *day, actor, *id);
            if self.facts.contains_key(&key).map_err(unavailable)? {
                batch.remove(&self.facts, key.clone());
                months
                    .entry((month_number(*day), *actor))
                    .or_default()
                    .insert(key);
            }
        }
        for ((month, actor), removed) in months {
            let mut summary = MonthSummary::default();
            let mut prefix = day_prefix(tenant, month);
            prefix.extend_from_slice(&actor.0);
            for guard in self.facts.prefix(&prefix) {
                let (key, value) = guard.into_inner().map_err(unavailable)?;
                if removed.contains(&key[..]) {
                    continue;
                }
                let (day, _) = fact_day_actor(&key);
                let fact = StudyFact::decode(&value).map_err(|e| corrupt(format!("fact: {e}")))?;
                summary.add(&fact, day_of_month(day));
            }
            let key = summary_key(tenant, month, &actor);
            if summary.is_empty() {
                batch.remove(&self.month_summaries, key);
            } else {
                batch.insert(&self.month_summaries, key, summary.encode());
            }
        }
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn study_tenants(&self) -> Result<Vec<String>, StoreError> {
        let mut tenants: HashSet<String> = self
            .tenant_ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        for guard in self.roster_versions.iter() {
            let key = guard.key().map_err(unavailable)?;
            tenants.insert(tenant_of_name_key(&key)?);
        }
        let mut tenants: Vec<String> = tenants.into_iter().collect();
        tenants.sort();
        Ok(tenants)
    }

    pub(crate) fn commit_roster(
        &self,
        tenant: &str,
        version: &RosterVersionRow,
        changes: &[RosterChangeRow],
    ) -> Result<(), StoreError> {
        let _guard = self.roster_writes.lock().unwrap_or_else(|p| p.into_inner());
        let prefix = keys::tenant_name_prefix(tenant)?;
        let held = self.roster_versions.prefix(&prefix).count() as u32;
        if version.number != held + 1 {
            return Err(version_taken(tenant, version.number, Some(held)));
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for ((kind, sourced_id), outcome) in record_outcomes(changes) {
            let key = record_key(&prefix, kind, sourced_id)?;
            match outcome {
                RecordOutcome::Write { record, removal } => {
                    let removal = removal.map_or(&[][..], |r| &r[..]);
                    batch.insert(&self.roster_records, key, record_value(record, removal));
                }
                RecordOutcome::RemoveHeld { removal } => {
                    let Some(held) = self.roster_records.get(&key).map_err(unavailable)? else {
                        continue;
                    };
                    let (record, _) = split_record(&held)?;
                    batch.insert(&self.roster_records, key, record_value(record, removal));
                }
            }
        }
        let mut key = prefix.clone();
        key.extend_from_slice(&version.number.to_be_bytes());
        let mut value = version.imported_at.to_be_bytes().to_vec();
        value.extend_from_slice(&version.body);
        batch.insert(&self.roster_versions, key, value);
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn roster_versions(
        &self,
        tenant: &str,
    ) -> Result<Vec<RosterVersionRow>, StoreError> {
        let prefix = keys::tenant_name_prefix(tenant)?;
        self.roster_versions
            .prefix(&prefix)
            .map(|guard| {
                let (key, value) = guard.into_inner().map_err(unavailable)?;
                let number = u32::from_be_bytes(
                    key[prefix.len()..]
                        .try_into()
                        .map_err(|_| corrupt("roster version key".into()))?,
                );
                let (at, body) = value
                    .split_at_checked(8)
                    .ok_or_else(|| corrupt("roster version value".into()))?;
                Ok(RosterVersionRow {
                    number,
                    imported_at: i64::from_be_bytes(at.try_into().expect("8 bytes")),
                    body: Bytes::copy_from_slice(body),
                })
            })
            .collect()
    }

    pub(crate) fn roster_records(&self, tenant: &str) -> Result<Vec<RosterRecordRow>, StoreError> {
        let prefix = keys::tenant_name_prefix(tenant)?;
        self.roster_records
            .prefix(&prefix)
            .map(|guard| {
                let (key, value) = guard.into_inner().map_err(unavailable)?;
                let rest = &key[prefix.len()..];
                let (record, removal) = split_record(&value)?;
                Ok(RosterRecordRow {
                    kind: rest[0],
                    sourced_id: String::from_utf8(rest[1..].to_vec())
                        .map_err(|_| corrupt("roster sourcedId".into()))?,
                    record: Bytes::copy_from_slice(record),
                    removal: (!removal.is_empty()).then(|| Bytes::copy_from_slice(removal)),
                })
            })
            .collect()
    }
}

fn record_key(prefix: &[u8], kind: u8, sourced_id: &str) -> Result<Vec<u8>, StoreError> {
    let mut key = prefix.to_vec();
    key.push(kind);
    key.extend_from_slice(sourced_id.as_bytes());
    keys::checked_key("roster_records", key)
}

fn record_value(record: &[u8], removal: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(4 + record.len() + removal.len());
    value.extend_from_slice(&(record.len() as u32).to_be_bytes());
    value.extend_from_slice(record);
    value.extend_from_slice(removal);
    value
}

fn split_record(value: &[u8]) -> Result<(&[u8], &[u8]), StoreError> {
    let (len, rest) = value
        .split_at_checked(4)
        .ok_or_else(|| corrupt("roster record value".into()))?;
    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
    rest.split_at_checked(len)
        .ok_or_else(|| corrupt("roster record value".into()))
}

/// The tenant name of a key that starts with a `u16` length-prefixed name.
fn tenant_of_name_key(key: &[u8]) -> Result<String, StoreError> {
    let len = u16::from_be_bytes(
        key.get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt("tenant name prefix".into()))?,
    ) as usize;
    key.get(2..2 + len)
        .and_then(|name| String::from_utf8(name.to_vec()).ok())
        .ok_or_else(|| corrupt("tenant name prefix".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_numbers_cover_their_days() {
        let october_2025 = 2025 * 12 + 9;
        let days = month_days(october_2025);
        assert_eq!(civil_date(days.start), (2025, 10, 1));
        assert_eq!(civil_date(days.end - 1), (2025, 10, 31));
        assert_eq!(month_number(days.start), october_2025);
        let december = month_days(2025 * 12 + 11);
        assert_eq!(civil_date(december.end), (2026, 1, 1));
        assert_eq!(unflip(flip(-5)), -5);
        assert!(flip(-1) < flip(0));
    }
}
