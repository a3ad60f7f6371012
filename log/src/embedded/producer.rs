//! The producing side of the embedded log.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::Inner;
use super::frame;
use super::queue::PendingRecord;
use crate::{AppendFuture, LogError, LogErrorKind, LogProducer, PartitionId};

pub(crate) struct EmbeddedProducer {
    inner: Arc<Inner>,
}

impl EmbeddedProducer {
    pub(super) fn new(inner: Arc<Inner>) -> EmbeddedProducer {
        EmbeddedProducer { inner }
    }
}

/// The partition of a key: CRC-32 of the key modulo the partition count (stable across versions,
/// since it decides where records of a key live).
pub(crate) fn partition_for(partition_key: &[u8], partitions: u32) -> PartitionId {
    crc32fast::hash(partition_key) % partitions
}

impl LogProducer for EmbeddedProducer {
    fn append(&self, partition_key: &[u8], payload: Bytes) -> AppendFuture {
        let core = &self.inner.core;
        let partition = partition_for(partition_key, core.config.partitions);
        // Compress here, in the caller's thread, so that the single writer thread only writes.
        let frame = match frame::encode(&payload, core.config.compression) {
            Ok(frame) => frame,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let (ack, acked) = oneshot::channel();
        if let Err((err, _record)) = core.queue.push(PendingRecord {
            partition,
            frame,
            ack,
        }) {
            return Box::pin(std::future::ready(Err(err)));
        }
        Box::pin(async move {
            acked.await.unwrap_or_else(|_| {
                Err(LogError::new(
                    LogErrorKind::Unavailable,
                    "the log writer stopped before the record became durable",
                ))
            })
        })
    }

    fn partition_count(&self) -> u32 {
        self.inner.core.config.partitions
    }
}
