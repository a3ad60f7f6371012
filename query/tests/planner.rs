//! The planner's path choice, its re-checks, and the query service's re-check of every candidate
//! a scan returns, in-process on an embedded store (a reader that adds prefix-collision extras
//! stands in for a store that indexes short hashes).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use lrs_log::{EmbeddedLog, EmbeddedLogConfig};
use lrs_progress::{Progress, ReadVisibility, WriteProgress};
use lrs_query::{QueryConfig, ReadScope, StatementQueryService, plan};
use lrs_schema::StatementQuery;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::{
    AccessPath, EmbeddedStore, IndexScan, Position, StatementReader, StatementRow, StatementWriter,
    StoreError, StoredStatement, Watermark,
};
use uuid::Uuid;

const AGENT: &str = "account::https://eportal.example.jp::learner-1";
const VERB: &str = "http://adlnet.gov/expapi/verbs/answered";
const ACTIVITY: &str = "https://drill.example.jp/q1";

fn query(agent: bool, verb: bool, activity: bool, registration: Option<Uuid>) -> StatementQuery {
    StatementQuery {
        agent: agent.then(|| AGENT.to_owned()),
        verb: verb.then(|| VERB.to_owned()),
        activity: activity.then(|| ACTIVITY.to_owned()),
        registration,
        ..StatementQuery::default()
    }
}

#[test]
fn the_most_selective_filter_picks_the_access_path() {
    let registration = Uuid::from_u128(1);
    let cases = [
        (
            query(true, true, true, Some(registration)),
            AccessPath::Registration(registration),
        ),
        (
            query(true, true, true, None),
            AccessPath::Agent(Key16::of(AGENT)),
        ),
        (
            query(false, true, true, None),
            AccessPath::Activity(Key16::of(ACTIVITY)),
        ),
        (
            query(false, true, false, None),
            AccessPath::Verb(Key16::of(VERB)),
        ),
        (query(false, false, false, None), AccessPath::All),
    ];
    for (query, path) in cases {
        assert_eq!(plan(&query, None).path, path, "{query:?}");
    }
    // statements/read/mine: the own authority comes before the verb.
    let mine = Key16::of("tool");
    assert_eq!(
        plan(&query(false, true, false, None), Some(mine)).path,
        AccessPath::Authority(mine)
    );
    let related = StatementQuery {
        related_agents: true,
        related_activities: true,
        ..query(true, false, true, None)
    };
    let related_plan = plan(&related, None);
    assert_eq!(
        related_plan.path,
        AccessPath::RelatedAgent(Key16::of(AGENT))
    );
    assert!(
        related_plan
            .filters
            .contains(&AccessPath::RelatedActivity(Key16::of(ACTIVITY)))
    );
}

fn keys(agent: &str, verb: &str, authority: &str) -> IndexKeys {
    IndexKeys {
        verb: Key16::of(verb),
        authority: Key16::of(authority),
        direct_agents: vec![Key16::of(agent)],
        related_agents: vec![Key16::of(agent)],
        ..IndexKeys::default()
    }
}

#[test]
fn every_filter_is_rechecked_and_a_statement_ref_matches_through_its_target_but_not_for_authority()
{
    let p = plan(&query(true, true, false, None), Some(Key16::of("tool")));
    assert!(p.matches(&keys(AGENT, VERB, "tool")));
    assert!(
        !p.matches(&keys(AGENT, "other-verb", "tool")),
        "verb re-checked"
    );
    assert!(
        !p.matches(&keys(AGENT, VERB, "other-tool")),
        "authority re-checked"
    );
    // A referrer written by our tool, whose target matches agent and verb.
    let referrer = keys("someone", "commented", "tool");
    let target = keys(AGENT, VERB, "another-tool");
    assert!(p.matches_statement(&referrer, Some(&target)));
    // The authority filter always applies to the referrer itself.
    let foreign_referrer = keys("someone", "commented", "another-tool");
    assert!(!p.matches_statement(&foreign_referrer, Some(&target)));
}

/// An embedded store whose scans also return a position of a statement not on the path, as a
/// store indexing 8-byte prefixes may on a collision.
struct CollidingReader {
    store: Arc<EmbeddedStore>,
    extra: Position,
}

#[async_trait]
impl StatementReader for CollidingReader {
    async fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        self.store.get_statements(tenant, ids).await
    }

    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        let mut positions = self.store.scan(scan).await?;
        positions.push(self.extra);
        positions.sort();
        Ok(positions)
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        self.store.watermarks().await
    }
}

#[tokio::test]
async fn a_candidate_whose_full_keys_do_not_match_is_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).unwrap());
    let log = Arc::new(EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap());
    let row = |id: Uuid, stored: i64, agent: &str| StatementRow {
        tenant: "t".into(),
        stored,
        id,
        keys: keys(agent, VERB, "tool"),
        inherited: None,
        body: Bytes::from(format!(r#"{{"id":"{id}"}}"#)),
        study: None,
    };
    let (mine, stranger) = (Uuid::from_u128(1), Uuid::from_u128(2));
    store
        .write_statements(&[row(mine, 10, AGENT), row(stranger, 20, "someone else")])
        .await
        .unwrap();
    let reader: Arc<dyn StatementReader> = Arc::new(CollidingReader {
        store: store.clone(),
        extra: Position {
            stored: 20,
            id: stranger,
        },
    });
    let visibility = ReadVisibility::new(
        log,
        store.clone(),
        0,
        0,
        Progress::Local,
        WriteProgress::none(),
    );
    let service = StatementQueryService::new(
        reader,
        store.clone(),
        store.clone(),
        visibility,
        QueryConfig::default(),
    );
    let page = service
        .query(
            "t",
            &query(true, false, false, None),
            &[],
            &ReadScope::Tenant,
            i64::MAX,
            None,
        )
        .await
        .unwrap();
    let ids: Vec<Uuid> = page.statements.iter().map(|s| s.id).collect();
    assert_eq!(ids, [mine]);
}
