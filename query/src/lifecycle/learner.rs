//! One learner's data: who they are in the statements, and what the LRS holds of them.
//!
//! A learner is a roster user (`userSourcedId`). The statements name them through identities
//! (an e-portal account, an alias, an mbox): the tenant's actors resolved to that user by the
//! identity rules (`lrs_roster::IdentityIndex`), as the aggregates resolve them
//! ([`crate::aggregates::load_view`]). The actors are those the study log has seen (its `terms`);
//! an identity that never made a statement with a study-log fact is not known.
//!
//! The statements are read from the store's agent index: the agent path key is the same
//! [`Key16`] as the fact's actor key (both `Key16::of` the canonical identifier, e.g.
//! `account::<homePage>::<name>`), so each identity's statements are one scan. The scans of all
//! identities are merged in `stored` order, a page at a time ([`LearnerStatements`]), so no
//! history is ever held whole. Every stored version comes back: voided statements, and the
//! statements voiding them or referring to them (filed under their target's keys, xAPI
//! Communication §2.1.3).

use std::collections::VecDeque;
use std::sync::Arc;

use lrs_roster::{ActorRef, IdentityConfig, IdentityRule};
use lrs_schema::envelope::Key16;
use lrs_store::{
    AccessPath, AttachmentStore, DocumentAddress, DocumentStore, IndexScan, Micros, Position,
    RosterStore, StatementReader, StoredStatement, StudyLogStore,
};

use crate::aggregates::load_view;
use crate::lifecycle::LifecycleError;

/// Positions read per index scan, and statements per page of [`LearnerStatements`].
pub const STATEMENT_PAGE: usize = 500;

/// Where a learner's data is read from.
#[derive(Clone)]
pub struct LearnerSources {
    pub statements: Arc<dyn StatementReader>,
    pub documents: Arc<dyn DocumentStore>,
    pub attachments: Arc<dyn AttachmentStore>,
    pub study: Arc<dyn StudyLogStore>,
    pub rosters: Arc<dyn RosterStore>,
    /// The identity rules' settings (`studylog.eportal_home_pages`).
    pub identity: IdentityConfig,
}

/// One identity resolved to the learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerIdentity {
    /// The canonical identifier (`account::<homePage>::<name>`, `mbox::mailto:…`).
    pub canonical: String,
    /// Its key in the agent index (and the facts' actor key).
    pub key: Key16,
    /// The rule that resolved it to the learner.
    pub rule: IdentityRule,
}

/// A learner of a tenant and their identities, sorted by canonical identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerData {
    pub tenant: String,
    pub user_sourced_id: String,
    pub identities: Vec<LearnerIdentity>,
}

/// The name of a rule as the export's manifest writes it.
pub fn rule_name(rule: IdentityRule) -> &'static str {
    match rule {
        IdentityRule::SourcedId => "sourcedId",
        IdentityRule::UserMasterIdentifier => "userMasterIdentifier",
        IdentityRule::Alias => "alias",
        IdentityRule::Mbox => "mbox",
    }
}

impl LearnerData {
    /// The roster user `user_sourced_id` of `tenant` and every identity resolved to them;
    /// [`LifecycleError::UnknownLearner`] when the roster has no such user.
    pub async fn resolve(
        sources: &LearnerSources,
        tenant: &str,
        user_sourced_id: &str,
    ) -> Result<LearnerData, LifecycleError> {
        let view = load_view(
            sources.study.as_ref(),
            sources.rosters.as_ref(),
            &sources.identity,
            tenant,
        )
        .await?;
        let user = view
            .roster
            .user_key(user_sourced_id)
            .ok_or_else(|| LifecycleError::UnknownLearner(user_sourced_id.to_owned()))?;
        let mut identities: Vec<LearnerIdentity> = view
            .actors_of(&[user])
            .into_iter()
            .filter_map(|key| {
                let canonical = view.actors.get(&key)?.text.clone();
                let resolved = view
                    .identity
                    .resolve(&view.roster, ActorRef::from_canonical(&canonical)?)?;
                (resolved.user == user).then_some(LearnerIdentity {
                    canonical,
                    key,
                    rule: resolved.rule,
                })
            })
            .collect();
        identities.sort_by(|a, b| a.canonical.cmp(&b.canonical));
        Ok(LearnerData {
            tenant: tenant.to_owned(),
            user_sourced_id: user_sourced_id.to_owned(),
            identities,
        })
    }

    /// Their statements stored in `[since, until)` (µs; `None`: unbounded), in `stored` order.
    pub fn statements(
        &self,
        reader: Arc<dyn StatementReader>,
        since: Option<Micros>,
        until: Option<Micros>,
    ) -> LearnerStatements {
        LearnerStatements {
            reader,
            tenant: self.tenant.clone(),
            keys: self.identities.iter().map(|i| i.key).collect(),
            heads: self.identities.iter().map(|_| Head::default()).collect(),
            // The index scan's `since` is exclusive and its `until` inclusive.
            since: since.map(|s| s - 1),
            until: until.map(|u| u - 1),
        }
    }

    /// Their State and Agent Profile documents, of every identity.
    pub async fn documents(
        &self,
        documents: &dyn DocumentStore,
    ) -> Result<Vec<DocumentAddress>, LifecycleError> {
        let mut all = Vec::new();
        for identity in &self.identities {
            all.extend(
                documents
                    .agent_documents(&self.tenant, &identity.canonical)
                    .await?,
            );
        }
        all.sort();
        all.dedup();
        Ok(all)
    }
}

/// One identity's scan: positions read ahead, and where to resume.
#[derive(Default)]
struct Head {
    buffer: VecDeque<Position>,
    after: Option<Position>,
    done: bool,
}

/// A learner's statements, page by page: the agent-index scans of every identity merged in
/// `stored` order, each statement once (a statement naming two of their identities is on both
/// paths), checked against its full keys (an index may return a rare extra position on a hash
/// prefix collision).
pub struct LearnerStatements {
    reader: Arc<dyn StatementReader>,
    tenant: String,
    keys: Vec<Key16>,
    heads: Vec<Head>,
    since: Option<Micros>,
    until: Option<Micros>,
}

impl LearnerStatements {
    /// The next page of at most [`STATEMENT_PAGE`] statements; `None` once all were returned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<StoredStatement>>, LifecycleError> {
        loop {
            let positions = self.next_positions().await?;
            if positions.is_empty() {
                return Ok(None);
            }
            let ids: Vec<_> = positions.iter().map(|p| p.id).collect();
            let page: Vec<StoredStatement> = self
                .reader
                .get_statements(&self.tenant, &ids)
                .await?
                .into_iter()
                .flatten()
                .filter(|s| self.is_theirs(s))
                .collect();
            if !page.is_empty() {
                return Ok(Some(page));
            }
        }
    }

    fn is_theirs(&self, statement: &StoredStatement) -> bool {
        let named = |keys: &lrs_schema::envelope::IndexKeys| {
            keys.direct_agents.iter().any(|k| self.keys.contains(k))
        };
        named(&statement.keys) || statement.inherited.as_ref().is_some_and(named)
    }

    /// The next positions in `stored` order, merged over the identities' scans.
    async fn next_positions(&mut self) -> Result<Vec<Position>, LifecycleError> {
        let mut out = Vec::with_capacity(STATEMENT_PAGE);
        while out.len() < STATEMENT_PAGE {
            for (index, head) in self.heads.iter_mut().enumerate() {
                if head.buffer.is_empty() && !head.done {
                    let scan = IndexScan {
                        tenant: self.tenant.clone(),
                        path: AccessPath::Agent(self.keys[index]),
                        since: self.since,
                        until: self.until,
                        after: head.after,
                        ascending: true,
                        limit: STATEMENT_PAGE,
                    };
                    let positions = self.reader.scan(&scan).await?;
                    head.done = positions.len() < STATEMENT_PAGE;
                    head.after = positions.last().copied().or(head.after);
                    head.buffer.extend(positions);
                }
            }
            let Some(next) = self
                .heads
                .iter()
                .filter_map(|h| h.buffer.front())
                .min()
                .copied()
            else {
                break;
            };
            for head in &mut self.heads {
                if head.buffer.front() == Some(&next) {
                    head.buffer.pop_front();
                }
            }
            out.push(next);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use lrs_schema::envelope::IndexKeys;
    use lrs_schema::{FactConfig, Statement, StudyFact, XapiVersion};
    use serde_json::json;

    use super::*;

    /// What makes the agent index the right place to look: the study fact's actor key (through
    /// which the roster resolves an identity) is one of the statement's agent-path keys.
    #[test]
    fn the_facts_actor_key_is_an_agent_path_key_of_the_same_statement() {
        let actors = [
            json!({"account": {"homePage": "https://eportal.example.jp", "name": "s8"}}),
            json!({"mbox": "mailto:s8@EXAMPLE.jp"}),
            json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
            json!({"objectType": "Group", "mbox": "mailto:team@example.jp",
                   "member": [{"mbox": "mailto:s8@example.jp"}]}),
        ];
        for actor in actors {
            let value = json!({
                "actor": actor,
                "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                "object": {"id": "https://drill.example.jp/q/1"},
            });
            let statement = Statement::from_json(&value, XapiVersion::V1_0_3, "$").unwrap();
            let (fact, terms) =
                StudyFact::of_statement(&statement, 0, "tool", &FactConfig::default()).unwrap();
            let keys = IndexKeys::from_terms(&statement.index_terms());
            assert!(keys.direct_agents.contains(&fact.actor), "{value}");
            assert_eq!(fact.actor, Key16::of(&terms.actor));
        }
    }
}
