//! The study-log seams (issue 11, decisions 9–11): rosters, and the facts and month summaries the
//! aggregates are read from.
//!
//! **Facts** are written by ingest in the same atomic batch as the statements they come from
//! ([`StatementRow::study`](crate::StatementRow)), so a replayed log record (whose statements
//! first-wins drops) never counts twice; each backend adds the fact to its learner's
//! [`MonthSummary`] in that same batch. A fact is held **at most once** per (tenant, day, actor,
//! statement id), and a summary counts exactly the facts held: writing a row whose fact is
//! already held (the same row twice in one batch, or again in a later one, by a replay or by a
//! concurrent ingest instance) adds nothing, so the store does not depend on ingest's first-wins
//! check for its numbers. A statement that is voided (a stored `voided` entry targets it, or a
//! row of the same batch voids it) gets no fact. Voiding a stored fact removes it and recomputes
//! the summary from the facts left ([`StudyLogStore::void_facts`]), which is idempotent, so it
//! may be called by both sides of a voiding race. (ScyllaDB, without multi-table transactions,
//! keeps no summary rows and sums the facts when a summary is read: `docs/scylla.md`.) Who a
//! fact's actor is in the roster, and where they were enrolled that day, is decided when the
//! aggregates are read, never stored: a late roster, a transfer or a new alias changes no row
//! here.
//!
//! **Rosters** are kept as the latest record per (kind, sourcedId) plus a dated version row per
//! import ([`RosterStore`]); `lrs_roster::RosterState::rebuild` makes the state from them.

use async_trait::async_trait;
use bytes::Bytes;
use lrs_schema::envelope::Key16;
use lrs_schema::{FactDim, MonthSummary, StudyFact};
use uuid::Uuid;

use crate::{Micros, StoreError, StoreErrorKind};

pub use lrs_schema::StudyRow;

/// A stored fact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FactRow {
    pub day: i32,
    pub id: Uuid,
    pub fact: StudyFact,
}

/// Which dictionary a [`TermRow`] belongs to: the actors, or one fact dimension
/// (`lrs_schema::FactDim::code`).
pub const ACTOR_TERMS: u8 = 0;

/// Every dictionary a [`TermRow`] may belong to: [`ACTOR_TERMS`] and each fact dimension's code.
/// A store refuses (`Rejected`) a term of another `dim`, so it can list a tenant's dictionaries
/// by reading these.
pub fn term_dims() -> impl Iterator<Item = u8> {
    std::iter::once(ACTOR_TERMS).chain(FactDim::ALL.into_iter().map(FactDim::code))
}

/// `Rejected` unless every term's `dim` is one of [`term_dims`].
pub(crate) fn check_term_dims(terms: &[TermRow]) -> Result<(), StoreError> {
    match terms.iter().find(|t| !term_dims().any(|d| d == t.dim)) {
        None => Ok(()),
        Some(term) => Err(StoreError::new(
            StoreErrorKind::Rejected,
            format!(
                "dictionary {} of tenant {} is neither the actors nor a fact dimension",
                term.dim, term.tenant
            ),
        )),
    }
}

/// The text behind a hashed key: an actor's canonical identifier (`dim` = [`ACTOR_TERMS`], the
/// key a [`Key16`]) or a dimension value (`dim` = the dimension's code, the key its `DimKey`'s
/// eight bytes, little-endian, then eight zero bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermRow {
    pub tenant: String,
    pub dim: u8,
    pub key: Key16,
    pub text: String,
    /// When ingest first recorded it (the `stored` of the batch that brought it).
    pub first_seen: Micros,
}

/// The months a summary row is keyed by: `year * 12 + month - 1` of the local calendar.
pub type MonthNumber = i32;

/// Facts and month summaries, per tenant.
#[async_trait]
pub trait StudyLogStore: Send + Sync + 'static {
    /// Records dictionary entries (idempotent: an entry already held keeps its `first_seen` and
    /// text). Ingest calls it before writing the facts that use them. A `dim` outside
    /// [`term_dims`] is `Rejected`.
    async fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError>;

    /// The tenant's dictionary entries first seen at or after `since` (all with `None`), in no
    /// particular order. It may also return a few entries first seen earlier (a reader
    /// refreshing its dictionary ignores keys it holds).
    async fn terms(&self, tenant: &str, since: Option<Micros>) -> Result<Vec<TermRow>, StoreError>;

    /// The facts of local days `first_day..last_day` (exclusive), of the given actors or of
    /// everyone, in no particular order.
    async fn facts(
        &self,
        tenant: &str,
        first_day: i32,
        last_day: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<FactRow>, StoreError>;

    /// The month summaries of `month`, of the given actors or of everyone.
    async fn month_summaries(
        &self,
        tenant: &str,
        month: MonthNumber,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<(Key16, MonthSummary)>, StoreError>;

    /// Removes the facts of voided statements (their day, actor and id) and recomputes the
    /// month summaries they were in from the facts left; a summary left with no fact is
    /// removed. Idempotent; a fact not held is skipped.
    async fn void_facts(
        &self,
        tenant: &str,
        targets: &[(i32, Key16, Uuid)],
    ) -> Result<(), StoreError>;

    /// Every tenant that has facts or a roster (for cross-board aggregates).
    async fn study_tenants(&self) -> Result<Vec<String>, StoreError>;
}

/// One roster import's version row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterVersionRow {
    /// 1, 2, 3, … per tenant.
    pub number: u32,
    pub imported_at: Micros,
    /// `lrs_roster::RosterVersion` as JSON.
    pub body: Bytes,
}

/// One change an import makes to the records held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterChangeRow {
    /// Write the record (`lrs_roster::RosterRecord` as JSON), clearing any removal.
    Upsert {
        kind: u8,
        sourced_id: String,
        record: Bytes,
    },
    /// Mark the record held under (kind, sourcedId) removed (`lrs_roster::Removal` as JSON);
    /// its data stays.
    Remove {
        kind: u8,
        sourced_id: String,
        removal: Bytes,
    },
}

/// A record as held: the latest data and, when it was removed, the removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRecordRow {
    pub kind: u8,
    pub sourced_id: String,
    pub record: Bytes,
    pub removal: Option<Bytes>,
}

/// The record kind aliases are held under: an alias upload is a roster version like an import,
/// whose changes upsert records of this kind keyed by `homePage` + NUL + `name`, the record being
/// the user's sourcedId (UTF-8).
pub const ALIAS_KIND: u8 = 255;

/// The record kind learner transfers are held under (issue 14 §2): an import of a learner's
/// history from another board records, in a roster version like an alias upload, one record of
/// this kind keyed by the receiving user's sourcedId, the record being JSON
/// `{"day":"YYYY-MM-DD","sourceTenant":"…"}`: the day they joined this board.
pub const TRANSFER_KIND: u8 = 254;

/// Rosters, per tenant.
#[async_trait]
pub trait RosterStore: Send + Sync + 'static {
    /// Writes one import: its changes, applied in order, and its version row, all or nothing.
    /// The version number must be one more than the highest held (1 for the first): otherwise
    /// another import got in first, and the call fails with `PreconditionFailed` having written
    /// nothing. (ScyllaDB cannot write many partitions atomically: see `docs/scylla.md` for what
    /// it guarantees instead.)
    async fn commit_roster(
        &self,
        tenant: &str,
        version: &RosterVersionRow,
        changes: &[RosterChangeRow],
    ) -> Result<(), StoreError>;

    /// The tenant's version rows, oldest first.
    async fn roster_versions(&self, tenant: &str) -> Result<Vec<RosterVersionRow>, StoreError>;

    /// Every record held for the tenant (aliases included, as [`ALIAS_KIND`]), in no particular
    /// order.
    async fn roster_records(&self, tenant: &str) -> Result<Vec<RosterRecordRow>, StoreError>;
}

/// What an import leaves under one (kind, sourcedId) once its changes are applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordOutcome<'a> {
    /// The import wrote the record: hold this data, with this removal (when a later change of
    /// the same import removed it).
    Write {
        record: &'a Bytes,
        removal: Option<&'a Bytes>,
    },
    /// The import only removed it: mark the record held removed (nothing, when none is held).
    RemoveHeld { removal: &'a Bytes },
}

/// The import's changes reduced to one outcome per (kind, sourcedId), in key order: a backend
/// writes each once, so the result is that of applying the changes in order.
pub(crate) fn record_outcomes(
    changes: &[RosterChangeRow],
) -> std::collections::BTreeMap<(u8, &str), RecordOutcome<'_>> {
    let mut out = std::collections::BTreeMap::new();
    for change in changes {
        match change {
            RosterChangeRow::Upsert {
                kind,
                sourced_id,
                record,
            } => {
                out.insert(
                    (*kind, sourced_id.as_str()),
                    RecordOutcome::Write {
                        record,
                        removal: None,
                    },
                );
            }
            RosterChangeRow::Remove {
                kind,
                sourced_id,
                removal,
            } => {
                let outcome = match out.remove(&(*kind, sourced_id.as_str())) {
                    Some(RecordOutcome::Write { record, .. }) => RecordOutcome::Write {
                        record,
                        removal: Some(removal),
                    },
                    _ => RecordOutcome::RemoveHeld { removal },
                };
                out.insert((*kind, sourced_id.as_str()), outcome);
            }
        }
    }
    out
}

/// `PreconditionFailed`: roster version `number` of `tenant` does not follow `held`.
pub(crate) fn version_taken(tenant: &str, number: u32, held: Option<u32>) -> StoreError {
    StoreError::new(
        StoreErrorKind::PreconditionFailed,
        format!(
            "roster version {number} of {tenant} does not follow the highest held ({})",
            held.unwrap_or(0)
        ),
    )
}

/// The day numbers (days since 1970-01-01) of a month number.
pub(crate) fn month_days(month: MonthNumber) -> std::ops::Range<i32> {
    let (year, month0) = (month.div_euclid(12), month.rem_euclid(12));
    let first = days_from_civil(year, month0 as u32 + 1, 1);
    let next = if month0 == 11 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month0 as u32 + 2, 1)
    };
    first..next
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

/// Above this many (day, actor) pairs (the embedded store: (month, actor) ranges), a store reads
/// a scoped fact range as whole days (months) and keeps the actors' facts, instead of looking
/// each pair up.
pub(crate) const FACT_PAIRS_MAX: usize = 4_096;
