//! The consuming side of the Kafka log: one member of a Kafka consumer group.
//!
//! Offsets are committed only through `LogConsumer::commit` (auto-commit and auto offset store
//! are off), which ingest calls after the store write succeeded. On a rebalance, records of
//! revoked partitions that were fetched but not yet handed out are dropped: their new owner
//! reads them again from the committed offset, so nothing is lost (at-least-once).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset as KafkaOffset, TopicPartitionList};

use super::KafkaLogConfig;
use super::errors::{log_error, task_failed};
use crate::{ConsumedRecord, LogConsumer, LogError, Offset, PartitionId};

pub(crate) struct KafkaConsumer {
    consumer: Arc<BaseConsumer<MemberContext>>,
    member: Arc<Mutex<Member>>,
    topic: String,
}

/// What this member holds, shared with the rebalance callback and with blocking polls (so that a
/// cancelled poll loses nothing: its records wait in `buffer`).
#[derive(Default)]
struct Member {
    buffer: VecDeque<ConsumedRecord>,
    /// Committed position of each partition this member knows about.
    committed: BTreeMap<PartitionId, Offset>,
    /// The current assignment, once the group assigned one.
    assigned: Option<BTreeSet<PartitionId>>,
}

pub(crate) struct MemberContext {
    member: Arc<Mutex<Member>>,
    topic: String,
    timeout: Duration,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions = partitions_of(list, &self.topic);
                let committed =
                    committed_positions(consumer, &self.topic, &partitions, self.timeout);
                let mut member = self.member.lock();
                match committed {
                    Ok(committed) => member.committed.extend(committed),
                    // Fetching still starts at the committed offsets (librdkafka reads them
                    // itself); only `committed()` may lag until the next commit.
                    Err(err) => {
                        tracing::warn!(%err, "reading committed Kafka offsets after an assignment")
                    }
                }
                member.assigned = Some(partitions.into_iter().collect());
            }
            Rebalance::Revoke(list) => {
                let revoked: BTreeSet<_> = partitions_of(list, &self.topic).into_iter().collect();
                let mut member = self.member.lock();
                member
                    .buffer
                    .retain(|record| !revoked.contains(&record.partition));
                if let Some(assigned) = member.assigned.as_mut() {
                    assigned.retain(|partition| !revoked.contains(partition));
                }
            }
            Rebalance::Error(err) => tracing::warn!(%err, "Kafka consumer group rebalance failed"),
        }
    }
}

fn partitions_of(list: &TopicPartitionList, topic: &str) -> Vec<PartitionId> {
    list.elements_for_topic(topic)
        .iter()
        .map(|element| element.partition() as PartitionId)
        .collect()
}

/// The group's committed position of each partition; a partition without one starts at its low
/// watermark (`auto.offset.reset=earliest`). Blocking.
fn committed_positions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partitions: &[PartitionId],
    timeout: Duration,
) -> Result<Vec<(PartitionId, Offset)>, LogError> {
    let mut list = TopicPartitionList::new();
    for &partition in partitions {
        list.add_partition(topic, partition as i32);
    }
    let committed = consumer
        .committed_offsets(list, timeout)
        .map_err(|err| log_error("Kafka committed offsets", &err))?;
    let mut positions = Vec::with_capacity(partitions.len());
    for element in committed.elements_for_topic(topic) {
        let partition = element.partition();
        let offset = match element.offset() {
            KafkaOffset::Offset(offset) if offset >= 0 => offset as Offset,
            _ => {
                let (low, _high) = consumer
                    .fetch_watermarks(topic, partition, timeout)
                    .map_err(|err| log_error("Kafka watermarks", &err))?;
                low.max(0) as Offset
            }
        };
        positions.push((partition as PartitionId, offset));
    }
    Ok(positions)
}

impl KafkaConsumer {
    /// Joins `group` (prefixed by `config.group_id_prefix`). Blocking: it reads the group's
    /// committed positions.
    pub(super) fn join(config: &KafkaLogConfig, group: &str) -> Result<KafkaConsumer, LogError> {
        let member = Arc::new(Mutex::new(Member::default()));
        let context = MemberContext {
            member: member.clone(),
            topic: config.topic.clone(),
            timeout: config.request_timeout,
        };
        let mut client = ClientConfig::new();
        if let Some(instance) = &config.group_instance_id {
            client.set("group.instance.id", instance);
        }
        let consumer: BaseConsumer<MemberContext> = client
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("group.id", format!("{}{group}", config.group_id_prefix))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // How long a fetch may wait at the broker for new records. A broker that holds every
            // fetch this long (tansu does) adds it to the visibility lag; Kafka answers as soon as
            // a record arrives. 500 ms by default; 50 ms costs an idle consumer 20 fetches/s.
            .set("fetch.wait.max.ms", "50")
            .set("allow.auto.create.topics", "false")
            .set(
                "session.timeout.ms",
                KafkaLogConfig::millis(config.session_timeout),
            )
            .create_with_context(context)
            .map_err(|err| log_error("creating the Kafka consumer", &err))?;
        let all: Vec<PartitionId> = (0..config.partitions).collect();
        let committed =
            committed_positions(&consumer, &config.topic, &all, config.request_timeout)?;
        member.lock().committed.extend(committed);
        consumer
            .subscribe(&[&config.topic])
            .map_err(|err| log_error("subscribing to the Kafka topic", &err))?;
        Ok(KafkaConsumer {
            consumer: Arc::new(consumer),
            member,
            topic: config.topic.clone(),
        })
    }

    fn take(&self, max: usize) -> Vec<ConsumedRecord> {
        let mut member = self.member.lock();
        let count = max.min(member.buffer.len());
        member.buffer.drain(..count).collect()
    }
}

/// Polls until a record arrives or `wait` passes, then takes what else is already fetched, up to
/// `max`, into the member's buffer. Blocking.
fn fetch(
    consumer: &BaseConsumer<MemberContext>,
    member: &Mutex<Member>,
    max: usize,
    wait: Duration,
) -> Result<(), LogError> {
    let deadline = Instant::now() + wait;
    let mut fetched = 0;
    loop {
        let timeout = if fetched > 0 {
            Duration::ZERO
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        match consumer.poll(timeout) {
            Some(Ok(message)) => {
                let record = ConsumedRecord {
                    partition: message.partition() as PartitionId,
                    offset: message.offset() as Offset,
                    payload: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
                };
                member.lock().buffer.push_back(record);
                fetched += 1;
                if fetched >= max {
                    return Ok(());
                }
            }
            Some(Err(err)) => return Err(log_error("Kafka poll", &err)),
            None if fetched > 0 || Instant::now() >= deadline => return Ok(()),
            None => {}
        }
    }
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, LogError> {
        let buffered = self.take(max);
        if !buffered.is_empty() || max == 0 {
            return Ok(buffered);
        }
        let consumer = self.consumer.clone();
        let member = self.member.clone();
        tokio::task::spawn_blocking(move || fetch(&consumer, &member, max, wait))
            .await
            .map_err(|err| task_failed("Kafka poll", err))??;
        Ok(self.take(max))
    }

    async fn commit(
        &mut self,
        partition: PartitionId,
        next_offset: Offset,
    ) -> Result<(), LogError> {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(
            &self.topic,
            partition as i32,
            KafkaOffset::Offset(next_offset as i64),
        )
        .map_err(|err| log_error("Kafka commit", &err))?;
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
            .await
            .map_err(|err| task_failed("Kafka commit", err))?
            .map_err(|err| log_error("Kafka commit", &err))?;
        self.member.lock().committed.insert(partition, next_offset);
        Ok(())
    }

    /// Before the group assigned partitions to this member, every partition of the topic (with
    /// the positions read at join); afterwards, the assigned ones.
    fn committed(&self) -> Vec<(PartitionId, Offset)> {
        let member = self.member.lock();
        member
            .committed
            .iter()
            .filter(|(partition, _)| {
                member
                    .assigned
                    .as_ref()
                    .is_none_or(|assigned| assigned.contains(partition))
            })
            .map(|(&partition, &offset)| (partition, offset))
            .collect()
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Leave the group now rather than after the session timeout, so that the partitions move
        // to the other members at once. The last handle closing the consumer does the rest.
        self.consumer.unsubscribe();
    }
}
