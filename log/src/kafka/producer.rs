//! The producing side of the Kafka log.
//!
//! One librdkafka producer serves every append. When an append fails because a record timed out
//! (brokers down or too slow) or the producer's idempotence state broke, that producer is
//! *renewed*: its queued records fail at once, and while it settles what it has in flight, new
//! appends fail at once with `Unavailable` (so that no later record can overtake one still in
//! flight); then appends go to a fresh producer (a new producer id, epoch 0, sequence 0).
//! librdkafka would otherwise bump its producer epoch by itself after a timeout, and tansu 0.6
//! cannot take a batch with an epoch it did not hand out (see docs/kafka.md); a fresh producer
//! works with any broker and needs no restart of the process.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::RwLock;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer, PurgeConfig};

use super::errors::log_error;
use crate::{AppendAck, AppendFuture, LogError, LogErrorKind, LogProducer, PartitionId};

pub(crate) struct KafkaProducer {
    shared: Arc<Shared>,
    topic: String,
    partitions: u32,
}

struct Shared {
    settings: ClientConfig,
    /// How long a renewed producer may take to settle what it has in flight.
    delivery_timeout: Duration,
    current: RwLock<Current>,
}

/// The producer appends go to, numbered so that many failed appends renew it once.
struct Current {
    producer: FutureProducer,
    generation: u64,
    /// The previous producer is still settling its records in flight: appends are refused.
    settling: bool,
}

impl KafkaProducer {
    pub(super) fn new(
        settings: ClientConfig,
        delivery_timeout: Duration,
        topic: String,
        partitions: u32,
    ) -> Result<KafkaProducer, LogError> {
        let producer = create(&settings)?;
        Ok(KafkaProducer {
            shared: Arc::new(Shared {
                settings,
                delivery_timeout,
                current: RwLock::new(Current {
                    producer,
                    generation: 0,
                    settling: false,
                }),
            }),
            topic,
            partitions,
        })
    }

    /// The producer appends currently go to (for flushes and watermarks).
    pub(super) fn current(&self) -> FutureProducer {
        self.shared.current.read().producer.clone()
    }
}

fn create(settings: &ClientConfig) -> Result<FutureProducer, LogError> {
    settings
        .create()
        .map_err(|err| log_error("creating the Kafka producer", &err))
}

/// Errors after which the producer's idempotence state (producer id, epoch, sequence numbers)
/// must not be used any more.
fn needs_renewal(err: &KafkaError) -> bool {
    matches!(
        err.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::Fatal
                | RDKafkaErrorCode::OutOfOrderSequenceNumber
                | RDKafkaErrorCode::InvalidProducerEpoch
                | RDKafkaErrorCode::UnknownProducerId
        )
    )
}

impl Shared {
    /// Replaces the producer of `generation`, unless another failed append already did.
    fn renew(self: &Arc<Self>, generation: u64, cause: &KafkaError) {
        if self.current.read().generation != generation {
            return;
        }
        let replacement = match create(&self.settings) {
            Ok(producer) => producer,
            Err(err) => {
                tracing::error!(%err, "cannot renew the Kafka producer");
                return;
            }
        };
        let old = {
            let mut current = self.current.write();
            if current.generation != generation {
                return;
            }
            current.generation += 1;
            current.settling = true;
            std::mem::replace(&mut current.producer, replacement)
        };
        tracing::warn!(%cause, generation, "renewing the Kafka producer after a failed append");
        // Records not yet sent fail now (PurgeQueue → Unavailable) rather than go out later.
        old.purge(PurgeConfig::default().queue());
        let shared = self.clone();
        // Flushing and dropping a producer block while it settles what it has in flight.
        let settle = move || {
            if let Err(err) = old.flush(shared.delivery_timeout) {
                tracing::warn!(%err, "a renewed Kafka producer did not settle in time");
            }
            drop(old);
            shared.current.write().settling = false;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(settle)),
            Err(_) => settle(),
        }
    }
}

/// An append whose delivery report has not been read yet. If its future is dropped first (the
/// HTTP request behind it went away), the report is still awaited in the background, so that a
/// timeout renews the producer all the same.
struct Pending {
    delivery: Option<DeliveryFuture>,
    shared: Arc<Shared>,
    generation: u64,
}

impl Pending {
    fn failed(&self, err: &KafkaError) {
        if needs_renewal(err) {
            self.shared.renew(self.generation, err);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(delivery) = self.delivery.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pending = Pending {
            delivery: None,
            shared: self.shared.clone(),
            generation: self.generation,
        };
        runtime.spawn(async move {
            if let Ok(Err((err, _message))) = delivery.await {
                pending.failed(&err);
            }
        });
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
        // idempotence on, librdkafka keeps that order per partition across retries. The read lock
        // keeps a renewal from slipping between choosing the producer and enqueueing.
        let (delivery, generation) = {
            let current = self.shared.current.read();
            if current.settling {
                return Box::pin(std::future::ready(Err(LogError::new(
                    LogErrorKind::Unavailable,
                    "the Kafka producer is being renewed after a failed append; retry shortly",
                ))));
            }
            match current.producer.send_result(record) {
                Ok(delivery) => (delivery, current.generation),
                Err((err, _record)) => {
                    return Box::pin(std::future::ready(Err(log_error("kafka append", &err))));
                }
            }
        };
        let mut pending = Pending {
            delivery: Some(delivery),
            shared: self.shared.clone(),
            generation,
        };
        Box::pin(async move {
            let delivery = pending.delivery.as_mut().expect("awaited once");
            let result = delivery.await;
            pending.delivery = None;
            match result {
                Ok(Ok(delivered)) => Ok(AppendAck {
                    partition: delivered.partition as PartitionId,
                    offset: delivered.offset as u64,
                }),
                Ok(Err((err, _message))) => {
                    pending.failed(&err);
                    let context =
                        if err.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageTimedOut) {
                            // A request in flight when the timeout struck may still be written.
                            "kafka delivery (not acknowledged; the record may still be written)"
                        } else {
                            "kafka delivery"
                        };
                    Err(log_error(context, &err))
                }
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
