//! The consuming side of the embedded log: reads durable records back from the segment files.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::segment::Segment;
use super::{Core, Inner, offsets};
use crate::{ConsumedRecord, LogConsumer, LogError, LogErrorKind, Offset, PartitionId};

/// The only member of its consumer group.
pub(crate) struct EmbeddedConsumer {
    inner: Arc<Inner>,
    group: String,
    committed: Vec<Offset>,
    durable: watch::Receiver<Vec<Offset>>,
    /// Shared with the blocking read, so that a cancelled poll loses nothing.
    reader: Arc<Mutex<Reader>>,
}

/// Read positions, kept apart from committed ones: polling moves them, only `commit` persists.
struct Reader {
    core: Arc<Core>,
    next: Vec<Offset>,
    cursors: Vec<Option<Cursor>>,
    /// Partition to start the next read at, so that a busy partition does not starve the others.
    first_partition: usize,
}

/// Where the next record of a partition starts, to avoid an index lookup per poll.
struct Cursor {
    segment: Arc<Segment>,
    offset: Offset,
    position: u64,
}

impl EmbeddedConsumer {
    pub(super) fn join(inner: Arc<Inner>, group: &str) -> Result<EmbeddedConsumer, LogError> {
        offsets::validate_group(group)?;
        let core = inner.core.clone();
        if core.is_closed() {
            return Err(LogError::new(LogErrorKind::Closed, "the log is closed"));
        }
        let mut committed = Vec::with_capacity(core.partitions.len());
        for (partition, state) in (0..).zip(&core.partitions) {
            let known = state.committed.lock().get(group).copied();
            let offset = match known {
                Some(offset) => offset,
                None => {
                    let start = core.start_offset(partition);
                    core.commit(partition, group, start)?;
                    start
                }
            };
            committed.push(offset);
        }
        let reader = Reader {
            core: core.clone(),
            next: committed.clone(),
            cursors: core.partitions.iter().map(|_| None).collect(),
            first_partition: 0,
        };
        Ok(EmbeddedConsumer {
            durable: core.durable.subscribe(),
            inner,
            group: group.to_owned(),
            committed,
            reader: Arc::new(Mutex::new(reader)),
        })
    }
}

#[async_trait]
impl LogConsumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, LogError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.inner.core.is_closed() {
                return Err(LogError::new(LogErrorKind::Closed, "the log is closed"));
            }
            let ends = self.durable.borrow_and_update().clone();
            if max > 0 && self.reader.lock().has_records(&ends) {
                let reader = self.reader.clone();
                let records = tokio::task::spawn_blocking(move || reader.lock().read(&ends, max))
                    .await
                    .map_err(|err| {
                        LogError::new(
                            LogErrorKind::Unavailable,
                            format!("log read task failed: {err}"),
                        )
                    })??;
                if !records.is_empty() {
                    return Ok(records);
                }
            }
            match tokio::time::timeout_at(deadline, self.durable.changed()).await {
                Err(_elapsed) => return Ok(Vec::new()),
                Ok(Err(_closed)) => {
                    return Err(LogError::new(LogErrorKind::Closed, "the log is closed"));
                }
                Ok(Ok(())) => {}
            }
        }
    }

    async fn commit(
        &mut self,
        partition: PartitionId,
        next_offset: Offset,
    ) -> Result<(), LogError> {
        let core = self.inner.core.clone();
        let Some(&end) = self.durable.borrow().get(partition as usize) else {
            return Err(LogError::new(
                LogErrorKind::Config,
                format!("partition {partition} does not exist"),
            ));
        };
        if next_offset > end {
            return Err(LogError::new(
                LogErrorKind::Config,
                format!(
                    "cannot commit offset {next_offset} of partition {partition}: the log ends at {end}"
                ),
            ));
        }
        let group = self.group.clone();
        tokio::task::spawn_blocking(move || core.commit(partition, &group, next_offset))
            .await
            .map_err(|err| {
                LogError::new(
                    LogErrorKind::Unavailable,
                    format!("log commit task failed: {err}"),
                )
            })??;
        self.committed[partition as usize] = next_offset;
        Ok(())
    }

    fn committed(&self) -> Vec<(PartitionId, Offset)> {
        (0..).zip(self.committed.iter().copied()).collect()
    }
}

impl Reader {
    fn has_records(&self, ends: &[Offset]) -> bool {
        self.next.iter().zip(ends).any(|(next, end)| next < end)
    }

    /// Reads up to `max` durable records, visiting partitions round-robin. Blocking.
    fn read(&mut self, ends: &[Offset], max: usize) -> Result<Vec<ConsumedRecord>, LogError> {
        let partitions = self.next.len();
        let mut records = Vec::new();
        for step in 0..partitions {
            let partition = (self.first_partition + step) % partitions;
            if records.len() >= max {
                break;
            }
            self.read_partition(
                partition,
                ends[partition],
                max - records.len(),
                &mut records,
            )?;
        }
        self.first_partition = (self.first_partition + 1) % partitions;
        Ok(records)
    }

    fn read_partition(
        &mut self,
        partition: usize,
        end: Offset,
        max: usize,
        out: &mut Vec<ConsumedRecord>,
    ) -> Result<(), LogError> {
        let mut read = Vec::new();
        while self.next[partition] < end && read.len() < max {
            let (cursor, limit) = self.cursor(partition, end)?;
            let position = cursor.segment.read_records(
                cursor.position,
                cursor.offset,
                limit,
                max - read.len(),
                &mut read,
            )?;
            let offset = read.last().map_or(cursor.offset, |(offset, _)| offset + 1);
            self.next[partition] = offset;
            self.cursors[partition] = Some(Cursor {
                segment: cursor.segment,
                offset,
                position,
            });
        }
        out.extend(read.into_iter().map(|(offset, payload)| ConsumedRecord {
            partition: partition as PartitionId,
            offset,
            payload,
        }));
        Ok(())
    }

    /// The position of the next record of `partition`, and the offset where its segment's durable
    /// records end.
    fn cursor(&mut self, partition: usize, end: Offset) -> Result<(Cursor, Offset), LogError> {
        let segments = self.core.partitions[partition].segments.read().clone();
        let next = &mut self.next[partition];
        // Records below the start were deleted; only a group that joined late can be behind it.
        *next = (*next).max(segments[0].base_offset());
        let at = segments.partition_point(|segment| segment.base_offset() <= *next) - 1;
        let segment = segments[at].clone();
        let limit = segments
            .get(at + 1)
            .map_or(end, |following| following.base_offset().min(end));
        let cached = self.cursors[partition]
            .take()
            .filter(|cursor| cursor.offset == *next && Arc::ptr_eq(&cursor.segment, &segment));
        let cursor = match cached {
            Some(cursor) => cursor,
            None => Cursor {
                position: segment.position_of(*next)?,
                offset: *next,
                segment,
            },
        };
        Ok((cursor, limit))
    }
}
