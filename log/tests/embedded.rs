//! The shared suite against `EmbeddedLog` in temporary directories, and what only the embedded log
//! does: crash recovery, segment files, retention, the on-disk frame format.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use lrs_log::suite::LogLocation;
use lrs_log::{ConsumedRecord, EmbeddedLog, EmbeddedLogConfig, Log, LogErrorKind};

/// A fresh temporary directory; every open uses the same configuration.
struct EmbeddedLocation {
    dir: tempfile::TempDir,
    partitions: u32,
}

impl EmbeddedLocation {
    fn fresh(partitions: u32) -> EmbeddedLocation {
        EmbeddedLocation {
            dir: tempfile::tempdir().expect("temporary directory"),
            partitions,
        }
    }
}

#[async_trait]
impl LogLocation for EmbeddedLocation {
    async fn open(&self) -> Arc<dyn Log> {
        let mut config = EmbeddedLogConfig::new(self.dir.path());
        config.partitions = self.partitions;
        let log = tokio::task::spawn_blocking(move || EmbeddedLog::open(config))
            .await
            .expect("open task")
            .expect("open");
        Arc::new(log)
    }
}

/// A fresh temporary directory for one suite test.
fn fresh(partitions: u32, _test: &str) -> Option<EmbeddedLocation> {
    Some(EmbeddedLocation::fresh(partitions))
}

lrs_log::log_suite!(fresh);

fn config(dir: &Path) -> EmbeddedLogConfig {
    let mut config = EmbeddedLogConfig::new(dir);
    config.compression = false;
    config
}

fn segment_files(partition_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = fs::read_dir(partition_dir)
        .expect("partition directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

async fn append(log: &EmbeddedLog, bodies: &[&str]) {
    let producer = log.producer();
    for body in bodies {
        producer
            .append(b"key", Bytes::copy_from_slice(body.as_bytes()))
            .await
            .expect("append");
    }
}

async fn read_all(log: &EmbeddedLog, group: &str) -> Vec<Bytes> {
    let mut consumer = log.consumer(group).expect("consumer");
    let mut bodies = Vec::new();
    loop {
        let batch = consumer
            .poll(1000, Duration::from_millis(50))
            .await
            .expect("poll");
        if batch.is_empty() {
            return bodies;
        }
        bodies.extend(batch.into_iter().map(|record| record.payload));
    }
}

/// "hello" then "world", uncompressed, in the documented frame format.
const GOLDEN_TWO_FRAMES: &[u8] = &[
    0x05, 0x00, 0x00, 0x00, 0x86, 0xa6, 0x10, 0x36, 0x10, b'h', b'e', b'l', b'l', b'o', //
    0x05, 0x00, 0x00, 0x00, 0x43, 0x11, 0x77, 0x3a, 0x10, b'w', b'o', b'r', b'l', b'd',
];

/// 200 times "a", lz4-compressed: [u32 length 200][lz4 block].
const GOLDEN_COMPRESSED_FRAME: &[u8] = &[
    0x10, 0x00, 0x00, 0x00, 0x5f, 0x9e, 0x68, 0x32, 0x11, 0xc8, 0x00, 0x00, 0x00, 0x1f, 0x61, 0x01,
    0x00, 0xae, 0x60, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61,
];

#[tokio::test]
async fn appended_records_are_stored_in_the_documented_frame_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    append(&log, &["hello", "world"]).await;
    log.close();
    let segment = fs::read(dir.path().join("0/00000000000000000000.log")).unwrap();
    assert_eq!(segment, GOLDEN_TWO_FRAMES);
}

#[tokio::test]
async fn golden_segments_written_by_this_format_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let partition_dir = dir.path().join("0");
    fs::create_dir_all(&partition_dir).unwrap();
    let mut segment = GOLDEN_TWO_FRAMES.to_vec();
    segment.extend_from_slice(GOLDEN_COMPRESSED_FRAME);
    fs::write(partition_dir.join("00000000000000000000.log"), segment).unwrap();

    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    let bodies = read_all(&log, "golden").await;
    assert_eq!(
        bodies,
        vec![
            Bytes::from("hello"),
            Bytes::from("world"),
            Bytes::from("a".repeat(200))
        ]
    );
}

#[tokio::test]
async fn a_torn_tail_is_truncated_and_earlier_records_survive() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    append(&log, &["one", "two", "three"]).await;
    log.close();
    drop(log);
    let segment = dir.path().join("0/00000000000000000000.log");
    let intact_len = fs::metadata(&segment).unwrap().len();
    // A crash in the middle of writing a fourth frame: a header and part of its payload.
    let mut bytes = fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[
        0x20, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x10, b'p', b'a', b'r',
    ]);
    fs::write(&segment, bytes).unwrap();

    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    assert_eq!(fs::metadata(&segment).unwrap().len(), intact_len);
    assert_eq!(log.end_offsets().unwrap(), vec![(0, 3)]);
    append(&log, &["four"]).await;
    let bodies = read_all(&log, "reader").await;
    assert_eq!(bodies, vec!["one", "two", "three", "four"]);
}

#[tokio::test]
async fn a_zero_filled_tail_is_not_mistaken_for_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    append(&log, &["one"]).await;
    drop(log);
    let segment = dir.path().join("0/00000000000000000000.log");
    let mut bytes = fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(&segment, bytes).unwrap();

    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    assert_eq!(log.end_offsets().unwrap(), vec![(0, 1)]);
    assert_eq!(read_all(&log, "reader").await, vec!["one"]);
}

#[tokio::test]
async fn a_damaged_record_followed_by_intact_ones_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    append(&log, &["one", "two", "three"]).await;
    drop(log);
    let segment = dir.path().join("0/00000000000000000000.log");
    let mut bytes = fs::read(&segment).unwrap();
    // Flip a payload byte of the second record ("two" starts at 12 + 9).
    bytes[12 + 9] ^= 0xff;
    fs::write(&segment, bytes).unwrap();

    let err = EmbeddedLog::open(config(dir.path()))
        .err()
        .expect("refused");
    assert_eq!(err.kind(), LogErrorKind::Corrupt);
}

#[tokio::test]
async fn segments_roll_at_the_configured_size_and_retention_deletes_consumed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // Frames of 9 + 91 bytes: two per 250-byte segment.
    config.segment_bytes = 250;
    let log = EmbeddedLog::open(config.clone()).unwrap();
    let bodies: Vec<String> = (0..7).map(|i| format!("{i:091}")).collect();
    let mut consumer = log.consumer("ingest").unwrap();
    let mut slow = log.consumer("audit").unwrap();
    append(&log, &bodies.iter().map(String::as_str).collect::<Vec<_>>()).await;

    let partition_dir = dir.path().join("0");
    let names: Vec<_> = segment_files(&partition_dir)
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [0, 2, 4, 6].map(|base| format!("{base:020}.log")),
        "segments are named by their base offset"
    );

    let records = consumer.poll(10, Duration::from_secs(10)).await.unwrap();
    assert_eq!(records.len(), 7);
    consumer.commit(0, 5).await.unwrap();
    assert_eq!(
        segment_files(&partition_dir).len(),
        4,
        "the audit group still needs every segment"
    );
    slow.commit(0, 4).await.unwrap();
    let remaining: Vec<_> = segment_files(&partition_dir)
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        remaining,
        [4, 6].map(|base| format!("{base:020}.log")),
        "only segments below offset 4 go"
    );
    drop((consumer, slow, log));

    let log = EmbeddedLog::open(config).unwrap();
    assert_eq!(log.end_offsets().unwrap(), vec![(0, 7)]);
    let mut consumer = log.consumer("audit").unwrap();
    let records = consumer.poll(10, Duration::from_secs(10)).await.unwrap();
    let offsets: Vec<_> = records.iter().map(|record| record.offset).collect();
    assert_eq!(offsets, vec![4, 5, 6]);
    assert_eq!(records[0].payload, bodies[4].as_bytes());
}

#[tokio::test]
async fn a_record_larger_than_a_segment_gets_a_segment_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.segment_bytes = 100;
    let log = EmbeddedLog::open(config).unwrap();
    let big = "x".repeat(1000);
    append(&log, &["small", &big, "small again"]).await;
    assert_eq!(segment_files(&dir.path().join("0")).len(), 3);
    assert_eq!(
        read_all(&log, "reader").await,
        vec!["small", big.as_str(), "small again"]
    );
}

#[tokio::test]
async fn records_larger_than_the_read_chunk_are_consumed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(EmbeddedLogConfig::new(dir.path())).unwrap();
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let producer = log.producer();
    let first = producer.append(b"k", Bytes::from(big.clone()));
    let second = producer.append(b"k", Bytes::from_static(b"after"));
    first.await.unwrap();
    second.await.unwrap();
    let mut consumer = log.consumer("reader").unwrap();
    let mut records: Vec<ConsumedRecord> = Vec::new();
    while records.len() < 2 {
        records.extend(consumer.poll(10, Duration::from_secs(10)).await.unwrap());
    }
    assert_eq!(records[0].payload, big);
    assert_eq!(records[1].payload, &b"after"[..]);
}

#[tokio::test]
async fn appends_after_close_fail_as_closed() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    let producer = log.producer();
    let mut consumer = log.consumer("reader").unwrap();
    let pending = producer.append(b"key", Bytes::from_static(b"before close"));
    log.close();
    pending
        .await
        .expect("records appended before close are flushed");
    let err = producer
        .append(b"key", Bytes::from_static(b"after close"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), LogErrorKind::Closed);
    let err = consumer.poll(10, Duration::from_secs(1)).await.unwrap_err();
    assert_eq!(err.kind(), LogErrorKind::Closed);
}

#[tokio::test]
async fn a_log_directory_is_opened_by_one_log_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    let err = EmbeddedLog::open(config(dir.path()))
        .err()
        .expect("refused");
    assert_eq!(err.kind(), LogErrorKind::Config);
    drop(log);
    EmbeddedLog::open(config(dir.path())).expect("free again once the first is dropped");
}

#[tokio::test]
async fn reopening_with_another_partition_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(EmbeddedLog::open(config(dir.path())).unwrap());
    let mut other = config(dir.path());
    other.partitions = 4;
    let err = EmbeddedLog::open(other).err().expect("refused");
    assert_eq!(err.kind(), LogErrorKind::Config);
}

#[tokio::test]
async fn consumer_group_names_must_be_safe_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(config(dir.path())).unwrap();
    let err = log.consumer("../escape").err().expect("refused");
    assert_eq!(err.kind(), LogErrorKind::Config);
}
