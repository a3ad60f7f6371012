//! [`ReadVisibility`]: Consistent-Through, read-your-writes and the query cap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lrs_log::Log;
use lrs_store::{Micros, StatementReader, now_micros};
use tokio::sync::watch;

use crate::listener::{AppliedBatch, IngestListener};
use crate::snapshot::{Applied, Snapshot};

/// Where readers learn how far ingest has applied the log (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// An ingestor in this process reports every applied batch.
    Local,
    /// Read from the log and the store every `interval`; Consistent-Through is lowered by `margin`.
    Polled {
        interval: Duration,
        margin: Duration,
    },
}

/// What the write side of this process has stamped and not yet made durable. It publishes this
/// through a watch (updated in the same critical section that stamps `stored`), so the read side
/// never holds a reference to the write side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteProgress {
    /// Appends whose durability is not yet known.
    pub pending_appends: u64,
    /// The highest `stored` stamped so far.
    pub last_stamp: Micros,
}

impl WriteProgress {
    /// A receiver for a process that writes nothing (the query role): no pending appends, ever.
    pub fn none() -> watch::Receiver<WriteProgress> {
        watch::channel(WriteProgress::default()).1
    }
}

/// How far ingest has applied the log, and what that lets a reader see.
pub struct ReadVisibility {
    log: Arc<dyn Log>,
    /// Polled mode: where the watermarks are read.
    reader: Arc<dyn StatementReader>,
    mode: Progress,
    applied: watch::Sender<Applied>,
    writes: watch::Receiver<WriteProgress>,
    /// The highest Consistent-Through ever reported: it never moves backwards.
    reported: AtomicI64,
    /// Local mode: the last `stored` acknowledged to each writer (a [`Writer`] key), so a reader
    /// waits for its own writes only.
    acknowledged: Mutex<HashMap<Writer, Micros>>,
    /// Local mode: the log's end when this process started. Records below it were acknowledged
    /// by an earlier process (before a crash or restart) to writers this one never saw, so
    /// every reader waits until they are applied.
    startup_end: u64,
}

/// Who wrote: a hash of a credential's whole identity (`lrs-api` makes it). Two writers that
/// collide only make one of them wait for the other's writes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Writer(pub u64);

/// Past this many writers remembered, those whose writes are all applied are forgotten.
const WRITERS_KEPT: usize = 65_536;

impl ReadVisibility {
    /// `initial_next_offset` / `initial_stored`: the store's recorded watermarks at start-up.
    /// `writes`: what this process's write side publishes ([`WriteProgress::none`] without one).
    pub fn new(
        log: Arc<dyn Log>,
        reader: Arc<dyn StatementReader>,
        initial_next_offset: u64,
        initial_stored: Micros,
        mode: Progress,
        writes: watch::Receiver<WriteProgress>,
    ) -> Arc<ReadVisibility> {
        let (applied, _) = watch::channel(Applied {
            next_offset: initial_next_offset,
            stored: initial_stored,
            snapshot: None,
        });
        let startup_end = match mode {
            Progress::Local => log
                .end_offsets()
                .map(|ends| ends.iter().map(|(_, o)| *o).sum())
                .unwrap_or(0),
            Progress::Polled { .. } => 0,
        };
        Arc::new(ReadVisibility {
            startup_end,
            log,
            reader,
            mode,
            applied,
            writes,
            reported: AtomicI64::new(initial_stored),
            acknowledged: Mutex::new(HashMap::new()),
        })
    }

    pub fn mode(&self) -> Progress {
        self.mode
    }

    /// `X-Experience-API-Consistent-Through`: every statement stored at or before this instant is
    /// visible to queries. It never moves backwards.
    ///
    /// Local: when nothing stamped is still pending and ingest has applied the whole log, every
    /// statement stamped so far is visible, and one stamped later gets a `stored` at or after the
    /// clock reading taken first, so the answer is that reading (less one µs) or the last stamp,
    /// whichever is later. Otherwise it is the `stored` of the last applied record. The order of
    /// the readings (clock, write progress, log end, applied) is what makes this true.
    ///
    /// Polled: what the last snapshot proves.
    pub fn consistent_through(&self) -> Micros {
        let through = match self.mode {
            Progress::Local => {
                let now = now_micros();
                let writes = *self.writes.borrow();
                let end = self.log_end();
                let applied = self.applied.borrow();
                if writes.pending_appends == 0 && end.is_some_and(|e| applied.next_offset >= e) {
                    (now - 1).max(writes.last_stamp)
                } else {
                    applied.stored
                }
            }
            Progress::Polled { .. } => self
                .applied
                .borrow()
                .snapshot
                .as_ref()
                .map_or(0, |s| s.through),
        };
        self.reported
            .fetch_max(through, Ordering::Relaxed)
            .max(through)
    }

    /// The `stored` bound of a new query's first page (later pages keep it, so they are stable),
    /// given the request's `consistent_through`. Local: that. Polled: now, since
    /// Consistent-Through lags by the margin and a client must still read what it was just
    /// acknowledged.
    pub fn query_cap(&self, consistent_through: Micros) -> Micros {
        match self.mode {
            Progress::Local => consistent_through,
            Progress::Polled { .. } => now_micros().max(consistent_through),
        }
    }

    /// Records that `writer` was acknowledged statements stored at `stored` (Local mode; the write
    /// side calls it once the append is durable, before answering).
    pub fn acknowledged(&self, writer: Writer, stored: Micros) {
        if self.mode != Progress::Local {
            return;
        }
        let mut acknowledged = self.acknowledged.lock().unwrap_or_else(|p| p.into_inner());
        let held = acknowledged.entry(writer).or_insert(stored);
        *held = (*held).max(stored);
        if acknowledged.len() > WRITERS_KEPT {
            let applied = self.applied.borrow().stored;
            acknowledged.retain(|_, stored| *stored > applied);
        }
    }

    /// Waits (at most `timeout`) until the reader can see its own acknowledged writes.
    ///
    /// Local: until ingest has applied the last statement acknowledged to `writer` (no wait at
    /// all for a reader that wrote nothing, or whose writes are applied: a dashboard never
    /// waits for the ingest backlog), and what the log held when the process started (written
    /// by an earlier process, to writers this one never saw). Polled (another process wrote): until a snapshot taken
    /// after the call shows every record acknowledged before it applied, whoever wrote it.
    pub async fn wait_for_own_writes(&self, writer: Option<Writer>, timeout: Duration) {
        if self.mode != Progress::Local {
            return self.wait_for_acknowledged(timeout).await;
        }
        let target = writer.and_then(|writer| {
            let acknowledged = self.acknowledged.lock().unwrap_or_else(|p| p.into_inner());
            acknowledged.get(&writer).copied()
        });
        let floor = self.startup_end;
        let visible =
            |a: &Applied| a.next_offset >= floor && target.is_none_or(|stored| a.stored >= stored);
        let mut rx = self.applied.subscribe();
        if visible(&rx.borrow()) {
            return;
        }
        let _ = tokio::time::timeout(timeout, rx.wait_for(visible)).await;
    }

    /// Waits (at most `timeout`) until ingest has applied every record that was durable when the
    /// call began, whoever wrote it.
    pub async fn wait_for_acknowledged(&self, timeout: Duration) {
        let mut rx = self.applied.subscribe();
        match self.mode {
            Progress::Local => {
                let Some(target) = self.log_end() else { return };
                let _ =
                    tokio::time::timeout(timeout, rx.wait_for(|a| a.next_offset >= target)).await;
            }
            Progress::Polled { .. } => {
                // The first snapshot taken after the call began knows every record acknowledged
                // before it (by any instance); wait until a snapshot shows them applied.
                let began = now_micros();
                let _ = tokio::time::timeout(timeout, async {
                    let target = {
                        let Ok(a) = rx
                            .wait_for(|a| a.snapshot.as_ref().is_some_and(|s| s.taken_at >= began))
                            .await
                        else {
                            return;
                        };
                        a.snapshot.clone().unwrap_or_default()
                    };
                    let _ = rx
                        .wait_for(|a| a.snapshot.as_ref().is_some_and(|s| s.covers(&target)))
                        .await;
                })
                .await;
            }
        }
    }

    /// Records appended but not yet applied (the ingest lag, in records).
    pub fn lag_records(&self) -> u64 {
        match self.mode {
            Progress::Local => {
                let applied = self.applied.borrow().next_offset;
                self.log_end().map_or(0, |e| e.saturating_sub(applied))
            }
            Progress::Polled { .. } => self
                .applied
                .borrow()
                .snapshot
                .as_ref()
                .map_or(0, Snapshot::lag_records),
        }
    }

    fn log_end(&self) -> Option<u64> {
        // The embedded log runs one partition (one ingest consumer keeps `stored` order).
        self.log
            .end_offsets()
            .ok()
            .map(|ends| ends.iter().map(|(_, o)| *o).sum())
    }

    /// Polled mode: reads the log's end offsets and the store's watermarks every `interval` until
    /// `shutdown` turns true. Returns at once in local mode.
    pub async fn poll(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Progress::Polled { interval, margin } = self.mode else {
            return;
        };
        let margin = margin.as_micros() as Micros;
        let mut failures = 0u32;
        loop {
            match self.take_snapshot(margin).await {
                Ok(applied) => {
                    failures = 0;
                    self.applied.send_replace(applied);
                }
                Err(err) => {
                    failures += 1;
                    // Keep the last snapshot: Consistent-Through stays where it was (still true).
                    if failures == 1 || failures.is_multiple_of(100) {
                        tracing::warn!(error = %err, failures, "reading ingest progress failed");
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn take_snapshot(&self, margin: Micros) -> Result<Applied, String> {
        let taken_at = now_micros();
        let log = self.log.clone();
        // librdkafka's offset queries block; keep them off the async workers.
        let ends = tokio::task::spawn_blocking(move || log.end_offsets())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let marks = self.reader.watermarks().await.map_err(|e| e.to_string())?;
        Ok(Applied::from_snapshot(taken_at, &ends, &marks, margin))
    }
}

/// Local mode: the in-process ingestor's batches move the applied offsets and `stored`.
impl IngestListener for ReadVisibility {
    fn applied(&self, batch: &AppliedBatch) {
        let next_offset: u64 = batch.watermarks.iter().map(|w| w.next_offset).sum();
        let stored = batch.watermarks.iter().map(|w| w.stored).max().unwrap_or(0);
        self.applied.send_modify(|a| {
            a.next_offset = a.next_offset.max(next_offset);
            a.stored = a.stored.max(stored);
        });
    }
}
