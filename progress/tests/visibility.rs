//! `ReadVisibility` in-process, on an embedded log and store in temporary directories:
//! Consistent-Through in both progress modes (xAPI Communication §2.1.3: every statement stored
//! at or before it is visible), read-your-writes and the query cap.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lrs_log::{EmbeddedLog, EmbeddedLogConfig, Log};
use lrs_progress::{AppliedBatch, IngestListener, Progress, ReadVisibility, WriteProgress, Writer};
use lrs_store::{EmbeddedStore, StatementWriter, Watermark, now_micros};
use tokio::sync::watch;

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

async fn append(log: &EmbeddedLog) {
    log.producer()
        .append(b"k", Bytes::from_static(b"record"))
        .await
        .unwrap();
}

fn batch(next_offset: u64, stored: i64) -> AppliedBatch {
    AppliedBatch {
        watermarks: vec![Watermark {
            partition: 0,
            next_offset,
            stored,
        }],
        statement_ids: Vec::new(),
    }
}

#[tokio::test]
async fn local_consistent_through_is_now_when_everything_appended_is_applied() {
    let rig = rig();
    let (_tx, rx) = watch::channel(WriteProgress::default());
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        0,
        Progress::Local,
        rx,
    );
    let before = now_micros();
    let through = visibility.consistent_through();
    assert!(
        through >= before - 1 && through <= now_micros(),
        "{through} vs {before}"
    );
    assert_eq!(visibility.query_cap(through), through);
}

#[tokio::test]
async fn local_consistent_through_stays_at_the_last_applied_stored_while_a_record_is_unapplied() {
    let rig = rig();
    let (tx, rx) = watch::channel(WriteProgress {
        pending_appends: 0,
        last_stamp: 1_000,
    });
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        1_000,
        Progress::Local,
        rx,
    );
    // A write stamped 2 000 is appended (durable) but not applied.
    tx.send_replace(WriteProgress {
        pending_appends: 0,
        last_stamp: 2_000,
    });
    append(&rig.log).await;
    assert_eq!(visibility.consistent_through(), 1_000);
    assert_eq!(visibility.lag_records(), 1);
    // Ingest applies it: everything is visible up to now.
    visibility.applied(&batch(1, 2_000));
    assert_eq!(visibility.lag_records(), 0);
    assert!(visibility.consistent_through() >= now_micros() - 1_000_000);
}

#[tokio::test]
async fn local_consistent_through_does_not_claim_now_while_an_append_is_pending() {
    let rig = rig();
    let (tx, rx) = watch::channel(WriteProgress::default());
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        500,
        Progress::Local,
        rx,
    );
    // Stamped, not yet durable: the log's end does not show it yet.
    tx.send_replace(WriteProgress {
        pending_appends: 1,
        last_stamp: 900,
    });
    assert_eq!(visibility.consistent_through(), 500);
}

#[tokio::test]
async fn consistent_through_never_moves_backwards() {
    let rig = rig();
    let (tx, rx) = watch::channel(WriteProgress::default());
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        0,
        Progress::Local,
        rx,
    );
    let high = visibility.consistent_through();
    tx.send_replace(WriteProgress {
        pending_appends: 1,
        last_stamp: high + 10,
    });
    assert_eq!(
        visibility.consistent_through(),
        high,
        "a pending append lowers nothing"
    );
}

#[tokio::test]
async fn read_your_writes_waits_for_the_records_durable_when_the_read_began() {
    let rig = rig();
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        0,
        Progress::Local,
        WriteProgress::none(),
    );
    append(&rig.log).await;
    let waiting = {
        let visibility = visibility.clone();
        tokio::spawn(async move {
            visibility
                .wait_for_acknowledged(Duration::from_secs(30))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished(), "the record is not applied yet");
    visibility.applied(&batch(1, 10));
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the wait ends once ingest applied the record")
        .unwrap();
}

/// Issue 12: a reader waits for its own acknowledged writes only. A dashboard that wrote
/// nothing, or a writer whose statements are applied, answers at once although the log holds
/// records ingest has not applied; a writer whose statement is not applied waits until it is.
#[tokio::test]
async fn a_reader_waits_for_its_own_acknowledged_writes_only() {
    let rig = rig();
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        0,
        Progress::Local,
        WriteProgress::none(),
    );
    let (tool, dashboard, other) = (Writer(1), Writer(2), Writer(3));
    // A backlog of two records (stored 10 and 20); `tool` was acknowledged the second.
    append(&rig.log).await;
    append(&rig.log).await;
    visibility.acknowledged(other, 10);
    visibility.acknowledged(tool, 20);
    let wait = Duration::from_secs(30);
    for reader in [None, Some(dashboard)] {
        tokio::time::timeout(
            Duration::from_secs(1),
            visibility.wait_for_own_writes(reader, wait),
        )
        .await
        .expect("a reader that wrote nothing does not wait for the backlog");
    }
    let waiting = {
        let visibility = visibility.clone();
        tokio::spawn(async move { visibility.wait_for_own_writes(Some(tool), wait).await })
    };
    // The first record applied: `other`'s write is visible, `tool`'s is not.
    visibility.applied(&batch(1, 10));
    tokio::time::timeout(
        Duration::from_secs(1),
        visibility.wait_for_own_writes(Some(other), wait),
    )
    .await
    .expect("other's write is applied");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !waiting.is_finished(),
        "tool's statement is not applied yet"
    );
    visibility.applied(&batch(2, 20));
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the wait ends once ingest applied tool's statement")
        .unwrap();
    assert!(
        visibility.consistent_through() >= 20,
        "Consistent-Through covers what the writer was acknowledged"
    );
}

/// After a restart the log may hold records an earlier process acknowledged and ingest has not
/// applied: every reader waits for them, whoever wrote them.
#[tokio::test]
async fn after_a_restart_every_reader_waits_for_what_the_log_held_at_start() {
    let rig = rig();
    append(&rig.log).await;
    append(&rig.log).await;
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        0,
        Progress::Local,
        WriteProgress::none(),
    );
    let waiting = {
        let visibility = visibility.clone();
        tokio::spawn(async move {
            visibility
                .wait_for_own_writes(None, Duration::from_secs(30))
                .await
        })
    };
    visibility.applied(&batch(1, 10));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !waiting.is_finished(),
        "one record of the backlog is not applied yet"
    );
    visibility.applied(&batch(2, 20));
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the wait ends once the log held at start is applied")
        .unwrap();
}

#[tokio::test]
async fn polled_consistent_through_follows_the_store_watermarks_lowered_by_the_margin() {
    let rig = rig();
    let margin = Duration::from_millis(100);
    let visibility = ReadVisibility::new(
        rig.log.clone(),
        rig.store.clone(),
        0,
        0,
        Progress::Polled {
            interval: Duration::from_millis(5),
            margin,
        },
        WriteProgress::none(),
    );
    // Two records in the log, ingest has applied the first: the poller's first snapshot shows it.
    append(&rig.log).await;
    append(&rig.log).await;
    let stamp = now_micros() - 5_000_000;
    rig.store
        .record_watermarks(&[Watermark {
            partition: 0,
            next_offset: 1,
            stored: stamp,
        }])
        .await
        .unwrap();
    assert_eq!(
        visibility.consistent_through(),
        0,
        "nothing polled yet proves nothing"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let poller = tokio::spawn(visibility.clone().poll(stop_rx));
    wait_until(|| visibility.lag_records() == 1).await;
    assert_eq!(
        visibility.consistent_through(),
        stamp - margin.as_micros() as i64,
        "one record lags: its predecessor's stored, less the margin"
    );
    let cap = visibility.query_cap(visibility.consistent_through());
    assert!(
        cap >= now_micros() - 1_000_000,
        "a new query still reads what was acknowledged"
    );
    rig.store
        .record_watermarks(&[Watermark {
            partition: 0,
            next_offset: 2,
            stored: stamp + 1,
        }])
        .await
        .unwrap();
    wait_until(|| visibility.lag_records() == 0).await;
    let through = visibility.consistent_through();
    assert!(
        through > stamp && through <= now_micros() - margin.as_micros() as i64,
        "fully applied: the read time less the margin ({through})"
    );
    stop_tx.send_replace(true);
    poller.await.unwrap();
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..1_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached in 5 s");
}
