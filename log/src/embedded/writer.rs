//! The writer thread: group commit.
//!
//! One std thread per log (blocking I/O never runs on tokio workers). Each round it takes every
//! record queued since the last round, writes each partition's share with one vectored write call
//! (more only when a segment rolls), fdatasyncs each touched segment once, publishes the new durable
//! end offsets to consumers and only then resolves the appenders' futures.

use std::io::{IoSlice, Write};
use std::sync::Arc;

use super::Core;
use super::queue::PendingRecord;
use super::segment::{Segment, sync_dir};
use crate::{AppendAck, LogError, LogErrorKind, Offset, PartitionId};

/// The writer's view of one partition: its active (last) segment and next offset.
pub(crate) struct PartitionWriter {
    pub segment: Arc<Segment>,
    /// Bytes of intact frames in the active segment; where the next frame goes.
    pub len: u64,
    pub next_offset: Offset,
}

/// A record written (not yet fsync'd) and whom to tell once it is durable.
struct Written {
    record: PendingRecord,
    offset: Offset,
}

/// What happened to one partition's share of a batch.
#[derive(Default)]
struct PartitionOutcome {
    written: Vec<Written>,
    /// Records that were not written, with the reason.
    failed: Option<(LogError, Vec<PendingRecord>)>,
    /// The log can no longer guarantee durability.
    poisoned: bool,
}

pub(crate) fn run(core: Arc<Core>, mut writers: Vec<PartitionWriter>) {
    let mut finished_bytes = 0;
    while let Some(super::queue::Batch {
        records: batch,
        rolls,
    }) = core.queue.take_batch(finished_bytes)
    {
        finished_bytes = batch.iter().map(|record| record.frame.len()).sum();
        if batch.is_empty() {
            roll_all(&core, &mut writers, rolls);
            continue;
        }
        let _span = tracing::debug_span!(
            "log_group_commit",
            records = batch.len(),
            bytes = finished_bytes
        )
        .entered();
        commit_batch(&core, &mut writers, batch);
        roll_all(&core, &mut writers, rolls);
    }
    tracing::debug!("log writer stopped");
}

fn commit_batch(core: &Core, writers: &mut [PartitionWriter], batch: Vec<PendingRecord>) {
    let mut per_partition: Vec<Vec<PendingRecord>> = writers.iter().map(|_| Vec::new()).collect();
    for record in batch {
        per_partition[record.partition as usize].push(record);
    }
    let mut outcomes = Vec::with_capacity(writers.len());
    for (partition, records) in per_partition.into_iter().enumerate() {
        let outcome = if records.is_empty() {
            PartitionOutcome::default()
        } else {
            write_partition(
                core,
                &mut writers[partition],
                partition as PartitionId,
                records,
            )
        };
        outcomes.push(outcome);
    }
    let mut poisoned = outcomes.iter().any(|outcome| outcome.poisoned);
    if !poisoned {
        for (writer, outcome) in writers.iter().zip(&outcomes) {
            if outcome.written.is_empty() {
                continue;
            }
            if let Err(err) = writer.segment.file().sync_data() {
                tracing::error!(error = %err, segment = %writer.segment.path().display(), "log fsync failed");
                poisoned = true;
                break;
            }
        }
    }
    if poisoned {
        fail_everything(core, outcomes);
        return;
    }
    core.durable.send_modify(|ends| {
        for (end, writer) in ends.iter_mut().zip(writers.iter()) {
            *end = writer.next_offset;
        }
    });
    for (partition, outcome) in outcomes.into_iter().enumerate() {
        let partition = partition as PartitionId;
        for written in outcome.written {
            let ack = AppendAck {
                partition,
                offset: written.offset,
            };
            let _ = written.record.ack.send(Ok(ack));
        }
        if let Some((err, records)) = outcome.failed {
            records
                .into_iter()
                .for_each(|record| record.fail(err.clone()));
        }
    }
}

/// After a failed fsync nothing written since the last one can be trusted (the kernel may have
/// dropped the dirty pages): fail every unacknowledged record and refuse further appends.
fn fail_everything(core: &Core, outcomes: Vec<PartitionOutcome>) {
    let failure = LogError::new(
        LogErrorKind::Unavailable,
        "the log failed to make records durable; it refuses appends until reopened",
    );
    for outcome in outcomes {
        for written in outcome.written {
            written.record.fail(failure.clone());
        }
        for record in outcome.failed.into_iter().flat_map(|(_, records)| records) {
            record.fail(failure.clone());
        }
    }
    for record in core.queue.poison(failure.clone()) {
        record.fail(failure.clone());
    }
}

/// Writes one partition's records, rolling segments as they fill. A failed write (e.g. ENOSPC)
/// fails that record run and the rest, after truncating the partial write away.
fn write_partition(
    core: &Core,
    writer: &mut PartitionWriter,
    partition: PartitionId,
    records: Vec<PendingRecord>,
) -> PartitionOutcome {
    let mut outcome = PartitionOutcome::default();
    let mut runs =
        split_into_segment_runs(writer.len, core.config.segment_bytes, records).into_iter();
    let mut first = true;
    while let Some(run) = runs.next() {
        let rolled = if first {
            Ok(())
        } else {
            roll(core, writer, partition)
        };
        first = false;
        if let Err(err) = rolled {
            tracing::error!(error = %err, partition, "log segment roll failed");
            outcome.poisoned = true;
            outcome.failed = Some((err, run.into_iter().chain(runs.flatten()).collect()));
            break;
        }
        if let Err(err) = write_run(writer, &run) {
            tracing::error!(error = %err, partition, "log write failed");
            // Cut the partial write so the next frame starts where the intact ones end.
            let truncated = writer.segment.file().set_len(writer.len).and_then(|()| {
                use std::io::Seek;
                (&mut writer.segment.file())
                    .seek(std::io::SeekFrom::Start(writer.len))
                    .map(drop)
            });
            outcome.poisoned = truncated.is_err();
            outcome.failed = Some((err, run.into_iter().chain(runs.flatten()).collect()));
            break;
        }
        let first_offset = writer.next_offset - run.len() as u64;
        outcome
            .written
            .extend(run.into_iter().enumerate().map(|(at, record)| Written {
                record,
                offset: first_offset + at as u64,
            }));
    }
    outcome
}

/// Groups records by the segment they will land in: a record that would overflow a non-empty
/// segment starts a new one. The first run goes to the active segment and may be empty.
fn split_into_segment_runs(
    mut len: u64,
    segment_bytes: u64,
    records: Vec<PendingRecord>,
) -> Vec<Vec<PendingRecord>> {
    let mut runs = vec![Vec::new()];
    for record in records {
        let frame_len = record.frame.len() as u64;
        if len > 0 && len + frame_len > segment_bytes {
            runs.push(Vec::new());
            len = 0;
        }
        len += frame_len;
        runs.last_mut().expect("runs is never empty").push(record);
    }
    runs
}

/// Answers roll requests (`EmbeddedLog::drop_consumed`): every partition whose active segment
/// holds records gets a new one, so the old one can go once consumed.
fn roll_all(core: &Core, writers: &mut [PartitionWriter], rolls: Vec<super::queue::RollRequest>) {
    if rolls.is_empty() {
        return;
    }
    let mut result = Ok(());
    for (partition, writer) in writers.iter_mut().enumerate() {
        if writer.len == 0 {
            continue;
        }
        if let Err(err) = roll(core, writer, partition as PartitionId) {
            tracing::error!(error = %err, partition, "log segment roll failed");
            result = Err(err);
            break;
        }
    }
    for request in rolls {
        let _ = request.send(result.clone());
    }
}

/// Seals the active segment (fsync) and starts a new one at the next offset.
fn roll(core: &Core, writer: &mut PartitionWriter, partition: PartitionId) -> Result<(), LogError> {
    writer
        .segment
        .file()
        .sync_data()
        .map_err(|err| LogError::io("sealing a log segment", err))?;
    let dir = core.partition_dir(partition);
    let segment = Segment::create(&dir, writer.next_offset)
        .and_then(|segment| sync_dir(&dir).map(|()| segment))
        .map_err(|err| LogError::io("creating a log segment", err))?;
    let segment = Arc::new(segment);
    core.partitions[partition as usize]
        .segments
        .write()
        .push(segment.clone());
    tracing::debug!(
        partition,
        base_offset = writer.next_offset,
        "log segment rolled"
    );
    writer.segment = segment;
    writer.len = 0;
    Ok(())
}

/// Writes a run of frames to the active segment with as few write calls as the kernel allows.
fn write_run(writer: &mut PartitionWriter, run: &[PendingRecord]) -> Result<(), LogError> {
    let mut slices: Vec<IoSlice<'_>> = run
        .iter()
        .map(|record| IoSlice::new(&record.frame))
        .collect();
    let mut remaining = &mut slices[..];
    let mut file = writer.segment.file();
    while !remaining.is_empty() {
        match file.write_vectored(remaining) {
            Ok(0) => {
                return Err(LogError::io(
                    "writing the log",
                    std::io::ErrorKind::WriteZero.into(),
                ));
            }
            Ok(written) => IoSlice::advance_slices(&mut remaining, written),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(LogError::io("writing the log", err)),
        }
    }
    for record in run {
        writer.segment.note_position(writer.next_offset, writer.len);
        writer.len += record.frame.len() as u64;
        writer.next_offset += 1;
    }
    Ok(())
}
