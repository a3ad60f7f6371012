//! Documents (lightweight transactions for preconditions), attachments and activity definitions
//! (merged with lightweight transactions).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use futures::{FutureExt, TryStreamExt};
use lrs_schema::DefinitionJson;
use scylla::response::query_result::QueryResult;
use scylla::value::{CqlValue, Row};

use super::statements::{read_all, rows, run_all, write_partition};
use super::{Inner, corrupt, driver_error, next_row_error};
use crate::layout::wide::{decode_definition, document_kind, precondition_failed};
use crate::{
    ActivityDefinitionRow, AttachmentBody, Document, DocumentAddress, DocumentKind, DocumentScope,
    Micros, Precondition, StoreError,
};

/// Whether a lightweight transaction applied: its first column, `[applied]`.
pub(super) fn applied(result: QueryResult) -> Result<bool, StoreError> {
    let row = rows::<Row>(result)?
        .into_iter()
        .next()
        .ok_or_else(|| corrupt("a lightweight transaction answered no row"))?;
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(applied))) => Ok(*applied),
        other => Err(corrupt(format!("[applied] column is {other:?}"))),
    }
}

pub(super) async fn get_document(
    db: &Inner,
    scope: &DocumentScope,
    id: &str,
) -> Result<Option<Document>, StoreError> {
    let key = (&scope.tenant, document_kind(scope.kind), &scope.scope, id);
    let result = db
        .session
        .execute_unpaged(&db.prepared.select_document, key)
        .await
        .map_err(driver_error)?;
    Ok(rows::<(String, Vec<u8>, String, i64)>(result)?.pop().map(
        |(content_type, body, etag, updated)| Document {
            content_type,
            body: Bytes::from(body),
            etag,
            updated,
        },
    ))
}

/// Reads the scope's partition (paged) and filters `updated` here (a restriction on it would need
/// ALLOW FILTERING).
pub(super) async fn list_documents(
    db: &Inner,
    scope: &DocumentScope,
    since: Option<Micros>,
) -> Result<Vec<String>, StoreError> {
    let key = (&scope.tenant, document_kind(scope.kind), &scope.scope);
    let mut ids: Vec<String> = db
        .session
        .execute_iter(db.prepared.list_documents.clone(), key)
        .await
        .map_err(driver_error)?
        .rows_stream::<(String, i64)>()?
        .try_filter_map(|(id, updated)| async move {
            Ok(since.is_none_or(|since| updated > since).then_some(id))
        })
        .try_collect()
        .await
        .map_err(next_row_error)?;
    ids.sort_unstable();
    Ok(ids)
}

/// The State documents of the agent, from a paged scan of every document's key (the partition
/// key is the scope, activity and agent together: there is no narrower read), then the agent's
/// Agent Profile partition.
pub(super) async fn agent_documents(
    db: &Inner,
    tenant: &str,
    agent: &str,
) -> Result<Vec<DocumentAddress>, StoreError> {
    let state = document_kind(DocumentKind::State);
    let mut found: Vec<DocumentAddress> = db
        .session
        .execute_iter(db.prepared.scan_document_keys.clone(), ())
        .await
        .map_err(driver_error)?
        .rows_stream::<(String, i8, String, String)>()?
        .try_filter_map(|(row_tenant, kind, scope, id)| async move {
            if kind != state || row_tenant != tenant {
                return Ok(None);
            }
            let scope = DocumentScope {
                tenant: row_tenant,
                kind: DocumentKind::State,
                scope,
            };
            Ok((scope.agent() == Some(agent)).then_some(DocumentAddress { scope, id }))
        })
        .try_collect()
        .await
        .map_err(next_row_error)?;
    found.sort_unstable();
    let profiles = DocumentScope {
        tenant: tenant.to_owned(),
        kind: DocumentKind::AgentProfile,
        scope: agent.to_owned(),
    };
    for id in list_documents(db, &profiles, None).await? {
        found.push(DocumentAddress {
            scope: profiles.clone(),
            id,
        });
    }
    Ok(found)
}

/// `IfAbsent` is `INSERT … IF NOT EXISTS`, `IfMatch` is `UPDATE … IF etag = ?`. Without a
/// precondition the write still goes through a lightweight transaction (one of those two, after
/// a serial read of the current etag): every write of the `documents` table is one, because
/// Scylla does not order plain writes (client timestamps) against lightweight transactions
/// (Paxos ballots) on the same row.
pub(super) async fn put_document(
    db: &Inner,
    scope: &DocumentScope,
    id: &str,
    document: &Document,
    precondition: Precondition,
) -> Result<(), StoreError> {
    let p = &db.prepared;
    let kind = document_kind(scope.kind);
    let body: &[u8] = &document.body;
    loop {
        let (condition, retry) = match &precondition {
            Precondition::None => (current_etag(db, scope, id).await?, true),
            Precondition::IfAbsent => (None, false),
            Precondition::IfMatch(etag) => (Some(etag.clone()), false),
        };
        let result = match condition {
            None => {
                let values = (
                    &scope.tenant,
                    kind,
                    &scope.scope,
                    id,
                    &document.content_type,
                    body,
                    &document.etag,
                    document.updated,
                );
                db.session
                    .execute_unpaged(&p.insert_document_if_absent, values)
                    .await
            }
            Some(etag) => {
                let values = (
                    &document.content_type,
                    body,
                    &document.etag,
                    document.updated,
                    &scope.tenant,
                    kind,
                    &scope.scope,
                    id,
                    etag,
                );
                db.session
                    .execute_unpaged(&p.update_document_if_match, values)
                    .await
            }
        };
        if applied(result.map_err(driver_error)?)? {
            return Ok(());
        }
        if !retry {
            return Err(precondition_failed());
        }
    }
}

/// The etag of the current document, read at `LOCAL_SERIAL`.
async fn current_etag(
    db: &Inner,
    scope: &DocumentScope,
    id: &str,
) -> Result<Option<String>, StoreError> {
    let key = (&scope.tenant, document_kind(scope.kind), &scope.scope, id);
    let result = db
        .session
        .execute_unpaged(&db.prepared.select_document_serial, key)
        .await
        .map_err(driver_error)?;
    Ok(rows::<(String,)>(result)?.pop().map(|(etag,)| etag))
}

pub(super) async fn delete_document(
    db: &Inner,
    scope: &DocumentScope,
    id: &str,
    precondition: &Precondition,
) -> Result<bool, StoreError> {
    let p = &db.prepared;
    let key = (&scope.tenant, document_kind(scope.kind), &scope.scope, id);
    match precondition {
        Precondition::None => {
            let result = db
                .session
                .execute_unpaged(&p.delete_document_if_exists, key)
                .await
                .map_err(driver_error)?;
            applied(result)
        }
        Precondition::IfMatch(etag) => {
            let values = (key.0, key.1, key.2, key.3, etag);
            let result = db
                .session
                .execute_unpaged(&p.delete_document_if_match, values)
                .await
                .map_err(driver_error)?;
            if !applied(result)? {
                return Err(precondition_failed());
            }
            Ok(true)
        }
        Precondition::IfAbsent => {
            if current_etag(db, scope, id).await?.is_some() {
                return Err(precondition_failed());
            }
            Ok(false)
        }
    }
}

/// Deletes every document of the scope, one lightweight transaction each (`IF EXISTS`): a
/// partition tombstone would be a plain write, whose timestamp Scylla does not order against the
/// lightweight transactions that create documents.
pub(super) async fn delete_documents(db: &Inner, scope: &DocumentScope) -> Result<(), StoreError> {
    let ids = list_documents(db, scope, None).await?;
    let kind = document_kind(scope.kind);
    let deletes = ids
        .into_iter()
        .map(|id| {
            async move {
                let key = (&scope.tenant, kind, &scope.scope, id);
                db.session
                    .execute_unpaged(&db.prepared.delete_document_if_exists, key)
                    .await
                    .map_err(driver_error)?;
                Ok(())
            }
            .boxed()
        })
        .collect();
    run_all(db, deletes).await
}

/// The first write of a hash wins: reads which hashes are present, inserts only the missing ones
/// (no lightweight transaction: two racing writers of one hash write the same bytes).
pub(super) async fn put_attachments(
    db: &Inner,
    tenant: &str,
    attachments: &[AttachmentBody],
) -> Result<(), StoreError> {
    let mut by_hash: BTreeMap<String, &AttachmentBody> = BTreeMap::new();
    for attachment in attachments {
        by_hash
            .entry(attachment.sha2.to_ascii_lowercase())
            .or_insert(attachment);
    }
    let writes = by_hash
        .into_iter()
        .map(|(sha2, attachment)| {
            async move {
                let result = db
                    .session
                    .execute_unpaged(&db.prepared.select_attachment_present, (tenant, &sha2))
                    .await
                    .map_err(driver_error)?;
                if !rows::<(String,)>(result)?.is_empty() {
                    return Ok(());
                }
                let values = (
                    tenant,
                    sha2.as_str(),
                    attachment.content_type.as_str(),
                    attachment.body.clone(),
                );
                write_partition(db, &db.prepared.insert_attachment, vec![values]).await
            }
            .boxed()
        })
        .collect();
    run_all(db, writes).await
}

pub(super) async fn get_attachments(
    db: &Inner,
    tenant: &str,
    sha2: &[String],
) -> Result<Vec<Option<AttachmentBody>>, StoreError> {
    let reads = sha2
        .iter()
        .map(|hash| {
            async move {
                let hash = hash.to_ascii_lowercase();
                let result = db
                    .session
                    .execute_unpaged(&db.prepared.select_attachment, (tenant, &hash))
                    .await
                    .map_err(driver_error)?;
                Ok::<_, StoreError>(rows::<(String, Vec<u8>)>(result)?.pop().map(
                    |(content_type, body)| AttachmentBody {
                        sha2: hash,
                        content_type,
                        body: Bytes::from(body),
                    },
                ))
            }
            .boxed()
        })
        .collect();
    read_all(db, reads).await
}

/// Per (tenant, activity), concurrently: read the stored definition at `LOCAL_SERIAL`, merge the
/// rows in order, and write the result only if it changed, conditionally (`IF NOT EXISTS`, or
/// `IF definition = ?` the bytes read); when another writer got in between, read and merge again.
pub(super) async fn merge_activity_definitions(
    db: &Inner,
    rows: &[ActivityDefinitionRow],
) -> Result<(), StoreError> {
    let mut groups: HashMap<(&str, &str), Vec<&DefinitionJson>> = HashMap::new();
    for row in rows {
        groups
            .entry((row.tenant.as_str(), row.activity_id.as_str()))
            .or_default()
            .push(&row.definition);
    }
    let writes = groups
        .into_iter()
        .map(|((tenant, activity), definitions)| {
            merge_activity(db, tenant, activity, definitions).boxed()
        })
        .collect();
    run_all(db, writes).await
}

async fn merge_activity(
    db: &Inner,
    tenant: &str,
    activity: &str,
    definitions: Vec<&DefinitionJson>,
) -> Result<(), StoreError> {
    let p = &db.prepared;
    loop {
        let result = db
            .session
            .execute_unpaged(&p.select_activity_serial, (tenant, activity))
            .await
            .map_err(driver_error)?;
        let stored = rows::<(Vec<u8>,)>(result)?.pop().map(|(json,)| json);
        let mut merged = match &stored {
            Some(json) => decode_definition(json)?,
            None => DefinitionJson::default(),
        };
        let mut changed = false;
        for definition in &definitions {
            changed |= merged.merge(definition);
        }
        if !changed {
            return Ok(());
        }
        let result = match stored {
            None => {
                let values = (tenant, activity, merged.to_vec());
                db.session
                    .execute_unpaged(&p.insert_activity_if_absent, values)
                    .await
            }
            Some(previous) => {
                let values = (merged.to_vec(), tenant, activity, previous);
                db.session
                    .execute_unpaged(&p.update_activity_if_unchanged, values)
                    .await
            }
        };
        if applied(result.map_err(driver_error)?)? {
            return Ok(());
        }
    }
}

pub(super) async fn get_activity_definitions(
    db: &Inner,
    tenant: &str,
    activity_ids: &[String],
) -> Result<Vec<Option<DefinitionJson>>, StoreError> {
    let reads = activity_ids
        .iter()
        .map(|activity| {
            async move {
                let result = db
                    .session
                    .execute_unpaged(&db.prepared.select_activity, (tenant, activity))
                    .await
                    .map_err(driver_error)?;
                rows::<(Vec<u8>,)>(result)?
                    .pop()
                    .map(|(json,)| decode_definition(&json))
                    .transpose()
            }
            .boxed()
        })
        .collect();
    read_all(db, reads).await
}
