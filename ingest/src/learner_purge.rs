//! The learner purge's enumeration (issue 14 §3, `DELETE /api/v1/learners/{userSourcedId}`),
//! done by the purge job itself, after ingest has applied every record acknowledged before the
//! request: a statement posted a moment before the DELETE is purged too.
//!
//! The job resolves the learner's identities once ([`LearnerResolver`]: the query side's
//! identity rules over the roster and the study log's dictionary), then walks each identity's
//! agent-index path in `stored` order from where it stopped ([`LearnerProgress`]), a batch at a
//! time, keeping the statements that really name the identity (an index scan may return a rare
//! extra position on a hash-prefix collision) and were stored before the job was created. Each
//! batch's statements are purged before the cursor moves on, so a crash repeats at most one
//! batch, and a statement on two identities' paths is met (and purged) once.
//!
//! Once the statements are gone, so are the statements of theirs ingest quarantined (the
//! store could never take them; the tenant's quarantine is read whole: it stays nearly empty),
//! the learner's State and Agent Profile documents and the dictionary entries of their
//! identifiers (the study log's `terms`: the identifier text behind the facts' actor keys; no
//! fact of theirs is left).
//!
//! The record of a running job holds the learner's `userSourcedId` until the identities are
//! resolved, and their canonical identifiers until the job is complete; the audit record of a
//! complete job holds neither (only how many identities there were).

use async_trait::async_trait;
use lrs_schema::Actor;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::{
    AccessPath, DocumentStore, IndexScan, Micros, Position, QuarantineStore, QuarantinedStatement,
    StatementReader, StoreError, StoredStatement,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Finds a roster user's identities in a tenant's statements.
#[async_trait]
pub trait LearnerResolver: Send + Sync + 'static {
    /// The canonical identifiers (`account::<homePage>::<name>`, `mbox::mailto:…`, …) the
    /// identity rules resolve to `user_sourced_id`; `None` when the roster has no such user.
    async fn identities(
        &self,
        tenant: &str,
        user_sourced_id: &str,
    ) -> Result<Option<Vec<String>>, StoreError>;
}

/// Where a learner purge is: which identity's path it walks, and after which position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerProgress {
    /// Whether the identities are resolved (then the `userSourcedId` is dropped).
    pub resolved: bool,
    /// The index (into the identities) of the path being walked.
    pub identity: usize,
    /// The last position of that path already handled: `(stored, id)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<(Micros, Uuid)>,
    /// Whether the statements are done, and the documents and dictionary entries too.
    pub documents_done: bool,
}

/// The next batch of the learner's statements on their identities' paths, stored before
/// `cutoff`: moves `progress` past what it returns. Empty once every path is walked.
pub(crate) async fn next_batch(
    reader: &dyn StatementReader,
    tenant: &str,
    identities: &[String],
    cutoff: Micros,
    progress: &mut LearnerProgress,
    batch: usize,
) -> Result<Vec<StoredStatement>, StoreError> {
    let keys: Vec<Key16> = identities.iter().map(|i| Key16::of(i)).collect();
    while progress.identity < keys.len() {
        let scan = IndexScan {
            tenant: tenant.to_owned(),
            path: AccessPath::Agent(keys[progress.identity]),
            since: None,
            // The scan's `until` is inclusive.
            until: Some(cutoff - 1),
            after: progress.after.map(|(stored, id)| Position { stored, id }),
            ascending: true,
            limit: batch,
        };
        let positions = reader.scan(&scan).await?;
        let Some(last) = positions.last().copied() else {
            progress.identity += 1;
            progress.after = None;
            continue;
        };
        progress.after = Some((last.stored, last.id));
        let ids: Vec<Uuid> = positions.iter().map(|p| p.id).collect();
        let theirs: Vec<StoredStatement> = reader
            .get_statements(tenant, &ids)
            .await?
            .into_iter()
            .flatten()
            .filter(|s| names_any(s, &keys))
            .collect();
        if !theirs.is_empty() {
            return Ok(theirs);
        }
    }
    Ok(Vec::new())
}

/// Whether the statement names one of `keys` as its Actor or Object (itself, or — a statement
/// referring to another — through the target's keys it inherits): the xAPI `agent` filter.
fn names_any(statement: &StoredStatement, keys: &[Key16]) -> bool {
    let named = |k: &IndexKeys| k.direct_agents.iter().any(|a| keys.contains(a));
    named(&statement.keys) || statement.inherited.as_ref().is_some_and(named)
}

/// Deletes the tenant's quarantined statements `doomed` picks; how many there were (the
/// quarantine is read whole: it stays nearly empty).
pub(crate) async fn purge_quarantined_where(
    store: &dyn QuarantineStore,
    tenant: &str,
    doomed: impl Fn(&QuarantinedStatement) -> bool,
) -> Result<u64, StoreError> {
    let ids: Vec<Uuid> = store
        .quarantined(Some(tenant), usize::MAX)
        .await?
        .into_iter()
        .filter(|q| doomed(q))
        .map(|q| q.id)
        .collect();
    store.purge_quarantined(tenant, &ids).await?;
    Ok(ids.len() as u64)
}

/// Deletes the tenant's quarantined statements that name one of `identities` as their Actor
/// or Object (as [`names_any`], without a referenced statement's keys: a quarantined
/// statement's target may never have been written); how many there were.
pub(crate) async fn purge_quarantined(
    store: &dyn QuarantineStore,
    tenant: &str,
    identities: &[String],
) -> Result<u64, StoreError> {
    let keys: Vec<Key16> = identities.iter().map(|i| Key16::of(i)).collect();
    purge_quarantined_where(store, tenant, |q| match direct_agents(&q.body) {
        Some(agents) => agents.iter().any(|a| keys.contains(a)),
        None => {
            tracing::warn!(id = %q.id, "a quarantined statement could not be read; kept");
            false
        }
    })
    .await
}

/// The agent-path keys of a statement body as ingest logged it, as the API derived them (the
/// Actor's, and the Object's when an Agent or Group); the rest of the statement is not read
/// (the store refused it, and a value beyond its limits may be beyond the parser's too).
fn direct_agents(body: &[u8]) -> Option<Vec<Key16>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut terms = Actor::from_json(value.get("actor")?, "actor")
        .ok()?
        .filter_terms();
    if let Some(object) = value.get("object").filter(|object| {
        matches!(
            object.get("objectType").and_then(serde_json::Value::as_str),
            Some("Agent" | "Group")
        )
    }) {
        terms.extend(Actor::from_json(object, "object").ok()?.filter_terms());
    }
    Some(terms.iter().map(|term| Key16::of(term)).collect())
}

/// Deletes the State and Agent Profile documents of every identity; how many there were.
pub(crate) async fn delete_documents(
    documents: &dyn DocumentStore,
    tenant: &str,
    identities: &[String],
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    let mut scopes = Vec::new();
    for identity in identities {
        for address in documents.agent_documents(tenant, identity).await? {
            deleted += 1;
            if !scopes.contains(&address.scope) {
                scopes.push(address.scope);
            }
        }
    }
    for scope in &scopes {
        documents.delete_documents(scope).await?;
    }
    Ok(deleted)
}
