//! `DocumentService`: the State, Activity Profile and Agent Profile resources over the
//! [`DocumentStore`].
//!
//! Every change is a compare-and-set: read the current document, check the request's
//! preconditions and decide the change against it, then write on the condition that the
//! document is still the one read (`IfMatch` of its ETag, or `IfAbsent`). When another request
//! got in between, the store refuses the write and the change is decided again on the new
//! document, so concurrent POST merges never lose a key and a precondition is always judged
//! against the document the write replaces.

mod conditions;
mod content;
mod target;

use std::collections::BTreeSet;
use std::sync::Arc;

use lrs_schema::{DocumentResource, XapiVersion};
use lrs_store::{Document, DocumentStore, Micros, Precondition, StoreErrorKind};

pub use conditions::{Conditions, Failed};
pub use content::{NewDocument, etag_of};
pub use target::DocumentTarget;

use crate::error::{ApiError, ApiErrorKind, Backpressure};

/// How many times a change is decided again because the document changed meanwhile. Each
/// retry means another request's write succeeded, so this bounds only starvation.
const MAX_ATTEMPTS: usize = 64;

const CONFLICT_RULE: &str = "xAPI 1.0.3 Communication §3.1.s4.b13–b15 (2.0 §4.1.4): a PUT without If-Match or If-None-Match to a document that exists MUST be answered 409 Conflict and MUST NOT modify it";
const PRECONDITION_REQUIRED_RULE: &str = "xAPI 1.0.3 Communication §3.1.s3.b1: a PUT to the Agent Profile or Activity Profile Resource MUST include the If-Match or the If-None-Match header";

/// What a PUT without `If-Match` or `If-None-Match` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnconditionalPut {
    /// xAPI 1.0.3 Communication §3.1.s3: "The State Resource will permit PUT, POST and DELETE
    /// requests without concurrency headers".
    Overwrite,
    /// xAPI 2.0 §4.1.4: create a document, but 409 when one exists (State included).
    CreateOnly,
    /// xAPI 1.0.3 §3.1: the profile resources require a header; 409 when a document exists,
    /// 400 otherwise.
    Refuse,
}

impl UnconditionalPut {
    pub fn of(resource: DocumentResource, version: XapiVersion) -> UnconditionalPut {
        match (version, resource) {
            (XapiVersion::V1_0_3, DocumentResource::State) => UnconditionalPut::Overwrite,
            (XapiVersion::V1_0_3, _) => UnconditionalPut::Refuse,
            (XapiVersion::V2_0_0, _) => UnconditionalPut::CreateOnly,
        }
    }
}

/// The change one attempt decides on.
enum Change {
    Write(Document),
    Delete,
    Nothing,
}

/// Reads and changes documents.
pub struct DocumentService {
    store: Arc<dyn DocumentStore>,
}

impl DocumentService {
    pub fn new(store: Arc<dyn DocumentStore>) -> DocumentService {
        DocumentService { store }
    }

    /// The one document the target names.
    pub async fn get(&self, target: &DocumentTarget) -> Result<Option<Document>, ApiError> {
        let id = single(target)?;
        Ok(self.store.get_document(&target.scope, &id).await?)
    }

    /// The ids of the target's documents updated strictly after `since`, sorted, each once.
    pub async fn list(
        &self,
        target: &DocumentTarget,
        since: Option<Micros>,
    ) -> Result<Vec<String>, ApiError> {
        let stored = self.store.list_documents(&target.scope, since).await?;
        let ids: BTreeSet<&str> = stored.iter().filter_map(|s| target.listed_id(s)).collect();
        Ok(ids.into_iter().map(str::to_owned).collect())
    }

    /// PUT: stores the document as sent; returns its ETag.
    pub async fn put(
        &self,
        target: &DocumentTarget,
        new: NewDocument,
        conditions: &Conditions,
        unconditional: UnconditionalPut,
    ) -> Result<String, ApiError> {
        let new = new.checked_for_put()?;
        self.change(target, conditions, |current| {
            if conditions.is_empty() {
                match (current, unconditional) {
                    (_, UnconditionalPut::Overwrite) | (None, UnconditionalPut::CreateOnly) => {}
                    (Some(_), _) => return Err(conflict()),
                    (None, UnconditionalPut::Refuse) => return Err(precondition_required()),
                }
            }
            Ok(Change::Write(new.to_document(now())))
        })
        .await
        .map(|etag| etag.unwrap_or_default())
    }

    /// POST: stores the document when there is none, else merges it into the stored one;
    /// returns the resulting ETag.
    pub async fn post(
        &self,
        target: &DocumentTarget,
        new: NewDocument,
        conditions: &Conditions,
    ) -> Result<String, ApiError> {
        let posted = new.post_object()?;
        self.change(target, conditions, |current| {
            let document = match current {
                None => new.to_document(now()),
                Some(current) => content::merge(current, posted.as_ref(), now())?,
            };
            Ok(Change::Write(document))
        })
        .await
        .map(|etag| etag.unwrap_or_default())
    }

    /// DELETE of one document; deleting a missing one is not an error (unless `If-Match` says
    /// the client expected one).
    pub async fn delete(
        &self,
        target: &DocumentTarget,
        conditions: &Conditions,
    ) -> Result<(), ApiError> {
        self.change(target, conditions, |current| {
            Ok(if current.is_some() {
                Change::Delete
            } else {
                Change::Nothing
            })
        })
        .await
        .map(|_| ())
    }

    /// DELETE without an id (State only): every document of the Activity and Agent, or of one
    /// registration of them.
    pub async fn delete_all(&self, target: &DocumentTarget) -> Result<(), ApiError> {
        if !target.selects_registration() {
            return Ok(self.store.delete_documents(&target.scope).await?);
        }
        for stored in self.store.list_documents(&target.scope, None).await? {
            if target.listed_id(&stored).is_some() {
                self.store
                    .delete_document(&target.scope, &stored, Precondition::None)
                    .await?;
            }
        }
        Ok(())
    }

    /// Decides a change against the current document and applies it only if that document is
    /// still current; decides again otherwise. Returns the written document's ETag.
    async fn change<F>(
        &self,
        target: &DocumentTarget,
        conditions: &Conditions,
        mut decide: F,
    ) -> Result<Option<String>, ApiError>
    where
        F: FnMut(Option<&Document>) -> Result<Change, ApiError>,
    {
        let id = single(target)?;
        let scope = &target.scope;
        for _ in 0..MAX_ATTEMPTS {
            let current = self.store.get_document(scope, &id).await?;
            conditions.check(current.as_ref())?;
            let change = decide(current.as_ref())?;
            let expected = match &current {
                Some(document) => Precondition::IfMatch(document.etag.clone()),
                None => Precondition::IfAbsent,
            };
            let applied = match change {
                Change::Nothing => return Ok(None),
                Change::Write(document) => {
                    let etag = document.etag.clone();
                    self.store
                        .put_document(scope, &id, document, expected)
                        .await
                        .map(|()| Some(etag))
                }
                Change::Delete => self
                    .store
                    .delete_document(scope, &id, expected)
                    .await
                    .map(|_| None),
            };
            match applied {
                Err(e) if e.kind() == StoreErrorKind::PreconditionFailed => continue,
                other => return Ok(other?),
            }
        }
        Err(ApiError::backpressure(
            Backpressure::DocumentContention,
            "the document kept changing while this request was applied; retry",
        ))
    }
}

fn single(target: &DocumentTarget) -> Result<String, ApiError> {
    target.stored_id().ok_or_else(|| {
        ApiError::new(
            ApiErrorKind::Internal,
            "a single-document operation without an id",
        )
    })
}

fn conflict() -> ApiError {
    ApiError::with_rule(
        ApiErrorKind::Conflict,
        CONFLICT_RULE,
        "a document exists here: GET it, then PUT with If-Match set to its ETag to replace it (or use If-None-Match: * to create only)",
    )
}

fn precondition_required() -> ApiError {
    ApiError::bad_request(
        PRECONDITION_REQUIRED_RULE,
        "header:If-Match",
        "send If-None-Match: * to create this document, or If-Match with the ETag of the one you replace",
    )
}

fn now() -> Micros {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}
