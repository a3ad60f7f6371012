//! The Kafka log: the log seam on a Kafka topic, through librdkafka (cargo feature `kafka`).
//!
//! - The producer runs with `acks=all` and idempotence (no duplicates or reordering on retries),
//!   compression, linger and batch size from [`KafkaLogConfig`], and no transactions. An append's
//!   future resolves once all in-sync replicas have the record, or fails within the delivery
//!   timeout; a full buffer fails it at once (`Backpressure`). After a timeout the producer is
//!   replaced by a fresh one (see `producer.rs`), so appends recover when the brokers do.
//! - The caller's `partition_key` picks the partition (CRC-32 modulo the partition count).
//! - Consumers are members of a Kafka consumer group; positions are committed only explicitly.
//! - At start-up the topic is verified (and created when allowed); a missing broker is
//!   `Unavailable`, a missing topic or a partition-count mismatch is `Config`.

mod config;
mod consumer;
mod errors;
mod producer;
mod topic;
mod uri;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::Producer;

pub use config::{KafkaCompression, KafkaLogConfig};
use consumer::KafkaConsumer;
use errors::log_error;
use producer::KafkaProducer;

use crate::{Log, LogConsumer, LogError, LogProducer, Offset, PartitionId};

/// The log on a Kafka topic. Producers share one librdkafka producer; every consumer is a
/// librdkafka consumer of its own.
pub struct KafkaLog {
    config: KafkaLogConfig,
    producer: Arc<KafkaProducer>,
}

impl KafkaLog {
    /// Connects, verifies (or creates) the topic and starts the producer.
    pub async fn open(config: KafkaLogConfig) -> Result<KafkaLog, LogError> {
        config.validate()?;
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|err| log_error("creating the Kafka admin client", &err))?;
        topic::ensure_topic(&Arc::new(admin), &config).await?;
        let producer = KafkaProducer::new(
            producer_config(&config),
            config.delivery_timeout,
            config.topic.clone(),
            config.partitions,
        )?;
        Ok(KafkaLog {
            config,
            producer: Arc::new(producer),
        })
    }

    /// Waits until every enqueued record was acknowledged (or failed), up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), LogError> {
        self.producer
            .current()
            .flush(timeout)
            .map_err(|err| log_error("flushing the Kafka producer", &err))
    }
}

fn producer_config(config: &KafkaLogConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.bootstrap_servers)
        // Durability: a record is acknowledged once every in-sync replica has it; idempotence
        // keeps retries from duplicating or reordering records of a partition.
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("compression.type", config.compression.as_librdkafka())
        .set("linger.ms", config.linger_ms.to_string())
        .set("batch.size", config.batch_size.to_string())
        // Bounded buffer: beyond either limit `send` fails at once (QueueFull → Backpressure)
        // instead of holding more memory while the brokers are down or slow.
        .set(
            "queue.buffering.max.messages",
            config.max_pending_records.to_string(),
        )
        .set(
            "queue.buffering.max.kbytes",
            config.max_pending_kbytes().to_string(),
        )
        // Every append resolves (acknowledged or failed) within the delivery timeout.
        .set(
            "delivery.timeout.ms",
            KafkaLogConfig::millis(config.delivery_timeout),
        )
        .set(
            "request.timeout.ms",
            KafkaLogConfig::millis(config.request_timeout),
        )
        // Reconnect to a restarted broker within a second (librdkafka's default backs off up to
        // 10 s, longer than the delivery timeout).
        .set("reconnect.backoff.max.ms", "1000");
    client
}

impl Log for KafkaLog {
    fn producer(&self) -> Arc<dyn LogProducer> {
        self.producer.clone()
    }

    /// Blocking: joining reads the group's committed positions from the brokers.
    fn consumer(&self, group: &str) -> Result<Box<dyn LogConsumer>, LogError> {
        Ok(Box::new(KafkaConsumer::join(&self.config, group)?))
    }

    /// The high watermark of each partition. Blocking (one request per partition).
    fn end_offsets(&self) -> Result<Vec<(PartitionId, Offset)>, LogError> {
        (0..self.config.partitions)
            .map(|partition| {
                let (_low, high) = self
                    .producer
                    .current()
                    .client()
                    .fetch_watermarks(
                        &self.config.topic,
                        partition as i32,
                        self.config.request_timeout,
                    )
                    .map_err(|err| log_error("Kafka watermarks", &err))?;
                Ok((partition, high.max(0) as Offset))
            })
            .collect()
    }
}
