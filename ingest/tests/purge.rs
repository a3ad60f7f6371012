//! The statement-list purge (what `DELETE /api/v1/learners/{userSourcedId}` will start once the
//! learner enumeration exists) on a real embedded store: the listed statements and document
//! scopes go, the rest stays, and the record drops the ids once complete.

use std::sync::Arc;

use bytes::Bytes;
use lrs_ingest::purge::{LogDrop, Phase, PurgeLog, PurgeScope, PurgeService, Requester, ScopeRef};
use lrs_log::LogError;
use lrs_schema::envelope::{IndexKeys, Key16};
use lrs_store::{
    AccessPath, Document, DocumentKind, DocumentScope, DocumentStore, EmbeddedStore, IndexScan,
    Precondition, StatementReader, StatementRow, StatementWriter,
};
use uuid::Uuid;

/// A log with nothing in it (the rows are written to the store directly).
struct NoLog;

impl PurgeLog for NoLog {
    fn end_offsets(&self) -> Result<Vec<(u32, u64)>, LogError> {
        Ok(vec![(0, 0)])
    }

    fn drop_consumed(&self) -> Result<Option<LogDrop>, LogError> {
        Ok(None)
    }
}

fn row(n: u128, learner: &str) -> StatementRow {
    let agent = Key16::of(learner);
    StatementRow {
        tenant: "board-a".into(),
        stored: 1_000 + n as i64,
        id: Uuid::from_u128(n),
        keys: IndexKeys {
            verb: Key16::of("answered"),
            authority: Key16::of("tool"),
            direct_agents: vec![agent],
            related_agents: vec![agent],
            ..IndexKeys::default()
        },
        inherited: None,
        body: Bytes::from(format!(r#"{{"actor":"{learner}","n":{n}}}"#)),
        study: None,
    }
}

fn agent_scope(learner: &str) -> DocumentScope {
    DocumentScope {
        tenant: "board-a".into(),
        kind: DocumentKind::AgentProfile,
        scope: format!("agent:{learner}"),
    }
}

#[tokio::test]
async fn a_statement_list_purge_removes_the_listed_statements_and_documents_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let rows: Vec<StatementRow> = (1..=50)
        .map(|n| row(n, if n % 5 == 0 { "learner-a" } else { "learner-b" }))
        .collect();
    store.write_statements(&rows).await.unwrap();
    for learner in ["learner-a", "learner-b"] {
        store
            .put_document(
                &agent_scope(learner),
                "profile",
                Document {
                    content_type: "application/json".into(),
                    body: Bytes::from_static(b"{}"),
                    etag: "e".into(),
                    updated: 1,
                },
                Precondition::None,
            )
            .await
            .unwrap();
    }
    let doomed: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.id.as_u128() % 5 == 0)
        .map(|r| r.id)
        .collect();
    let service = PurgeService::new(
        store.clone(),
        Arc::new(NoLog),
        lrs_ingest::purge::PurgeConfig {
            batch: 3,
            ..Default::default()
        },
    );
    let job = service
        .start(
            "board-a",
            PurgeScope::Statements {
                ids: doomed.clone(),
                document_scopes: vec![ScopeRef::of(&agent_scope("learner-a"))],
                requested: doomed.len() as u64,
            },
            Requester {
                role: "admin-api".into(),
                credential: Some("board-admin".into()),
            },
        )
        .await
        .unwrap();
    service.run(job.id).await.unwrap();

    let done = service.job(job.id).await.unwrap().unwrap();
    assert_eq!(done.phase, Phase::Complete);
    assert_eq!(done.counts.statements, doomed.len() as u64);
    assert_eq!(done.counts.documents, 1);
    assert_eq!(done.batches, doomed.len().div_ceil(3) as u64);
    let PurgeScope::Statements { ids, requested, .. } = &done.scope else {
        panic!("a statement-list purge");
    };
    assert!(ids.is_empty(), "the ids leave the audit record");
    assert_eq!(*requested, doomed.len() as u64);

    let scan = |learner: &str| IndexScan {
        tenant: "board-a".into(),
        path: AccessPath::Agent(Key16::of(learner)),
        since: None,
        until: None,
        after: None,
        ascending: true,
        limit: 1_000,
    };
    assert!(store.scan(&scan("learner-a")).await.unwrap().is_empty());
    assert_eq!(
        store.scan(&scan("learner-b")).await.unwrap().len(),
        rows.len() - doomed.len()
    );
    assert!(
        store
            .get_document(&agent_scope("learner-a"), "profile")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_document(&agent_scope("learner-b"), "profile")
            .await
            .unwrap()
            .is_some()
    );
}
