//! The study-log seams (issue 11, decisions 9–11): rosters, and the facts and month summaries the
//! aggregates are read from.
//!
//! **Facts** are written by ingest in the same atomic batch as the statements they come from
//! ([`StatementRow::study`](crate::StatementRow)), so a replayed log record (whose statements
//! first-wins drops) never counts twice; each backend adds the fact to its learner's
//! [`MonthSummary`] in that same batch. Voiding removes a fact and recomputes the summary from
//! the facts left ([`StudyLogStore::void_facts`]), which is idempotent, so it may be called by
//! both sides of a voiding race. Who a fact's actor is in the roster, and where they were
//! enrolled that day, is decided when the aggregates are read, never stored: a late roster, a
//! transfer or a new alias changes no row here.
//!
//! **Rosters** are kept as the latest record per (kind, sourcedId) plus a dated version row per
//! import ([`RosterStore`]); `lrs_roster::RosterState::rebuild` makes the state from them.

use async_trait::async_trait;
use bytes::Bytes;
use lrs_schema::envelope::Key16;
use lrs_schema::{MonthSummary, StudyFact};
use uuid::Uuid;

use crate::{Micros, StoreError};

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
    /// Records dictionary entries (idempotent: an entry already held keeps its `first_seen`).
    /// Ingest calls it before writing the facts that use them.
    async fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError>;

    /// The tenant's dictionary entries first seen at or after `since` (all with `None`), in no
    /// particular order.
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
    /// month summaries they were in from the facts left. Idempotent; a fact not held is skipped.
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

/// Rosters, per tenant.
#[async_trait]
pub trait RosterStore: Send + Sync + 'static {
    /// Writes one import: its changes and its version row, all or nothing. The version number
    /// must be one more than the highest held (1 for the first): otherwise another import got in
    /// first, and the call fails with `PreconditionFailed` having written nothing.
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
