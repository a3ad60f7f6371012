//! The producing side of the Kafka log.

use bytes::Bytes;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::errors::log_error;
use crate::{AppendAck, AppendFuture, LogError, LogErrorKind, LogProducer, PartitionId};

pub(crate) struct KafkaProducer {
    producer: FutureProducer,
    topic: String,
    partitions: u32,
}

impl KafkaProducer {
    pub(super) fn new(producer: FutureProducer, topic: String, partitions: u32) -> KafkaProducer {
        KafkaProducer {
            producer,
            topic,
            partitions,
        }
    }
}

/// The partition of a key: CRC-32 of the key modulo the partition count, the same rule as the
/// embedded log, chosen here rather than by librdkafka so that `partition_count` and placement
/// agree. The caller picks keys that spread a tenant's load (see `LogProducer::append`).
fn partition_for(partition_key: &[u8], partitions: u32) -> PartitionId {
    crc32fast::hash(partition_key) % partitions
}

impl LogProducer for KafkaProducer {
    fn append(&self, partition_key: &[u8], payload: Bytes) -> AppendFuture {
        let partition = partition_for(partition_key, self.partitions);
        let record = FutureRecord::to(&self.topic)
            .partition(partition as i32)
            .key(partition_key)
            .payload(&payload[..]);
        // `send_result` enqueues synchronously, which fixes the order of two calls; with
        // idempotence on, librdkafka keeps that order per partition across retries.
        let delivery = match self.producer.send_result(record) {
            Ok(delivery) => delivery,
            Err((err, _record)) => {
                return Box::pin(std::future::ready(Err(log_error("kafka append", &err))));
            }
        };
        Box::pin(async move {
            match delivery.await {
                Ok(Ok(delivered)) => Ok(AppendAck {
                    partition: delivered.partition as PartitionId,
                    offset: delivered.offset as u64,
                }),
                Ok(Err((err, _message))) => Err(log_error("kafka delivery", &err)),
                Err(_canceled) => Err(LogError::new(
                    LogErrorKind::Unavailable,
                    "the Kafka producer stopped before the record was acknowledged",
                )),
            }
        })
    }

    fn partition_count(&self) -> u32 {
        self.partitions
    }
}
