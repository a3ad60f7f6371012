//! A statement the store can never take must not stall ingest: it goes to the quarantine, the
//! rest of its batch is written, and the partition moves on. Real embedded log and store.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use lrs_ingest::{IngestStats, Ingestor, IngestorConfig};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_schema::DefinitionJson;
use lrs_schema::MonthSummary;
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys, Key16, StatementEnvelope};
use lrs_store::{
    ActivityDefinitionRow, ActivityStore, EmbeddedStore, FactRow, IndexScan, Position,
    QuarantineStore, QuarantinedStatement, StatementReader, StatementRow, StatementWriter,
    StoreError, StoredStatement, StudyLogStore, TermRow, Watermark,
};
use tokio::sync::watch;
use uuid::Uuid;

const TENANT: &str = "board-131016";

/// A statement about `activity`, carrying a definition (which ingest merges into the store's
/// canonical one, keyed by the activity id).
fn statement(n: u128, activity: &str) -> EnvelopeStatement {
    let id = Uuid::from_u128(n);
    let body = serde_json::json!({
        "id": id,
        "actor": {"account": {"homePage": "https://eportal.example.jp", "name": format!("s{n}")}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"name": {"ja-JP": "算数ドリル"}}},
    });
    EnvelopeStatement {
        id,
        keys: IndexKeys {
            verb: Key16::of("http://adlnet.gov/expapi/verbs/completed"),
            direct_activities: vec![Key16::of(activity)],
            ..IndexKeys::default()
        },
        body: serde_json::to_vec(&body).unwrap(),
        study: None,
    }
}

/// An Activity id of 70,000 bytes: fjall keys hold at most 65,535.
fn poison_activity() -> String {
    format!("https://drill.example.jp/{}", "x".repeat(70_000))
}

struct Setup {
    _dir: tempfile::TempDir,
    log: EmbeddedLog,
    store: Arc<EmbeddedStore>,
}

/// Appends `records` (each one request's statements) to a fresh embedded log.
async fn setup(records: Vec<Vec<EnvelopeStatement>>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap();
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).unwrap());
    let producer = log.producer();
    for (i, statements) in records.into_iter().enumerate() {
        let envelope = StatementEnvelope {
            tenant: TENANT.into(),
            stored: 1_760_000_000_000_000 + i as i64,
            statements,
        };
        let payload = Bytes::from(envelope.encode().unwrap());
        producer.append(TENANT.as_bytes(), payload).await.unwrap();
    }
    Setup {
        _dir: dir,
        log,
        store,
    }
}

/// Runs an ingestor of consumer group `group` until it has applied everything the log holds.
async fn ingest_everything<S>(log: &EmbeddedLog, store: Arc<S>, group: &str) -> Arc<IngestStats>
where
    S: StatementWriter + StatementReader + ActivityStore + QuarantineStore + StudyLogStore,
{
    let ingestor = Ingestor::new(
        store,
        log.consumer(group).unwrap(),
        IngestorConfig::default(),
    );
    let stats = ingestor.stats();
    // Asked to stop from the start: it drains the log, then returns.
    let (_stop, stopping) = watch::channel(true);
    tokio::time::timeout(Duration::from_secs(120), ingestor.run(stopping))
        .await
        .expect("ingest drains the log rather than retrying a batch forever")
        .expect("ingest ends without an error");
    stats
}

async fn stored(store: &impl StatementReader, ids: &[u128]) -> Vec<bool> {
    let ids: Vec<Uuid> = ids.iter().map(|&n| Uuid::from_u128(n)).collect();
    store.contains_statements(TENANT, &ids).await.unwrap()
}

#[tokio::test]
async fn a_poison_statement_is_quarantined_while_the_rest_of_its_batch_is_written() {
    let good = "https://drill.example.jp/math/1";
    let poison = poison_activity();
    let setup = setup(vec![
        vec![
            statement(1, good),
            statement(2, &poison),
            statement(3, good),
        ],
        vec![statement(4, good)],
        vec![statement(5, &poison)],
    ])
    .await;
    let stats = ingest_everything(&setup.log, setup.store.clone(), "ingest").await;

    assert_eq!(
        stored(&*setup.store, &[1, 2, 3, 4, 5]).await,
        [true, false, true, true, false]
    );
    let quarantined = setup.store.quarantined(Some(TENANT), 10).await.unwrap();
    let found: Vec<(Uuid, u32, u64)> = quarantined
        .iter()
        .map(|q| (q.id, q.log_partition, q.log_offset))
        .collect();
    assert_eq!(
        found,
        [(Uuid::from_u128(2), 0, 0), (Uuid::from_u128(5), 0, 2)],
        "each poison statement, with the log position it was read from"
    );
    let two = &quarantined[0];
    assert_eq!(two.tenant, TENANT);
    assert_eq!(two.stored, 1_760_000_000_000_000);
    assert_eq!(
        two.body,
        Bytes::from(statement(2, &poison).body),
        "kept whole"
    );
    assert!(two.error.contains("65535"), "{}", two.error);
    assert_eq!(stats.quarantined.load(Ordering::Relaxed), 2);
    assert_eq!(stats.statements_written.load(Ordering::Relaxed), 3);

    // The partition moved on: the watermark is past every record, and so is the commit.
    let marks = setup.store.watermarks().await.unwrap();
    assert_eq!(marks.iter().map(|m| m.next_offset).collect::<Vec<_>>(), [3]);
    let committed = setup.log.consumer("ingest").unwrap().committed();
    assert_eq!(committed, [(0, 3)]);
    let definition = setup
        .store
        .get_activity_definition(TENANT, good)
        .await
        .unwrap();
    assert!(
        definition.is_some(),
        "the good statements' definitions were merged"
    );

    // A replay (a crash before the commit, here a second group from offset 0) changes nothing.
    let replay = ingest_everything(&setup.log, setup.store.clone(), "replay").await;
    assert_eq!(replay.statements_written.load(Ordering::Relaxed), 0);
    assert_eq!(replay.duplicates_skipped.load(Ordering::Relaxed), 3);
    assert_eq!(
        setup
            .store
            .quarantined(Some(TENANT), 10)
            .await
            .unwrap()
            .len(),
        2,
        "one quarantine row per statement"
    );
    assert_eq!(
        stored(&*setup.store, &[1, 2, 3, 4, 5]).await,
        [true, false, true, true, false]
    );
}

#[tokio::test]
async fn a_panic_of_the_store_on_one_statement_quarantines_that_statement() {
    let good = "https://drill.example.jp/math/2";
    let setup = setup(vec![vec![
        statement(11, good),
        statement(12, "https://drill.example.jp/panic-me"),
        statement(13, good),
    ]])
    .await;
    let store = Arc::new(PanicsOnActivity {
        inner: setup.store.clone(),
        activity: "https://drill.example.jp/panic-me",
    });
    let stats = ingest_everything(&setup.log, store, "ingest").await;

    assert_eq!(
        stored(&*setup.store, &[11, 12, 13]).await,
        [true, false, true]
    );
    let quarantined = setup.store.quarantined(Some(TENANT), 10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].id, Uuid::from_u128(12));
    assert!(
        quarantined[0]
            .error
            .contains("panicked: a backend assertion"),
        "{}",
        quarantined[0].error
    );
    assert_eq!(stats.quarantined.load(Ordering::Relaxed), 1);
}

/// An embedded store that panics (as a backend's assertion would) when asked to merge the
/// definition of one activity: fault injection for the ingest loop's panic handling.
struct PanicsOnActivity {
    inner: Arc<EmbeddedStore>,
    activity: &'static str,
}

#[async_trait]
impl StatementWriter for PanicsOnActivity {
    async fn write_statements(&self, rows: &[StatementRow]) -> Result<(), StoreError> {
        self.inner.write_statements(rows).await
    }

    async fn record_watermarks(&self, marks: &[Watermark]) -> Result<(), StoreError> {
        self.inner.record_watermarks(marks).await
    }
}

#[async_trait]
impl StatementReader for PanicsOnActivity {
    async fn get_statements(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<StoredStatement>>, StoreError> {
        self.inner.get_statements(tenant, ids).await
    }

    async fn existing_bodies(
        &self,
        tenant: &str,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Bytes>, StoreError> {
        self.inner.existing_bodies(tenant, ids).await
    }

    async fn scan(&self, scan: &IndexScan) -> Result<Vec<Position>, StoreError> {
        self.inner.scan(scan).await
    }

    async fn watermarks(&self) -> Result<Vec<Watermark>, StoreError> {
        self.inner.watermarks().await
    }
}

#[async_trait]
impl ActivityStore for PanicsOnActivity {
    async fn merge_activity_definitions(
        &self,
        rows: &[ActivityDefinitionRow],
    ) -> Result<(), StoreError> {
        if rows.iter().any(|r| r.activity_id == self.activity) {
            panic!("a backend assertion");
        }
        self.inner.merge_activity_definitions(rows).await
    }

    async fn get_activity_definition(
        &self,
        tenant: &str,
        activity_id: &str,
    ) -> Result<Option<DefinitionJson>, StoreError> {
        self.inner
            .get_activity_definition(tenant, activity_id)
            .await
    }
}

#[async_trait]
impl QuarantineStore for PanicsOnActivity {
    async fn quarantine(&self, statements: &[QuarantinedStatement]) -> Result<(), StoreError> {
        self.inner.quarantine(statements).await
    }

    async fn quarantined(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuarantinedStatement>, StoreError> {
        self.inner.quarantined(tenant, limit).await
    }

    async fn purge_quarantined(&self, tenant: &str, ids: &[Uuid]) -> Result<(), StoreError> {
        self.inner.purge_quarantined(tenant, ids).await
    }
}

#[async_trait]
impl StudyLogStore for PanicsOnActivity {
    async fn record_terms(&self, terms: &[TermRow]) -> Result<(), StoreError> {
        self.inner.record_terms(terms).await
    }

    async fn terms(&self, tenant: &str, since: Option<i64>) -> Result<Vec<TermRow>, StoreError> {
        self.inner.terms(tenant, since).await
    }

    async fn facts(
        &self,
        tenant: &str,
        first_day: i32,
        last_day: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<FactRow>, StoreError> {
        self.inner.facts(tenant, first_day, last_day, actors).await
    }

    async fn month_summaries(
        &self,
        tenant: &str,
        month: i32,
        actors: Option<&[Key16]>,
    ) -> Result<Vec<(Key16, MonthSummary)>, StoreError> {
        self.inner.month_summaries(tenant, month, actors).await
    }

    async fn void_facts(
        &self,
        tenant: &str,
        targets: &[(i32, Key16, Uuid)],
    ) -> Result<(), StoreError> {
        self.inner.void_facts(tenant, targets).await
    }

    async fn study_tenants(&self) -> Result<Vec<String>, StoreError> {
        self.inner.study_tenants().await
    }
}
