//! Every CQL statement the store runs, prepared once at connect.
//!
//! Consistency comes from the session's default profile (`LOCAL_QUORUM`, serial `LOCAL_SERIAL`)
//! unless a statement says otherwise. Every statement but the lightweight transactions is
//! idempotent (an upsert of identical values, a read), and marked so: the driver may retry it or
//! run it speculatively.

use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;

use super::driver_error;
use crate::StoreError;
use crate::layout::IndexTable;

/// Rows per page of a paged read.
const PAGE_SIZE: i32 = 1000;

pub(crate) struct Prepared {
    pub insert_statement: PreparedStatement,
    /// Index blocks, indexed by [`IndexTable::index`]; `statements_by_stored` has no
    /// `path_key`.
    pub insert_index: Vec<PreparedStatement>,
    pub insert_bucket: PreparedStatement,
    pub insert_voided: PreparedStatement,
    pub upsert_watermark: PreparedStatement,
    pub select_watermarks: PreparedStatement,
    pub select_statement: PreparedStatement,
    pub select_statement_id: PreparedStatement,
    pub select_voided: PreparedStatement,
    /// Ascending, descending.
    pub list_buckets: [PreparedStatement; 2],
    /// The blocks of one day partition in a (bucket, block) range, paged; indexed by
    /// [`IndexTable::index`], each ascending and descending.
    pub slice_index: Vec<[PreparedStatement; 2]>,

    pub select_document: PreparedStatement,
    /// The same read at `LOCAL_SERIAL`: sees every committed lightweight transaction.
    pub select_document_serial: PreparedStatement,
    pub list_documents: PreparedStatement,
    /// Every document's key: a full scan, paged (a learner's export looks for one agent's State
    /// documents, whose partitions are keyed by activity and agent).
    pub scan_document_keys: PreparedStatement,
    pub insert_document_if_absent: PreparedStatement,
    pub update_document_if_match: PreparedStatement,
    pub delete_document_if_exists: PreparedStatement,
    pub delete_document_if_match: PreparedStatement,

    pub select_attachment: PreparedStatement,
    pub select_attachment_present: PreparedStatement,
    pub insert_attachment: PreparedStatement,

    pub select_activity: PreparedStatement,
    pub select_activity_serial: PreparedStatement,
    pub insert_activity_if_absent: PreparedStatement,
    pub update_activity_if_unchanged: PreparedStatement,

    pub upsert_quarantine: PreparedStatement,
    pub select_quarantine_of_tenant: PreparedStatement,
    /// Every tenant's: a full scan, paged (the table stays nearly empty).
    pub select_quarantine: PreparedStatement,
    pub delete_quarantined: PreparedStatement,

    pub insert_fact: PreparedStatement,
    pub delete_fact: PreparedStatement,
    pub select_facts_of_day: PreparedStatement,
    pub select_facts_of_actor: PreparedStatement,
    pub insert_study_tenant: PreparedStatement,
    /// A full scan, paged: one row per tenant.
    pub select_study_tenants: PreparedStatement,
    pub select_term: PreparedStatement,
    pub insert_term_by_time: PreparedStatement,
    pub insert_term_if_absent: PreparedStatement,
    pub select_terms_of_dim: PreparedStatement,
    pub select_terms_since: PreparedStatement,

    /// Row `number = 0` of `roster_versions`: one import of a tenant at a time.
    pub lock_roster: PreparedStatement,
    pub unlock_roster: PreparedStatement,
    /// At `LOCAL_SERIAL`.
    pub select_last_roster_version: PreparedStatement,
    pub insert_roster_version: PreparedStatement,
    pub select_roster_versions: PreparedStatement,
    pub upsert_roster_record: PreparedStatement,
    pub select_roster_record: PreparedStatement,
    pub select_roster_records: PreparedStatement,
}

/// How a statement runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An upsert or delete of fixed values, or a read: safe to retry.
    Idempotent,
    /// A read of many rows: idempotent, fetched in pages.
    Paged,
    /// A read at `LOCAL_SERIAL`.
    Serial,
    /// A lightweight transaction: never retried blindly.
    Conditional,
}

async fn prepare(
    session: &Session,
    cql: String,
    kind: Kind,
) -> Result<PreparedStatement, StoreError> {
    let mut statement = session
        .prepare(cql.as_str())
        .await
        .map_err(|e| driver_error(format!("preparing {cql}: {e}")))?;
    statement.set_is_idempotent(kind != Kind::Conditional);
    match kind {
        Kind::Paged => statement.set_page_size(PAGE_SIZE),
        Kind::Serial => statement.set_consistency(Consistency::LocalSerial),
        Kind::Idempotent | Kind::Conditional => {}
    }
    Ok(statement)
}

const QUARANTINE_COLUMNS: &str =
    "tenant, statement_id, stored, log_partition, log_offset, error, body, quarantined";

const DOCUMENT_KEY: &str = "tenant = ? AND kind = ? AND scope = ? AND id = ?";

impl Prepared {
    pub(crate) async fn new(s: &Session) -> Result<Prepared, StoreError> {
        use Kind::*;
        let p = |cql: &str, kind| prepare(s, cql.to_owned(), kind);
        let mut insert_index = Vec::new();
        let mut slice_index = Vec::new();
        for table in IndexTable::EVERY {
            let name = table.table_name();
            let (columns, values, partition) = if table == IndexTable::All {
                ("tenant, day", "?, ?", "tenant = ? AND day = ?")
            } else {
                (
                    "tenant, path_key, day",
                    "?, ?, ?",
                    "tenant = ? AND path_key = ? AND day = ?",
                )
            };
            insert_index.push(
                prepare(
                    s,
                    format!(
                        "INSERT INTO {name} ({columns}, bucket, block, positions) \
                         VALUES ({values}, ?, ?, ?)"
                    ),
                    Idempotent,
                )
                .await?,
            );
            let slice = |order: &str| {
                format!(
                    "SELECT bucket, block, positions FROM {name} WHERE {partition} \
                     AND (bucket, block) >= (?, ?) AND (bucket, block) <= (?, ?) \
                     ORDER BY bucket {order}, block {order}"
                )
            };
            slice_index.push([
                prepare(s, slice("ASC"), Paged).await?,
                prepare(s, slice("DESC"), Paged).await?,
            ]);
        }
        let list_buckets = |order: &str| {
            format!(
                "SELECT bucket FROM statement_buckets \
                 WHERE tenant = ? AND path = ? AND path_key = ? AND bucket >= ? AND bucket <= ? \
                 ORDER BY bucket {order} LIMIT ?"
            )
        };
        Ok(Prepared {
            insert_statement: p(
                "INSERT INTO statements (tenant, id, stored, keys, inherited, body) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            insert_index,
            insert_bucket: p(
                "INSERT INTO statement_buckets (tenant, path, path_key, bucket) VALUES (?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            insert_voided: p(
                "INSERT INTO voided (tenant, target, voided_by) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            upsert_watermark: p(
                "INSERT INTO watermarks (log_partition, next_offset, stored) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_watermarks: p(
                "SELECT log_partition, next_offset, stored FROM watermarks",
                Paged,
            )
            .await?,
            select_statement: p(
                "SELECT stored, keys, inherited, body FROM statements WHERE tenant = ? AND id = ?",
                Idempotent,
            )
            .await?,
            select_statement_id: p(
                "SELECT id FROM statements WHERE tenant = ? AND id = ?",
                Idempotent,
            )
            .await?,
            select_voided: p(
                "SELECT voided_by FROM voided WHERE tenant = ? AND target = ?",
                Idempotent,
            )
            .await?,
            list_buckets: [
                prepare(s, list_buckets("ASC"), Idempotent).await?,
                prepare(s, list_buckets("DESC"), Idempotent).await?,
            ],
            slice_index,

            select_document: prepare(
                s,
                format!(
                    "SELECT content_type, body, etag, updated FROM documents WHERE {DOCUMENT_KEY}"
                ),
                Idempotent,
            )
            .await?,
            select_document_serial: prepare(
                s,
                format!("SELECT etag FROM documents WHERE {DOCUMENT_KEY}"),
                Serial,
            )
            .await?,
            list_documents: p(
                "SELECT id, updated FROM documents WHERE tenant = ? AND kind = ? AND scope = ?",
                Paged,
            )
            .await?,
            scan_document_keys: p("SELECT tenant, kind, scope, id FROM documents", Paged).await?,
            insert_document_if_absent: p(
                "INSERT INTO documents (tenant, kind, scope, id, content_type, body, etag, updated) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            update_document_if_match: prepare(
                s,
                format!(
                    "UPDATE documents SET content_type = ?, body = ?, etag = ?, updated = ? \
                     WHERE {DOCUMENT_KEY} IF etag = ?"
                ),
                Conditional,
            )
            .await?,
            delete_document_if_exists: prepare(
                s,
                format!("DELETE FROM documents WHERE {DOCUMENT_KEY} IF EXISTS"),
                Conditional,
            )
            .await?,
            delete_document_if_match: prepare(
                s,
                format!("DELETE FROM documents WHERE {DOCUMENT_KEY} IF etag = ?"),
                Conditional,
            )
            .await?,

            select_attachment: p(
                "SELECT content_type, body FROM attachments WHERE tenant = ? AND sha2 = ?",
                Idempotent,
            )
            .await?,
            select_attachment_present: p(
                "SELECT sha2 FROM attachments WHERE tenant = ? AND sha2 = ?",
                Idempotent,
            )
            .await?,
            insert_attachment: p(
                "INSERT INTO attachments (tenant, sha2, content_type, body) VALUES (?, ?, ?, ?)",
                Idempotent,
            )
            .await?,

            select_activity: p(
                "SELECT definition FROM activities WHERE tenant = ? AND activity_id = ?",
                Idempotent,
            )
            .await?,
            select_activity_serial: p(
                "SELECT definition FROM activities WHERE tenant = ? AND activity_id = ?",
                Serial,
            )
            .await?,
            insert_activity_if_absent: p(
                "INSERT INTO activities (tenant, activity_id, definition) VALUES (?, ?, ?) \
                 IF NOT EXISTS",
                Conditional,
            )
            .await?,
            update_activity_if_unchanged: p(
                "UPDATE activities SET definition = ? WHERE tenant = ? AND activity_id = ? \
                 IF definition = ?",
                Conditional,
            )
            .await?,

            upsert_quarantine: p(
                "INSERT INTO quarantine (tenant, statement_id, stored, log_partition, log_offset, \
                 error, body, quarantined) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_quarantine_of_tenant: p(
                &format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE tenant = ?"),
                Paged,
            )
            .await?,
            select_quarantine: p(
                &format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine"),
                Paged,
            )
            .await?,
            delete_quarantined: p(
                "DELETE FROM quarantine WHERE tenant = ? AND statement_id = ?",
                Idempotent,
            )
            .await?,

            insert_fact: p(
                "INSERT INTO facts (tenant, day, actor, id, fact) VALUES (?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            delete_fact: p(
                "DELETE FROM facts WHERE tenant = ? AND day = ? AND actor = ? AND id = ?",
                Idempotent,
            )
            .await?,
            select_facts_of_day: p(
                "SELECT actor, id, fact FROM facts WHERE tenant = ? AND day = ?",
                Paged,
            )
            .await?,
            select_facts_of_actor: p(
                "SELECT actor, id, fact FROM facts WHERE tenant = ? AND day = ? AND actor = ?",
                Paged,
            )
            .await?,
            insert_study_tenant: p("INSERT INTO study_tenants (tenant) VALUES (?)", Idempotent)
                .await?,
            select_study_tenants: p("SELECT tenant FROM study_tenants", Paged).await?,
            select_term: p(
                "SELECT term, first_seen FROM terms WHERE tenant = ? AND dim = ? AND term_key = ?",
                Idempotent,
            )
            .await?,
            insert_term_by_time: p(
                "INSERT INTO terms_by_time (tenant, month, first_seen, dim, term_key) \
                 VALUES (?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            insert_term_if_absent: p(
                "INSERT INTO terms (tenant, dim, term_key, term, first_seen) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            select_terms_of_dim: p(
                "SELECT term_key, term, first_seen FROM terms WHERE tenant = ? AND dim = ?",
                Paged,
            )
            .await?,
            select_terms_since: p(
                "SELECT dim, term_key FROM terms_by_time \
                 WHERE tenant = ? AND month = ? AND first_seen >= ?",
                Paged,
            )
            .await?,

            lock_roster: p(
                "INSERT INTO roster_versions (tenant, number, imported_at, body) \
                 VALUES (?, 0, ?, ?) IF NOT EXISTS USING TTL ?",
                Conditional,
            )
            .await?,
            unlock_roster: p(
                "DELETE FROM roster_versions WHERE tenant = ? AND number = 0 IF body = ?",
                Conditional,
            )
            .await?,
            select_last_roster_version: p(
                "SELECT number FROM roster_versions WHERE tenant = ? AND number >= 1 \
                 ORDER BY number DESC LIMIT 1",
                Serial,
            )
            .await?,
            insert_roster_version: p(
                "INSERT INTO roster_versions (tenant, number, imported_at, body) \
                 VALUES (?, ?, ?, ?) IF NOT EXISTS",
                Conditional,
            )
            .await?,
            select_roster_versions: p(
                "SELECT number, imported_at, body FROM roster_versions \
                 WHERE tenant = ? AND number >= 1",
                Paged,
            )
            .await?,
            upsert_roster_record: p(
                "INSERT INTO roster_records (tenant, kind, sourced_id, record, removal) \
                 VALUES (?, ?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_roster_record: p(
                "SELECT record FROM roster_records \
                 WHERE tenant = ? AND kind = ? AND sourced_id = ?",
                Idempotent,
            )
            .await?,
            select_roster_records: p(
                "SELECT sourced_id, record, removal FROM roster_records \
                 WHERE tenant = ? AND kind = ?",
                Paged,
            )
            .await?,
        })
    }
}
