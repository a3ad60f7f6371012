//! The write side of the API and the truth about how far reads can see.
//!
//! [`Pipeline::submit`] turns one accepted request into one log record: it checks client-supplied
//! ids against the store and against records still in flight (409 / no-op), stamps `stored`, and
//! appends. Stamping and enqueueing happen under one lock, so log order is `stored` order; that is
//! what makes [`Pipeline::consistent_through`] true rather than a guess from the clock.
//!
//! In-flight ids are remembered from the append until ingest reports them applied, so a duplicate
//! id arriving in that window is still answered 204/409 correctly in one process. Across processes
//! (the distributed deployment) ingest keeps the first statement of an id and reports later ones.
//!
//! How the pipeline learns what ingest applied depends on the deployment ([`Progress`]):
//! - **Local** (`lrs serve`, every role in one process on the embedded log): the in-process
//!   ingestor tells it after every batch ([`IngestListener`]); Consistent-Through is exact.
//! - **Polled** (separate processes, a Kafka log): a background task reads the log's end offsets
//!   and then the per-partition watermarks ingest records in the store, every `interval`. Several
//!   API instances stamp `stored` with their own clocks and an append may land in the log up to
//!   the producer's delivery timeout after its stamp, so Consistent-Through is lowered by that
//!   bound plus a clock-skew allowance (`margin`): lower than it could be, never untrue.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lrs_ingest::{AppliedBatch, IngestListener, LATENCY_BUCKETS};
use lrs_log::{Log, LogProducer};
use lrs_schema::bodies_equivalent;
use lrs_schema::envelope::{EnvelopeStatement, StatementEnvelope};
pub use lrs_store::now_micros;
use lrs_store::{Micros, StatementReader};
use parking_lot::Mutex;
use prometheus::{Histogram, HistogramOpts};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{ApiError, Backpressure};
pub use crate::progress::Progress;
use crate::progress::{Applied, Snapshot};

/// A validated statement ready to be appended.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    pub statement: EnvelopeStatement,
    /// The client chose the id (so it may already exist).
    pub client_id: bool,
}

/// What became of a submitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    /// `stored` of the appended record (None when every statement already existed).
    pub stored: Option<Micros>,
    /// Statements that were already stored or in flight with equivalent content.
    pub already_present: usize,
}

struct Sequencer {
    last_stamp: Micros,
    /// Appends whose durability is not yet known.
    pending_appends: u64,
    /// Ids appended but not yet applied by ingest, with their bodies (for equivalence checks).
    in_flight: HashMap<(String, Uuid), Bytes>,
    /// The total length of the bodies in `in_flight`.
    in_flight_bytes: u64,
    /// The highest Consistent-Through ever reported (it must never move backwards).
    reported: Micros,
}

impl Sequencer {
    /// Drops an in-flight id (applied by ingest, or its append failed).
    fn forget(&mut self, tenant: &str, id: Uuid) {
        if let Some(body) = self.in_flight.remove(&(tenant.to_owned(), id)) {
            self.in_flight_bytes -= body.len() as u64;
        }
    }
}

/// The embedded pipeline's coordinator (see the module documentation).
pub struct Pipeline {
    log: Arc<dyn Log>,
    producer: Arc<dyn LogProducer>,
    reader: Arc<dyn StatementReader>,
    sequencer: Arc<Mutex<Sequencer>>,
    applied_tx: watch::Sender<Applied>,
    applied_rx: watch::Receiver<Applied>,
    /// Writes are refused (503) while ingest is this far behind the log, so readers never fall
    /// arbitrarily far behind acknowledged writes and memory stays bounded under overload.
    lag_limits: LagLimits,
    progress: Progress,
    /// Statements appended, and statements found already stored or in flight (for metrics).
    accepted: AtomicU64,
    already_present: AtomicU64,
    /// `lrs_log_append_duration_seconds`: from handing a record to the log to its durable
    /// acknowledgement (acknowledged appends only).
    append_seconds: Histogram,
}

/// How far ingest may fall behind the log before writes get 503 + Retry-After.
#[derive(Debug, Clone, Copy)]
pub struct LagLimits {
    /// Log records (requests) appended but not yet applied.
    pub records: u64,
    /// Bytes of statements appended but not yet applied, which this process keeps in memory
    /// until they are (for the in-flight duplicate check; embedded mode only).
    pub bytes: u64,
}

impl Pipeline {
    /// `initial_next_offset` / `initial_stored`: the store's recorded watermark at start-up.
    /// `lag_limits`: how far ingest may fall behind before writes get 503.
    pub fn new(
        log: Arc<dyn Log>,
        reader: Arc<dyn StatementReader>,
        initial_next_offset: u64,
        initial_stored: Micros,
        lag_limits: LagLimits,
        progress: Progress,
    ) -> Arc<Pipeline> {
        let (applied_tx, applied_rx) = watch::channel(Applied {
            next_offset: initial_next_offset,
            stored: initial_stored,
            snapshot: None,
        });
        Arc::new(Pipeline {
            producer: log.producer(),
            log,
            reader,
            sequencer: Arc::new(Mutex::new(Sequencer {
                last_stamp: initial_stored,
                pending_appends: 0,
                in_flight: HashMap::new(),
                in_flight_bytes: 0,
                reported: initial_stored,
            })),
            applied_tx,
            applied_rx,
            lag_limits: LagLimits {
                records: lag_limits.records.max(1),
                bytes: lag_limits.bytes.max(1),
            },
            progress,
            accepted: AtomicU64::new(0),
            already_present: AtomicU64::new(0),
            append_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "lrs_log_append_duration_seconds",
                    "Time from handing a record to the log to its durable acknowledgement",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
        })
    }

    fn polled(&self) -> bool {
        matches!(self.progress, Progress::Polled { .. })
    }

    /// 503 while ingest is beyond the lag limits. Handlers call it before validating a request
    /// too, so that under overload the CPU goes to ingest rather than to requests refused anyway.
    pub fn refuse_if_behind(&self) -> Result<(), ApiError> {
        if self.lag_records() >= self.lag_limits.records
            || self.sequencer.lock().in_flight_bytes >= self.lag_limits.bytes
        {
            return Err(ApiError::backpressure(
                Backpressure::IngestLag,
                "ingest is behind; retry later",
            ));
        }
        Ok(())
    }

    /// Appends one request's statements as one record and waits until it is durable.
    pub async fn submit(
        &self,
        tenant: &str,
        statements: Vec<PreparedStatement>,
    ) -> Result<SubmitOutcome, ApiError> {
        self.refuse_if_behind()?;
        // A failed store (e.g. a full disk) could not apply what the log acknowledges.
        self.reader.health()?;
        let submitted = statements.len();
        let mut fresh = self.drop_stored_duplicates(tenant, statements).await?;
        self.already_present
            .fetch_add((submitted - fresh.len()) as u64, Ordering::Relaxed);
        let (stamp, ids, already_in_flight, append) = {
            let mut seq = self.sequencer.lock();
            let before = fresh.len();
            let mut kept = Vec::with_capacity(fresh.len());
            for prepared in fresh.drain(..) {
                let key = (tenant.to_owned(), prepared.statement.id);
                match seq.in_flight.get(&key) {
                    None => kept.push(prepared),
                    Some(body) if bodies_equivalent(body, &prepared.statement.body) => {}
                    Some(_) => return Err(ApiError::conflict(prepared.statement.id)),
                }
            }
            let already_in_flight = before - kept.len();
            self.already_present
                .fetch_add(already_in_flight as u64, Ordering::Relaxed);
            if kept.is_empty() {
                return Ok(SubmitOutcome {
                    stored: None,
                    already_present: already_in_flight,
                });
            }
            let stamp = now_micros().max(seq.last_stamp + 1);
            let ids: Vec<Uuid> = kept.iter().map(|p| p.statement.id).collect();
            let bodies: Vec<Bytes> = if self.polled() {
                Vec::new()
            } else {
                kept.iter()
                    .map(|p| Bytes::from(p.statement.body.clone()))
                    .collect()
            };
            let envelope = StatementEnvelope {
                tenant: tenant.to_owned(),
                stored: stamp,
                statements: kept.into_iter().map(|p| p.statement).collect(),
            };
            // Encoded before anything is recorded, so a refused request leaves no trace.
            let payload = envelope.encode().map_err(|e| {
                ApiError::bad_request("LRS limit: index keys per statement", "$", e.to_string())
            })?;
            seq.last_stamp = stamp;
            // Polled mode: no in-process ingestor would ever release them (ingest, wherever it
            // runs, keeps the first statement of an id).
            if !self.polled() {
                for (id, body) in ids.iter().zip(bodies) {
                    seq.in_flight_bytes += body.len() as u64;
                    seq.in_flight.insert((tenant.to_owned(), *id), body);
                }
            }
            seq.pending_appends += 1;
            let append = self
                .producer
                .append(&partition_key(tenant, ids[0]), Bytes::from(payload));
            (stamp, ids, already_in_flight, append)
        };
        // Durability is awaited on a task of its own, which also does the bookkeeping: a client
        // hanging up (which drops this future) can neither cancel the append half way nor leave
        // the pending count or in-flight ids behind.
        let appended = ids.len();
        let sequencer = self.sequencer.clone();
        let owner = tenant.to_owned();
        let (handed, append_seconds) = (Instant::now(), self.append_seconds.clone());
        let outcome = tokio::spawn(async move {
            let result = append.await;
            if result.is_ok() {
                append_seconds.observe(handed.elapsed().as_secs_f64());
            }
            let mut seq = sequencer.lock();
            seq.pending_appends -= 1;
            if result.is_err() {
                for id in ids {
                    seq.forget(&owner, id);
                }
            }
            result
        })
        .await;
        match outcome {
            Ok(Ok(_ack)) => {
                self.accepted.fetch_add(appended as u64, Ordering::Relaxed);
                Ok(SubmitOutcome {
                    stored: Some(stamp),
                    already_present: already_in_flight,
                })
            }
            Ok(Err(err)) => Err(ApiError::from(err)),
            Err(join) => Err(ApiError::internal("log append task", &join)),
        }
    }

    /// Removes statements whose client-supplied id is already stored with equivalent content;
    /// a non-equivalent one is a 409 for the whole request.
    async fn drop_stored_duplicates(
        &self,
        tenant: &str,
        statements: Vec<PreparedStatement>,
    ) -> Result<Vec<PreparedStatement>, ApiError> {
        let client_ids: Vec<Uuid> = statements
            .iter()
            .filter(|p| p.client_id)
            .map(|p| p.statement.id)
            .collect();
        if client_ids.is_empty() {
            return Ok(statements);
        }
        let existing = self.reader.existing_bodies(tenant, &client_ids).await?;
        let mut kept = Vec::with_capacity(statements.len());
        for prepared in statements {
            match existing.get(&prepared.statement.id) {
                None => kept.push(prepared),
                Some(body) if bodies_equivalent(body, &prepared.statement.body) => {}
                Some(_) => return Err(ApiError::conflict(prepared.statement.id)),
            }
        }
        Ok(kept)
    }

    /// `X-Experience-API-Consistent-Through`: every statement stored at or before this instant is
    /// visible to queries. Local: when ingest has applied everything appended, that is "now" (any
    /// later request is stamped after it); otherwise it is the `stored` of the last applied
    /// record. Polled: what the last snapshot proves. It never moves backwards.
    pub fn consistent_through(&self) -> Micros {
        let through = match self.progress {
            Progress::Local => {
                let end = self.log_end();
                let seq = self.sequencer.lock();
                let applied = self.applied_rx.borrow();
                if seq.pending_appends == 0 && end.is_some_and(|e| applied.next_offset >= e) {
                    now_micros().max(seq.last_stamp)
                } else {
                    applied.stored
                }
            }
            Progress::Polled { .. } => self
                .applied_rx
                .borrow()
                .snapshot
                .as_ref()
                .map_or(0, |s| s.through),
        };
        let mut seq = self.sequencer.lock();
        seq.reported = seq.reported.max(through);
        seq.reported
    }

    /// The `stored` bound of a new query's first page (later pages keep it, so they are stable),
    /// given the request's `consistent_through`. Local: that. Polled: now, since
    /// Consistent-Through lags by the margin and a client must still read what it was just
    /// acknowledged.
    pub fn query_cap(&self, consistent_through: Micros) -> Micros {
        match self.progress {
            Progress::Local => consistent_through,
            Progress::Polled { .. } => now_micros().max(consistent_through),
        }
    }

    /// Waits (at most `timeout`) until ingest has applied every record that was durable when the
    /// call began, so a client reads its own acknowledged writes.
    pub async fn wait_for_acknowledged(&self, timeout: Duration) {
        let mut rx = self.applied_rx.clone();
        match self.progress {
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

    /// (statements appended, statements found already stored or in flight) since start-up.
    pub fn statement_counts(&self) -> (u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.already_present.load(Ordering::Relaxed),
        )
    }

    /// The log append latency histogram (for registering with a Prometheus registry).
    pub fn append_seconds(&self) -> Histogram {
        self.append_seconds.clone()
    }

    /// Records appended but not yet applied (the ingest lag, in records).
    pub fn lag_records(&self) -> u64 {
        match self.progress {
            Progress::Local => {
                let applied = self.applied_rx.borrow().next_offset;
                self.log_end().map_or(0, |e| e.saturating_sub(applied))
            }
            Progress::Polled { .. } => self
                .applied_rx
                .borrow()
                .snapshot
                .as_ref()
                .map_or(0, Snapshot::lag_records),
        }
    }

    fn log_end(&self) -> Option<u64> {
        // The embedded pipeline runs one partition (one ingest consumer keeps `stored` order).
        self.log
            .end_offsets()
            .ok()
            .map(|ends| ends.iter().map(|(_, o)| *o).sum())
    }

    /// Polled mode: reads the log's end offsets and the store's watermarks every `interval` until
    /// `shutdown` turns true. Does nothing in local mode.
    pub async fn poll_progress(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Progress::Polled { interval, margin } = self.progress else {
            return;
        };
        let margin = margin.as_micros() as Micros;
        let mut failures = 0u32;
        loop {
            match self.take_snapshot(margin).await {
                Ok(applied) => {
                    failures = 0;
                    self.applied_tx.send_replace(applied);
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

/// Spreads one tenant's requests over the partitions (by the first statement's id), so a big
/// board is not bound to one partition and one ingest instance; a retried request (same ids)
/// lands where the first attempt did.
fn partition_key(tenant: &str, first_id: Uuid) -> Vec<u8> {
    let mut key = Vec::with_capacity(tenant.len() + 17);
    key.extend_from_slice(tenant.as_bytes());
    key.push(0);
    key.extend_from_slice(first_id.as_bytes());
    key
}

impl IngestListener for Pipeline {
    fn applied(&self, batch: &AppliedBatch) {
        {
            let mut seq = self.sequencer.lock();
            for (tenant, id) in &batch.statement_ids {
                seq.forget(tenant, *id);
            }
        }
        let next_offset: u64 = batch.watermarks.iter().map(|w| w.next_offset).sum();
        let stored = batch.watermarks.iter().map(|w| w.stored).max().unwrap_or(0);
        self.applied_tx.send_modify(|a| {
            a.next_offset = a.next_offset.max(next_offset);
            a.stored = a.stored.max(stored);
        });
    }
}
