//! Documents (conditional writes for preconditions), attachments and activity definitions.

use std::collections::HashMap;

use bytes::Bytes;
use deadpool_postgres::Object;
use lrs_schema::DefinitionJson;
use lrs_schema::envelope::Key16;

use super::unavailable;
use crate::layout::wide::{decode_definition, document_kind, precondition_failed};
use crate::{
    ActivityDefinitionRow, AttachmentBody, Document, DocumentAddress, DocumentKind, DocumentScope,
    Micros, Precondition, StoreError, StoreErrorKind,
};

/// The `kind` column (`smallint` here, `tinyint` on Scylla).
fn kind(kind: DocumentKind) -> i16 {
    i16::from(document_kind(kind))
}

pub(super) async fn get_document(
    client: &Object,
    scope: &DocumentScope,
    id: &str,
) -> Result<Option<Document>, StoreError> {
    let select = client
        .prepare_cached(
            "SELECT content_type, body, etag, updated FROM documents \
             WHERE tenant = $1 AND kind = $2 AND scope = $3 AND id = $4",
        )
        .await
        .map_err(unavailable)?;
    let row = client
        .query_opt(
            &select,
            &[
                &scope.tenant,
                &kind(scope.kind),
                &scope.scope.as_bytes(),
                &id.as_bytes(),
            ],
        )
        .await
        .map_err(unavailable)?;
    Ok(row.map(|row| Document {
        content_type: row.get(0),
        body: Bytes::copy_from_slice(row.get(1)),
        etag: row.get(2),
        updated: row.get(3),
    }))
}

/// Reads the scope's partition and filters `updated` here (Scylla would need ALLOW FILTERING).
pub(super) async fn list_documents(
    client: &Object,
    scope: &DocumentScope,
    since: Option<Micros>,
) -> Result<Vec<String>, StoreError> {
    let select = client
        .prepare_cached(
            "SELECT id, updated FROM documents WHERE tenant = $1 AND kind = $2 AND scope = $3",
        )
        .await
        .map_err(unavailable)?;
    let mut ids: Vec<String> = client
        .query(
            &select,
            &[&scope.tenant, &kind(scope.kind), &scope.scope.as_bytes()],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .filter(|row| since.is_none_or(|since| row.get::<_, i64>(1) > since))
        .map(|row| utf8(row.get(0)))
        .collect::<Result<_, _>>()?;
    // Byte order, whatever the database's collation.
    ids.sort_unstable();
    Ok(ids)
}

/// The State documents whose scope ends with `\n` and the agent (the tenant's State rows, read
/// by the primary key's `(tenant, kind)` prefix, filtered in the database and checked again
/// here), then the agent's Agent Profile partition.
pub(super) async fn agent_documents(
    client: &Object,
    tenant: &str,
    agent: &str,
) -> Result<Vec<DocumentAddress>, StoreError> {
    let select = client
        .prepare_cached(
            "SELECT scope, id FROM documents WHERE tenant = $1 AND kind = $2 \
             AND substring(scope from octet_length(scope) - octet_length($3::bytea) + 1) = $3::bytea",
        )
        .await
        .map_err(unavailable)?;
    let suffix = format!("\n{agent}");
    let rows = client
        .query(
            &select,
            &[&tenant, &kind(DocumentKind::State), &suffix.as_bytes()],
        )
        .await
        .map_err(unavailable)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let scope = DocumentScope {
            tenant: tenant.to_owned(),
            kind: DocumentKind::State,
            scope: utf8(row.get(0))?,
        };
        if scope.agent() == Some(agent) {
            found.push(DocumentAddress {
                scope,
                id: utf8(row.get(1))?,
            });
        }
    }
    found.sort_unstable();
    let profiles = DocumentScope {
        tenant: tenant.to_owned(),
        kind: DocumentKind::AgentProfile,
        scope: agent.to_owned(),
    };
    for id in list_documents(client, &profiles, None).await? {
        found.push(DocumentAddress {
            scope: profiles.clone(),
            id,
        });
    }
    Ok(found)
}

/// One conditional statement per precondition, each atomic on its own (Scylla: `INSERT … IF NOT
/// EXISTS`, `UPDATE … IF etag = ?`).
pub(super) async fn put_document(
    client: &Object,
    scope: &DocumentScope,
    id: &str,
    document: &Document,
    precondition: &Precondition,
) -> Result<(), StoreError> {
    let columns = "INSERT INTO documents (tenant, kind, scope, id, content_type, body, etag, updated) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let sql = match precondition {
        Precondition::None => format!(
            "{columns} ON CONFLICT (tenant, kind, scope, id) DO UPDATE SET \
             content_type = EXCLUDED.content_type, body = EXCLUDED.body, etag = EXCLUDED.etag, \
             updated = EXCLUDED.updated"
        ),
        Precondition::IfAbsent => format!("{columns} ON CONFLICT DO NOTHING"),
        Precondition::IfMatch(_) => "UPDATE documents SET content_type = $5, body = $6, \
             etag = $7, updated = $8 \
             WHERE tenant = $1 AND kind = $2 AND scope = $3 AND id = $4 AND etag = $9"
            .to_owned(),
    };
    let statement = client.prepare_cached(&sql).await.map_err(unavailable)?;
    let kind = kind(scope.kind);
    let (scope_bytes, id) = (scope.scope.as_bytes(), id.as_bytes());
    let body: &[u8] = &document.body;
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
        &scope.tenant,
        &kind,
        &scope_bytes,
        &id,
        &document.content_type,
        &body,
        &document.etag,
        &document.updated,
    ];
    if let Precondition::IfMatch(etag) = precondition {
        params.push(etag);
    }
    let written = client
        .execute(&statement, &params)
        .await
        .map_err(unavailable)?;
    if written == 0 {
        return Err(precondition_failed());
    }
    Ok(())
}

pub(super) async fn delete_document(
    client: &Object,
    scope: &DocumentScope,
    id: &str,
    precondition: &Precondition,
) -> Result<bool, StoreError> {
    let key = "tenant = $1 AND kind = $2 AND scope = $3 AND id = $4";
    let kind = kind(scope.kind);
    let (scope_bytes, id) = (scope.scope.as_bytes(), id.as_bytes());
    match precondition {
        Precondition::None => {
            let delete = client
                .prepare_cached(&format!("DELETE FROM documents WHERE {key}"))
                .await
                .map_err(unavailable)?;
            let deleted = client
                .execute(&delete, &[&scope.tenant, &kind, &scope_bytes, &id])
                .await
                .map_err(unavailable)?;
            Ok(deleted > 0)
        }
        Precondition::IfMatch(etag) => {
            let delete = client
                .prepare_cached(&format!("DELETE FROM documents WHERE {key} AND etag = $5"))
                .await
                .map_err(unavailable)?;
            let deleted = client
                .execute(&delete, &[&scope.tenant, &kind, &scope_bytes, &id, etag])
                .await
                .map_err(unavailable)?;
            if deleted == 0 {
                return Err(precondition_failed());
            }
            Ok(true)
        }
        Precondition::IfAbsent => {
            let select = client
                .prepare_cached(&format!("SELECT 1 FROM documents WHERE {key}"))
                .await
                .map_err(unavailable)?;
            let present = client
                .query_opt(&select, &[&scope.tenant, &kind, &scope_bytes, &id])
                .await
                .map_err(unavailable)?;
            if present.is_some() {
                return Err(precondition_failed());
            }
            Ok(false)
        }
    }
}

/// Deletes the scope's partition.
pub(super) async fn delete_documents(
    client: &Object,
    scope: &DocumentScope,
) -> Result<(), StoreError> {
    let delete = client
        .prepare_cached("DELETE FROM documents WHERE tenant = $1 AND kind = $2 AND scope = $3")
        .await
        .map_err(unavailable)?;
    client
        .execute(
            &delete,
            &[&scope.tenant, &kind(scope.kind), &scope.scope.as_bytes()],
        )
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn put_attachments(
    client: &Object,
    tenant: &str,
    attachments: &[AttachmentBody],
) -> Result<(), StoreError> {
    let tenants: Vec<&str> = vec![tenant; attachments.len()];
    let hashes: Vec<String> = attachments
        .iter()
        .map(|a| a.sha2.to_ascii_lowercase())
        .collect();
    let types: Vec<&str> = attachments
        .iter()
        .map(|a| a.content_type.as_str())
        .collect();
    let bodies: Vec<&[u8]> = attachments.iter().map(|a| &a.body[..]).collect();
    let insert = client
        .prepare_cached(
            "INSERT INTO attachments (tenant, sha2, content_type, body) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[]) \
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(unavailable)?;
    client
        .execute(&insert, &[&tenants, &hashes, &types, &bodies])
        .await
        .map_err(unavailable)?;
    Ok(())
}

pub(super) async fn get_attachments(
    client: &Object,
    tenant: &str,
    sha2: &[String],
) -> Result<Vec<Option<AttachmentBody>>, StoreError> {
    let hashes: Vec<String> = sha2.iter().map(|h| h.to_ascii_lowercase()).collect();
    let select = client
        .prepare_cached(
            "SELECT sha2, content_type, body FROM attachments \
             WHERE tenant = $1 AND sha2 = ANY($2)",
        )
        .await
        .map_err(unavailable)?;
    let found: HashMap<String, AttachmentBody> = client
        .query(&select, &[&tenant, &hashes])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| {
            let sha2: String = row.get(0);
            let body = AttachmentBody {
                sha2: sha2.clone(),
                content_type: row.get(1),
                body: Bytes::copy_from_slice(row.get(2)),
            };
            (sha2, body)
        })
        .collect();
    Ok(hashes.iter().map(|h| found.get(h).cloned()).collect())
}

/// Read, merge and write in one transaction. Each (tenant, activity) is first locked with a
/// transaction-level advisory lock, in key order (no deadlock), so concurrent merges of one
/// activity serialize even when its row does not exist yet (`FOR UPDATE` locks only existing
/// rows). Scylla merges with lightweight transactions (`IF definition = ?` the bytes read).
pub(super) async fn merge_activity_definitions(
    client: &mut Object,
    rows: &[ActivityDefinitionRow],
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(unavailable)?;
    let mut locks: Vec<i64> = rows.iter().map(activity_lock).collect();
    locks.sort_unstable();
    locks.dedup();
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k")
        .await
        .map_err(unavailable)?;
    tx.execute(&lock, &[&locks]).await.map_err(unavailable)?;
    let select = tx
        .prepare_cached("SELECT definition FROM activities WHERE tenant = $1 AND activity_id = $2")
        .await
        .map_err(unavailable)?;
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut merged: HashMap<(&str, &str), (DefinitionJson, bool)> = HashMap::new();
    for row in rows {
        let key = (row.tenant.as_str(), row.activity_id.as_str());
        if let std::collections::hash_map::Entry::Vacant(slot) = merged.entry(key) {
            let current = match tx
                .query_opt(&select, &[&key.0, &key.1])
                .await
                .map_err(unavailable)?
            {
                Some(stored) => decode_definition(stored.get(0))?,
                None => DefinitionJson::default(),
            };
            slot.insert((current, false));
            order.push(key);
        }
        if let Some((definition, changed)) = merged.get_mut(&key) {
            *changed |= definition.merge(&row.definition);
        }
    }
    let upsert = tx
        .prepare_cached(
            "INSERT INTO activities (tenant, activity_id, definition) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant, activity_id) DO UPDATE SET definition = EXCLUDED.definition",
        )
        .await
        .map_err(unavailable)?;
    for key in order {
        if let Some((definition, true)) = merged.remove(&key) {
            tx.execute(&upsert, &[&key.0, &key.1, &definition.to_vec()])
                .await
                .map_err(unavailable)?;
        }
    }
    tx.commit().await.map_err(unavailable)
}

pub(super) async fn get_activity_definitions(
    client: &Object,
    tenant: &str,
    activity_ids: &[String],
) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
    let select = client
        .prepare_cached(
            "SELECT activity_id, definition FROM activities \
             WHERE tenant = $1 AND activity_id = ANY($2)",
        )
        .await
        .map_err(unavailable)?;
    let mut found: HashMap<String, DefinitionJson> = HashMap::new();
    for row in client
        .query(&select, &[&tenant, &activity_ids])
        .await
        .map_err(unavailable)?
    {
        found.insert(row.get(0), decode_definition(row.get(1))?);
    }
    Ok(activity_ids
        .iter()
        .map(|id| found.get(id).cloned())
        .collect())
}

/// The advisory lock key of one activity: 64 bits of a hash of (tenant, activity id).
fn activity_lock(row: &ActivityDefinitionRow) -> i64 {
    let key = Key16::of(&format!("{}\n{}", row.tenant, row.activity_id));
    let mut head = [0u8; 8];
    head.copy_from_slice(&key.0[..8]);
    i64::from_be_bytes(head)
}

fn utf8(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| StoreError::new(StoreErrorKind::Corrupt, "document id is not UTF-8"))
}
