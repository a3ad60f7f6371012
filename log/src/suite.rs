//! The shared test suite every log implementation runs (quickwit's metastore suite is the model).
//!
//! Each test takes a [`LogLocation`]: a fresh durable place (a directory, a topic) on which the
//! implementation under test opens logs. Opening it again after every handle of the previous log
//! was dropped must show everything acknowledged before: that is how the suite checks durability
//! and resumption without knowing about files or brokers.
//!
//! A backend's test file generates one `#[tokio::test]` per suite test, with 1 and with 3
//! partitions, from a function giving a fresh location (or `None`, after saying why, to skip):
//!
//! ```ignore
//! fn fresh(partitions: u32, test: &str) -> Option<MyLocation> { … }
//! lrs_log::log_suite!(fresh);
//! ```
//!
//! The tests assume that the location starts empty and that its partitions start at offset 0.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{AppendAck, ConsumedRecord, Log, LogConsumer, Offset, PartitionId};

/// A durable place where the implementation under test opens logs.
#[async_trait]
pub trait LogLocation: Send + Sync {
    /// Opens the log stored at this location. Called again once every handle of the previously
    /// opened log (log, producers, consumers) has been dropped.
    async fn open(&self) -> Arc<dyn Log>;
}

/// Generates the suite's tests in modules `one_partition` and `three_partitions`. `$fresh` is a
/// `fn(partitions: u32, test: &str) -> Option<impl LogLocation>`; `None` skips the test (the
/// function says why). The list of tests lives here once for every backend.
#[macro_export]
macro_rules! log_suite {
    ($fresh:path) => {
        mod one_partition {
            use super::*;
            $crate::log_suite!(@tests $fresh, 1);
        }
        mod three_partitions {
            use super::*;
            $crate::log_suite!(@tests $fresh, 3);
        }
    };
    (@tests $fresh:path, $partitions:expr) => {
        $crate::log_suite!(@each $fresh, $partitions;
            records_of_one_key_are_consumed_in_append_order,
            an_acknowledged_record_is_durable_and_visible_at_once,
            consumption_resumes_from_the_committed_offset_after_a_reopen,
            uncommitted_records_are_redelivered_after_a_reopen,
            concurrent_appenders_are_all_acknowledged_and_each_record_is_consumed_once,
            end_offsets_are_the_next_durable_offset_of_each_partition,
            consumer_groups_consume_independently,
            a_waiting_poll_wakes_up_for_a_record_appended_meanwhile,
        );
    };
    (@each $fresh:path, $partitions:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(location) = $fresh($partitions, stringify!($name)) else {
                    return;
                };
                $crate::suite::$name(&location).await;
            }
        )*
    };
}

/// How long a test waits for a record that should arrive. Generous: it bounds a hung test, it is
/// not a performance assertion.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs every test of the suite, each on a fresh location from `fresh`.
pub async fn run_all<L: LogLocation>(fresh: impl Fn() -> L) {
    records_of_one_key_are_consumed_in_append_order(&fresh()).await;
    an_acknowledged_record_is_durable_and_visible_at_once(&fresh()).await;
    consumption_resumes_from_the_committed_offset_after_a_reopen(&fresh()).await;
    uncommitted_records_are_redelivered_after_a_reopen(&fresh()).await;
    concurrent_appenders_are_all_acknowledged_and_each_record_is_consumed_once(&fresh()).await;
    end_offsets_are_the_next_durable_offset_of_each_partition(&fresh()).await;
    consumer_groups_consume_independently(&fresh()).await;
    a_waiting_poll_wakes_up_for_a_record_appended_meanwhile(&fresh()).await;
}

fn payload(text: String) -> Bytes {
    Bytes::from(text)
}

/// Polls until `count` records arrived, checking that each is below the end offsets seen after it.
pub async fn consume(
    log: &dyn Log,
    consumer: &mut dyn LogConsumer,
    count: usize,
) -> Vec<ConsumedRecord> {
    let mut records = Vec::with_capacity(count);
    while records.len() < count {
        let batch = consumer
            .poll(count - records.len(), PATIENCE)
            .await
            .expect("poll");
        assert!(
            !batch.is_empty(),
            "expected {count} records, got {} and then none",
            records.len()
        );
        let ends = end_offsets(log);
        for record in &batch {
            assert!(
                record.offset < ends[&record.partition],
                "a consumer saw offset {} of partition {} before it was durable",
                record.offset,
                record.partition
            );
        }
        records.extend(batch);
    }
    records
}

fn end_offsets(log: &dyn Log) -> HashMap<PartitionId, Offset> {
    log.end_offsets()
        .expect("end offsets")
        .into_iter()
        .collect()
}

/// Appends all records, in call order, before awaiting any acknowledgement.
async fn append_all(log: &dyn Log, key: &[u8], payloads: &[Bytes]) -> Vec<AppendAck> {
    let producer = log.producer();
    let acks: Vec<_> = payloads
        .iter()
        .map(|payload| producer.append(key, payload.clone()))
        .collect();
    let mut result = Vec::with_capacity(acks.len());
    for ack in acks {
        result.push(ack.await.expect("append"));
    }
    result
}

pub async fn records_of_one_key_are_consumed_in_append_order(location: &dyn LogLocation) {
    let log = location.open().await;
    let payloads: Vec<Bytes> = (0..100).map(|i| payload(format!("record {i}"))).collect();
    let acks = append_all(&*log, b"actor-1", &payloads).await;
    let partition = acks[0].partition;
    assert!(
        acks.iter().all(|ack| ack.partition == partition),
        "one key, one partition"
    );
    assert!(
        acks.windows(2).all(|pair| pair[0].offset < pair[1].offset),
        "appends called one after the other get increasing offsets: {acks:?}"
    );

    let mut consumer = log.consumer("in-order").expect("consumer");
    let records = consume(&*log, &mut *consumer, payloads.len()).await;
    let consumed: Vec<_> = records
        .iter()
        .map(|record| (record.partition, record.offset, record.payload.clone()))
        .collect();
    let expected: Vec<_> = acks
        .iter()
        .zip(&payloads)
        .map(|(ack, payload)| (ack.partition, ack.offset, payload.clone()))
        .collect();
    assert_eq!(consumed, expected);
}

pub async fn an_acknowledged_record_is_durable_and_visible_at_once(location: &dyn LogLocation) {
    let log = location.open().await;
    let ack = log
        .producer()
        .append(b"actor-1", payload("durable".into()))
        .await
        .expect("append");
    assert!(
        end_offsets(&*log)[&ack.partition] > ack.offset,
        "end offsets include an acknowledged record"
    );
    drop(log);

    let log = location.open().await;
    let mut consumer = log.consumer("durable").expect("consumer");
    let records = consume(&*log, &mut *consumer, 1).await;
    assert_eq!(
        records,
        vec![ConsumedRecord {
            partition: ack.partition,
            offset: ack.offset,
            payload: payload("durable".into()),
        }]
    );
}

pub async fn consumption_resumes_from_the_committed_offset_after_a_reopen(
    location: &dyn LogLocation,
) {
    let log = location.open().await;
    let payloads: Vec<Bytes> = (0..10).map(|i| payload(format!("record {i}"))).collect();
    let acks = append_all(&*log, b"actor-1", &payloads).await;
    let partition = acks[0].partition;
    let mut consumer = log.consumer("resuming").expect("consumer");
    consume(&*log, &mut *consumer, 10).await;
    consumer
        .commit(partition, acks[6].offset)
        .await
        .expect("commit");
    drop((consumer, log));

    let log = location.open().await;
    let mut consumer = log.consumer("resuming").expect("consumer");
    assert!(consumer.committed().contains(&(partition, acks[6].offset)));
    let records = consume(&*log, &mut *consumer, 4).await;
    let offsets: Vec<_> = records.iter().map(|record| record.offset).collect();
    let expected: Vec<_> = acks[6..].iter().map(|ack| ack.offset).collect();
    assert_eq!(offsets, expected);
    assert_eq!(records[0].payload, payloads[6]);
    let more = consumer
        .poll(10, Duration::from_millis(50))
        .await
        .expect("poll");
    assert!(
        more.is_empty(),
        "nothing beyond the appended records: {more:?}"
    );
}

pub async fn uncommitted_records_are_redelivered_after_a_reopen(location: &dyn LogLocation) {
    let log = location.open().await;
    let payloads: Vec<Bytes> = (0..5).map(|i| payload(format!("record {i}"))).collect();
    append_all(&*log, b"actor-1", &payloads).await;
    let mut consumer = log.consumer("forgetful").expect("consumer");
    let first = consume(&*log, &mut *consumer, 5).await;
    drop((consumer, log));

    let log = location.open().await;
    let mut consumer = log.consumer("forgetful").expect("consumer");
    let again = consume(&*log, &mut *consumer, 5).await;
    assert_eq!(
        first, again,
        "at-least-once: records not committed come again"
    );
}

pub async fn concurrent_appenders_are_all_acknowledged_and_each_record_is_consumed_once(
    location: &dyn LogLocation,
) {
    const TASKS: usize = 8;
    const RECORDS_PER_TASK: usize = 1000;
    /// Each task keeps this many appends in flight, as the API does with concurrent requests.
    const WINDOW: usize = 100;
    let log = location.open().await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let producer = log.producer();
        tasks.push(tokio::spawn(async move {
            let key = format!("actor-{task}");
            let mut acks = Vec::with_capacity(RECORDS_PER_TASK);
            for window in 0..RECORDS_PER_TASK / WINDOW {
                let pending: Vec<_> = (0..WINDOW)
                    .map(|i| {
                        let record = window * WINDOW + i;
                        let body = payload(format!("task {task} record {record}"));
                        (body.clone(), producer.append(key.as_bytes(), body))
                    })
                    .collect();
                for (body, ack) in pending {
                    acks.push((ack.await.expect("append"), body));
                }
            }
            acks
        }));
    }
    let mut expected = BTreeMap::new();
    for task in tasks {
        let acks = task.await.expect("appender task");
        assert!(
            acks.windows(2)
                .all(|pair| pair[0].0.offset < pair[1].0.offset),
            "one task's records keep their order"
        );
        for (ack, body) in acks {
            let previous = expected.insert((ack.partition, ack.offset), body);
            assert!(previous.is_none(), "two records acknowledged at {ack:?}");
        }
    }
    assert_eq!(expected.len(), TASKS * RECORDS_PER_TASK);
    let ends = end_offsets(&*log);
    for (partition, end) in &ends {
        let count = expected.keys().filter(|(p, _)| p == partition).count() as Offset;
        assert_eq!(*end, count, "partition {partition} has no gaps");
    }

    let mut consumer = log.consumer("all").expect("consumer");
    let records = consume(&*log, &mut *consumer, expected.len()).await;
    let consumed: BTreeMap<_, _> = records
        .into_iter()
        .map(|record| ((record.partition, record.offset), record.payload))
        .collect();
    assert_eq!(
        consumed, expected,
        "every record consumed exactly once, at its acknowledged offset"
    );
    let more = consumer
        .poll(10, Duration::from_millis(50))
        .await
        .expect("poll");
    assert!(more.is_empty());
}

pub async fn end_offsets_are_the_next_durable_offset_of_each_partition(location: &dyn LogLocation) {
    let log = location.open().await;
    let partitions = log.producer().partition_count();
    let ends = log.end_offsets().expect("end offsets");
    let expected: Vec<_> = (0..partitions).map(|partition| (partition, 0)).collect();
    assert_eq!(ends, expected, "a fresh log is empty");

    let payloads: Vec<Bytes> = (0..3).map(|i| payload(format!("record {i}"))).collect();
    let acks = append_all(&*log, b"actor-1", &payloads).await;
    let partition = acks[0].partition;
    let ends = log.end_offsets().expect("end offsets");
    let expected: Vec<_> = (0..partitions)
        .map(|p| (p, if p == partition { 3 } else { 0 }))
        .collect();
    assert_eq!(ends, expected);
}

pub async fn consumer_groups_consume_independently(location: &dyn LogLocation) {
    let log = location.open().await;
    let payloads: Vec<Bytes> = (0..4).map(|i| payload(format!("record {i}"))).collect();
    let acks = append_all(&*log, b"actor-1", &payloads).await;
    let partition = acks[0].partition;
    let mut ingest = log.consumer("ingest").expect("consumer");
    let mut audit = log.consumer("audit").expect("consumer");
    consume(&*log, &mut *ingest, 4).await;
    ingest
        .commit(partition, acks[3].offset + 1)
        .await
        .expect("commit");
    assert!(
        ingest
            .committed()
            .contains(&(partition, acks[3].offset + 1))
    );
    assert!(audit.committed().contains(&(partition, acks[0].offset)));
    let records = consume(&*log, &mut *audit, 4).await;
    let bodies: Vec<_> = records.into_iter().map(|record| record.payload).collect();
    assert_eq!(
        bodies, payloads,
        "one group's commit does not move another's"
    );
}

pub async fn a_waiting_poll_wakes_up_for_a_record_appended_meanwhile(location: &dyn LogLocation) {
    let log = location.open().await;
    let mut consumer = log.consumer("waiting").expect("consumer");
    let nothing = consumer
        .poll(10, Duration::from_millis(20))
        .await
        .expect("poll");
    assert!(
        nothing.is_empty(),
        "an empty log yields nothing once the wait is over"
    );

    let poll = tokio::spawn(async move { consumer.poll(10, PATIENCE).await });
    // Give the poll a chance to start waiting; correctness does not depend on it.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let ack = log
        .producer()
        .append(b"actor-1", payload("late".into()))
        .await
        .expect("append");
    let records = poll.await.expect("poll task").expect("poll");
    assert_eq!(
        records,
        vec![ConsumedRecord {
            partition: ack.partition,
            offset: ack.offset,
            payload: payload("late".into()),
        }]
    );
}
