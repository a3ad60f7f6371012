//! The planner: which access path to scan, and which filters to check on each candidate.
//!
//! Every filter is an exact match on an index key, i.e. an [`AccessPath`] (the store's access paths
//! are the filters: `AccessPath::includes` is the membership test the store's index entries
//! follow), so the planner scans the most selective one and checks the rest against the
//! candidate's stored [`IndexKeys`]. Selectivity order (most
//! selective first) follows how Japanese study-log data is shaped: a registration is one attempt;
//! an agent is one learner; an activity is one item; a verb is shared by millions of statements.

use lrs_schema::StatementQuery;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::AccessPath;

/// The access path to scan and the filters every returned statement must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub path: AccessPath,
    /// All filters of the query, including the one the path already guarantees (cheap to re-check,
    /// and it keeps the plan obviously correct). Never [`AccessPath::All`].
    pub filters: Vec<AccessPath>,
}

impl Plan {
    pub fn matches(&self, keys: &IndexKeys) -> bool {
        self.filters.iter().all(|f| f.includes(keys))
    }

    /// xAPI Communication §2.1.3 "Filter Conditions for StatementRefs": a statement matches when
    /// it matches on its own keys, or when the statement it targets does (its `inherited` keys).
    /// `statements/read/mine` always applies to the statement's own authority.
    pub fn matches_statement(&self, keys: &IndexKeys, inherited: Option<&IndexKeys>) -> bool {
        self.matches(keys)
            || inherited.is_some_and(|target| {
                self.filters.iter().all(|f| match f {
                    AccessPath::Authority(_) => f.includes(keys),
                    _ => f.includes(target),
                })
            })
    }
}

/// Plans a statement query. `own_authority` restricts results to statements written under one
/// credential (`statements/read/mine`).
pub fn plan(query: &StatementQuery, own_authority: Option<Key16>) -> Plan {
    // Listed most selective first: the first one present picks the access path.
    let mut filters = Vec::new();
    if let Some(registration) = query.registration {
        filters.push(AccessPath::Registration(registration));
    }
    if let Some(agent) = &query.agent {
        let key = Key16::of(agent);
        filters.push(if query.related_agents {
            AccessPath::RelatedAgent(key)
        } else {
            AccessPath::Agent(key)
        });
    }
    if let Some(activity) = &query.activity {
        let key = Key16::of(activity);
        filters.push(if query.related_activities {
            AccessPath::RelatedActivity(key)
        } else {
            AccessPath::Activity(key)
        });
    }
    if let Some(authority) = own_authority {
        filters.push(AccessPath::Authority(authority));
    }
    if let Some(verb) = &query.verb {
        filters.push(AccessPath::Verb(Key16::of(verb)));
    }
    let path = filters.first().copied().unwrap_or(AccessPath::All);
    Plan { path, filters }
}
