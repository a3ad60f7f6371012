//! What only the wide-column stores (PostgreSQL, ScyllaDB) use: the `path` and `path_key`
//! columns, time buckets, the `kind` column of documents, and a few row decoders.

use lrs_schema::DefinitionJson;

use super::{IndexTable, PathKey};
use crate::{DocumentKind, Micros, StoreError, StoreErrorKind};

impl IndexTable {
    /// The `path` column of `statement_buckets`: the table name without `statements_by_`.
    pub(crate) fn path_name(self) -> &'static str {
        &self.table_name()["statements_by_".len()..]
    }
}

impl PathKey {
    /// The `path_key` column of the wide-column tables: empty, or the 16 bytes.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        match self {
            PathKey::None => Vec::new(),
            PathKey::Key(k) => k.0.to_vec(),
            PathKey::Registration(r) => r.as_bytes().to_vec(),
        }
    }
}

/// Width of a day partition of the wide-column index tables (the `day` column, and `bucket` of
/// `statement_buckets`): one UTC day of `stored`, in microseconds (see
/// schema/cql/001_init.cql).
pub(crate) const BUCKET_MICROS: Micros = 86_400_000_000;

/// The bucket of a `stored` value: the day since the epoch (negative before 1970).
pub(crate) fn bucket(stored: Micros) -> i64 {
    stored.div_euclid(BUCKET_MICROS)
}

/// The `kind` column of the wide-column `documents` table.
pub(crate) fn document_kind(kind: DocumentKind) -> i8 {
    match kind {
        DocumentKind::State => 1,
        DocumentKind::ActivityProfile => 2,
        DocumentKind::AgentProfile => 3,
    }
}

/// The error of a document write or delete whose precondition does not hold.
pub(crate) fn precondition_failed() -> StoreError {
    StoreError::new(
        StoreErrorKind::PreconditionFailed,
        "document precondition does not hold",
    )
}

/// A stored canonical Activity Definition (the `definition` column).
pub(crate) fn decode_definition(json: &[u8]) -> Result<DefinitionJson, StoreError> {
    DefinitionJson::from_slice(json).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::Corrupt,
            "activity definition is not a JSON object",
        )
    })
}

/// The tables a schema file creates (`CREATE TABLE IF NOT EXISTS name`), in order: what a
/// connect in [`SchemaMode::Require`](crate::SchemaMode::Require) checks for.
pub(crate) fn schema_tables(schema: &str) -> Vec<String> {
    const CREATE: &str = "CREATE TABLE IF NOT EXISTS ";
    schema
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(CREATE))
        .filter_map(|rest| rest.split(|c: char| c == '(' || c.is_whitespace()).next())
        .map(str::to_owned)
        .collect()
}

/// The error of a connect that found tables missing.
pub(crate) fn schema_missing(missing: &[String]) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unavailable,
        format!(
            "the store's schema lacks the tables {missing:?}; run `lrs migrate` (or start with \
             storage.apply_schema = true)"
        ),
    )
}

/// A column only schema version 1 of `statements_by_stored` has (one row per statement: a
/// `stored` clustering column); version 2 holds index blocks instead.
pub(crate) const VERSION_1_INDEX_COLUMN: &str = "stored";

/// The error of a connect to a store whose index tables are of schema version 1. The store does
/// not convert them: the statements stay readable only by the release that wrote them.
pub(crate) fn old_index_tables() -> StoreError {
    StoreError::new(
        StoreErrorKind::Unavailable,
        "the store's statements_by_* index tables are of schema version 1 (one row per statement \
         and path); this build reads and writes only version 2 (index blocks) and does not \
         convert them: keep running the release that wrote the store, or point this one at a new \
         database, schema or keyspace and post the statements to it again (e.g. fetched from the \
         old release with GET /xapi/statements); see docs/distributed.md, \"Schema versions\"",
    )
}

/// The UTC calendar month (`year * 12 + month - 1`) of a time: what the by-time dictionary
/// table (`terms_by_time`) is partitioned by.
pub(crate) fn utc_month(micros: Micros) -> i32 {
    lrs_schema::month_number(bucket(micros) as i32)
}

/// More months than this between `since` and now, and a reader of the dictionary reads the
/// tenant's whole dictionary instead of one `terms_by_time` partition per month.
const TERM_MONTHS_MAX: i32 = 120;

/// The `terms_by_time` partitions that hold the entries first seen at or after `since`: its
/// month up to the month after now (an ingest clock a little ahead of this one), or `None` when
/// that is more than [`TERM_MONTHS_MAX`] months.
pub(crate) fn term_months(since: Micros, now: Micros) -> Option<Vec<i32>> {
    let first = utc_month(since);
    let last = utc_month(since.max(now)).saturating_add(1);
    (last - first <= TERM_MONTHS_MAX).then(|| (first..=last).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_months_run_from_since_to_the_month_after_now() {
        let day = |d: i64| d * BUCKET_MICROS;
        // 2025-10-31 and 2025-11-01 (days 20392 and 20393) are months 24309 and 24310.
        assert_eq!(utc_month(day(20_392)), 2025 * 12 + 9);
        assert_eq!(utc_month(day(20_393)), 2025 * 12 + 10);
        assert_eq!(utc_month(-1), 1969 * 12 + 11);
        let october = 2025 * 12 + 9;
        assert_eq!(
            term_months(day(20_392), day(20_393)),
            Some(vec![october, october + 1, october + 2])
        );
        // A `since` after now still reads its own month and the next.
        assert_eq!(
            term_months(day(20_393), day(20_392)),
            Some(vec![october + 1, october + 2])
        );
        assert_eq!(
            term_months(day(20_393) - 121 * 31 * BUCKET_MICROS, day(20_393)),
            None
        );
        assert_eq!(term_months(Micros::MIN, day(20_393)), None);
    }

    #[test]
    fn buckets_are_utc_days_including_before_the_epoch() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(BUCKET_MICROS - 1), 0);
        assert_eq!(bucket(BUCKET_MICROS), 1);
        assert_eq!(bucket(-1), -1);
        assert_eq!(bucket(Micros::MIN), Micros::MIN / BUCKET_MICROS - 1);
    }

    #[test]
    fn path_names_are_the_table_names_without_their_prefix() {
        let names: Vec<&str> = IndexTable::EVERY.iter().map(|t| t.path_name()).collect();
        assert_eq!(
            names,
            [
                "stored",
                "agent",
                "related_agent",
                "verb",
                "activity",
                "related_activity",
                "registration",
                "authority"
            ]
        );
    }

    #[test]
    fn the_schema_files_name_the_same_tables_in_both_dialects() {
        let sql = [
            include_str!("../../../schema/postgres/001_init.sql"),
            include_str!("../../../schema/postgres/002_quarantine.sql"),
        ];
        let cql = [
            include_str!("../../../schema/cql/001_init.cql"),
            include_str!("../../../schema/cql/002_quarantine.cql"),
        ];
        let tables = |files: [&str; 2]| -> Vec<String> {
            files.iter().flat_map(|f| schema_tables(f)).collect()
        };
        assert_eq!(tables(sql), tables(cql));
        let sql = tables(sql);
        assert_eq!(sql.len(), 16, "{sql:?}");
        assert_eq!(sql.first().map(String::as_str), Some("statements"));
        assert_eq!(sql.last().map(String::as_str), Some("quarantine"));
    }
}
