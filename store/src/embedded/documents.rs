//! The `documents` table: state, activity profile and agent profile documents.
//!
//! Writes are serialized by one mutex so that a precondition is checked against the document the
//! write replaces (xAPI 1.0.3 Communication §3.1: concurrency control with `If-Match` and
//! `If-None-Match`). Document traffic is small next to statements, so one lock is enough.

use fjall::PersistMode;

use super::codec;
use super::{Tables, keys, unavailable};
use crate::{
    Document, DocumentAddress, DocumentKind, DocumentScope, Micros, Precondition, StoreError,
    StoreErrorKind,
};

impl Tables {
    pub(crate) fn get_document(
        &self,
        scope: &DocumentScope,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let key = document_key(scope, id)?;
        if !keys::fits(&key) {
            return Ok(None);
        }
        match self.documents.get(key).map_err(unavailable)? {
            None => Ok(None),
            Some(value) => codec::decode_document(&value).map(Some),
        }
    }

    pub(crate) fn list_documents(
        &self,
        scope: &DocumentScope,
        since: Option<Micros>,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = scope_prefix(scope)?;
        let mut ids = Vec::new();
        if !keys::fits(&prefix) {
            return Ok(ids);
        }
        for guard in self.documents.prefix(&prefix) {
            let (key, value) = guard.into_inner().map_err(unavailable)?;
            let updated = codec::document_updated(&value)?;
            if since.is_some_and(|since| updated <= since) {
                continue;
            }
            let id = std::str::from_utf8(&key[prefix.len()..])
                .map_err(|_| codec::corrupt("document id is not UTF-8".into()))?;
            ids.push(id.to_owned());
        }
        Ok(ids)
    }

    /// The State documents whose scope ends with the agent (a read of the tenant's State
    /// scopes), then the agent's Agent Profile scope.
    pub(crate) fn agent_documents(
        &self,
        tenant: &str,
        agent: &str,
    ) -> Result<Vec<DocumentAddress>, StoreError> {
        let mut found = Vec::new();
        let mut prefix = keys::tenant_name_prefix(tenant)?;
        prefix.push(kind_byte(DocumentKind::State));
        for guard in self.documents.prefix(&prefix) {
            let key = guard.key().map_err(unavailable)?;
            let rest = &key[prefix.len()..];
            let corrupt = || codec::corrupt("document key is cut short".into());
            let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
            let len = u32::from_be_bytes(*len) as usize;
            let (scope, id) = (rest.get(..len).ok_or_else(corrupt)?, &rest[len..]);
            let scope = DocumentScope {
                tenant: tenant.to_owned(),
                kind: DocumentKind::State,
                scope: utf8(scope)?.to_owned(),
            };
            if scope.agent() == Some(agent) {
                found.push(DocumentAddress {
                    scope,
                    id: utf8(id)?.to_owned(),
                });
            }
        }
        found.sort_unstable();
        let profiles = DocumentScope {
            tenant: tenant.to_owned(),
            kind: DocumentKind::AgentProfile,
            scope: agent.to_owned(),
        };
        for id in self.list_documents(&profiles, None)? {
            found.push(DocumentAddress {
                scope: profiles.clone(),
                id,
            });
        }
        Ok(found)
    }

    pub(crate) fn put_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        document: &Document,
        precondition: &Precondition,
    ) -> Result<(), StoreError> {
        let key = keys::checked_key("documents", document_key(scope, id)?)?;
        let value = codec::encode_document(document)?;
        let _guard = self.lock_document_writes();
        self.check(&key, precondition)?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.documents, key, value);
        batch.commit().map_err(unavailable)
    }

    pub(crate) fn delete_document(
        &self,
        scope: &DocumentScope,
        id: &str,
        precondition: &Precondition,
    ) -> Result<bool, StoreError> {
        let key = document_key(scope, id)?;
        if !keys::fits(&key) {
            return self.check_absent(precondition);
        }
        let _guard = self.lock_document_writes();
        let existed = self.check(&key, precondition)?;
        if existed {
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
            batch.remove(&self.documents, key);
            batch.commit().map_err(unavailable)?;
        }
        Ok(existed)
    }

    pub(crate) fn delete_documents(&self, scope: &DocumentScope) -> Result<(), StoreError> {
        let prefix = scope_prefix(scope)?;
        if !keys::fits(&prefix) {
            return Ok(());
        }
        let _guard = self.lock_document_writes();
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for guard in self.documents.prefix(&prefix) {
            batch.remove(&self.documents, guard.key().map_err(unavailable)?);
        }
        batch.commit().map_err(unavailable)
    }

    /// A delete of a document whose key cannot be stored: there is none, so only `If-Match`
    /// fails.
    fn check_absent(&self, precondition: &Precondition) -> Result<bool, StoreError> {
        match precondition {
            Precondition::IfMatch(_) => Err(StoreError::new(
                StoreErrorKind::PreconditionFailed,
                "document precondition does not hold",
            )),
            Precondition::None | Precondition::IfAbsent => Ok(false),
        }
    }

    /// Checks a precondition against the current document; returns whether one exists.
    /// Must be called with the document write lock held.
    fn check(&self, key: &[u8], precondition: &Precondition) -> Result<bool, StoreError> {
        let current = match self.documents.get(key).map_err(unavailable)? {
            None => None,
            Some(value) => Some(codec::decode_document(&value)?),
        };
        let holds = match (precondition, &current) {
            (Precondition::None, _) => true,
            (Precondition::IfAbsent, current) => current.is_none(),
            (Precondition::IfMatch(etag), Some(current)) => current.etag == *etag,
            (Precondition::IfMatch(_), None) => false,
        };
        if holds {
            Ok(current.is_some())
        } else {
            Err(StoreError::new(
                StoreErrorKind::PreconditionFailed,
                "document precondition does not hold",
            ))
        }
    }

    pub(crate) fn lock_document_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is `()`, so a panic while holding the lock cannot leave it inconsistent.
        self.document_writes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|_| codec::corrupt("document key is not UTF-8".into()))
}

fn kind_byte(kind: DocumentKind) -> u8 {
    match kind {
        DocumentKind::State => 1,
        DocumentKind::ActivityProfile => 2,
        DocumentKind::AgentProfile => 3,
    }
}

/// Tenant prefix, kind byte, `u32` big-endian scope length, scope bytes.
fn scope_prefix(scope: &DocumentScope) -> Result<Vec<u8>, StoreError> {
    let scope_len = u32::try_from(scope.scope.len())
        .map_err(|_| StoreError::rejected("document scope longer than 4 GiB"))?;
    let mut key = keys::tenant_name_prefix(&scope.tenant)?;
    key.push(kind_byte(scope.kind));
    key.extend_from_slice(&scope_len.to_be_bytes());
    key.extend_from_slice(scope.scope.as_bytes());
    Ok(key)
}

fn document_key(scope: &DocumentScope, id: &str) -> Result<Vec<u8>, StoreError> {
    let mut key = scope_prefix(scope)?;
    key.extend_from_slice(id.as_bytes());
    Ok(key)
}
