//! Tests that need the writer held back (not possible from outside the crate).

use bytes::Bytes;

use super::*;
use crate::LogErrorKind;

fn incompressible(len: usize, seed: u32) -> Bytes {
    // A xorshift stream: lz4 cannot shrink it, so frames are exactly `len + 9` bytes.
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

#[tokio::test]
async fn appends_beyond_the_buffer_fail_fast_with_backpressure_and_the_accepted_ones_are_acked() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmbeddedLogConfig::new(dir.path());
    config.max_pending_bytes = 1_000_000;
    let log = EmbeddedLog::open(config).unwrap();
    log.inner.core.queue.set_paused(true);
    let producer = log.producer();

    let mut accepted = Vec::new();
    let mut refused = 0;
    for seed in 0..5 {
        let ack = producer.append(b"key", incompressible(300_000, seed));
        accepted.push(ack);
    }
    log.inner.core.queue.set_paused(false);
    let mut offsets = Vec::new();
    for ack in accepted {
        match ack.await {
            Ok(ack) => offsets.push(ack.offset),
            Err(err) => {
                assert_eq!(err.kind(), LogErrorKind::Backpressure);
                refused += 1;
            }
        }
    }
    assert_eq!(
        offsets,
        vec![0, 1, 2],
        "three records of 300 kB fit in 1 MB"
    );
    assert_eq!(refused, 2);

    // Once the buffer drained, appends are accepted again.
    let ack = producer
        .append(b"key", incompressible(300_000, 9))
        .await
        .unwrap();
    assert_eq!(ack.offset, 3);
}

/// Every file under `dir`, read whole, concatenated.
fn bytes_under(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(bytes_under(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn dropping_consumed_records_removes_their_bytes_and_keeps_the_unconsumed_and_the_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EmbeddedLogConfig::new(dir.path());
    config.partitions = 2;
    let log = EmbeddedLog::open(config.clone()).unwrap();
    let producer = log.producer();
    let consumed_marker = format!("{:032x}", 0x5a17_u128 << 100 | 0x0123_4567_89ab_cdef);
    let pending_marker = format!("{:032x}", 0x77aa_u128 << 100 | 0xfedc_ba98_7654_3210);
    // Both partitions get records (two keys).
    for key in [&b"a"[..], &b"bb"[..], &b"ccc"[..], &b"dddd"[..]] {
        producer
            .append(key, Bytes::from(format!("old {consumed_marker}")))
            .await
            .unwrap();
    }
    let mut consumer = log.consumer("ingest").unwrap();
    let mut seen = 0;
    while seen < 4 {
        let records = consumer
            .poll(100, std::time::Duration::from_secs(1))
            .await
            .unwrap();
        for record in &records {
            consumer
                .commit(record.partition, record.offset + 1)
                .await
                .unwrap();
        }
        seen += records.len();
    }
    let ends_before = log.end_offsets().unwrap();
    // Appended after the consumer caught up: not consumed.
    let pending = producer
        .append(b"a", Bytes::from(format!("new {pending_marker}")))
        .await
        .unwrap();
    assert!(contains(
        &bytes_under(dir.path()),
        consumed_marker.as_bytes()
    ));

    let dropped = log.drop_consumed().unwrap();
    assert!(dropped.rolled >= 1, "{dropped:?}");
    let files = bytes_under(dir.path());
    assert_eq!(dropped.kept_unconsumed, 1, "{dropped:?}");
    assert!(contains(&files, pending_marker.as_bytes()));
    // The partition without unconsumed records lost its old segment.
    let partition_without = 1 - pending.partition;
    let other = bytes_under(&dir.path().join(partition_without.to_string()));
    assert!(!contains(&other, consumed_marker.as_bytes()));

    // Once the last record is consumed, a second drop leaves no old record anywhere.
    let records = consumer
        .poll(100, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].offset, pending.offset);
    consumer
        .commit(pending.partition, pending.offset + 1)
        .await
        .unwrap();
    log.drop_consumed().unwrap();
    let files = bytes_under(dir.path());
    assert!(!contains(&files, consumed_marker.as_bytes()));
    assert!(!contains(&files, pending_marker.as_bytes()));

    // Offsets go on where they were, across a reopen too.
    let next = producer.append(b"a", Bytes::from("after")).await.unwrap();
    assert_eq!(next.offset, pending.offset + 1);
    drop(producer);
    drop(consumer);
    log.close();
    drop(log);
    let log = EmbeddedLog::open(config).unwrap();
    let ends = log.end_offsets().unwrap();
    let total: u64 = ends.iter().map(|(_, o)| o).sum();
    let total_before: u64 = ends_before.iter().map(|(_, o)| o).sum();
    assert_eq!(total, total_before + 2);
}
