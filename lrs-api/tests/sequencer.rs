//! `WriteSequencer::submit` in-process, on an embedded log and store in temporary directories:
//! stamping, the in-flight and stored-duplicate rules (xAPI Communication §2.1.2: an equivalent
//! re-send is a no-op, a different statement under a used id is 409), releasing in-flight ids
//! when ingest applies them, and the lag bound.

use std::sync::Arc;

use bytes::Bytes;
use lrs_api::ApiErrorKind;
use lrs_api::sequencer::{LagLimits, PreparedStatement, WriteSequencer};
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_progress::{AppliedBatch, IngestListener, Progress, ReadVisibility};
use lrs_schema::envelope::{EnvelopeStatement, IndexKeys, Key16, StatementEnvelope};
use lrs_store::{EmbeddedStore, StatementRow, StatementWriter, Watermark};
use std::time::Duration;
use uuid::Uuid;

const TENANT: &str = "board-a";
const WRITER: lrs_progress::Writer = lrs_progress::Writer(1);

struct Rig {
    _dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
    store: Arc<EmbeddedStore>,
    visibility: Arc<ReadVisibility>,
    sequencer: Arc<WriteSequencer>,
}

fn rig(lag: LagLimits) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(EmbeddedLogConfig::new(dir.path().join("log"))).unwrap());
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("store")).unwrap());
    let (writes_tx, writes_rx) = WriteSequencer::channel(0);
    let visibility =
        ReadVisibility::new(log.clone(), store.clone(), 0, 0, Progress::Local, writes_rx);
    let sequencer = WriteSequencer::new(
        log.producer(),
        store.clone(),
        visibility.clone(),
        writes_tx,
        lag,
    );
    Rig {
        _dir: dir,
        log,
        store,
        visibility,
        sequencer,
    }
}

fn roomy() -> LagLimits {
    LagLimits {
        records: 1_000,
        bytes: 1 << 30,
    }
}

fn statement(id: Uuid, body: &str, client_id: bool) -> PreparedStatement {
    PreparedStatement {
        statement: EnvelopeStatement {
            id,
            keys: IndexKeys {
                verb: Key16::of("http://adlnet.gov/expapi/verbs/answered"),
                ..IndexKeys::default()
            },
            body: body.as_bytes().to_vec(),
            study: None,
        },
        client_id,
    }
}

fn body(id: Uuid, score: u32) -> String {
    format!(
        r#"{{"id":"{id}","actor":{{"mbox":"mailto:a@example.jp"}},"verb":{{"id":"http://adlnet.gov/expapi/verbs/answered"}},"object":{{"id":"https://drill.example.jp/q1"}},"result":{{"score":{{"raw":{score}}}}}}}"#
    )
}

/// Every record the log holds, decoded.
async fn records(log: &EmbeddedLog) -> Vec<StatementEnvelope> {
    let mut consumer = log.consumer("test-reader").unwrap();
    let polled = consumer
        .poll(1_000, Duration::from_millis(50))
        .await
        .unwrap();
    polled
        .iter()
        .map(|r| StatementEnvelope::decode(&r.payload).unwrap())
        .collect()
}

/// What the in-process ingestor would report after applying the log up to `next_offset`.
fn applied(rig: &Rig, next_offset: u64, stored: i64, ids: &[Uuid]) {
    let batch = AppliedBatch {
        watermarks: vec![Watermark {
            partition: 0,
            next_offset,
            stored,
        }],
        statement_ids: ids.iter().map(|id| (TENANT.to_owned(), *id)).collect(),
    };
    rig.visibility.applied(&batch);
    rig.sequencer.applied(&batch);
}

#[tokio::test]
async fn one_request_becomes_one_record_stamped_after_every_earlier_one() {
    let rig = rig(roomy());
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let first = rig
        .sequencer
        .submit(
            TENANT,
            WRITER,
            vec![
                statement(a, &body(a, 1), false),
                statement(b, &body(b, 2), false),
            ],
        )
        .await
        .unwrap();
    let second = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(c, &body(c, 3), false)])
        .await
        .unwrap();
    let (s1, s2) = (first.stored.unwrap(), second.stored.unwrap());
    assert!(s2 > s1, "stamps strictly increase: {s1} then {s2}");
    let records = records(&rig.log).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].stored, s1);
    assert_eq!(
        records[0]
            .statements
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        [a, b]
    );
    assert_eq!(records[1].tenant, TENANT);
    assert_eq!(rig.sequencer.statement_counts(), (3, 0));
}

#[tokio::test]
async fn an_id_in_flight_is_a_no_op_when_equivalent_and_a_conflict_when_not() {
    let rig = rig(roomy());
    let id = Uuid::new_v4();
    rig.sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), true)])
        .await
        .unwrap();
    let again = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), true)])
        .await
        .unwrap();
    assert_eq!(again.stored, None, "nothing new was appended");
    assert_eq!(again.already_present, 1);
    let other = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 2), true)])
        .await
        .unwrap_err();
    assert_eq!(other.kind(), ApiErrorKind::Conflict);
    assert_eq!(records(&rig.log).await.len(), 1);
    // Another tenant's ids are its own.
    let elsewhere = rig
        .sequencer
        .submit("board-b", WRITER, vec![statement(id, &body(id, 2), true)])
        .await
        .unwrap();
    assert!(elsewhere.stored.is_some());
}

#[tokio::test]
async fn a_stored_id_is_checked_against_the_store_once_ingest_released_it() {
    let rig = rig(roomy());
    let id = Uuid::new_v4();
    let outcome = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), true)])
        .await
        .unwrap();
    // Ingest writes the row and reports the batch: the id leaves the in-flight set.
    let stored = outcome.stored.unwrap();
    rig.store
        .write_statements(&[StatementRow {
            tenant: TENANT.into(),
            stored,
            id,
            keys: IndexKeys::default(),
            inherited: None,
            body: Bytes::from(body(id, 1)),
            study: None,
        }])
        .await
        .unwrap();
    applied(&rig, 1, stored, &[id]);
    let same = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), true)])
        .await
        .unwrap();
    assert_eq!((same.stored, same.already_present), (None, 1));
    let different = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 9), true)])
        .await
        .unwrap_err();
    assert_eq!(different.kind(), ApiErrorKind::Conflict);
}

#[tokio::test]
async fn a_batch_with_one_conflicting_id_appends_nothing() {
    let rig = rig(roomy());
    let used = Uuid::new_v4();
    rig.sequencer
        .submit(TENANT, WRITER, vec![statement(used, &body(used, 1), true)])
        .await
        .unwrap();
    let fresh = Uuid::new_v4();
    let err = rig
        .sequencer
        .submit(
            TENANT,
            WRITER,
            vec![
                statement(fresh, &body(fresh, 1), false),
                statement(used, &body(used, 5), true),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ApiErrorKind::Conflict);
    assert_eq!(records(&rig.log).await.len(), 1, "the batch left no record");
}

#[tokio::test]
async fn writes_are_refused_while_ingest_is_beyond_the_lag_bound_and_accepted_once_it_catches_up() {
    let rig = rig(LagLimits {
        records: 2,
        bytes: 1 << 30,
    });
    for _ in 0..2 {
        let id = Uuid::new_v4();
        rig.sequencer
            .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), false)])
            .await
            .unwrap();
    }
    let id = Uuid::new_v4();
    let refused = rig
        .sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), false)])
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ApiErrorKind::Unavailable);
    assert_eq!(rig.visibility.lag_records(), 2);
    applied(&rig, 2, 0, &[]);
    rig.sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), false)])
        .await
        .unwrap();
}

#[tokio::test]
async fn in_flight_bodies_count_against_the_byte_bound_until_applied() {
    let rig = rig(LagLimits {
        records: 1_000,
        bytes: 100,
    });
    let id = Uuid::new_v4();
    rig.sequencer
        .submit(TENANT, WRITER, vec![statement(id, &body(id, 1), true)])
        .await
        .unwrap();
    assert_eq!(
        rig.sequencer.refuse_if_behind().unwrap_err().kind(),
        ApiErrorKind::Unavailable,
        "one ~200-byte body is over a 100-byte bound"
    );
    applied(&rig, 1, 0, &[id]);
    rig.sequencer.refuse_if_behind().unwrap();
}
