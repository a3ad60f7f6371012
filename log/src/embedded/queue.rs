//! The bounded queue between appenders and the writer thread.
//!
//! `append` pushes under the lock, so the queue order is the call order; the writer assigns offsets
//! in queue order when it writes, so two appends made one after the other get increasing offsets.

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use crate::{AppendAck, LogError, LogErrorKind, PartitionId};

/// One encoded record waiting to be written.
pub(crate) struct PendingRecord {
    pub partition: PartitionId,
    pub frame: Vec<u8>,
    pub ack: oneshot::Sender<Result<AppendAck, LogError>>,
}

impl PendingRecord {
    pub fn fail(self, err: LogError) {
        // The appender may have dropped its future; nobody is left to tell.
        let _ = self.ack.send(Err(err));
    }
}

/// Asks the writer to seal every non-empty active segment and start new ones; answered once done.
pub(crate) type RollRequest = std::sync::mpsc::SyncSender<Result<(), LogError>>;

/// What the writer takes in one round.
pub(crate) struct Batch {
    pub records: Vec<PendingRecord>,
    pub rolls: Vec<RollRequest>,
}

struct QueueState {
    records: Vec<PendingRecord>,
    rolls: Vec<RollRequest>,
    /// Bytes queued plus bytes the writer is writing: what the bound applies to.
    pending_bytes: usize,
    closed: bool,
    /// Set when the log can no longer guarantee durability (an fsync failed).
    failure: Option<LogError>,
    /// Holds the writer back, so tests can fill the buffer deterministically.
    #[cfg(test)]
    paused: bool,
}

pub(crate) struct AppendQueue {
    state: Mutex<QueueState>,
    wake_writer: Condvar,
    max_pending_bytes: usize,
}

impl AppendQueue {
    pub fn new(max_pending_bytes: usize) -> AppendQueue {
        AppendQueue {
            state: Mutex::new(QueueState {
                records: Vec::new(),
                rolls: Vec::new(),
                pending_bytes: 0,
                closed: false,
                failure: None,
                #[cfg(test)]
                paused: false,
            }),
            wake_writer: Condvar::new(),
            max_pending_bytes,
        }
    }

    /// Enqueues a record, or hands it back with the reason it was refused. A record larger than
    /// the whole buffer is admitted when the buffer is empty, so that it can ever be written.
    pub fn push(&self, record: PendingRecord) -> Result<(), (LogError, PendingRecord)> {
        let mut state = self.state.lock();
        if state.closed {
            return Err((
                LogError::new(LogErrorKind::Closed, "the log is closed"),
                record,
            ));
        }
        if let Some(failure) = &state.failure {
            return Err((failure.clone(), record));
        }
        let len = record.frame.len();
        if state.pending_bytes > 0 && state.pending_bytes + len > self.max_pending_bytes {
            return Err((
                LogError::new(
                    LogErrorKind::Backpressure,
                    format!(
                        "the log's buffer of {} bytes is full",
                        self.max_pending_bytes
                    ),
                ),
                record,
            ));
        }
        state.pending_bytes += len;
        state.records.push(record);
        drop(state);
        self.wake_writer.notify_one();
        Ok(())
    }

    /// Asks the writer to roll every partition's non-empty active segment after the records
    /// queued before; `false` when the log is closed (the request is dropped).
    pub fn request_roll(&self, request: RollRequest) -> bool {
        let mut state = self.state.lock();
        if state.closed {
            return false;
        }
        state.rolls.push(request);
        drop(state);
        self.wake_writer.notify_one();
        true
    }

    /// Called by the writer: releases the bytes of the batch it finished, then waits for and takes
    /// every queued record and roll request. `None` once the queue is closed and drained.
    pub fn take_batch(&self, finished_bytes: usize) -> Option<Batch> {
        let mut state = self.state.lock();
        state.pending_bytes -= finished_bytes;
        loop {
            #[cfg(test)]
            let paused = state.paused && !state.closed;
            #[cfg(not(test))]
            let paused = false;
            if (!state.records.is_empty() || !state.rolls.is_empty()) && !paused {
                return Some(Batch {
                    records: std::mem::take(&mut state.records),
                    rolls: std::mem::take(&mut state.rolls),
                });
            }
            if state.closed && state.records.is_empty() {
                return None;
            }
            self.wake_writer.wait(&mut state);
        }
    }

    /// Refuses further appends; the writer drains what is queued and stops.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.wake_writer.notify_all();
    }

    /// Refuses further appends with `failure` and hands back what was queued, to be failed too.
    pub fn poison(&self, failure: LogError) -> Vec<PendingRecord> {
        let mut state = self.state.lock();
        state.failure.get_or_insert(failure);
        std::mem::take(&mut state.records)
    }

    #[cfg(test)]
    pub fn set_paused(&self, paused: bool) {
        self.state.lock().paused = paused;
        self.wake_writer.notify_all();
    }
}
