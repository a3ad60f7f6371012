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
