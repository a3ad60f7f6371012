//! The `Ingestor` in-process, on an embedded log and store in temporary directories: first wins
//! per id (decision 3), StatementRef targets lend their keys to the statements referring to them
//! (xAPI Communication §2.1.3 "Filter Conditions for StatementRefs"), watermarks and listeners,
//! and a replay of the whole log changes nothing (decision 1: at-least-once log, idempotent store).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use lrs_ingest::{AppliedBatch, IngestListener, Ingestor, IngestorConfig};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys, Key16, StatementEnvelope};
use lrs_store::{AccessPath, EmbeddedStore, IndexScan, StatementReader};
use tokio::sync::watch;
use uuid::Uuid;

const TENANT: &str = "board-a";

struct Rig {
    _dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
    store: Arc<EmbeddedStore>,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap());
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).unwrap());
    Rig {
        _dir: dir,
        log,
        store,
    }
}

fn keys(verb: &str, refers_to: Option<Uuid>) -> IndexKeys {
    IndexKeys {
        verb: Key16::of(verb),
        authority: Key16::of("tool"),
        refers_to,
        voids: refers_to.filter(|_| verb.ends_with("voided")),
        direct_agents: vec![Key16::of("learner")],
        related_agents: vec![Key16::of("learner")],
        ..IndexKeys::default()
    }
}

fn statement(id: Uuid, verb: &str, refers_to: Option<Uuid>, note: &str) -> EnvelopeStatement {
    EnvelopeStatement {
        id,
        keys: keys(verb, refers_to),
        body: format!(r#"{{"id":"{id}","verb":{{"id":"{verb}"}},"note":"{note}"}}"#).into_bytes(),
        study: None,
    }
}

async fn append(log: &EmbeddedLog, stored: i64, statements: Vec<EnvelopeStatement>) {
    let envelope = StatementEnvelope {
        tenant: TENANT.into(),
        stored,
        statements,
    };
    log.producer()
        .append(b"k", Bytes::from(envelope.encode().unwrap()))
        .await
        .unwrap();
}

/// Runs an ingestor of `group` until it has applied everything the log holds.
async fn drain(
    rig: &Rig,
    group: &str,
    listener: Option<Arc<dyn IngestListener>>,
) -> Arc<lrs_ingest::IngestStats> {
    let consumer = rig.log.consumer(group).unwrap();
    let mut ingestor = Ingestor::new(
        rig.store.clone(),
        consumer,
        IngestorConfig {
            poll_wait: Duration::from_millis(10),
            ..IngestorConfig::default()
        },
    );
    if let Some(listener) = listener {
        ingestor = ingestor.with_listener(listener);
    }
    let stats = ingestor.stats();
    // Already told to stop: it drains what the log holds, then returns.
    let (_tx, stop) = watch::channel(true);
    tokio::time::timeout(Duration::from_secs(20), ingestor.run(stop))
        .await
        .expect("ingest drains")
        .unwrap();
    stats
}

async fn body_of(store: &EmbeddedStore, id: Uuid) -> Option<String> {
    store.get_statements(TENANT, &[id]).await.unwrap()[0]
        .as_ref()
        .map(|s| String::from_utf8(s.body.to_vec()).unwrap())
}

#[derive(Default)]
struct Heard(Mutex<Vec<AppliedBatch>>);

impl IngestListener for Heard {
    fn applied(&self, batch: &AppliedBatch) {
        self.0.lock().unwrap().push(batch.clone());
    }
}

#[tokio::test]
async fn the_first_statement_of_an_id_wins_and_a_different_later_one_is_counted_as_a_conflict() {
    let rig = rig();
    let id = Uuid::new_v4();
    append(&rig.log, 10, vec![statement(id, "answered", None, "first")]).await;
    append(
        &rig.log,
        20,
        vec![statement(id, "answered", None, "second")],
    )
    .await;
    // The same id twice in one record, too.
    let twice = Uuid::new_v4();
    append(
        &rig.log,
        30,
        vec![
            statement(twice, "answered", None, "a"),
            statement(twice, "answered", None, "a"),
        ],
    )
    .await;
    let stats = drain(&rig, "ingest", None).await;
    assert!(body_of(&rig.store, id).await.unwrap().contains("first"));
    assert!(body_of(&rig.store, twice).await.is_some());
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(stats.statements_written.load(Relaxed), 2);
    assert_eq!(stats.conflicts.load(Relaxed), 1);
    assert_eq!(stats.duplicates_skipped.load(Relaxed), 1);
}

#[tokio::test]
async fn a_statement_ref_inherits_its_target_keys_in_the_same_batch_and_from_the_store() {
    let rig = rig();
    let (target, early_ref) = (Uuid::new_v4(), Uuid::new_v4());
    append(&rig.log, 10, vec![statement(target, "answered", None, "t")]).await;
    append(
        &rig.log,
        11,
        vec![statement(early_ref, "commented", Some(target), "r1")],
    )
    .await;
    drain(&rig, "ingest", None).await;
    let late_ref = Uuid::new_v4();
    append(
        &rig.log,
        12,
        vec![statement(
            late_ref,
            "http://adlnet.gov/expapi/verbs/voided",
            Some(target),
            "v",
        )],
    )
    .await;
    drain(&rig, "ingest", None).await;
    let stored = rig
        .store
        .get_statements(TENANT, &[early_ref, late_ref, target])
        .await
        .unwrap();
    for referrer in &stored[..2] {
        assert_eq!(
            referrer.as_ref().unwrap().inherited,
            Some(keys("answered", None))
        );
    }
    // The target's verb path finds both referrers (and the target).
    let on_verb = rig
        .store
        .scan(&IndexScan {
            tenant: TENANT.into(),
            path: AccessPath::Verb(Key16::of("answered")),
            since: None,
            until: None,
            after: None,
            ascending: true,
            limit: 10,
        })
        .await
        .unwrap();
    let ids: Vec<Uuid> = on_verb.iter().map(|p| p.id).collect();
    assert_eq!(ids, [target, early_ref, late_ref]);
    assert_eq!(stored[2].as_ref().unwrap().voided_by, Some(late_ref));
}

#[tokio::test]
async fn watermarks_and_listeners_follow_every_applied_batch() {
    let rig = rig();
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    for (i, id) in ids.iter().enumerate() {
        append(
            &rig.log,
            100 + i as i64,
            vec![statement(*id, "answered", None, "x")],
        )
        .await;
    }
    let heard = Arc::new(Heard::default());
    drain(&rig, "ingest", Some(heard.clone())).await;
    let marks = rig.store.watermarks().await.unwrap();
    assert_eq!((marks[0].next_offset, marks[0].stored), (3, 102));
    let batches = heard.0.lock().unwrap();
    let told: Vec<Uuid> = batches
        .iter()
        .flat_map(|b| b.statement_ids.iter().map(|(_, id)| *id))
        .collect();
    assert_eq!(told, ids);
    assert_eq!(batches.last().unwrap().watermarks[0].next_offset, 3);
}

#[tokio::test]
async fn replaying_the_whole_log_changes_nothing_in_the_store() {
    let rig = rig();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    append(&rig.log, 10, vec![statement(a, "answered", None, "a")]).await;
    append(&rig.log, 11, vec![statement(b, "commented", Some(a), "b")]).await;
    drain(&rig, "ingest", None).await;
    let before = rig.store.get_statements(TENANT, &[a, b]).await.unwrap();
    // Another consumer group starts from offset 0: a full replay, as after a lost commit.
    let stats = drain(&rig, "replay", None).await;
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(stats.statements_written.load(Relaxed), 0);
    assert_eq!(stats.duplicates_skipped.load(Relaxed), 2);
    assert_eq!(stats.conflicts.load(Relaxed), 0);
    assert_eq!(
        rig.store.get_statements(TENANT, &[a, b]).await.unwrap(),
        before
    );
}
