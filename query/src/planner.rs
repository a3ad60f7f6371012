//! The planner: which access path to scan, and which filters to check on each candidate.
//!
//! Every filter is an exact match on an index key, so the planner scans the most selective one
//! and checks the rest against the candidate's stored [`IndexKeys`]. Selectivity order (most
//! selective first) follows how Japanese study-log data is shaped: a registration is one attempt;
//! an agent is one learner; an activity is one item; a verb is shared by millions of statements.

use lrs_schema::StatementQuery;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::AccessPath;
use uuid::Uuid;

/// One filter checked against a candidate's index keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Agent(Key16),
    RelatedAgent(Key16),
    Verb(Key16),
    Activity(Key16),
    RelatedActivity(Key16),
    Registration(Uuid),
    Authority(Key16),
}

impl Filter {
    fn path(self) -> AccessPath {
        match self {
            Filter::Agent(k) => AccessPath::Agent(k),
            Filter::RelatedAgent(k) => AccessPath::RelatedAgent(k),
            Filter::Verb(k) => AccessPath::Verb(k),
            Filter::Activity(k) => AccessPath::Activity(k),
            Filter::RelatedActivity(k) => AccessPath::RelatedActivity(k),
            Filter::Registration(r) => AccessPath::Registration(r),
            Filter::Authority(k) => AccessPath::Authority(k),
        }
    }

    pub fn matches(self, keys: &IndexKeys) -> bool {
        match self {
            Filter::Agent(k) => keys.direct_agents.contains(&k),
            Filter::RelatedAgent(k) => keys.related_agents.contains(&k),
            Filter::Verb(k) => keys.verb == k,
            Filter::Activity(k) => keys.direct_activities.contains(&k),
            Filter::RelatedActivity(k) => keys.related_activities.contains(&k),
            Filter::Registration(r) => keys.registration == Some(r),
            Filter::Authority(k) => keys.authority == k,
        }
    }
}

/// The access path to scan and the filters every returned statement must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub path: AccessPath,
    /// All filters of the query, including the one the path already guarantees (cheap to re-check,
    /// and it keeps the plan obviously correct).
    pub filters: Vec<Filter>,
}

impl Plan {
    pub fn matches(&self, keys: &IndexKeys) -> bool {
        self.filters.iter().all(|f| f.matches(keys))
    }

    /// xAPI Communication §2.1.3 "Filter Conditions for StatementRefs": a statement matches when
    /// it matches on its own keys, or when the statement it targets does (its `inherited` keys).
    /// `statements/read/mine` always applies to the statement's own authority.
    pub fn matches_statement(&self, keys: &IndexKeys, inherited: Option<&IndexKeys>) -> bool {
        self.matches(keys)
            || inherited.is_some_and(|target| {
                self.filters.iter().all(|f| match f {
                    Filter::Authority(_) => f.matches(keys),
                    _ => f.matches(target),
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
        filters.push(Filter::Registration(registration));
    }
    if let Some(agent) = &query.agent {
        let key = Key16::of(agent);
        filters.push(if query.related_agents {
            Filter::RelatedAgent(key)
        } else {
            Filter::Agent(key)
        });
    }
    if let Some(activity) = &query.activity {
        let key = Key16::of(activity);
        filters.push(if query.related_activities {
            Filter::RelatedActivity(key)
        } else {
            Filter::Activity(key)
        });
    }
    if let Some(authority) = own_authority {
        filters.push(Filter::Authority(authority));
    }
    if let Some(verb) = &query.verb {
        filters.push(Filter::Verb(Key16::of(verb)));
    }
    let path = filters.first().map_or(AccessPath::All, |f| f.path());
    Plan { path, filters }
}
