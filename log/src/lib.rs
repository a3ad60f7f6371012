//! The log seam: where an accepted request becomes durable.
//!
//! Flow: `lrs-api` → **log** → `ingest` → store → query. The API appends one record per accepted
//! request and acknowledges the client only once the record is durable; ingest consumes records,
//! writes them to the store, and only then commits its position (at-least-once delivery; the store
//! makes replays harmless because its writes are idempotent).
//!
//! Implementations: [`EmbeddedLog`] (segment files with group commit, in one process) and
//! `KafkaLog` (a Kafka topic through librdkafka, behind the cargo feature `kafka`). Every implementation runs the shared suite in [`suite`].

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;

mod embedded;
mod error;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "testsuite")]
pub mod suite;

pub use embedded::{DroppedSegments, EmbeddedLog, EmbeddedLogConfig};
pub use error::{LogError, LogErrorKind};
#[cfg(feature = "kafka")]
pub use kafka::{KafkaCompression, KafkaLog, KafkaLogConfig};

/// Position of a record inside one partition. Offsets start at 0 and grow by one per record.
pub type Offset = u64;

/// A partition of the log. Records of one partition are consumed in the order they were appended.
pub type PartitionId = u32;

/// Where an appended record landed, once it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendAck {
    pub partition: PartitionId,
    pub offset: Offset,
}

/// Resolves when the record is durable (or failed to become so).
pub type AppendFuture = BoxFuture<'static, Result<AppendAck, LogError>>;

/// The producing side of the log.
pub trait LogProducer: Send + Sync + 'static {
    /// Enqueues one record. The call itself fixes the record's order: of two calls made one after
    /// the other for the same partition key, the first gets the lower offset. The returned future
    /// resolves once the record is durable (fsync'd, or acknowledged by all in-sync replicas).
    ///
    /// Fails fast (without enqueueing) with [`LogErrorKind::Backpressure`] when the producer's
    /// bounded buffer is full.
    fn append(&self, partition_key: &[u8], payload: Bytes) -> AppendFuture;

    /// Number of partitions records are spread over.
    fn partition_count(&self) -> u32;
}

/// A record handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub partition: PartitionId,
    pub offset: Offset,
    pub payload: Bytes,
}

/// The consuming side of the log: one member of a consumer group.
#[async_trait]
pub trait LogConsumer: Send + Sync {
    /// Returns the next records (at most `max`), waiting up to `wait` for at least one. An empty
    /// vector means nothing arrived in time. Records of one partition come in offset order.
    /// After a restart, consumption resumes at the committed position of each partition.
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, LogError>;

    /// Records that everything before `next_offset` in `partition` has been processed. It is called
    /// only after the store write succeeded; it is durable when it returns.
    async fn commit(&mut self, partition: PartitionId, next_offset: Offset)
    -> Result<(), LogError>;

    /// The committed position (next offset to process) of each partition assigned to this member.
    fn committed(&self) -> Vec<(PartitionId, Offset)>;
}

/// A log: producers and consumers of one topic.
pub trait Log: Send + Sync + 'static {
    fn producer(&self) -> std::sync::Arc<dyn LogProducer>;

    /// Joins the consumer group `group`. The embedded log has one member per group.
    fn consumer(&self, group: &str) -> Result<Box<dyn LogConsumer>, LogError>;

    /// The offset the next durable record of each partition will get (the "high watermark").
    fn end_offsets(&self) -> Result<Vec<(PartitionId, Offset)>, LogError>;
}
