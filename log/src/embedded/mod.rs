//! The embedded log: partitioned, append-only segment files with group commit, in this process.
//!
//! Layout of `config.dir`:
//!
//! ```text
//! LOCK                          held (flock) while a process has the log open
//! partitions                    the partition count, fixed at creation
//! <partition>/<base>.log        segments, named by base offset (see `segment`), frames (see `frame`)
//! <partition>/offsets/<group>   committed position of each consumer group (see `offsets`)
//! ```
//!
//! Appenders encode (and compress) their record in their own thread, enqueue it (fixing its order)
//! and await a future that the writer thread (see `writer`) resolves once the record is fsync'd.
//! Consumers read durable records back from the segment files.

mod config;
mod consumer;
mod frame;
mod offsets;
mod producer;
mod queue;
mod segment;
mod writer;

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

pub use config::EmbeddedLogConfig;
use consumer::EmbeddedConsumer;
use producer::EmbeddedProducer;
use queue::AppendQueue;
use segment::{Segment, parse_segment_file_name, sync_dir};
use writer::PartitionWriter;

use crate::{Log, LogConsumer, LogError, LogErrorKind, LogProducer, Offset, PartitionId};

/// The embedded durable log. Cheap to clone; all clones, producers and consumers share one writer
/// thread, which stops (after flushing) when the last of them is dropped or on [`close`].
///
/// [`close`]: EmbeddedLog::close
#[derive(Clone)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

/// Owns the writer thread and the directory lock: dropping it flushes and stops the writer.
struct Inner {
    core: Arc<Core>,
    writer: Mutex<Option<JoinHandle<()>>>,
    _lock: File,
}

/// State shared by the handles, the writer thread and blocking reads.
pub(crate) struct Core {
    config: EmbeddedLogConfig,
    queue: AppendQueue,
    partitions: Vec<PartitionState>,
    /// Next durable offset of each partition; consumers watch it to wake up.
    durable: watch::Sender<Vec<Offset>>,
    closed: AtomicBool,
}

/// The readers' view of one partition.
pub(crate) struct PartitionState {
    dir: PathBuf,
    /// Ascending by base offset; the last one is being written.
    segments: RwLock<Vec<Arc<Segment>>>,
    /// Committed offset of each consumer group.
    committed: Mutex<HashMap<String, Offset>>,
    /// Serializes retention so that segments are deleted oldest first, even on disk.
    retention: Mutex<()>,
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `config.dir`, recovering from a crash: every frame is
    /// verified, a torn tail of the last segment is truncated, and any other damage is refused with
    /// [`LogErrorKind::Corrupt`]. Does blocking I/O: from async code, call it in `spawn_blocking`.
    pub fn open(config: EmbeddedLogConfig) -> Result<EmbeddedLog, LogError> {
        config.validate()?;
        fs::create_dir_all(&config.dir)
            .map_err(|err| LogError::io(&format!("creating {}", config.dir.display()), err))?;
        let lock = lock_dir(&config.dir)?;
        check_partition_count(&config)?;
        let mut partitions = Vec::new();
        let mut writers = Vec::new();
        for partition in 0..config.partitions {
            let (state, writer) = recover_partition(&config.dir.join(partition.to_string()))?;
            partitions.push(state);
            writers.push(writer);
        }
        let ends = writers
            .iter()
            .map(|writer| writer.next_offset)
            .collect::<Vec<_>>();
        tracing::info!(dir = %config.dir.display(), partitions = config.partitions, end_offsets = ?ends, "log opened");
        let core = Arc::new(Core {
            queue: AppendQueue::new(config.max_pending_bytes),
            config,
            partitions,
            durable: watch::Sender::new(ends),
            closed: AtomicBool::new(false),
        });
        let writer_core = core.clone();
        let writer = std::thread::Builder::new()
            .name("lrs-log-writer".into())
            .spawn(move || writer::run(writer_core, writers))
            .map_err(|err| LogError::io("starting the log writer thread", err))?;
        Ok(EmbeddedLog {
            inner: Arc::new(Inner {
                core,
                writer: Mutex::new(Some(writer)),
                _lock: lock,
            }),
        })
    }

    /// Flushes the records already appended, stops the writer thread and fails later appends with
    /// [`LogErrorKind::Closed`]; consumers' polls fail with `Closed` too. Blocks until the flush is
    /// done. Idempotent; dropping the last handle does the same.
    pub fn close(&self) {
        self.inner.close();
    }

    pub fn config(&self) -> &EmbeddedLogConfig {
        &self.inner.core.config
    }

    /// Removes every record every consumer group has consumed from the disk (a purge: issue 14
    /// §3): seals each partition's active segment when it holds records (new appends go to a new
    /// segment), then deletes, oldest first, the segments whose records are all consumed, as
    /// retention does. What is not yet consumed by every group stays, in the segments it is in
    /// (the caller waits for ingest first). Readers holding a deleted segment keep reading the
    /// unlinked file until they move on. Blocking: from async code, call it in `spawn_blocking`.
    pub fn drop_consumed(&self) -> Result<DroppedSegments, LogError> {
        let core = &self.inner.core;
        let before: usize = core
            .partitions
            .iter()
            .map(|p| p.segments.read().len())
            .sum();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if !core.queue.request_roll(tx) {
            return Err(LogError::new(LogErrorKind::Closed, "the log is closed"));
        }
        rx.recv().map_err(|_| {
            LogError::new(
                LogErrorKind::Closed,
                "the log writer stopped before rolling",
            )
        })??;
        let rolled: usize = core
            .partitions
            .iter()
            .map(|p| p.segments.read().len())
            .sum();
        for partition in 0..core.partitions.len() {
            core.apply_retention(partition as PartitionId)?;
        }
        let after: usize = core
            .partitions
            .iter()
            .map(|p| p.segments.read().len())
            .sum();
        Ok(DroppedSegments {
            deleted: rolled - after,
            // Every partition keeps its active segment; any other holds unconsumed records.
            kept_unconsumed: after - core.partitions.len(),
            rolled: rolled - before,
        })
    }
}

/// What [`EmbeddedLog::drop_consumed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedSegments {
    /// Segments sealed to be dropped (active segments that held records).
    pub rolled: usize,
    /// Segments deleted.
    pub deleted: usize,
    /// Sealed segments kept because some group has not consumed all their records.
    pub kept_unconsumed: usize,
}

impl Inner {
    fn close(&self) {
        self.core.queue.close();
        if let Some(writer) = self.writer.lock().take()
            && writer.join().is_err()
        {
            tracing::error!("the log writer thread panicked");
        }
        self.core.closed.store(true, Ordering::SeqCst);
        // Wake pollers so that they notice.
        self.core.durable.send_modify(|_| {});
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl Log for EmbeddedLog {
    fn producer(&self) -> Arc<dyn LogProducer> {
        Arc::new(EmbeddedProducer::new(self.inner.clone()))
    }

    /// Joins `group`, registering it (durably, at the start of the log) if it is new, so that
    /// retention keeps its records. Does a little blocking I/O for a new group.
    fn consumer(&self, group: &str) -> Result<Box<dyn LogConsumer>, LogError> {
        Ok(Box::new(EmbeddedConsumer::join(self.inner.clone(), group)?))
    }

    fn end_offsets(&self) -> Result<Vec<(PartitionId, Offset)>, LogError> {
        let ends = self.inner.core.durable.borrow();
        Ok((0..).zip(ends.iter().copied()).collect())
    }
}

impl Core {
    fn partition_dir(&self, partition: PartitionId) -> PathBuf {
        self.partitions[partition as usize].dir.clone()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The first offset still stored in `partition`.
    fn start_offset(&self, partition: PartitionId) -> Offset {
        self.partitions[partition as usize].segments.read()[0].base_offset()
    }

    /// Records `group`'s committed position durably, then deletes the segments every group is done
    /// with. Blocking.
    fn commit(
        &self,
        partition: PartitionId,
        group: &str,
        next_offset: Offset,
    ) -> Result<(), LogError> {
        let state = &self.partitions[partition as usize];
        offsets::store(&state.dir, group, next_offset)
            .map_err(|err| LogError::io("committing an offset", err))?;
        state.committed.lock().insert(group.to_owned(), next_offset);
        self.apply_retention(partition)
    }

    /// Deletes, oldest first, the whole segments whose records are all below every group's
    /// committed offset. The active segment is never deleted.
    fn apply_retention(&self, partition: PartitionId) -> Result<(), LogError> {
        let state = &self.partitions[partition as usize];
        let _retention = state.retention.lock();
        let Some(min_committed) = state.committed.lock().values().copied().min() else {
            return Ok(());
        };
        loop {
            let doomed = {
                let mut segments = state.segments.write();
                if segments.len() < 2 || segments[1].base_offset() > min_committed {
                    return Ok(());
                }
                segments.remove(0)
            };
            // Readers still holding the segment keep reading the unlinked file.
            fs::remove_file(doomed.path())
                .and_then(|()| sync_dir(&state.dir))
                .map_err(|err| LogError::io("deleting a log segment", err))?;
            tracing::debug!(
                partition,
                base_offset = doomed.base_offset(),
                "log segment deleted by retention"
            );
        }
    }
}

/// Takes an exclusive lock on the log directory, so that two processes (or two opens in one
/// process) never write the same segments.
fn lock_dir(dir: &Path) -> Result<File, LogError> {
    let path = dir.join("LOCK");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| LogError::io(&format!("opening {}", path.display()), err))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(LogError::new(
            LogErrorKind::Config,
            format!("the log in {} is already open", dir.display()),
        )),
        Err(fs::TryLockError::Error(err)) => Err(LogError::io("locking the log directory", err)),
    }
}

/// The partition count is fixed at creation: records are placed by hash modulo the count.
fn check_partition_count(config: &EmbeddedLogConfig) -> Result<(), LogError> {
    let path = config.dir.join("partitions");
    match fs::read_to_string(&path) {
        Ok(text) if text.trim() == config.partitions.to_string() => Ok(()),
        Ok(text) => Err(LogError::new(
            LogErrorKind::Config,
            format!(
                "the log in {} has {} partitions, not {}",
                config.dir.display(),
                text.trim(),
                config.partitions
            ),
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let temp = config.dir.join("partitions.tmp");
            fs::write(&temp, format!("{}\n", config.partitions))
                .and_then(|()| File::open(&temp)?.sync_all())
                .and_then(|()| fs::rename(&temp, &path))
                .and_then(|()| sync_dir(&config.dir))
                .map_err(|err| LogError::io("recording the partition count", err))
        }
        Err(err) => Err(LogError::io("reading the partition count", err)),
    }
}

/// Recovers one partition's segments and committed offsets.
fn recover_partition(dir: &Path) -> Result<(PartitionState, PartitionWriter), LogError> {
    fs::create_dir_all(offsets::offsets_dir(dir))
        .map_err(|err| LogError::io(&format!("creating {}", dir.display()), err))?;
    let mut bases = Vec::new();
    for entry in
        fs::read_dir(dir).map_err(|err| LogError::io(&format!("listing {}", dir.display()), err))?
    {
        let entry = entry.map_err(|err| LogError::io("listing segments", err))?;
        if let Some(base) = entry.file_name().to_str().and_then(parse_segment_file_name) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    let mut segments = Vec::with_capacity(bases.len().max(1));
    let mut writer = None;
    for (at, &base) in bases.iter().enumerate() {
        if let Some(previous) = &writer
            && base != next_offset_of(previous)
        {
            return Err(LogError::new(
                LogErrorKind::Corrupt,
                format!(
                    "{}: segment {base} does not follow the previous segment's records",
                    dir.display()
                ),
            ));
        }
        let path = dir.join(segment::segment_file_name(base));
        let recovered = Segment::recover(path, base, at + 1 == bases.len())?;
        let segment = Arc::new(recovered.segment);
        segments.push(segment.clone());
        writer = Some(PartitionWriter {
            segment,
            len: recovered.valid_len,
            next_offset: base + recovered.record_count,
        });
    }
    let writer = match writer {
        Some(writer) => writer,
        None => {
            let segment = Segment::create(dir, 0)
                .and_then(|segment| sync_dir(dir).map(|()| Arc::new(segment)))
                .map_err(|err| LogError::io("creating the first log segment", err))?;
            segments.push(segment.clone());
            PartitionWriter {
                segment,
                len: 0,
                next_offset: 0,
            }
        }
    };
    let state = PartitionState {
        dir: dir.to_owned(),
        segments: RwLock::new(segments),
        committed: Mutex::new(offsets::load(dir)?),
        retention: Mutex::new(()),
    };
    Ok((state, writer))
}

fn next_offset_of(writer: &PartitionWriter) -> Offset {
    writer.next_offset
}

#[cfg(test)]
mod tests;
