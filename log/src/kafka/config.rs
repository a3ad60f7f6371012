//! Settings of the Kafka log.

use std::time::Duration;

use crate::{LogError, LogErrorKind};

/// How the producer compresses record batches (librdkafka `compression.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaCompression {
    None,
    Lz4,
}

impl KafkaCompression {
    pub(crate) fn as_librdkafka(self) -> &'static str {
        match self {
            KafkaCompression::None => "none",
            KafkaCompression::Lz4 => "lz4",
        }
    }
}

/// Settings of the Kafka log. The producer always runs with `acks=all` and idempotence on, and
/// consumers never auto-commit; those are not settings because the log's guarantees rest on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaLogConfig {
    /// Comma-separated `host:port` list (librdkafka `bootstrap.servers`).
    pub bootstrap_servers: String,
    /// The topic holding the records.
    pub topic: String,
    /// Partition count of the topic: used when creating it, checked when it exists.
    pub partitions: u32,
    /// Replication factor used when creating the topic.
    pub replication_factor: u16,
    /// Create the topic at start-up when it does not exist. When false, a missing topic is a
    /// configuration error.
    pub create_topic: bool,
    /// How long the producer waits to fill a batch (librdkafka `linger.ms`).
    pub linger_ms: u32,
    /// Largest batch in bytes (librdkafka `batch.size`).
    pub batch_size: u32,
    pub compression: KafkaCompression,
    /// Records the producer buffers (waiting to be sent or acknowledged) before `append` fails
    /// at once with `Backpressure` (librdkafka `queue.buffering.max.messages`).
    pub max_pending_records: u32,
    /// Bytes of record payloads the producer buffers before `append` fails at once with
    /// `Backpressure` (librdkafka `queue.buffering.max.kbytes`, rounded up to KiB). With
    /// `max_pending_records` it bounds the memory the producer holds while brokers are down or slow.
    pub max_pending_bytes: u64,
    /// Prefix of the Kafka consumer group id: `Log::consumer("ingest")` joins `<prefix>ingest`.
    pub group_id_prefix: String,
    /// Bound of metadata, watermark and commit requests.
    pub request_timeout: Duration,
    /// How long an append may wait, buffered and retried while brokers are down or slow, before
    /// it fails with `Unavailable` (`delivery.timeout.ms`). It bounds the wait of the HTTP request
    /// behind the append, so it stays below what HTTP clients tolerate.
    pub delivery_timeout: Duration,
    /// Consumer group session timeout (`session.timeout.ms`): how long a silent member keeps
    /// its partitions.
    pub session_timeout: Duration,
    /// Static group membership (`group.instance.id`, KIP-345): a stable name per consumer
    /// instance (e.g. the pod name). A member restarted under the same name takes its place back
    /// at once, without a rebalance; it does not leave the group when it stops, so its partitions
    /// wait for it up to the session timeout. `None`: dynamic membership.
    pub group_instance_id: Option<String>,
}

impl KafkaLogConfig {
    /// Defaults: one partition, replication factor 1, topic created if missing, lz4, 5 ms linger,
    /// 1 MiB batches, at most 100 000 records and 256 MiB buffered, no group prefix, 5 s
    /// requests, 10 s delivery timeout, 10 s session timeout.
    pub fn new(bootstrap_servers: impl Into<String>, topic: impl Into<String>) -> KafkaLogConfig {
        KafkaLogConfig {
            bootstrap_servers: bootstrap_servers.into(),
            topic: topic.into(),
            partitions: 1,
            replication_factor: 1,
            create_topic: true,
            linger_ms: 5,
            batch_size: 1024 * 1024,
            compression: KafkaCompression::Lz4,
            max_pending_records: 100_000,
            max_pending_bytes: 256 * 1024 * 1024,
            group_id_prefix: String::new(),
            request_timeout: Duration::from_secs(5),
            delivery_timeout: Duration::from_secs(10),
            session_timeout: Duration::from_secs(10),
            group_instance_id: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), LogError> {
        let problem = if self.bootstrap_servers.trim().is_empty() {
            "bootstrap_servers must name at least one broker"
        } else if self.topic.is_empty() {
            "topic must not be empty"
        } else if self.partitions == 0 || self.partitions > i32::MAX as u32 {
            "partitions must be between 1 and 2^31-1"
        } else if self.replication_factor == 0 {
            "replication_factor must be at least 1"
        } else if self.batch_size == 0 {
            "batch_size must be positive"
        } else if self.max_pending_records == 0 {
            "max_pending_records must be positive"
        } else if self.max_pending_bytes == 0 || self.max_pending_kbytes() > i32::MAX as u64 {
            "max_pending_bytes must be between 1 and 2^31-1 KiB"
        } else if self.delivery_timeout <= Duration::from_millis(u64::from(self.linger_ms)) {
            "delivery_timeout must be longer than linger_ms"
        } else if self.request_timeout.is_zero() || self.session_timeout.is_zero() {
            "request_timeout and session_timeout must be positive"
        } else {
            return Ok(());
        };
        Err(LogError::new(LogErrorKind::Config, problem))
    }

    /// `max_pending_bytes` in librdkafka's unit (KiB, rounded up).
    pub(crate) fn max_pending_kbytes(&self) -> u64 {
        self.max_pending_bytes.div_ceil(1024)
    }

    pub(crate) fn millis(duration: Duration) -> String {
        duration.as_millis().to_string()
    }
}
